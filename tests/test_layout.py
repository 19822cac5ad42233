"""One way to each thing: where names are imported from, what the package exports."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import qa
import qa.errors

ROOT = Path(qa.__file__).parent


def _imports() -> list[tuple[Path, str, str]]:
    """(file, module as written, name) of every ``from … import name`` under qa/."""
    out = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                out.extend((path, node.module or "", a.name) for a in node.names)
    return out


def test_loaded_index_is_imported_from_its_own_module_only():
    wrong = [
        f"{p.relative_to(ROOT)}: from {m}"
        for p, m, name in _imports()
        if name == "LoadedIndex" and not m.endswith("loaded")
    ]
    assert wrong == []


def test_the_index_format_does_not_choose_the_query_embedder():
    import qa.index.format as fmt

    source = Path(fmt.__file__).read_text(encoding="utf-8")
    assert "backend" not in {
        m.rsplit(".", 1)[-1] for p, m, _ in _imports() if p.name == "format.py"
    }
    assert "query_embedder" not in source
    assert qa.load_index.__module__ == "qa.api"


def test_every_error_class_is_exported_once():
    errors = {
        n
        for n, v in vars(qa.errors).items()
        if isinstance(v, type) and issubclass(v, Exception) and not n.endswith("_")
    }  # IndexError_ is a base class: callers catch its exported subclasses (or QAError)
    assert errors <= set(qa.__all__)
    assert len(qa.__all__) == len(set(qa.__all__))
    assert all(hasattr(qa, n) for n in qa.__all__)


def test_the_package_ships_its_types_and_mypy_checks_every_body():
    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["qa"]
    assert (ROOT / "py.typed").is_file()
    mypy = config["tool"]["mypy"]
    assert mypy["check_untyped_defs"] and mypy["disallow_incomplete_defs"]


def test_the_version_is_written_once_and_the_licences_ship():
    import re

    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    project = config["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert config["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "qa._version.__version__"
    changelog = (ROOT.parent / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d[^\]]*)\]", changelog, re.M)
    assert released[0] == qa.__version__
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    licence = (ROOT.parent / "LICENSE").read_text(encoding="utf-8")
    assert (
        "MIT License" in licence and "CC BY-SA 4.0" in licence and "Apache License 2.0" in licence
    )


def test_the_readme_is_short_and_every_link_of_it_and_docs_resolves():
    import re

    top = ROOT.parent
    readme = (top / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 350
    for name in ("evaluation", "speed", "scale", "web-api"):
        assert f"(docs/{name}.md" in readme
    for page in [top / "README.md", *sorted((top / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://")):
                assert (page.parent / target).exists(), f"{page.name}: {target}"

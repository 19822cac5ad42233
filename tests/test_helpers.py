"""The test helpers themselves: subprocesses run the checkout under test."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT, checkout_env, run_qa


def test_a_subprocess_imports_this_checkout_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    code = "import qa; print(qa.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == str(ROOT / "qa" / "__init__.py")


def test_run_qa_runs_this_checkouts_command(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    script = tmp_path / "where.py"
    script.write_text("import qa.cli; print(qa.cli.__file__)\n", encoding="utf-8")
    proc = run_qa(cwd=tmp_path, script=str(script))
    assert proc.stdout.strip() == str(ROOT / "qa" / "cli.py"), proc.stderr
    assert checkout_env({"PYTHONPATH": "/elsewhere"})["PYTHONPATH"].split(":")[0] == str(ROOT)


def test_the_default_lane_runs_few_property_examples():
    import os

    from hypothesis import settings

    want = 200 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 20
    assert settings.default.max_examples == want

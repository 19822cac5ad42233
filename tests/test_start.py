"""Starting the app with its port taken: one line naming --port / QA_PORT, exit 1, at once.

Checked before any install (run.sh), index build (app.py, `qa serve`) or "serving on" line;
and Gradio's own hints (``share=True`` in ``launch()``) never reach the user (issue 21, point 1).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT, app_on_corpus_copy, assert_one_line_error, run_qa

from qa.web import ports


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def assert_names_our_flags(line: str, port: int) -> None:
    assert f"port {port}" in line and "--port" in line and "QA_PORT=" in line
    assert "GRADIO_SERVER_PORT" not in line and "launch()" not in line


def test_port_problem_names_a_free_port_to_use_instead():
    with taken_port() as port:
        problem = ports.port_problem("127.0.0.1", port)
    assert problem is not None
    assert_names_our_flags(problem, port)
    suggested = int(problem.split("--port ")[1].split()[0])
    assert suggested > port and ports.port_problem("127.0.0.1", suggested) is None


def test_a_free_port_is_no_problem():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert ports.port_problem("127.0.0.1", port) is None


@pytest.mark.parametrize("script", ["app.py", None])
def test_app_and_qa_serve_refuse_a_taken_port_before_touching_the_index(tmp_path, script):
    """The corpus does not exist: had the index been opened first, that would be the error."""
    args = ["--corpus", tmp_path / "nothing", "--index", tmp_path / "index", "--port"]
    with taken_port() as port:
        started = time.monotonic()
        if script:
            proc = run_qa(*args, port, cwd=ROOT, script=script, timeout=60)
        else:
            proc = run_qa("serve", *args, port, cwd=ROOT, timeout=60)
    assert_one_line_error(proc, f"port {port}")
    assert_names_our_flags(proc.stderr, port)
    assert "serving on" not in proc.stderr and not (tmp_path / "index").exists()
    assert time.monotonic() - started < 30


def test_qa_port_from_the_environment_is_checked_too(tmp_path):
    with taken_port() as port:
        proc = run_qa(
            "--corpus", tmp_path / "nothing", cwd=ROOT, script="app.py", env={"QA_PORT": str(port)}
        )
    assert_one_line_error(proc, f"port {port}", "QA_PORT=")


def _run_sh_copy(tmp_path: Path) -> Path:
    """run.sh and the port check alone: were setup reached, it would fail (no pyproject.toml)
    or print its '==> ' lines, so a missing check shows instead of installing for minutes."""
    (tmp_path / "qa" / "web").mkdir(parents=True)
    shutil.copy2(ROOT / "run.sh", tmp_path / "run.sh")
    shutil.copy2(ROOT / "qa" / "web" / "ports.py", tmp_path / "qa" / "web" / "ports.py")
    return tmp_path / "run.sh"


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["app", "--port", "{port}"], {}),
        (["app", "--port={port}", "--share"], {}),
        (["app"], {"QA_PORT": "{port}"}),
        (["qa", "serve", "--port", "{port}"], {}),
    ],
)
def test_run_sh_refuses_a_taken_port_before_any_install(tmp_path, argv, env):
    run_sh = _run_sh_copy(tmp_path)
    with taken_port() as port:
        base = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        proc = subprocess.run(
            ["bash", str(run_sh), *(a.format(port=port) for a in argv)],
            env={**base, **{k: v.format(port=port) for k, v in env.items()}},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert_one_line_error(proc, f"port {port}")
    assert_names_our_flags(proc.stderr, port)
    assert not (tmp_path / ".venv").exists()


def test_run_sh_offers_the_qa_command():
    """The README's `./run.sh qa …` runs the venv's `qa` (not on PATH after the quick start)."""
    text = (ROOT / "run.sh").read_text(encoding="utf-8")
    assert 'exec .venv/bin/qa "$@"' in text


def test_serve_launches_quietly_and_says_serving_only_once_listening(app_module, monkeypatch):
    """Gradio's non-quiet launch prints "set `share=True` in `launch()`", which contradicts our
    --share; our "serving on" line comes after the server listens."""
    events: list[str] = []

    class Demo:
        class qa_state:  # noqa: N801 - stands in for the AppState attribute
            rebuild_off = ""

            @staticmethod
            def warm_up() -> None:
                events.append("warm_up")

        def block_thread(self) -> None:
            events.append("block")

    def launch(demo, **kwargs):
        events.append(f"launch quiet={kwargs.get('quiet')}")

    monkeypatch.setattr(app_module, "build_app", lambda settings: Demo())
    monkeypatch.setattr(app_module, "launch", launch)
    monkeypatch.setattr(app_module.sys, "stderr", _Recorder(events))
    app_module.serve(app_module.Settings(port=8765))
    assert events[0] == "launch quiet=True"
    assert events[1].startswith("qa: serving on http://127.0.0.1:8765")


class _Recorder:
    """A stderr that records what is written, line by line."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def write(self, text: str) -> int:
        if text.strip():
            self.events.append(text.strip())
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.slow
def test_the_real_app_prints_no_gradio_hints(tmp_path):
    log_path = tmp_path / "app.log"
    with app_on_corpus_copy(tmp_path, timeout=240):
        # "serving on" follows Gradio's launch, which returns a moment after the page answers
        deadline = time.monotonic() + 60
        while "qa: serving on" not in log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "share=True" not in log and "launch()" not in log and "Running on local URL" not in log

"""Helpers shared by the test modules: a fake embedder, the `qa` command in a subprocess, and
app servers.

Imported as ``from helpers import ...`` (tests/ is on sys.path, as for conftest). The file name
does not match ``test_*.py``, so pytest does not collect it. Test modules import shared fakes
from here, never from conftest: conftest is pytest's own file of fixtures and hooks, which
pytest imports itself; conftest takes what its fixtures need from here too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checkout_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's, without QA_* variables) with CI=1 and PYTHONPATH
    leading to this checkout: a subprocess runs the code under test, never whatever ``qa``
    the virtual environment has installed."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    paths = [str(ROOT), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {**env, "CI": "1", "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def run_qa(
    *args, cwd, timeout: float = 300, env: dict[str, str] | None = None, script: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m qa.cli ARGS` of this checkout (``checkout_env``) without any QA_* variable
    but those in ``env``, with CI=1.

    bytes arguments reach the command undecoded (as a shell would pass them); anything else is
    passed as ``str(arg)``. stdout and stderr are decoded as UTF-8, undecodable bytes replaced.
    With ``script`` (a path), `python SCRIPT ARGS` runs instead, e.g. the project's app.py.
    """
    env = checkout_env({**checkout_env(), **(env or {})})
    command = [script] if script else ["-m", "qa.cli"]
    argv = [sys.executable, *command, *(a if isinstance(a, bytes) else str(a) for a in args)]
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def assert_one_line_error(proc, *needles: str, max_len: int | None = None) -> None:
    """Exit code 1, nothing on stdout, and one `qa: error:` line holding every needle.

    With ``max_len``, that line must also be shorter than it (e.g. the question not echoed).
    """
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"stderr should be one line, got:\n{proc.stderr}"
    assert lines[0].startswith("qa: error:")
    if max_len is not None:
        assert len(lines[0]) < max_len, lines[0]
    for needle in needles:
        assert needle in lines[0]
    assert proc.stdout == ""


def stop_process(proc: subprocess.Popen, log=None) -> None:
    """Terminate ``proc`` (kill it if it has not exited within 15 s), then close ``log``."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
    if log is not None:
        log.close()


def wait_until_served(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    """Poll ``url`` until it answers HTTP 200.

    Fails the test, showing the server's log, if ``proc`` exits first or ``timeout`` seconds
    pass. Does not stop ``proc``: the caller does, whatever happens.
    """

    def server_log() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the server for {url} exited with {proc.returncode}:\n{server_log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not serve {url} within {timeout}s:\n{server_log()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)


@contextlib.contextmanager
def running_server(
    argv: list[str], *, cwd: Path, env: dict[str, str], url: str, log_path: Path, timeout: float
) -> Iterator[subprocess.Popen]:
    """Start ``argv`` (stdout and stderr to ``log_path``) and wait until ``url`` is served.

    Yields the process; stops it on leaving, also when it failed to start serving.
    """
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop_process
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_served(url, proc, log_path, timeout)
        yield proc
    finally:
        stop_process(proc, log)


ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "corpus" / "human_trafficking_in_laos.txt"
DATA = ROOT / "tests" / "data"

# ------------------------------------------------------------------------------ fake model

_WORD_RE = re.compile(r"\w+")


class EmbedderFailure(RuntimeError):
    """Raised by FakeEmbedder when told to fail, to simulate a model crash mid-build."""


class FakeEmbedder:
    """A deterministic hashed bag of lowercase words, L2-normalized.

    Records every batch it encodes in ``calls`` so tests can see what was (re-)embedded.
    With ``fail_after=n`` it raises EmbedderFailure once more than ``n`` texts were asked for.
    """

    def __init__(self, dim: int = 64, name: str | None = None, fail_after: int | None = None):
        self.name = name or f"fake-hash-{dim}"
        self._dim = dim
        self.fail_after = fail_after
        self.calls: list[list[str]] = []
        self.queries: list[str] = []

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def encoded(self) -> int:
        """How many texts were sent to ``encode`` so far."""
        return sum(len(c) for c in self.calls)

    @property
    def encoded_texts(self) -> list[str]:
        return [t for c in self.calls for t in c]

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD_RE.findall(text.lower()):
            digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8)
            v[int.from_bytes(digest.digest(), "little") % self._dim] += 1.0
        if not v.any():
            v[0] = 1.0
        return v / np.linalg.norm(v)

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if self.fail_after is not None and self.encoded + len(texts) > self.fail_after:
            done = max(0, self.fail_after - self.encoded)
            self.calls.append(texts[:done])
            raise EmbedderFailure(f"fake model crashed after {self.fail_after} texts")
        self.calls.append(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return self._vector(text)


# ----------------------------------------------------------------------------- app servers


@contextlib.contextmanager
def app_on_corpus_copy(base: Path, timeout: float):
    """`python app.py` on a free loopback port over a copy of the article in ``base``.

    Yields (url, corpus_dir, index_dir, process); the index is built at start-up.
    """
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy2(ARTICLE, corpus / ARTICLE.name)
    index = base / "index"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index), "CI": "1"}
    with running_server(
        argv, cwd=ROOT, env=env, url=url, log_path=base / "app.log", timeout=timeout
    ) as proc:
        yield url, corpus, index, proc


class AppCallError(RuntimeError):
    """The app answered a plain HTTP API call with an error event."""


def api_call(url: str, api_name: str, *args, session: str | None = None, timeout: float = 120):
    """Call a named endpoint over Gradio's HTTP API; returns its output, raises on error.

    The JSON body is ASCII-escaped, so even lone surrogates reach the server (gradio_client,
    over httpx, cannot send them).

    ``session``: the session hash to send (as gradio_client sends one per Client); without
    it the server makes up a new session for every call.
    """
    body = json.dumps({"data": list(args), "session_hash": session}).encode("utf-8")
    req = urllib.request.Request(
        f"{url}gradio_api/call/{api_name}",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        event_id = json.load(r)["event_id"]
    deadline = time.monotonic() + timeout
    event = None
    with urllib.request.urlopen(
        f"{url}gradio_api/call/{api_name}/{event_id}", timeout=timeout
    ) as r:
        for raw in r:
            if time.monotonic() > deadline:
                raise TimeoutError(f"/{api_name} took over {timeout}s")
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = line.split(":", 1)[1].strip()
                if event == "error":
                    raise AppCallError(f"/{api_name} failed: {data}")
                return json.loads(data)[0]
    raise RuntimeError(f"/{api_name}: the event stream ended without a result")

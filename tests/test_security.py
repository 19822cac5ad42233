"""The claims of SECURITY.md about what the web app exposes, each checked.

Fast tests read the defaults and the arguments ``qa.web.app`` gives ``Blocks.launch`` (fake model,
no subprocess). The slow ones start ``python app.py`` in a subprocess on a free loopback port,
with Gradio's own environment switches set the unsafe way (the app's settings must win), and
probe it over HTTP and with psutil. An audit hook in that process logs every socket connect.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from helpers import free_port, running_server

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_NAME = "human_trafficking_in_laos.txt"
START_TIMEOUT = 240  # seconds: a cold start builds the index with the real model
HTTP_TIMEOUT = 30
MIB = 1024 * 1024
APP_ENV = ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without the app's, Gradio's and the hub's switches, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QA_", "GRADIO_")) and k not in APP_ENV
    }
    return {**env, **extra}


def http(url: str, data: bytes | None = None, headers=None, timeout: float = HTTP_TIMEOUT):
    """(status, body) of a GET, or of a POST when ``data`` is given; HTTP errors included."""
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def multipart(name: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with one file in the ``files`` field, and its headers."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def fake_demo(app_module, fake_index, fake_embedder):
    """The app's real gr.Blocks over an index built with the fake embedder."""
    from qa.api import load_index
    from qa.web.state import AppState

    index_dir, corpus, _ = fake_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder))
    return app_module.build_blocks(state)


# ------------------------------------------------------------------ fast: defaults, launch


def served_on(app_module, monkeypatch, main, argv) -> list[tuple[str, int, bool]]:
    """(host, port, share) that ``main(argv)`` would serve on; nothing is started."""
    seen = []

    def serve(settings, share=False):
        seen.append((settings.host, settings.port, share))
        return 0

    monkeypatch.setattr(app_module, "serve", serve)
    assert main(argv) == 0
    return seen


def test_app_listens_on_loopback_port_7860_by_default(app_module, monkeypatch):
    monkeypatch.delenv("QA_HOST", raising=False)
    monkeypatch.delenv("QA_PORT", raising=False)
    args = app_module.parse_args([])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)
    assert served_on(app_module, monkeypatch, app_module.main, []) == [("127.0.0.1", 7860, False)]

    monkeypatch.setenv("QA_HOST", "0.0.0.0")
    monkeypatch.setenv("QA_PORT", "8123")
    assert served_on(app_module, monkeypatch, app_module.main, []) == [("0.0.0.0", 8123, False)]
    argv = ["--host", "127.0.0.2", "--port", "9000"]
    assert served_on(app_module, monkeypatch, app_module.main, argv) == [("127.0.0.2", 9000, False)]


def test_qa_serve_listens_on_loopback_port_7860_by_default(app_module, monkeypatch):
    from qa import cli

    monkeypatch.delenv("QA_HOST", raising=False)
    monkeypatch.delenv("QA_PORT", raising=False)
    args = cli.build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 7860)
    # no --share, either
    assert served_on(app_module, monkeypatch, cli.main, ["serve"]) == [("127.0.0.1", 7860, False)]

    monkeypatch.setenv("QA_HOST", "0.0.0.0")
    monkeypatch.setenv("QA_PORT", "8123")
    assert served_on(app_module, monkeypatch, cli.main, ["serve"]) == [("0.0.0.0", 8123, False)]


@pytest.mark.slow  # imports Gradio and builds the app's Blocks: seconds
@pytest.mark.parametrize("share", [False, True])
def test_main_launches_without_mcp_or_ssr_and_shares_only_with_the_flag(
    app_module, fake_demo, monkeypatch, share
):
    import gradio as gr

    launched = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: launched.append(kw))
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    monkeypatch.setattr(app_module, "build_app", lambda *a, **kw: fake_demo)
    monkeypatch.delenv("QA_HOST", raising=False)
    port = str(free_port())

    assert app_module.main(["--port", port, *(["--share"] if share else [])]) == 0
    (kw,) = launched
    assert kw["share"] is share
    assert kw["mcp_server"] is False
    assert kw["ssr_mode"] is False
    assert kw["server_name"] == "127.0.0.1" and kw["server_port"] == int(port)
    assert kw["max_file_size"] == app_module.MAX_FILE_SIZE == "1mb"
    assert not kw.get("allowed_paths") and not kw.get("auth")


@pytest.mark.slow  # imports Gradio and builds the app's Blocks: seconds
def test_mcp_is_served_only_with_the_flag(app_module, fake_demo, monkeypatch):
    import gradio as gr

    launched = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: launched.append(kw))
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    built = []
    monkeypatch.setattr(app_module, "build_app", lambda s, *a, **kw: built.append(s) or fake_demo)
    monkeypatch.delenv("QA_HOST", raising=False)
    assert app_module.main(["--port", str(free_port()), "--mcp"]) == 0
    (kw,) = launched
    assert kw["mcp_server"] is True and kw["server_name"] == "127.0.0.1"
    assert built[0].mcp is True


@pytest.mark.slow  # imports Gradio and builds the app's Blocks: seconds
def test_launched_blocks_have_no_share_link_mcp_ssr_or_analytics(
    app_module, fake_demo, monkeypatch
):
    """A real in-process launch (fake model) with Gradio's env switches set the unsafe way."""
    for name in ("GRADIO_SHARE", "GRADIO_MCP_SERVER", "GRADIO_SSR_MODE"):
        monkeypatch.setenv(name, "True")
    monkeypatch.delenv("GRADIO_ALLOWED_PATHS", raising=False)
    try:
        app_module.launch(fake_demo, port=free_port(), prevent_thread_lock=True, quiet=True)
        assert fake_demo.share is False and fake_demo.share_url is None
        assert fake_demo.mcp_server is False and fake_demo.mcp_server_obj is None
        assert fake_demo.ssr_mode is False
        assert fake_demo.analytics_enabled is False
        assert fake_demo.max_file_size == MIB
        assert fake_demo.allowed_paths == []
        assert fake_demo.local_url.startswith("http://127.0.0.1:")
    finally:
        fake_demo.close()


@pytest.mark.slow  # imports Gradio in a fresh interpreter: seconds each
@pytest.mark.parametrize("gradio_analytics", [None, "True"])
def test_importing_app_turns_off_analytics_and_hub_lookups(gradio_analytics):
    """``import app`` imports ``qa.web.app``, which ``qa serve`` uses: both are covered."""
    extra = {} if gradio_analytics is None else {"GRADIO_ANALYTICS_ENABLED": gradio_analytics}
    code = (
        "import json, os, app, gradio.analytics as a; print(json.dumps("
        "{k: os.environ.get(k) for k in ('GRADIO_ANALYTICS_ENABLED', 'HF_HUB_OFFLINE')}"
        " | {'enabled': a.analytics_enabled()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "enabled": False}


def test_default_model_is_the_bundled_local_copy():
    from qa.index.embedding import DEFAULT_MODEL, _model_location

    location = Path(_model_location(DEFAULT_MODEL))
    assert location.is_absolute() and location.is_dir(), location


# -------------------------------------------------------------- a real server (slow)

LAUNCHER = """\
import runpy, sys

root, log = sys.argv[1], sys.argv[2]
del sys.argv[1:3]
sys.argv[0] = root + "/app.py"


def hook(event, args):
    if event == "socket.connect":
        line = ("connect", int(args[0].family), args[1])
    elif event == "socket.getaddrinfo":
        line = ("getaddrinfo", args[0])
    else:
        return
    with open(log, "a", encoding="utf-8") as f:
        f.write(repr(line) + "\\n")


sys.addaudithook(hook)
sys.path.insert(0, root)
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` with no arguments (port from QA_PORT) over a copy of the corpus.

    Yields a dict: url, port, pid, corpus, index, upload_dir, tmp, connect_log.
    """
    base = tmp_path_factory.mktemp("security")
    corpus, index, tmp = base / "corpus", base / "index", base / "tmp"
    corpus.mkdir()
    tmp.mkdir()
    shutil.copy2(ROOT / "corpus" / ARTICLE_NAME, corpus / ARTICLE_NAME)
    launcher = base / "launch_app.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    connect_log = base / "connects.log"
    connect_log.touch()
    port = free_port()
    env = clean_env(
        QA_CORPUS_DIR=str(corpus),
        QA_INDEX_DIR=str(index),
        QA_PORT=str(port),
        CI="1",
        TMPDIR=str(tmp),
        GRADIO_TEMP_DIR=str(tmp / "gradio"),
        # Gradio's own switches, set the unsafe way: the app's explicit settings must win.
        GRADIO_SERVER_NAME="0.0.0.0",
        GRADIO_SHARE="True",
        GRADIO_MCP_SERVER="True",
        GRADIO_SSR_MODE="True",
        GRADIO_ANALYTICS_ENABLED="True",
    )
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, str(launcher), str(ROOT), str(connect_log)]
    log_path = base / "app.log"
    with running_server(
        argv, cwd=ROOT, env=env, url=url + "/", log_path=log_path, timeout=START_TIMEOUT
    ) as proc:
        yield {
            "url": url,
            "port": port,
            "pid": proc.pid,
            "corpus": corpus,
            "index": index,
            "upload_dir": tmp / "gradio",
            "tmp": tmp,
            "connect_log": connect_log,
        }


def process_tree(pid: int):
    import psutil

    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


INET = (socket.AF_INET, socket.AF_INET6)


def is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.mark.slow
def test_server_listens_on_127_0_0_1_only(server):
    import psutil

    listening = {
        (c.laddr.ip, c.laddr.port)
        for p in process_tree(server["pid"])
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    assert listening == {("127.0.0.1", server["port"])}


@pytest.mark.slow
def test_server_has_no_mcp_server_no_node_process_and_analytics_off(server):
    status, body = http(server["url"] + "/config")
    assert status == 200
    config = json.loads(body)
    assert config["mcp_server"] is False
    assert config["analytics_enabled"] is False
    assert config["max_file_size"] == MIB
    for path in ("/gradio_api/mcp/schema", "/gradio_api/mcp/", "/gradio_api/mcp/sse"):
        assert http(server["url"] + path)[0] == 404, path
    children = process_tree(server["pid"])[1:]
    assert not [c for c in children if "node" in c.name().lower()], children


@pytest.mark.slow
def test_server_makes_no_outgoing_connections(server):
    from gradio_client import Client

    client = Client(server["url"] + "/", verbose=False, download_files=False)
    job = client.submit("Who runs the long-term shelter for victims?", 3, api_name="/answer")
    assert job.result(timeout=120)["found"] is True  # the model is loaded by now

    events = [ast.literal_eval(line) for line in server["connect_log"].read_text().splitlines()]
    assert any(e[0] == "connect" for e in events), "the audit hook logged no connect at all"
    outgoing = [
        e
        for e in events
        if (e[0] == "getaddrinfo" and not is_loopback(e[1]))
        or (e[0] == "connect" and e[1] in INET and not is_loopback(e[2][0]))
    ]
    assert outgoing == []
    for p in process_tree(server["pid"]):
        for c in p.net_connections(kind="inet"):
            assert not c.raddr or is_loopback(c.raddr.ip), c


def files_that_must_not_be_served(server) -> dict[str, bytes]:
    """{path as put after file=: bytes of the file that must not come back}."""
    article = server["corpus"] / ARTICLE_NAME
    first_line = article.read_text(encoding="utf-8").splitlines()[0].encode()
    manifest = next(p for p in sorted(server["index"].iterdir()) if p.is_file())
    app_line = b"from qa.web.app import main"
    qa_app_line = b"def build_blocks(state"
    passwd = b"root:"
    assert app_line in (ROOT / "app.py").read_bytes()
    assert qa_app_line in (ROOT / "qa" / "web" / "app.py").read_bytes()
    return {
        str(article): first_line,
        str(ROOT / "corpus" / ARTICLE_NAME): first_line,
        str(manifest): manifest.read_bytes()[:40],
        str(ROOT / "app.py"): app_line,
        "app.py": app_line,
        str(ROOT / "qa" / "web" / "app.py"): qa_app_line,
        "qa/web/app.py": qa_app_line,
        f"corpus/{ARTICLE_NAME}": first_line,
        "/etc/passwd": passwd,
        str(server["upload_dir"]) + "/.." * 30 + "/etc/passwd": passwd,
    }


@pytest.mark.slow
def test_no_file_on_disk_is_served(server):
    for path, content in files_that_must_not_be_served(server).items():
        status, body = http(server["url"] + "/gradio_api/file=" + path)
        assert status in (403, 404), (path, status)
        assert content not in body, path


@pytest.mark.slow
def test_upload_over_the_limit_is_refused_and_not_stored(server):
    marker = uuid.uuid4().hex.encode()
    body, headers = multipart("big.bin", marker + b"x" * (2 * MIB))
    try:
        status, reply = http(server["url"] + "/gradio_api/upload", body, headers)
    except OSError as e:  # the server may answer and close before the body is all sent
        status, reply = None, repr(e).encode()
    assert status in (413, None), (status, reply[:300])
    if status == 413:
        assert b"maximum allowed size" in reply
    time.sleep(0.5)  # any clean-up after the refusal
    for f in server["tmp"].rglob("*"):
        if f.is_file():
            assert f.stat().st_size <= MIB, f
            assert marker not in f.read_bytes(), f
    assert http(server["url"] + "/")[0] == 200  # still serving


@pytest.mark.slow
def test_small_upload_is_stored_in_gradio_temp_dir_and_served_back(server):
    """What SECURITY.md says remains: a file under the limit is stored and can be fetched."""
    content = b"a small upload " + uuid.uuid4().hex.encode()
    body, headers = multipart("note.txt", content)
    status, reply = http(server["url"] + "/gradio_api/upload", body, headers)
    assert status == 200, reply[:300]
    (stored,) = json.loads(reply)
    assert Path(stored).resolve().is_relative_to(server["upload_dir"].resolve())
    assert Path(stored).read_bytes() == content
    assert http(server["url"] + "/gradio_api/file=" + stored) == (200, content)
    exact = b"y" * MIB  # exactly the limit is still accepted
    status, reply = http(server["url"] + "/gradio_api/upload", *multipart("exact.bin", exact))
    assert status == 200, reply[:300]

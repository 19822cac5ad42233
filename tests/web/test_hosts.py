"""Red-team round two (issue 22), finding 6: DNS rebinding. A real app (fake model, in-process
launch with MCP on) refuses requests with a forged ``Host`` or a foreign ``Origin`` (403) on
the page, the API and the MCP endpoint, and answers loopback names as before."""

from __future__ import annotations

import http.client
import json

import pytest
from helpers import free_port

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-03-26",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}


#: a real Gradio app is started: the slow lane, as the other launch tests
pytestmark = pytest.mark.slow


@pytest.fixture
def served(app_module, fake_index, fake_embedder):
    from qa.api import load_index
    from qa.web.state import AppState

    index_dir, corpus, _ = fake_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus, embedder=fake_embedder))
    demo = app_module.build_blocks(state, mcp=True)
    port = free_port()
    app_module.launch(demo, port=port, mcp=True, prevent_thread_lock=True, quiet=True)
    try:
        yield port
    finally:
        demo.close()


def _request(port, method, path, headers, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "rebind.evil.example:7860"},
        {"Host": "rebind.evil.example"},
        {"Host": "127.0.0.1", "Origin": "https://evil.example"},
        {"Host": "localhost:7860", "Origin": "http://rebind.evil.example:7860"},
        {"Host": "[::2]"},
        {"Host": "127.0.0.1:notaport"},
    ],
)
def test_a_forged_host_or_foreign_origin_is_refused_everywhere(served, headers):
    for method, path, body, extra in [
        ("GET", "/", None, {}),
        ("GET", "/gradio_api/info", None, {}),
        ("POST", "/gradio_api/call/status", {"data": []}, {"Content-Type": "application/json"}),
        ("POST", "/gradio_api/mcp/", INIT, MCP_HEADERS),
    ]:
        status, got, data = _request(served, method, path, {**extra, **headers}, body)
        assert status == 403, (path, status, data[:200])
        assert "access-control-allow-origin" not in {k.lower() for k in got}
        assert b"Laos" not in data


@pytest.mark.parametrize(
    "headers",
    [
        {},  # http.client sends Host: 127.0.0.1:<port>
        {"Host": "localhost:7860"},
        {"Host": "[::1]:7860", "Origin": "http://[::1]:7860"},
        {"Host": "127.0.0.1:7860", "Origin": "http://localhost:7860"},
    ],
)
def test_loopback_names_are_answered(served, headers):
    status, _, data = _request(served, "GET", "/gradio_api/info", headers)
    assert status == 200 and b"answer" in data
    status, _, data = _request(served, "POST", "/gradio_api/mcp/", {**MCP_HEADERS, **headers}, INIT)
    assert status == 200 and b"serverInfo" in data


def test_the_configured_host_is_allowed_and_wildcards_check_origin_only():
    from qa.web.hosts import HostGuard, allowed_hosts

    guard = HostGuard(None, allowed_hosts("qa.lan"))  # type: ignore[arg-type]
    assert guard._refusal({b"host": b"qa.lan:7860"}) is None
    assert guard._refusal({b"host": b"other.lan"}) is not None
    wild = HostGuard(None, allowed_hosts("0.0.0.0"), any_host=True)  # type: ignore[arg-type]
    assert wild._refusal({b"host": b"192.168.1.5:7860"}) is None
    assert wild._refusal({b"host": b"192.168.1.5", b"origin": b"http://192.168.1.5:7860"}) is None
    assert wild._refusal({b"host": b"192.168.1.5", b"origin": b"https://evil.example"})

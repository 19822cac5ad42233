"""MCP: the web app started with --mcp, through a real MCP client (the ``mcp`` package's
streamable-HTTP client): it lists exactly answer, retrieve and verify, and calls them."""

from __future__ import annotations

import ast
import asyncio

import pytest
from helpers import free_port

pytest.importorskip("mcp")

SHELTER = "Who runs the long-term shelter for victims?"
RATIFIED = "Laos ratified the 2000 UN TIP Protocol in September 2003."


@pytest.fixture(scope="module")
def mcp_url(real_index):
    """The web app itself (qa.web.app.build_blocks with mcp=True), launched as --mcp does."""
    from qa.api import load_index
    from qa.web import app
    from qa.web.state import AppState

    index_dir, corpus = real_index
    state = AppState(corpus, index_dir, load_index(index_dir, corpus))
    demo = app.build_blocks(state, None, mcp=True)
    port = free_port()
    app.launch(demo, port=port, mcp=True, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/gradio_api/mcp/"
    finally:
        demo.close()


def mcp_session(url: str, calls: list[tuple[str, dict]]):
    """List the tools and make ``calls`` in one MCP session; returns (tools, results)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run():
        async with streamable_http_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = (await session.list_tools()).tools
                results = [await session.call_tool(name, args) for name, args in calls]
        return tools, results

    return asyncio.run(run())


def payload(result):
    """A tool result's value (Gradio sends a dict or list as its Python text)."""
    assert not result.isError, result.content
    return ast.literal_eval(result.content[0].text)


def test_tools_are_documented_for_gradio():
    """Gradio keeps the first line of each Args entry: each must be one line, and say something."""
    import inspect

    from qa.web.mcp_tools import make_tools

    tools = make_tools(lambda: None)  # type: ignore[arg-type,return-value]
    assert [t.__name__ for t in tools] == ["answer", "retrieve", "verify"]
    for fn in tools:
        doc = inspect.getdoc(fn) or ""
        args = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        params = [p for p in inspect.signature(fn).parameters]
        assert [a.split(":", 1)[0].strip() for a in args] == params, fn.__name__
        assert all(len(a.split(":", 1)[1].strip()) > 10 for a in args)
        assert "Returns:" in doc and fn.__annotations__["return"] in ("dict", "list[dict]")


def test_tools_refuse_bad_input_with_the_given_error(fake_index):
    from helpers import FakeEmbedder

    from qa.api import load_index
    from qa.web.mcp_tools import make_tools

    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    answer, retrieve, verify = make_tools(lambda: idx, error=RuntimeError)
    with pytest.raises(RuntimeError, match=r"^the question is empty; type a question"):
        answer("  \n ")
    with pytest.raises(RuntimeError, match="k must be"):
        retrieve("shelter", k=0)
    v = verify(RATIFIED + "[1]")
    assert v["verbatim"] is True and v["ok"] is True and list(v["refs"]) == [1]


@pytest.mark.slow
def test_mcp_tools_answer_retrieve_verify(mcp_url):
    tools, (answered, passages, verified, refused) = mcp_session(
        mcp_url,
        [
            ("answer", {"question": SHELTER}),
            ("retrieve", {"question": SHELTER, "k": 3}),
            ("verify", {"text": RATIFIED + "[2]"}),
            ("answer", {"question": "   "}),
        ],
    )
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {"answer", "retrieve", "verify"}
    assert "verbatim" in by_name["answer"].description
    props = by_name["answer"].inputSchema["properties"]
    assert set(props) >= {"question", "k"} and "follow-up" in props["history"]["description"]
    assert by_name["verify"].inputSchema["required"] == ["text"]

    a = payload(answered)
    assert a["found"] is True
    assert a["quotes"][0]["refs"] == [2] and "[2]" in a["markdown"]
    assert [r["number"] for r in a["references"]] == [2]

    p = payload(passages)
    assert len(p) == 3 and all(isinstance(x["refs"], list) for x in p)

    v = payload(verified)
    assert v["verbatim"] is True and v["refs"] == [1] and v["ok"] is False
    assert v["ref_checks"][0]["wrong"] == [2]

    assert refused.isError and "empty" in refused.content[0].text

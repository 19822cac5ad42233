"""The web app: a Gradio page and JSON API over :mod:`qa.web.state` (`python app.py`, `qa serve`).

Three parts, each readable on its own:

- **handlers** (:mod:`qa.web.handlers`): plain functions from the state and the inputs to what
  the page shows; no Gradio, so tests call them directly;
- **layout** (:mod:`qa.web.layout`): the components, with the element ids the browser tests,
  the CSS and the script use;
- **wiring** (here): the page's events (private) and the JSON API (/answer, /retrieve,
  /rebuild, /status), turning a ``QAError`` into a one-line ``gr.Error``.

:func:`main` reads the settings once (``QA_*``, then the command line) and serves.
"""

# No `from __future__ import annotations` here: Gradio reads the handlers' annotations
# (gr.Request, gr.EventData) at runtime, and they name the locally imported gradio.
import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..api import show_progress
from ..errors import ConfigError, QAError
from ..eval.feedback import FeedbackGate
from ..settings import Settings, add_serve_arguments, serve_overrides
from .chat_html import conversation_html
from .handlers import (
    Panels,
    View,
    answer_json,
    ask,
    check_quote,
    clear,
    give_feedback,
    k_changed,
    open_in_context,
    rebuild_view,
    retrieve_json,
    show_context,
)
from .hosts import middleware_for
from .layout import CSS, DEFAULT_K, EXAMPLES, Ui, layout
from .mcp_tools import make_tools
from .panel_html import NO_CONTEXT
from .ports import port_problem
from .state import AppState, one_line, status_markdown, version_line
from .transcript import Exchange

__all__ = [  # the handlers are re-exported: tests and scripts use them through qa.web.app
    "NO_CONTEXT", "Panels", "View", "answer_json", "ask", "build_app", "build_blocks", "clear",
    "launch", "main", "parse_args", "rebuild_view", "retrieve_json", "serve", "show_context",
]  # fmt: skip

# Before gradio is imported: no telemetry, no hub lookups. These switch off third-party
# behaviour; the app's own settings travel as arguments.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: Largest file Gradio's generic POST /gradio_api/upload accepts (larger: HTTP 413). The app
#: takes no uploads, so this only bounds what a client can put in Gradio's temp directory.
MAX_FILE_SIZE = "1mb"
#: Sessions whose chat state is kept; the oldest are dropped beyond this.
SESSION_CAPACITY = 500


# ------------------------------------------------------------------------------- wiring


def _wire_events(
    demo: Any, state: AppState, ui: Ui, title: str, feedback_file: Path | None
) -> None:
    """The page's events; private, so they are not part of the JSON API."""
    import gradio as gr  # deferred: importing gradio takes seconds

    def values(view: View) -> tuple:
        """``view`` as the values of :meth:`Ui.view_outputs`; kept panels are skipped."""
        chat = conversation_html(view.exchanges, title, feedback_file is not None)
        head = (view.box, chat, view.exchanges)
        p = view.panels
        if p is None:
            return (*head, *[gr.skip()] * 4)
        picker = gr.update(choices=p.choices, value=p.picked)
        return (*head, p.sources, picker, p.contexts, p.context)

    def on_ask(question: str, k: float, exchanges: list[Exchange] | None) -> tuple:
        return values(ask(state, question, k, exchanges))

    def on_load(k: float, exchanges: list[Exchange] | None, request: gr.Request) -> tuple:
        """A shared link, ``/?q=…``: ask its question at once."""
        q = request.query_params.get("q") if request is not None else None
        if not q or exchanges:
            return tuple(gr.skip() for _ in ui.view_outputs())
        return values(ask(state, q, k, exchanges))

    def on_quote(exchanges: list[Exchange] | None, evt: gr.EventData) -> tuple:
        shown = open_in_context(state, exchanges, getattr(evt, "_data", None))
        if shown is None:
            return gr.skip(), gr.skip(), gr.skip()
        return gr.Tabs(selected="context"), gr.update(value=None), shown

    def on_source(contexts: list[str] | None, evt: gr.EventData) -> tuple:
        data = getattr(evt, "_data", None) or {}
        i = data.get("passage") if isinstance(data, dict) else None
        if not isinstance(i, int) or not 0 <= i < len(contexts or []):
            return gr.skip(), gr.skip(), gr.skip()
        return gr.Tabs(selected="context"), gr.update(value=i), show_context(i, contexts)

    gate = FeedbackGate()  # one per app: repeats and floods refused (eval.feedback)

    def on_feedback(
        exchanges: list[Exchange] | None, evt: gr.EventData, request: gr.Request
    ) -> None:
        client = str(getattr(request.client, "host", ""))  # by address: new sessions are free
        data = getattr(evt, "_data", None)
        saved, message = give_feedback(exchanges, data, feedback_file, gate, client)
        (gr.Info if saved else gr.Warning)(message)

    def on_rebuild() -> Iterator[tuple]:
        busy = "Rebuilding the index from the corpus …"
        yield gr.update(interactive=False), busy, gr.skip(), gr.skip()
        tab, message, line = rebuild_view(state)
        yield gr.update(interactive=not state.rebuild_off), message, tab, line

    private: dict[str, Any] = {"api_visibility": "private"}
    ask_io = (on_ask, [ui.box, ui.k, ui.exchanges], ui.view_outputs())
    ui.box.submit(*ask_io, **private)
    ui.ask_btn.click(*ask_io, **private)
    for btn, q in zip(ui.example_btns, EXAMPLES, strict=True):
        btn.click(lambda q=q: q, None, ui.box, **private).then(*ask_io, **private)
    ui.clear_btn.click(lambda: values(clear()), None, ui.view_outputs(), **private)
    ui.k.change(k_changed, [ui.exchanges, ui.k], ui.sources, **private)
    ui.pick.input(show_context, [ui.pick, ui.contexts], ui.context, **private)
    ui.chat.select(on_quote, [ui.exchanges], [ui.tabs, ui.pick, ui.context], **private)
    ui.sources.select(on_source, [ui.contexts], [ui.tabs, ui.pick, ui.context], **private)
    ui.chat.like(on_feedback, [ui.exchanges], None, **private)
    demo.load(on_load, [ui.k, ui.exchanges], ui.view_outputs(), **private)
    # No concurrency limit on rebuilds: a second one must reach state.rebuild() to be
    # refused there, rather than queue behind the first and run again.
    rebuild_outputs = [ui.rebuild_btn, ui.rebuild_msg, ui.status_md, ui.statusline]
    ui.rebuild_btn.click(on_rebuild, None, rebuild_outputs, concurrency_limit=None, **private)

    # Every page shows the index it answers from: on opening, and after a rebuild (any page's)
    def on_version(shown: str) -> tuple:
        now = version_line(state)
        return (gr.skip(),) * 3 if shown == now else (now, status_markdown(state), now)

    version_io = (on_version, [ui.shown_version], [ui.statusline, ui.status_md, ui.shown_version])
    demo.load(*version_io, **private)
    ui.version_timer.tick(*version_io, concurrency_limit=None, show_progress="hidden", **private)
    ui.check_btn.click(lambda t: check_quote(state, t), [ui.check_text], [ui.check_out], **private)
    ui.check_text.submit(
        lambda t: check_quote(state, t), [ui.check_text], [ui.check_out], **private
    )


def _one_line_error(e: QAError) -> Exception:
    import gradio as gr  # deferred: importing gradio takes seconds

    return gr.Error(one_line(str(e)), print_exception=False)


def _register_api(state: AppState, mcp: bool = False) -> None:
    """The JSON API: typed functions (their hints and docstrings are the API's description).

    With ``mcp`` Gradio also serves every public endpoint as an MCP tool: answer, retrieve and
    verify; rebuild and status stay off the tool list (undocumented, still callable as API).
    """
    import gradio as gr  # deferred: importing gradio takes seconds

    tools = {
        fn.__name__: fn
        for fn in make_tools(lambda: state.index, error=lambda m: _one_line_error(QAError(m)))
    }

    def answer(question: str, k: int = DEFAULT_K, history: list[str] | None = None) -> dict:
        """Answer a question: verbatim quotes with [n] refs, full references, passages."""
        try:
            return answer_json(state, question, k, history)
        except QAError as e:
            raise _one_line_error(e) from None

    def retrieve(question: str, k: int = DEFAULT_K) -> list[dict]:
        """The k best passages for a question, best first."""
        try:
            return retrieve_json(state, question, k)
        except QAError as e:
            raise _one_line_error(e) from None

    def rebuild() -> dict:
        """Rebuild the index from the corpus; refused while another runs, too soon after the
        last one (unless the corpus changed), or when the app was started without rebuilds."""
        return state.rebuild()

    def status() -> dict:
        """Documents, chunks, model, version and build time of the index in use."""
        return state.status()

    # the tools' docstrings are written for agents reading them (qa.web.mcp_tools)
    answer.__doc__, retrieve.__doc__ = tools["answer"].__doc__, tools["retrieve"].__doc__
    hidden: dict[str, Any] = {"api_visibility": "undocumented"} if mcp else {}
    gr.api(answer, api_name="answer")
    gr.api(retrieve, api_name="retrieve")
    gr.api(tools["verify"], api_name="verify")
    gr.api(rebuild, api_name="rebuild", concurrency_limit=None, **hidden)
    gr.api(status, api_name="status", **hidden)


def build_blocks(state: AppState, feedback_file: Path | None = None, mcp: bool = False) -> Any:
    """The gr.Blocks of the app over ``state``: layout, events and the JSON API.

    ``feedback_file``: where 👍/👎 are appended; None: no feedback buttons. ``mcp``: the API
    is also offered as MCP tools (see ``_register_api``).
    """
    import gradio as gr  # deferred: importing gradio takes seconds

    docs = state.index.docs
    title = docs[0].title if len(docs) == 1 else "the corpus"
    url = getattr(docs[0], "url", "") if len(docs) == 1 else ""
    # delete_cache: drop anything uploaded to Gradio's temp dir after an hour (the app takes
    # no uploads, but the route exists); see SECURITY.md.
    blocks = gr.Blocks(title=f"Ask: {title}", analytics_enabled=False, delete_cache=(3600, 3600))
    with blocks as demo:
        ui = layout(state, title, url, feedback=feedback_file is not None)
        _wire_events(demo, state, ui, title, feedback_file)
        _register_api(state, mcp)
    demo.qa_state = state
    return demo


# ------------------------------------------------------------------------- starting it


def build_app(settings: Settings, warm_up: bool = False) -> Any:
    """The app's gr.Blocks over ``settings``' corpus and index, built first if missing or stale.

    ``warm_up`` loads the model in the background at once rather than on the first question.

    Example:
        >>> settings = Settings.from_env()
        >>> demo = build_app(settings)  # doctest: +SKIP
        >>> launch(demo, port=settings.port)  # doctest: +SKIP
    """
    state = AppState.open(settings)
    if warm_up:
        state.warm_up()
    return build_blocks(state, settings.feedback_file, settings.mcp)


def launch(
    demo: Any,
    host: str = Settings.host,
    port: int = Settings.port,
    share: bool = False,
    max_file_size: str | int | None = MAX_FILE_SIZE,
    mcp: bool = False,
    **kwargs: Any,
) -> Any:
    """Serve ``demo`` with the app's theme and CSS; returns what ``Blocks.launch`` returns.

    No MCP server unless ``mcp`` (``--mcp``), no server-side rendering, and uploads capped
    at ``max_file_size``.
    """
    import gradio as gr  # deferred: importing gradio takes seconds

    demo.queue(default_concurrency_limit=1)
    # Host/Origin allow-list against DNS rebinding, for the page, the API and MCP (hosts.py)
    app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
    app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), middleware_for(host)]
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        css=CSS,
        theme=gr.themes.Soft(primary_hue="indigo"),
        ssr_mode=False,
        mcp_server=mcp,
        max_file_size=max_file_size,
        # Gradio keeps every session's state (default 10,000 sessions): API calls without a
        # session id each open one, ~75 KiB apiece, so memory grew per request. Keep fewer.
        state_session_capacity=SESSION_CAPACITY,
        show_error=True,
        app_kwargs=app_kwargs,
        **kwargs,
    )


def serve(settings: Settings, share: bool = False) -> int:
    """Build the index if needed, then serve the app on ``settings``' host and port."""
    demo = build_app(settings)
    # quiet: Gradio's own lines would tell a user to set `share=True` in `launch()` (ours is
    # --share) and repeat the address; ours follow, once the server listens
    launch(
        demo, host=settings.host, port=settings.port, share=share, mcp=settings.mcp,
        prevent_thread_lock=True, quiet=True,
    )  # fmt: skip
    print(f"qa: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    if demo.qa_state.rebuild_off:
        print(f"qa: {demo.qa_state.rebuild_off}", file=sys.stderr)
    if settings.mcp:
        url = f"http://{settings.host}:{settings.port}/gradio_api/mcp/"
        print(f"qa: MCP tools (answer, retrieve, verify) at {url}", file=sys.stderr)
    # The model loads only now, so that importing torch does not delay the first page.
    demo.qa_state.warm_up()
    demo.block_thread()
    return 0


def parse_args(
    argv: list[str] | None = None, settings: Settings | None = None
) -> argparse.Namespace:
    """The command line of ``app.py``; ``settings`` (default: built-in) give the defaults."""
    settings = settings or Settings()
    p = argparse.ArgumentParser(
        prog="app.py",
        description="Serve the question-answering web app (quotes with the source's references).",
    )
    p.add_argument("--corpus", help="corpus directory (default: corpus/ or $QA_CORPUS_DIR)")
    p.add_argument("--index", help="index directory (default: index/ or $QA_INDEX_DIR)")
    p.add_argument("--model", help="embedding model name or path (default: bundled; $QA_MODEL)")
    add_serve_arguments(p, settings)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Read the settings (``QA_*``, then ``argv``), then serve until interrupted."""
    try:
        env = Settings.from_env()  # before parsing: even `app.py --help` reports a bad value
    except ConfigError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    args = parse_args(argv, env)
    show_progress()  # start-up builds of the index say so on stderr (logged by qa.api)
    try:
        settings = env.override(corpus_dir=args.corpus, index_dir=args.index, model=args.model)
        settings = serve_overrides(settings, args)
    except QAError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    # before the index is loaded or built: a taken port is one line now, not a traceback from
    # Gradio after minutes of building
    if problem := port_problem(settings.host, settings.port):
        print(f"qa: error: {problem}", file=sys.stderr)
        return 1
    try:
        return serve(settings, share=args.share)
    except QAError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # e.g. the port was taken between the check and Gradio's own bind
        problem = port_problem(settings.host, settings.port)
        print(f"qa: error: {problem or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130

"""The web app: a Gradio page and JSON API over :mod:`qa.webapp` (``python app.py``, ``qa serve``).

Three parts, each readable on its own:

- **handlers**: plain functions from the state and the inputs to what the page shows
  (:class:`View`); no Gradio, so tests call them directly;
- **layout** (:mod:`qa.app_layout`): the components, with the element ids the browser tests
  and the CSS use;
- **wiring**: the page's events (private) and the JSON API (/answer, /retrieve, /rebuild,
  /status), turning a ``QAError`` into a one-line ``gr.Error``.

:func:`main` reads the settings once (``QA_*``, then the command line) and serves.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

from .answer import answer_with_index
from .app_layout import CSS, DEFAULT_K, EXAMPLES, NO_CONTEXT, Ui, layout
from .errors import ConfigError, QAError
from .retrieval import retrieve_with_index
from .settings import Settings
from .webapp import AppState, chat_turn, one_line, sources_html, status_line, status_markdown

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


# ---------------------------------------------------------------- handlers (no Gradio)


@dataclass(frozen=True)
class Panels:
    """The answer panels after a question: sources, the passage picker, the passage in context.

    ``questions`` are the questions asked so far (for follow-ups); ``choices`` and ``picked``
    fill the picker; ``contexts`` hold each passage in context, ``context`` the one shown.
    """

    questions: list[str]
    sources_head: str
    sources: str
    choices: list[tuple[str, int]]
    picked: int | None
    contexts: list[str]
    context: str


@dataclass(frozen=True)
class View:
    """What a chat event shows: the input box, the conversation and the answer panels.

    ``panels`` is None when they keep showing the last answer (a refused or failed question).
    """

    box: str
    messages: list[dict]
    panels: Panels | None


def show_context(i, contexts) -> str:
    """The HTML of passage ``i`` in its context, or a hint when there is none."""
    ok = i is not None and contexts and 0 <= int(i) < len(contexts)
    return contexts[int(i)] if ok else NO_CONTEXT


def ask(state: AppState, question, k, messages, questions) -> View:
    """One chat question: the conversation grows by the question and its reply."""
    turn = chat_turn(state.index, question, k, questions or [])
    messages = list(messages or [])
    if turn.user is not None:
        messages.append({"role": "user", "content": turn.user})
    messages.append({"role": "assistant", "content": turn.reply})
    if turn.answer is None or turn.question is None:  # refused or failed: panels stay as they are
        return View(question if turn.keep_input else "", messages, None)
    panels = Panels(
        questions=[*(questions or []), turn.question],
        sources_head=turn.sources_head,
        sources=sources_html(turn.answer),
        choices=turn.choices,
        picked=turn.picked,
        contexts=turn.contexts,
        context=show_context(turn.picked, turn.contexts),
    )
    return View("", messages, panels)


def clear() -> View:
    """An empty conversation and empty panels."""
    return View("", [], Panels([], "", sources_html(None), [], None, [], NO_CONTEXT))


def rebuild_view(state: AppState) -> tuple[str, str, str]:
    """Rebuild the index; then the Index tab, the rebuild's message and the status line."""
    result = state.rebuild()
    return status_markdown(state), result["message"], status_line(state)


def answer_json(state: AppState, question, k=DEFAULT_K, history=None) -> dict:
    """The Answer as JSON. Raises QAError (a bad question, k or history: one line)."""
    idx = state.index
    with idx.serving():
        return answer_with_index(idx, question, k=k, history=history).to_dict()


def retrieve_json(state: AppState, question, k=DEFAULT_K) -> list[dict]:
    """The ``k`` best passages as JSON, best first. Raises QAError."""
    idx = state.index
    with idx.serving():
        return [asdict(p) for p in retrieve_with_index(idx, question, k)]


# ------------------------------------------------------------------------------- wiring


def _view_values(view: View) -> tuple:
    """``view`` as the values of :meth:`Ui.view_outputs`; kept panels are skipped."""
    import gradio as gr  # deferred: importing gradio takes seconds

    head = (view.box, view.messages, view.messages)
    p = view.panels
    if p is None:
        return (*head, *[gr.skip()] * 6)
    picker = gr.update(choices=p.choices, value=p.picked)
    return (*head, p.questions, p.sources_head, p.sources, picker, p.contexts, p.context)


def _wire_events(state: AppState, ui: Ui) -> None:
    """The page's events; private, so they are not part of the JSON API."""

    def on_ask(question, k, messages, questions):
        return _view_values(ask(state, question, k, messages, questions))

    def on_clear():
        return _view_values(clear())

    def on_rebuild():
        import gradio as gr  # deferred: importing gradio takes seconds

        yield gr.skip(), "Rebuilding the index from the corpus …", gr.skip()
        yield rebuild_view(state)

    private: dict[str, Any] = {"api_visibility": "private"}
    ask_io = (on_ask, [ui.box, ui.k, ui.messages, ui.questions], ui.view_outputs())
    ui.box.submit(*ask_io, **private)
    ui.ask_btn.click(*ask_io, **private)
    for btn, q in zip(ui.example_btns, EXAMPLES, strict=True):
        btn.click(lambda q=q: q, None, ui.box, **private).then(*ask_io, **private)
    ui.pick.input(show_context, [ui.pick, ui.contexts], ui.context, **private)
    ui.clear_btn.click(on_clear, None, ui.view_outputs(), **private)
    # No concurrency limit on rebuilds: a second one must reach state.rebuild() to be
    # refused there, rather than queue behind the first and run again.
    rebuild_outputs = [ui.status_md, ui.rebuild_msg, ui.statusline]
    ui.rebuild_btn.click(on_rebuild, None, rebuild_outputs, concurrency_limit=None, **private)


def _one_line_error(e: QAError):
    import gradio as gr  # deferred: importing gradio takes seconds

    return gr.Error(one_line(str(e)), print_exception=False)


def _register_api(state: AppState) -> None:
    """The JSON API: typed functions (their hints and docstrings are the API's description)."""
    import gradio as gr  # deferred: importing gradio takes seconds

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
        """Rebuild the index from the corpus directory; refused while another build runs."""
        return state.rebuild()

    def status() -> dict:
        """Documents, chunks, model and build time of the index in use."""
        return state.status()

    gr.api(answer, api_name="answer")
    gr.api(retrieve, api_name="retrieve")
    gr.api(rebuild, api_name="rebuild", concurrency_limit=None)
    gr.api(status, api_name="status")


def build_blocks(state: AppState):
    """The gr.Blocks of the app over ``state``: layout, events and the JSON API."""
    import gradio as gr  # deferred: importing gradio takes seconds

    docs = state.index.docs
    title = docs[0].title if len(docs) == 1 else "the corpus"
    # delete_cache: drop anything uploaded to Gradio's temp dir after an hour (the app takes
    # no uploads, but the route exists); see SECURITY.md.
    blocks = gr.Blocks(title=f"Ask: {title}", analytics_enabled=False, delete_cache=(3600, 3600))
    with blocks as demo:
        ui = layout(state, title)
        _wire_events(state, ui)
        _register_api(state)
    demo.qa_state = state
    return demo


# ------------------------------------------------------------------------- starting it


def build_app(settings: Settings, warm_up: bool = False):
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
    return build_blocks(state)


def launch(
    demo,
    host: str = Settings.host,
    port: int = Settings.port,
    share: bool = False,
    max_file_size: str | int | None = MAX_FILE_SIZE,
    **kwargs,
):
    """Serve ``demo`` with the app's theme and CSS; returns what ``Blocks.launch`` returns.

    No MCP server, no server-side rendering, and uploads capped at ``max_file_size``.
    """
    import gradio as gr  # deferred: importing gradio takes seconds

    demo.queue(default_concurrency_limit=1)
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        css=CSS,
        theme=gr.themes.Soft(primary_hue="indigo"),
        ssr_mode=False,
        mcp_server=False,
        max_file_size=max_file_size,
        # Gradio keeps every session's state (default 10,000 sessions): API calls without a
        # session id each open one, ~75 KiB apiece, so memory grew per request. Keep fewer.
        state_session_capacity=SESSION_CAPACITY,
        show_error=True,
        **kwargs,
    )


def serve(settings: Settings, share: bool = False) -> int:
    """Build the index if needed, then serve the app on ``settings``' host and port."""
    demo = build_app(settings)
    print(f"qa: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    launch(demo, host=settings.host, port=settings.port, share=share, prevent_thread_lock=True)
    # The model loads only now, so that importing torch does not delay the first page.
    demo.qa_state.warm_up()
    demo.block_thread()
    return 0


def parse_args(argv=None, settings: Settings | None = None) -> argparse.Namespace:
    """The command line of ``app.py``; ``settings`` (default: built-in) give the defaults."""
    settings = settings or Settings()
    p = argparse.ArgumentParser(
        prog="app.py",
        description="Serve the question-answering web app (quotes with the source's references).",
    )
    p.add_argument(
        "--host",
        default=settings.host,
        help="address to listen on (default: %(default)s, from $QA_HOST or 127.0.0.1)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=settings.port,
        help="port (default: %(default)s, from $QA_PORT or 7860)",
    )
    p.add_argument("--corpus", help="corpus directory (default: corpus/ or $QA_CORPUS_DIR)")
    p.add_argument("--index", help="index directory (default: index/ or $QA_INDEX_DIR)")
    p.add_argument("--model", help="embedding model name or path (default: bundled; $QA_MODEL)")
    p.add_argument(
        "--share",
        action="store_true",
        help="also open a public gradio.live link (off unless given)",
    )
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Read the settings (``QA_*``, then ``argv``), then serve until interrupted."""
    try:
        env = Settings.from_env()  # before parsing: even `app.py --help` reports a bad value
    except ConfigError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    args = parse_args(argv, env)
    settings = env.override(
        host=args.host,
        port=args.port,
        corpus_dir=args.corpus,
        index_dir=args.index,
        model=args.model,
    )
    try:
        return serve(settings, share=args.share)
    except QAError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130

"""The web app: ``python app.py`` serves it on http://127.0.0.1:7860 (see ``--help``).

A Gradio layout over the qa package: the chat, sources panel, index status and the JSON API
(/answer, /retrieve, /rebuild, /status). What happens behind each control is in ``qa.webapp``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict

from qa.errors import ConfigError, QAError
from qa.settings import Settings

# Before gradio is imported: no telemetry, no hub lookups.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EXAMPLES = [
    "Who runs the long-term shelter for victims?",
    "How many trafficking cases were investigated in 2007?",
    "When did Laos ratify the UN TIP Protocol?",
    "What tier was Laos placed in in 2023?",
    "Who mainly carries out human trafficking in Laos?",
]
DEFAULT_K = 5
MAX_UI_K = 20
#: Largest file Gradio's generic POST /gradio_api/upload accepts (larger: HTTP 413). The app
#: takes no uploads, so this only bounds what a client can put in Gradio's temp directory.
MAX_FILE_SIZE = "1mb"
#: Sessions whose chat state is kept; the oldest are dropped beyond this.
SESSION_CAPACITY = 500

CSS = """
#qa-header h1 { margin-bottom: 0.2em; }
#qa-statusline { color: var(--body-text-color-subdued); font-size: 0.9em; }
#qa-examples-label { margin: 4px 0 -4px 2px; color: var(--body-text-color-subdued); }
#qa-examples { flex-wrap: wrap; gap: 6px; }
#qa-examples .qa-example { flex: 0 1 auto !important; min-width: 0 !important;
  font-weight: normal; }
#qa-chat blockquote { border-left: 3px solid var(--color-accent); margin: 0.4em 0;
  padding: 0.2em 0.8em; }
.qa-passage { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin-bottom: 8px; background: var(--background-fill-primary); }
.qa-passage.qa-quoted { border-color: var(--color-accent); }
.qa-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 4px;
  display: flex; flex-wrap: wrap; justify-content: space-between; gap: 2px 10px; }
.qa-score { font-variant-numeric: tabular-nums; white-space: nowrap; }
.qa-badge { background: var(--color-accent-soft); border-radius: 4px; padding: 0 5px; }
.qa-text, .qa-context p { line-height: 1.5; }
.qa-passage mark, .qa-context mark { background: #fde68a; color: #1f2937; padding: 0 1px;
  border-radius: 2px; }
.qa-here { outline: 2px solid var(--color-accent); outline-offset: 1px; border-radius: 2px; }
.qa-empty { color: var(--body-text-color-subdued); font-style: italic; padding: 8px 2px; }
"""


def build_blocks(state):
    """The gr.Blocks of the app over ``state`` (a ``qa.webapp.AppState``)."""
    import gradio as gr

    from qa.answer import answer_with_index
    from qa.retrieval import MAX_QUESTION_CHARS
    from qa.webapp import (
        chat_turn,
        md_text,
        one_line,
        sources_html,
        status_line,
        status_markdown,
    )

    no_context = '<div class="qa-empty">Pick a passage to see it in the article.</div>'

    def ask(question, k, messages, questions):
        turn = chat_turn(state.index, question, k, questions or [])
        messages = list(messages or [])
        if turn.user is not None:
            messages.append({"role": "user", "content": turn.user})
        messages.append({"role": "assistant", "content": turn.reply})
        if turn.answer is None:  # refused or failed: the panels keep the last answer
            kept = question if turn.keep_input else ""
            return kept, messages, messages, *[gr.skip()] * 6
        return (
            "",
            messages,
            messages,
            [*(questions or []), turn.question],
            turn.sources_head,
            sources_html(turn.answer),
            gr.update(choices=turn.choices, value=turn.picked),
            turn.contexts,
            show_context(turn.picked, turn.contexts),
        )

    def show_context(i, contexts):
        ok = i is not None and contexts and 0 <= int(i) < len(contexts)
        return contexts[int(i)] if ok else no_context

    def clear():
        empty = gr.update(choices=[], value=None)
        return [], [], [], "", "", sources_html(None), empty, [], no_context

    def rebuild_ui():
        yield gr.skip(), "Rebuilding the index from the corpus …", gr.skip()
        result = state.rebuild()
        yield status_markdown(state), result["message"], status_line(state)

    # The JSON API: typed functions; bad input raises gr.Error with the one-line message.
    def answer(question: str, k: int = DEFAULT_K, history: list[str] | None = None) -> dict:
        """Answer a question: verbatim quotes with [n] refs, full references, passages."""
        try:
            hist = [h for h in (history or []) if isinstance(h, str) and h.strip()]
            return answer_with_index(state.index, question, k=k, history=hist).to_dict()
        except QAError as e:
            raise gr.Error(one_line(str(e)), print_exception=False) from None

    def retrieve(question: str, k: int = DEFAULT_K) -> list[dict]:
        """The k best passages for a question, best first."""
        try:
            return [asdict(p) for p in state.index.retrieve(question, k)]
        except QAError as e:
            raise gr.Error(one_line(str(e)), print_exception=False) from None

    def rebuild() -> dict:
        """Rebuild the index from the corpus directory; refused while another build runs."""
        return state.rebuild()

    def status() -> dict:
        """Documents, chunks, model and build time of the index in use."""
        return state.status()

    docs = state.index.docs
    title = docs[0].title if len(docs) == 1 else "the corpus"
    # delete_cache: drop anything uploaded to Gradio's temp dir after an hour (the app takes
    # no uploads, but the route exists); see SECURITY.md.
    with gr.Blocks(
        title=f"Ask: {title}", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as demo:
        messages_st, questions_st, contexts_st = gr.State([]), gr.State([]), gr.State([])
        gr.Markdown(
            f"# Ask *{md_text(title)}*\n"
            "Answers are **verbatim quotes** from the source with its own reference numbers, "
            "followed by the full reference entries. When the text does not answer, it says so.",
            elem_id="qa-header",
        )
        statusline = gr.Markdown(status_line(state), elem_id="qa-statusline")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    height=560,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=["copy"],
                    elem_id="qa-chat",
                    placeholder="Ask a question about the text. Follow-ups such as "
                    "*“and in 2018?”* use the conversation so far.",
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        show_label=False,
                        scale=5,
                        max_lines=4,
                        autofocus=True,
                        elem_id="qa-question",
                        placeholder=f"Ask a question (up to {MAX_QUESTION_CHARS} characters) "
                        "and press Enter",
                    )
                    ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80)
                gr.Markdown("Examples (click to ask):", elem_id="qa-examples-label")
                with gr.Row(elem_id="qa-examples"):
                    example_btns = [
                        gr.Button(q, size="sm", elem_classes="qa-example") for q in EXAMPLES
                    ]
                with gr.Row():
                    k = gr.Slider(
                        1,
                        MAX_UI_K,
                        value=DEFAULT_K,
                        step=1,
                        precision=0,
                        scale=3,
                        label="Passages to search (k)",
                    )
                    clear_btn = gr.Button("Clear conversation", scale=1, elem_id="qa-clear")
            with gr.Column(scale=2, min_width=360):
                with gr.Tab("Sources"):
                    sources_head = gr.Markdown("")
                    sources = gr.HTML(sources_html(None), elem_id="qa-sources")
                with gr.Tab("In context"):
                    pick = gr.Dropdown(choices=[], label="Passage", elem_id="qa-pick")
                    context = gr.HTML(no_context, elem_id="qa-context")
                with gr.Tab("Index"):
                    status_md = gr.Markdown(status_markdown(state), elem_id="qa-status")
                    rebuild_btn = gr.Button("Rebuild index", elem_id="qa-rebuild")
                    rebuild_msg = gr.Markdown(
                        "Rebuild picks up edited or added files in the corpus directory; "
                        "questions are answered from the current index meanwhile."
                    )

        private = {"api_visibility": "private"}
        ask_io = (
            ask,
            [box, k, messages_st, questions_st],
            [
                box,
                chatbot,
                messages_st,
                questions_st,
                sources_head,
                sources,
                pick,
                contexts_st,
                context,
            ],
        )
        box.submit(*ask_io, **private)
        ask_btn.click(*ask_io, **private)
        for btn, q in zip(example_btns, EXAMPLES, strict=True):
            btn.click(lambda q=q: q, None, box, **private).then(*ask_io, **private)
        pick.input(show_context, [pick, contexts_st], context, **private)
        clear_btn.click(
            clear,
            None,
            [
                chatbot,
                messages_st,
                questions_st,
                box,
                sources_head,
                sources,
                pick,
                contexts_st,
                context,
            ],
            **private,
        )
        # No concurrency limit on rebuilds: a second one must reach state.rebuild() to be
        # refused there, rather than queue behind the first and run again.
        rebuild_btn.click(
            rebuild_ui,
            None,
            [status_md, rebuild_msg, statusline],
            concurrency_limit=None,
            **private,
        )
        gr.api(answer, api_name="answer")
        gr.api(retrieve, api_name="retrieve")
        gr.api(rebuild, api_name="rebuild", concurrency_limit=None)
        gr.api(status, api_name="status")
    demo.qa_state = state
    return demo


def build_app(settings: Settings, warm_up: bool = False):
    """The app's gr.Blocks over ``settings``' corpus and index, built first if missing or stale.

    ``warm_up`` loads the model in the background at once rather than on the first question.

    Example:
        >>> settings = Settings.from_env()
        >>> demo = build_app(settings)  # doctest: +SKIP
        >>> launch(demo, port=settings.port)  # doctest: +SKIP
    """
    from qa.webapp import AppState

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


if __name__ == "__main__":
    sys.exit(main())

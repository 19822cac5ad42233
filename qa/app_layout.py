"""The web app's page: its components, their element ids, and its CSS (used by ``qa.app``).

The element ids (``qa-question``, ``qa-chat``, ``qa-sources``, ``qa-pick``, ``qa-context``,
``qa-status``, ``qa-rebuild``, ``qa-clear``, …) are what the CSS and the browser tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .questions import MAX_QUESTION_CHARS
from .webapp import AppState, md_text, sources_html, status_line, status_markdown

EXAMPLES = [
    "Who runs the long-term shelter for victims?",
    "How many trafficking cases were investigated in 2007?",
    "When did Laos ratify the UN TIP Protocol?",
    "What tier was Laos placed in in 2023?",
    "Who mainly carries out human trafficking in Laos?",
]
DEFAULT_K = 5
MAX_UI_K = 20
NO_CONTEXT = '<div class="qa-empty">Pick a passage to see it in the article.</div>'

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


@dataclass(frozen=True)
class Ui:
    """The components that events read or write (Gradio objects, hence ``Any``)."""

    statusline: Any
    messages: Any
    questions: Any
    contexts: Any
    chatbot: Any
    box: Any
    ask_btn: Any
    example_btns: list[Any]
    k: Any
    clear_btn: Any
    sources_head: Any
    sources: Any
    pick: Any
    context: Any
    status_md: Any
    rebuild_btn: Any
    rebuild_msg: Any

    def view_outputs(self) -> list[Any]:
        """The components a :class:`View` fills, in the order ``qa.app`` fills them."""
        return [
            self.box,
            self.chatbot,
            self.messages,
            self.questions,
            self.sources_head,
            self.sources,
            self.pick,
            self.contexts,
            self.context,
        ]


def layout(state: AppState, title: str) -> Ui:
    """The page's components, made inside a ``gr.Blocks`` context; returns those events use."""
    import gradio as gr  # deferred: importing gradio takes seconds

    states: dict[str, Any] = {
        "messages": gr.State([]),
        "questions": gr.State([]),
        "contexts": gr.State([]),
    }
    gr.Markdown(
        f"# Ask *{md_text(title)}*\n"
        "Answers are **verbatim quotes** from the source with its own reference numbers, "
        "followed by the full reference entries. When the text does not answer, it says so.",
        elem_id="qa-header",
    )
    statusline = gr.Markdown(status_line(state), elem_id="qa-statusline")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chat = _chat_column()
        with gr.Column(scale=2, min_width=360):
            side = _side_tabs(state)
    return Ui(statusline=statusline, **states, **chat, **side)


def _chat_column() -> dict[str, Any]:
    import gradio as gr  # deferred: importing gradio takes seconds

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
            placeholder=f"Ask a question (up to {MAX_QUESTION_CHARS} characters) and press Enter",
        )
        ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80)
    gr.Markdown("Examples (click to ask):", elem_id="qa-examples-label")
    with gr.Row(elem_id="qa-examples"):
        example_btns = [gr.Button(q, size="sm", elem_classes="qa-example") for q in EXAMPLES]
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
    return dict(
        chatbot=chatbot,
        box=box,
        ask_btn=ask_btn,
        example_btns=example_btns,
        k=k,
        clear_btn=clear_btn,
    )


def _side_tabs(state: AppState) -> dict[str, Any]:
    import gradio as gr  # deferred: importing gradio takes seconds

    with gr.Tab("Sources"):
        sources_head = gr.Markdown("")
        sources = gr.HTML(sources_html(None), elem_id="qa-sources")
    with gr.Tab("In context"):
        pick = gr.Dropdown(choices=[], label="Passage", elem_id="qa-pick")
        context = gr.HTML(NO_CONTEXT, elem_id="qa-context")
    with gr.Tab("Index"):
        status_md = gr.Markdown(status_markdown(state), elem_id="qa-status")
        rebuild_btn = gr.Button("Rebuild index", elem_id="qa-rebuild")
        rebuild_msg = gr.Markdown(
            "Rebuild picks up edited or added files in the corpus directory; "
            "questions are answered from the current index meanwhile."
        )
    return dict(
        sources_head=sources_head,
        sources=sources,
        pick=pick,
        context=context,
        status_md=status_md,
        rebuild_btn=rebuild_btn,
        rebuild_msg=rebuild_msg,
    )

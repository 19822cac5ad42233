"""The web app's page: its components, their element ids, its CSS and script (used by ``app``).

The element ids (``qa-question``, ``qa-chat``, ``qa-sources``, ``qa-pick``, ``qa-context``,
``qa-status``, ``qa-rebuild``, ``qa-clear``, ``qa-count``, ``qa-k``, …) are what the CSS
(``qa/app.css``), the script (``qa/app.js``) and the browser tests use.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..answering.question import MAX_QUESTION_CHARS
from .chat_html import conversation_html
from .panel_html import NO_CONTEXT, NO_SOURCES
from .state import AppState, status_markdown, version_line

EXAMPLES = [
    "Who runs the long-term shelter for victims?",
    "How many trafficking cases were investigated in 2007?",
    "When did Laos ratify the UN TIP Protocol?",
    "What tier was Laos placed in in 2023?",
    "Who mainly carries out human trafficking in Laos?",
]
DEFAULT_K = 5
#: How often an open page asks which index answers now (seconds): after a rebuild it says so.
VERSION_CHECK_S = 10
MAX_UI_K = 20
REBUILD_HINT = (
    "Rebuild picks up edited or added files in the corpus folder; questions are answered "
    "from the current index meanwhile."
)
_HERE = Path(__file__).resolve().parent
CSS = (_HERE / "app.css").read_text(encoding="utf-8")
CHAT_JS = (
    (_HERE / "app.js")
    .read_text(encoding="utf-8")
    .replace("__LIMIT__", str(MAX_QUESTION_CHARS))
    .replace("__MAX_K__", str(MAX_UI_K))
)
SOURCES_JS = """
const pick = (card) => trigger("select", { passage: Number(card.dataset.passage) });
element.addEventListener("click", (ev) => {
  const card = ev.target.closest(".qa-passage");
  if (card && !String(window.getSelection() || "")) pick(card);
});
element.addEventListener("keydown", (ev) => {
  if ((ev.key === "Enter" || ev.key === " ") && ev.target.matches(".qa-passage")) {
    ev.preventDefault();
    pick(ev.target);
  }
});
"""
CONTEXT_JS = """
// Show the quote in its context where the person is looking: once its tab is visible (it
// may still be switching), scroll it to the middle, on the page too (a phone's one surface).
// Gradio draws a tab's content when the tab is first opened: this runs then, and on a change.
function showHere(tries) {
  const here = element.querySelector(".qa-target") || element.querySelector(".qa-here");
  if (here && here.getClientRects().length) here.scrollIntoView({ block: "center" });
  else if (tries > 0) setTimeout(() => showHere(tries - 1), 80);
}
watch("value", () => setTimeout(() => showHere(25), 80));
setTimeout(() => showHere(25), 80);
"""


@dataclass(frozen=True)
class Ui:
    """The components that events read or write (Gradio objects, hence ``Any``)."""

    statusline: Any
    shown_version: Any
    version_timer: Any
    exchanges: Any
    contexts: Any
    chat: Any
    box: Any
    ask_btn: Any
    example_btns: list[Any]
    k: Any
    clear_btn: Any
    tabs: Any
    sources: Any
    pick: Any
    context: Any
    status_md: Any
    rebuild_btn: Any
    rebuild_msg: Any
    check_text: Any
    check_btn: Any
    check_out: Any

    def view_outputs(self) -> list[Any]:
        """The components a :class:`qa.web.handlers.View` fills, in the order ``app`` does."""
        return [
            self.box,
            self.chat,
            self.exchanges,
            self.sources,
            self.pick,
            self.contexts,
            self.context,
        ]


def header_html(title: str, url: str = "") -> str:
    """The page's title, linked to the source when the document gives a web address."""
    shown = html.escape(title)
    if re.match(r"https?://[^\s\"'<>]+$", url or ""):
        link = f'href="{html.escape(url)}" target="_blank" rel="noopener noreferrer"'
        shown = f"<a {link}>{shown}</a>"
    return (
        f"<h1>Ask <i>{shown}</i></h1><p>Answers are <b>verbatim quotes</b> from the source with "
        "its own reference numbers, followed by the full reference entries. When the text "
        "does not answer, it says so.</p>"
    )


def layout(state: AppState, title: str, url: str = "", feedback: bool = False) -> Ui:
    """The page's components, made inside a ``gr.Blocks`` context; returns those events use."""
    import gradio as gr  # deferred: importing gradio takes seconds

    exchanges, contexts = gr.State([]), gr.State([])
    # the version line this page shows: the app fills it on load and when a rebuild changes it
    shown_version, version_timer = gr.State(""), gr.Timer(VERSION_CHECK_S)
    gr.HTML(header_html(title, url), elem_id="qa-header", js_on_load=None)
    # one polite live region, outside the conversation (which is redrawn whole): the page's
    # script puts the gist of each new reply here for screen readers
    gr.HTML(
        '<div id="qa-announce" class="qa-sr" role="status" aria-live="polite"></div>',
        js_on_load=None,
        padding=False,
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chat = _chat_column(feedback)
            statusline = gr.Markdown(version_line(state), elem_id="qa-statusline")
        with gr.Column(scale=2, min_width=360):
            side = _side_tabs(state)
    return Ui(
        statusline=statusline,
        shown_version=shown_version,
        version_timer=version_timer,
        exchanges=exchanges,
        contexts=contexts,
        **chat,
        **side,
    )


def _chat_column(feedback: bool) -> dict[str, Any]:
    import gradio as gr  # deferred: importing gradio takes seconds

    chat = gr.HTML(conversation_html([], feedback=feedback), elem_id="qa-chat", js_on_load=CHAT_JS)
    with gr.Row(equal_height=True):
        box = gr.Textbox(
            label="Question",
            show_label=False,
            scale=5,
            max_lines=4,
            elem_id="qa-question",
            placeholder="Ask a question",
        )
        ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-ask")
    gr.HTML(
        f'<div id="qa-count" aria-live="polite">Up to {MAX_QUESTION_CHARS} characters; '
        "Enter asks.</div>",
        js_on_load=None,
    )
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
            info="More passages: more to quote from, slower answers.",
            elem_id="qa-k",
        )
        clear_btn = gr.Button("Clear conversation", scale=1, elem_id="qa-clear")
    gr.HTML('<div id="qa-k-note" role="status" aria-live="polite"></div>', js_on_load=None)
    return dict(
        chat=chat, box=box, ask_btn=ask_btn, example_btns=example_btns, k=k, clear_btn=clear_btn
    )


def _side_tabs(state: AppState) -> dict[str, Any]:
    import gradio as gr  # deferred: importing gradio takes seconds

    with gr.Tabs(elem_id="qa-tabs") as tabs:
        with gr.Tab("Sources", id="sources"):
            sources = gr.HTML(NO_SOURCES, elem_id="qa-sources", js_on_load=SOURCES_JS)
        with gr.Tab("In context", id="context"):
            pick = gr.Dropdown(choices=[], label="Passage", elem_id="qa-pick")
            context = gr.HTML(NO_CONTEXT, elem_id="qa-context", js_on_load=CONTEXT_JS)
        with gr.Tab("Index", id="index"):
            status_md = gr.Markdown(status_markdown(state), elem_id="qa-status")
            rebuild_btn = gr.Button(
                "Rebuild index", elem_id="qa-rebuild", interactive=not state.rebuild_off
            )
            rebuild_msg = gr.Markdown(state.rebuild_off or REBUILD_HINT, elem_id="qa-rebuild-msg")
        with gr.Tab("Check a quote", id="check"):
            check_text = gr.Textbox(
                label="A quote to check against the source",
                placeholder="Paste a quote, with or without its [n]: "
                "“Laos ratified the 2000 UN TIP Protocol in September 2003.[1]”",
                lines=3,
                max_length=5000,
                elem_id="qa-check-text",
            )
            check_btn = gr.Button("Check", elem_id="qa-check")
            # every given or source text in it is escaped (qa.web.check_html)
            check_out = gr.HTML("", elem_id="qa-check-result", js_on_load=None)
    return dict(
        tabs=tabs,
        sources=sources,
        pick=pick,
        context=context,
        status_md=status_md,
        rebuild_btn=rebuild_btn,
        rebuild_msg=rebuild_msg,
        check_text=check_text,
        check_btn=check_btn,
        check_out=check_out,
    )

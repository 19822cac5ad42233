"""The web app's handlers: plain functions from the state and the inputs to what the page
shows, without Gradio, so that tests call them directly (``qa.web.app`` wires them to the page).

The conversation is ONE value, a list of :class:`~qa.web.transcript.Exchange`: the chat, the
follow-up history, the copy and export texts and the feedback all read it, so that clearing
it forgets all of them together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..answering.answer import answer_with_index
from ..answering.retrieval import retrieve_with_index
from ..answering.verify import check_text, verify_with_index
from ..errors import QAError
from ..eval.feedback import Feedback, FeedbackError, FeedbackGate, record
from .check_html import check_error_html, check_html
from .layout import DEFAULT_K
from .panel_html import NO_CONTEXT, NO_SOURCES, context_html, quote_context_html, sources_html
from .state import AppState, chat_turn, md_text, one_line, status_markdown, version_line
from .transcript import Exchange


@dataclass(frozen=True)
class Panels:
    """The answer panels after a question: sources, the passage picker, the passage in context.

    ``choices`` and ``picked`` fill the picker; ``contexts`` hold each passage in context,
    ``context`` the one shown.
    """

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
    exchanges: list[Exchange]
    panels: Panels | None


def history_of(exchanges: Sequence[Exchange] | None) -> list[str]:
    """The questions answered so far, oldest first: what follow-ups are read against."""
    return [e.question for e in exchanges or [] if e.answer is not None and e.question]


def last_answered(exchanges: Sequence[Exchange] | None) -> Exchange | None:
    return next((e for e in reversed(exchanges or []) if e.answer is not None), None)


def show_context(i: float | None, contexts: Sequence[str] | None) -> str:
    """The HTML of passage ``i`` in its context, or a hint when there is none."""
    if i is None or not contexts or not 0 <= int(i) < len(contexts):
        return NO_CONTEXT
    return contexts[int(i)]


def ask(
    state: AppState, question: str, k: float | str, exchanges: Sequence[Exchange] | None
) -> View:
    """One chat question: the conversation grows by the question and its reply."""
    turn = chat_turn(state.index, question, k, history_of(exchanges))
    grown = [*(exchanges or []), turn.exchange]
    if turn.exchange.answer is None:  # refused or failed: the panels stay as they are
        return View(question if turn.keep_input else "", grown, None)
    panels = Panels(
        sources=sources_html(turn.exchange),
        choices=turn.choices,
        picked=turn.picked,
        contexts=turn.contexts,
        context=show_context(turn.picked, turn.contexts),
    )
    return View("", grown, panels)


def clear() -> View:
    """An empty conversation and empty panels: nothing of the old one is remembered."""
    return View("", [], Panels(NO_SOURCES, [], None, [], NO_CONTEXT))


def k_changed(exchanges: Sequence[Exchange] | None, k: float | str) -> str:
    """The Sources panel after k was changed: it says that the next question uses the new k."""
    try:
        k_now = math.floor(float(k) + 0.5)
    except (TypeError, ValueError, OverflowError):
        k_now = None
    return sources_html(last_answered(exchanges), k_now)


def _index(data: Mapping[str, Any], key: str, n: int) -> int | None:
    v = data.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n else None


def open_in_context(
    state: AppState, exchanges: Sequence[Exchange] | None, data: object
) -> str | None:
    """A clicked quote (``{"turn", "quote"}``) or closest passage (``{"turn", "passage"}``)
    in the article; None when the click names nothing in this conversation."""
    exchanges = list(exchanges or [])
    data = data if isinstance(data, Mapping) else {}
    t = _index(data, "turn", len(exchanges))
    ans = exchanges[t].answer if t is not None else None
    if ans is None:
        return None
    if (j := _index(data, "quote", len(ans.quotes))) is not None:
        return quote_context_html(state.index, ans.quotes[j])
    if (j := _index(data, "passage", len(ans.passages))) is not None:
        return context_html(state.index, ans, j)
    return None


def give_feedback(
    exchanges: Sequence[Exchange] | None,
    data: object,
    path: Path | None,
    gate: FeedbackGate | None = None,
    client: str = "",
) -> tuple[bool, str]:
    """Record 👍/👎 on answer ``data["turn"]``: (saved, the message to show).

    ``gate`` refuses a repeated vote and more than its rate per ``client``.
    """
    exchanges = list(exchanges or [])
    data = data if isinstance(data, Mapping) else {}
    t = _index(data, "turn", len(exchanges))
    if path is None:
        return False, "Feedback is off in this app."
    if t is None or exchanges[t].answer is None:
        return False, "That answer is no longer in this conversation."
    e = exchanges[t]
    assert e.answer is not None
    try:
        fb = Feedback.of(
            e.answer,
            str(data.get("vote", "")),
            str(data.get("reason", "")),
            history_of(exchanges[:t]),
            e.version,
            e.k,
        )
        if gate is not None and (why := gate.admit(fb, client)):
            return False, f"Feedback not saved: {why}."
        record(path, fb)
    except FeedbackError as err:
        return False, f"Feedback not saved: {err}."
    return True, f"Thanks: feedback saved on this machine ({path.name})."


def rebuild_view(state: AppState) -> tuple[str, str, str]:
    """Rebuild the index; then the Index tab, the rebuild's message and the version line."""
    result = state.rebuild()  # the message names corpus files: Markdown-escaped for the page
    return status_markdown(state), md_text(result["message"]), version_line(state)


def answer_json(
    state: AppState, question: str, k: int = DEFAULT_K, history: list[str] | None = None
) -> dict:
    """The Answer as JSON. Raises QAError (a bad question, k or history: one line)."""
    idx = state.index
    with idx.serving():
        return answer_with_index(idx, question, k=k, history=history).to_dict()


def retrieve_json(state: AppState, question: str, k: int = DEFAULT_K) -> list[dict]:
    """The ``k`` best passages as JSON, best first. Raises QAError."""
    idx = state.index
    with idx.serving():
        return [asdict(p) for p in retrieve_with_index(idx, question, k)]


def check_quote(state: AppState, text: Any) -> str:
    """The "Check a quote" tab's HTML: is ``text`` in the source verbatim, with its [n]?"""
    try:
        check_text(text)
        idx = state.index
        with idx.serving():
            return check_html(verify_with_index(idx, text))
    except QAError as e:
        return check_error_html(one_line(str(e)))

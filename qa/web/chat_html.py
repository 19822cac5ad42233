"""The conversation as HTML: quotes with clickable [n], copy and feedback buttons, export.

Every piece of text from the user or the source goes through :func:`html.escape`, in element
content and in attributes alike; the app's own markup is all that remains. What the copy and
download buttons give is computed here, in Python (:mod:`qa.web.transcript`), and carried in
``data-copy`` / ``data-content`` attributes, which the browser decodes back to the exact
characters. The page's script (``qa/app.js``) only moves those strings to the clipboard or a
file, and sends clicks on quotes and feedback back as events.

Class names ``message user``, ``message bot`` and ``message-content`` follow Gradio's chatbot,
so that the page's tests read either the same way.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..answering.render import claim_marks, notes_of, why_not
from ..eval.feedback import REASONS
from ..readers.document import MARK_RE
from ..results import Answer, Passage, Quote, Reference
from .transcript import (
    CLOSEST,
    NOT_FOUND,
    Exchange,
    answer_markdown_of,
    answer_text,
    conversation_markdown,
    conversation_text,
    outcome,
    quote_markdown,
    quote_text,
    shown_passages,
    tentative_line,
    where,
)

PLACEHOLDER = (
    "Ask a question about the text. Follow-ups such as “and in 2018?” use the conversation so far."
)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def _chip(n: int, page: str | None = None) -> str:
    label = f"[{n}]" + (f": {page}" if page else "")
    return (
        f'<button type="button" class="qa-ref" data-ref="{n}" '
        f'aria-label="Reference {n}: show its entry">{html.escape(label)}</button>'
    )


def with_chips(text: str) -> str:
    """``text`` escaped, each ``[n]`` marker in it a reference button (notes, tags stay text)."""
    out, pos = [], 0
    for m in MARK_RE.finditer(text):
        if not m.group("num"):
            continue
        out += [html.escape(text[pos : m.start()]), _chip(int(m.group("num")), m.group("page"))]
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _trailing_chips(text: str, refs: Sequence[int], pages: dict[int, str] | None = None) -> str:
    """Chips for the refs the text does not hold itself; the same look as the inner ones."""
    pages = pages or {}
    missing = [r for r in refs if f"[{r}]" not in text]
    chips = "".join(_chip(r, pages.get(r)) for r in missing)
    return f'<span class="qa-marks">{chips}</span>' if chips else ""


def _copy_button(label: str, content: str, cls: str = "") -> str:
    classes = f"qa-copy {cls}".strip()
    return (
        f'<button type="button" class="{classes}" data-copy="{_attr(content)}">'
        f"{html.escape(label)}</button>"
    )


def _quote_html(q: Quote, j: int, refs: Sequence[Reference], tentative: bool) -> str:
    marks = _trailing_chips(q.text, q.refs, q.pages)
    if not q.refs:
        marks = '<span class="qa-noref">(no reference in the source)</span>'
    claims = "".join(f'<div class="qa-claim">{html.escape(m)}</div>' for m in claim_marks(q))
    label = '<span class="qa-badge qa-tentative-badge">tentative</span> ' if tentative else ""
    return (
        f'<figure class="qa-quote-block">{label}'
        f'<blockquote class="qa-quote" data-quote="{j}" tabindex="0" '
        f'title="Show this quote in the article">{with_chips(q.text)}'
        f"{' ' if marks else ''}{marks}</blockquote>"
        f"<figcaption>— {html.escape(where(q.title, q.section))}</figcaption>{claims}"
        f'<div class="qa-tools">{_copy_button("Copy quote", quote_text(q, refs))}'
        f"{_copy_button('Copy as Markdown', quote_markdown(q), 'qa-md')}</div></figure>"
    )


def _passage_html(p: Passage, j: int) -> str:
    return (
        f'<figure class="qa-quote-block qa-closest">'
        f'<blockquote class="qa-quote" data-passage="{j}" tabindex="0" '
        f'title="Show this passage in the article">{with_chips(p.text)}'
        f" {_trailing_chips(p.text, p.refs)}</blockquote>"
        f"<figcaption>— {html.escape(where(p.title, p.section))}</figcaption></figure>"
    )


def _references_html(refs: Sequence[Reference], t: int) -> str:
    if not refs:
        return ""
    items = "".join(
        f'<li id="qa-ref-{t}-{r.number}" data-ref="{r.number}">'
        f'<span class="qa-refnum">[{r.number}]</span> {html.escape(r.text)}</li>'
        for r in refs
    )
    return f'<div class="qa-refs"><div class="qa-refs-title">References</div><ul>{items}</ul></div>'


def _notes_html(ans: Answer) -> str:
    notes = notes_of(ans)
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(f'[{label}] {text}')}</li>" for label, text in notes)
    head = '<div class="qa-refs-title">Notes</div>'
    return f'<div class="qa-refs qa-notes">{head}<ul>{items}</ul></div>'


#: Material's "thumb up" icon (Apache 2.0); the down vote is the same turned over (CSS).
_THUMB = (
    '<svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true" focusable="false">'
    '<path fill="currentColor" d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4'
    "-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 7.9 6 8.4 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3"
    '-7.1c.1-.2.2-.5.2-.7v-2z"/></svg>'
)


def _feedback_html() -> str:
    reasons = "".join(
        f'<button type="button" class="qa-reason" data-reason="{key}">{html.escape(text)}</button>'
        for key, text in REASONS.items()
    )
    return (
        '<span class="qa-feedback">'
        '<button type="button" class="qa-vote" data-vote="up" aria-pressed="false" '
        f'aria-label="Good answer" title="Good answer">{_THUMB}</button>'
        '<button type="button" class="qa-vote" data-vote="down" aria-pressed="false" '
        f'aria-label="Bad answer" title="Bad answer">{_THUMB}</button>'
        f'<span class="qa-reasons" hidden>What was wrong? {reasons}</span>'
        '<span class="qa-thanks" role="status"></span></span>'
    )


def _reply_html(e: Exchange, t: int, feedback: bool) -> str:
    ans = e.answer
    if ans is None:
        return f'<p class="qa-notice-text">{html.escape(e.notice)}</p>'
    kind, body = outcome(ans), []
    if kind == "not_found":
        body.append(
            f'<p class="qa-verdict"><b>{NOT_FOUND}</b> '
            "No passage of the source answers this question.</p>"
        )
        if ans.reasons:
            body.append(f'<p class="qa-why">{html.escape(why_not(ans.reasons))}</p>')
        if shown_passages(ans):
            body.append(f'<p class="qa-closest-head">{html.escape(CLOSEST)}</p>')
            body += [_passage_html(p, j) for j, p in enumerate(shown_passages(ans))]
    else:
        tentative = kind == "tentative"
        if tentative:
            line = html.escape(tentative_line(ans))
            body.append(f'<p class="qa-verdict qa-tentative">{line}</p>')
        body += [_quote_html(q, j, e.references, tentative) for j, q in enumerate(ans.quotes)]
    body += [_notes_html(ans), _references_html(e.references, t)]
    link = ans.query or e.question or ""  # a follow-up's link asks what was searched
    tools = (
        _copy_button("Copy answer", answer_text(e), "qa-copy-answer")
        + _copy_button("Copy as Markdown", answer_markdown_of(e), "qa-md")
        + f'<button type="button" class="qa-link" data-q="{_attr(link)}">Copy link</button>'
        + (_feedback_html() if feedback else "")
    )
    return "".join(body) + f'<div class="qa-tools qa-answer-tools">{tools}</div>'


def _kind(e: Exchange) -> str:
    return "qa-notice" if e.answer is None else f"qa-{outcome(e.answer).replace('_', '')}"


def conversation_html(exchanges: Sequence[Exchange], title: str = "", feedback: bool = True) -> str:
    """The conversation: each question and its reply, with the toolbar to copy or save it."""
    if not exchanges:
        empty = f'<div class="qa-placeholder">{PLACEHOLDER}</div>'
        return f'<div class="qa-conv" data-turns="0">{empty}</div>'
    text, markdown = conversation_text(exchanges, title), conversation_markdown(exchanges, title)
    toolbar = (
        '<div class="qa-toolbar">'
        + _copy_button("Copy all", text, "qa-copy-all")
        + f'<button type="button" class="qa-download" data-filename="conversation.md" '
        f'data-content="{_attr(markdown)}">Save .md</button>'
        f'<button type="button" class="qa-download" data-filename="conversation.txt" '
        f'data-content="{_attr(text)}">Save .txt</button></div>'
    )
    turns = []
    for t, e in enumerate(exchanges):
        user = ""
        if e.shown is not None:
            shown = html.escape(e.shown)
            user = f'<div class="message user"><div class="message-content">{shown}</div></div>'
        turns.append(
            f'<div class="qa-turn" data-turn="{t}">{user}'
            f'<div class="message bot {_kind(e)}"><div class="message-content">'
            f"{_reply_html(e, t, feedback)}</div></div></div>"
        )
    return (
        f'<div class="qa-conv" data-turns="{len(exchanges)}">{toolbar}'
        '<div class="qa-scroll" tabindex="0" aria-label="Conversation">'
        f"{''.join(turns)}</div></div>"
    )

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

import datetime as dt
import html
import re
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
    passage_line,
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


#: A web address in a reference entry: http(s) only, so no other scheme is ever a link.
_URL_RE = re.compile(r"https?://[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)


def _chip(n: int, page: str | None = None) -> str:
    label = f"[{n}]" + (f": {page}" if page else "")
    return (
        f'<button type="button" class="qa-ref" data-ref="{n}" aria-expanded="false" '
        f'aria-label="Reference {n}: show its entry">{html.escape(label)}</button>'
    )


def linked(text: str) -> str:
    """``text`` escaped, each http(s) address in it a link that opens in a new tab.

    Punctuation that ends the sentence around an address (``.``, ``,``, ``)`` …) is not
    part of it. Other schemes (``javascript:``, ``ftp:``, ``data:``) stay text.
    """
    out, pos = [], 0
    for m in _URL_RE.finditer(text):
        url = m.group().rstrip(".,;:!?)'’”")
        if url.count("(") > url.count(")") and m.group()[len(url) :].startswith(")"):
            url += ")"  # a balanced "(…)" belongs to the address (Wikipedia's own style)
        if len(url) <= len("https://"):
            continue
        end = m.start() + len(url)
        out += [
            html.escape(text[pos : m.start()]),
            f'<a href="{_attr(url)}" target="_blank" rel="noopener noreferrer">'
            f"{html.escape(url)}</a>",
        ]
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def export_name(title: str, suffix: str, day: dt.date | None = None) -> str:
    """A download's file name: the article's name and the date, ``laos-2024-08-19.md``."""
    slug = re.sub(r"[^\w]+", "-", title.lower(), flags=re.UNICODE).strip("-_")[:60].strip("-")
    day = day or dt.date.today()
    return f"{slug or 'conversation'}-{day.isoformat()}{suffix}"


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


def _copy_button(label: str, content: str, cls: str = "", name: str = "") -> str:
    """A button that copies ``content``; ``name`` is its accessible name when the visible
    ``label`` alone would not say which quote or answer (it starts with the label)."""
    classes = f"qa-copy {cls}".strip()
    named = f' aria-label="{_attr(name)}"' if name else ""
    return (
        f'<button type="button" class="{classes}" data-copy="{_attr(content)}"{named}>'
        f"{html.escape(label)}</button>"
    )


def _show_button(name: str) -> str:
    """The button that opens its quote (or passage) in the article: the quote itself is
    clickable too, but a button is what a keyboard, a screen reader and a finger find."""
    return f'<button type="button" class="qa-show" aria-label="{_attr(name)}">In context</button>'


def _marked(q: Quote, line: str) -> str:
    """The quote's HTML (markers as chips) with the words that answer in ``<strong>``."""
    if q.answer_start is None or q.answer_end is None:
        return with_chips(line)
    a, b = q.answer_start - q.start, q.answer_end - q.start
    if line[a:b] != q.answer_text:
        return with_chips(line)
    return (
        f'{with_chips(line[:a])}<strong class="qa-answer">{with_chips(line[a:b])}</strong>'
        f"{with_chips(line[b:])}"
    )


def _quote_html(
    q: Quote, j: int, t: int, line: str, refs: Sequence[Reference], tentative: bool
) -> str:
    """Quote ``j`` of answer ``t``; ``line`` is it with its markers as the source writes them."""
    marks = ' <span class="qa-noref">(no reference in the source)</span>' if not q.refs else ""
    claims = "".join(f'<div class="qa-claim">{html.escape(m)}</div>' for m in claim_marks(q))
    label = '<span class="qa-badge qa-tentative-badge">tentative</span> ' if tentative else ""
    which = f"quote {j + 1} of answer {t + 1}"
    return (
        f'<figure class="qa-quote-block">{label}'
        f'<blockquote class="qa-quote" data-quote="{j}" '
        f'title="Show this quote in the article">{_marked(q, line)}{marks}</blockquote>'
        f"<figcaption>— {html.escape(where(q.title, q.section))}</figcaption>{claims}"
        f'<div class="qa-tools">{_show_button(f"Show {which} in the article")}'
        + _copy_button("Copy quote", line, "", f"Copy {which}")
        + _copy_button(
            "Copy with references",
            quote_text(q, refs, line),
            "qa-copy-refs",
            f"Copy {which} with its references",
        )
        + _copy_button(
            "Copy as Markdown", quote_markdown(q, line), "qa-md", f"Copy {which} as Markdown"
        )
        + "</div></figure>"
    )


def _passage_html(p: Passage, j: int, t: int) -> str:
    return (
        f'<figure class="qa-quote-block qa-closest">'
        f'<blockquote class="qa-quote" data-passage="{j}" '
        'title="Show this passage in the article">'
        f"{with_chips(passage_line(p))}</blockquote>"
        f"<figcaption>— {html.escape(where(p.title, p.section))}</figcaption>"
        f'<div class="qa-tools">'
        f"{_show_button(f'Show closest passage {j + 1} of answer {t + 1} in the article')}"
        "</div></figure>"
    )


def _references_html(refs: Sequence[Reference], t: int) -> str:
    if not refs:
        return ""
    items = "".join(
        f'<li id="qa-ref-{t}-{r.number}" data-ref="{r.number}">'
        f'<span class="qa-refnum">[{r.number}]</span> {linked(r.text)}</li>'
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


def _feedback_html(t: int) -> str:
    reasons = "".join(
        f'<button type="button" class="qa-reason" data-reason="{key}">{html.escape(text)}</button>'
        for key, text in REASONS.items()
    )
    return (
        '<span class="qa-feedback">'
        '<button type="button" class="qa-vote" data-vote="up" aria-pressed="false" '
        f'aria-label="Good answer (answer {t + 1})" title="Good answer">{_THUMB}</button>'
        '<button type="button" class="qa-vote" data-vote="down" aria-pressed="false" '
        f'aria-label="Bad answer (answer {t + 1})" title="Bad answer">{_THUMB}</button>'
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
            body += [_passage_html(p, j, t) for j, p in enumerate(shown_passages(ans))]
    else:
        tentative = kind == "tentative"
        if tentative:
            line = html.escape(tentative_line(ans))
            body.append(f'<p class="qa-verdict qa-tentative">{line}</p>')
        body += [
            _quote_html(q, j, t, line, e.references, tentative)
            for j, (q, line) in enumerate(zip(ans.quotes, e.quote_lines(), strict=True))
        ]
    body += [_notes_html(ans), _references_html(e.references, t)]
    link = ans.query or e.question or ""  # a follow-up's link asks what was searched
    n = t + 1
    tools = (
        _copy_button("Copy answer", answer_text(e), "qa-copy-answer", f"Copy answer {n}")
        + _copy_button(
            "Copy as Markdown", answer_markdown_of(e), "qa-md", f"Copy answer {n} as Markdown"
        )
        + f'<button type="button" class="qa-link" data-q="{_attr(link)}" '
        f'aria-label="Copy link to answer {n}">Copy link</button>'
        + (_feedback_html(t) if feedback else "")
    )
    return "".join(body) + f'<div class="qa-tools qa-answer-tools">{tools}</div>'


def _kind(e: Exchange) -> str:
    return "qa-notice" if e.answer is None else f"qa-{outcome(e.answer).replace('_', '')}"


def announcement(exchanges: Sequence[Exchange]) -> str:
    """What a screen reader hears when the newest reply arrives: its number and its gist."""
    if not exchanges:
        return ""
    t, e = len(exchanges), exchanges[-1]
    ans = e.answer
    if ans is None:
        return f"Reply {t}: {e.notice}"
    kind = outcome(ans)
    if kind == "not_found":
        return f"Answer {t}: {NOT_FOUND} No passage of the source answers this question."
    lines = e.quote_lines()
    more = len(lines) - 1
    first = lines[0] if lines else ""
    also = f" And {more} more quote{'s' if more != 1 else ''}." if more > 0 else ""
    head = "Tentative answer" if kind == "tentative" else "Answer"
    return f"{head} {t}: {first}{also}"


def _turn_heading(e: Exchange, t: int) -> str:
    """The turn's heading: the question (a reply without one still gets a heading)."""
    if e.shown is None:
        return f'<h2 class="qa-sr">Reply {t + 1}</h2>'
    name = _attr(f"Question {t + 1}: {e.shown}")
    return (
        f'<div class="message user"><h2 class="message-content" aria-label="{name}">'
        f"{html.escape(e.shown)}</h2></div>"
    )


def conversation_html(exchanges: Sequence[Exchange], title: str = "", feedback: bool = True) -> str:
    """The conversation: each question and its reply, with the toolbar to copy or save it."""
    if not exchanges:
        empty = f'<div class="qa-placeholder">{PLACEHOLDER}</div>'
        return f'<div class="qa-conv" data-turns="0">{empty}</div>'
    text, markdown = conversation_text(exchanges, title), conversation_markdown(exchanges, title)
    name = title if title and title != "the corpus" else "conversation"
    toolbar = (
        '<div class="qa-toolbar">'
        + _copy_button("Copy all", text, "qa-copy-all", "Copy the whole conversation")
        + f'<button type="button" class="qa-download" '
        f'data-filename="{_attr(export_name(name, ".md"))}" data-content="{_attr(markdown)}" '
        'aria-label="Save .md: the conversation as Markdown">Save .md</button>'
        f'<button type="button" class="qa-download" '
        f'data-filename="{_attr(export_name(name, ".txt"))}" data-content="{_attr(text)}" '
        'aria-label="Save .txt: the conversation as text">Save .txt</button></div>'
    )
    turns = [
        f'<div class="qa-turn" data-turn="{t}">{_turn_heading(e, t)}'
        f'<div class="message bot {_kind(e)}"><div class="message-content">'
        f"{_reply_html(e, t, feedback)}</div></div></div>"
        for t, e in enumerate(exchanges)
    ]
    return (
        f'<div class="qa-conv" data-turns="{len(exchanges)}" '
        f'data-announce="{_attr(announcement(exchanges))}">{toolbar}'
        '<div class="qa-scroll" tabindex="0" role="region" aria-label="Conversation">'
        f"{''.join(turns)}</div></div>"
    )

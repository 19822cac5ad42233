"""The "Check a quote" tab's result as HTML: a verdict in words and colour, the difference
marked up with ``<del>``/``<ins>``, and the source's references (linked where they give an
address).

Every piece of given or source text goes through :func:`html.escape`; only the app's own tags
remain. The CLI keeps its word diff (:func:`qa.answering.render.render_verification`).
"""

from __future__ import annotations

import html

from ..answering.render import tags
from ..results import Verification
from .chat_html import linked
from .transcript import where

#: The three verdicts: (class, words). The class gives the colour; the words say it all alone.
RIGHT = ("qa-check-ok", "Verbatim, with the source's references.")
NO_REFS = ("qa-check-ok", "Verbatim.")
WRONG_REFS = ("qa-check-refs", "Verbatim, but with the wrong references.")
NOT_IN_TEXT = ("qa-check-no", "Not in the text.")


def verdict(v: Verification) -> tuple[str, str]:
    """Which of the verdicts ``v`` gets: (CSS class, the words)."""
    if not v.verbatim:
        return NOT_IN_TEXT
    if v.refs_ok is None:
        return NO_REFS
    return RIGHT if v.refs_ok else WRONG_REFS


def diff_html(v: Verification) -> str:
    """The source's words with the given text's changes: removed ``<del>``, added ``<ins>``."""
    out = []
    for d in v.diff:
        if d.op == "equal":
            out.append(html.escape(d.source))
            continue
        if d.source:
            out.append(f"<del>{html.escape(d.source)}</del>")
        if d.given:
            out.append(f"<ins>{html.escape(d.given)}</ins>")
    return " ".join(out)


def _ref_lines(v: Verification) -> list[str]:
    lines = []
    for c in v.ref_checks:
        if c.ok:
            lines.append(f"{html.escape(tags(c.claimed))} is the source's reference here.")
            continue
        said = []
        if c.wrong:
            said.append(f"the source does not give {html.escape(tags(c.wrong))} here")
        if c.missing:
            said.append(f"it gives {html.escape(tags(c.missing))}")
        lines.append(f"{html.escape(tags(c.claimed))}: {'; '.join(said)}.")
    if not v.ref_checks and v.verbatim and v.refs:
        lines.append(f"No reference numbers were given; the source's are {tags(v.refs)}.")
    if v.uncited:
        lines.append("The source gives no reference for the end of this text.")
    return [f"<li>{line}</li>" for line in lines]


def check_html(v: Verification) -> str:
    """The verification as the tab shows it (see the module docstring)."""
    cls, words = verdict(v)
    place = html.escape(where(v.title, v.section))
    parts = [f'<p class="qa-check-verdict {cls}" role="status"><b>{words}</b></p>']
    if v.verbatim:
        shown = html.escape(v.quote + tags(v.closing_refs))
        parts.append(f'<p class="qa-check-where">Found in {place}:</p>')
        parts.append(f'<blockquote class="qa-check-quote">{shown}</blockquote>')
    elif v.closest:
        near = "Closest" if v.similarity >= 0.5 else "Nearest, though far from it,"
        parts.append(
            f'<p class="qa-check-where">{near} in the source ({place}), with your changes: '
            '<span class="qa-check-legend"><del>the source’s words</del> '
            "<ins>yours</ins></span></p>"
        )
        parts.append(f'<blockquote class="qa-check-diff">{diff_html(v)}</blockquote>')
        parts.append(
            '<p class="qa-check-where">The source writes:</p>'
            f'<blockquote class="qa-check-quote">'
            f"{html.escape(v.closest + tags(v.closing_refs))}</blockquote>"
        )
    else:
        parts.append('<p class="qa-check-where">No sentence of the source shares its words.</p>')
    lines = _ref_lines(v)
    if lines:
        parts.append(f'<ul class="qa-check-refs-list">{"".join(lines)}</ul>')
    if v.references:
        items = "".join(
            f'<li><span class="qa-refnum">[{r.number}]</span> {linked(r.text)}</li>'
            for r in v.references
        )
        parts.append(f'<div class="qa-refs"><div class="qa-refs-title">References</div>'
                     f"<ul>{items}</ul></div>")  # fmt: skip
    return f'<div class="qa-check">{"".join(parts)}</div>'


def check_error_html(message: str) -> str:
    """A refused check (empty, too long, not text): its one line."""
    shown = html.escape(message)
    return f'<div class="qa-check"><p class="qa-check-verdict qa-check-no">{shown}</p></div>'

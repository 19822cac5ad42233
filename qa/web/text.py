"""Text for the page: Markdown that shows exactly the given characters, one-line messages."""

from __future__ import annotations

import html
import re

#: ``:``, ``.`` and ``@`` too: a file name like ``www.evil.example`` or ``http://x`` must not
#: be autolinked in the Index tab (red-team round two, finding 7).
_MD_ESCAPE = re.compile(r"([\\`*_\[\]|~$:.@])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def md_text(text: str) -> str:
    """``text`` as Markdown that renders to exactly that text: no HTML, no formatting."""
    text = " ".join(text.split())
    text = html.escape(text, quote=False)
    text = _MD_ESCAPE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def one_line(msg: str) -> str:
    """An error message as one sentence: capitalized, with a final period."""
    msg = msg.strip()
    if not msg.startswith("k "):  # k is the parameter's name, keep it as typed
        msg = msg[:1].upper() + msg[1:]
    return msg.rstrip(".") + "."

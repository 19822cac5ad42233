"""What a section heading starts, for every reader: a References or Notes list, end matter
left out of the text (See also, External links …), or body text.

Example:
    >>> heading_kind("References"), heading_kind("External links"), heading_kind("History")
    ('list', 'end', 'body')
    >>> notes_heading("Notes", ["Notes", "References"]), notes_heading("Notes", ["Notes"])
    (True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

REFERENCE_HEADINGS = {"references", "citations", "sources", "footnotes", "notes", "works cited"}
NOTE_HEADINGS = {"notes", "footnotes", "explanatory notes", "notes and references"}
END_MATTER = {"see also", "external links", "further reading", "bibliography"}


def heading_kind(name: str) -> Literal["list", "end", "body"]:
    """ "list" (References or Notes), "end" (lists of links, left out) or "body"."""
    key = name.lower()
    if key in REFERENCE_HEADINGS or key in NOTE_HEADINGS:
        return "list"
    return "end" if key in END_MATTER else "body"


def notes_heading(name: str, headings: Iterable[str]) -> bool:
    """``name`` heads the Notes list: a notes heading beside another, references, heading.

    A lone "Notes" section is the References list (many articles call it so).
    """
    key = name.lower()
    return key in NOTE_HEADINGS and any(
        h.lower() != key and h.lower() in REFERENCE_HEADINGS for h in headings
    )

"""What kind of value a question asks for, and whether a sentence holds one.

Plain English grammar, not the words of any question set: "who" wants an agent (a person or
an organisation), "when" a date, "how many" a count, "where" a place. A sentence holds such a
value when it has one the question does not already give: "How many bars were shut down in
late 2007?" is not answered by "In October and November 2007, police shut down bars …", whose
only number is the question's own year.
"""

from __future__ import annotations

import re
from typing import Protocol

from ..readers.document import strip_markers


class Asked(Protocol):
    """What ``holds`` reads of a question (a ``question.Question``, which imports this module)."""

    @property
    def kind(self) -> str: ...
    @property
    def words(self) -> frozenset[str] | set[str]: ...
    @property
    def values(self) -> frozenset[str] | set[str]: ...


MONTHS = frozenset(
    "january february march april may june july august september october november december".split()
)
DAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fifteen twenty
    thirty forty fifty sixty hundred thousand million billion dozen half third quarter twice
    double doubled tripled""".split()
)
_YEAR_RE = re.compile(r"^(?:1\d{3}|20\d\d)s?$")
_WORD_RE = re.compile(r"[\w’'.,-]*\w")
_NAME_RE = re.compile(r"\b[A-Z][\w’'-]*")
_AGENT_RE = re.compile(r"\bby\s+(?:the\s+|an?\s+)?\w+")
_REASON_RE = re.compile(
    r"\b(?:because|due to|as a result|in order to|so that|led to|caused|owing to|since)\b", re.I
)
_PLACE_RE = re.compile(r"\b(?:in|to|from|at|near|across|into|on)\s+(?:the\s+)?[A-Z]\w+")

#: The answer types, in the order the type-match feature uses.
TYPES = ("agent", "date", "quantity", "place", "reason", "yesno", "other")

_TYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("yesno", re.compile(
        r"^\s*(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would)\b", re.I)),
    ("quantity", re.compile(
        r"\bhow (?:many|much|far|long|large|big|deep|high|old|tall|often|wide|heavy)\b"
        r"|\bnumber of\b|\bwhat (?:percentage|proportion|share|fraction)\b", re.I)),
    ("date", re.compile(
        r"^\s*(?:when|since when|in what year|in which year|what year|what date|on what date)\b"
        r"|\b(?:what|which) (?:year|month|date|day|decade|century)\b", re.I)),
    ("agent", re.compile(
        r"^\s*(?:who|whom|whose)\b|\b(?:which|what) (?:organi[sz]ation|group|body|agency|"
        r"person|people|company|ministry|official|officials|institution)\b"
        r"|^\s*what (?:is|was|are|were) the names? of\b", re.I)),
    ("place", re.compile(
        r"^\s*where\b|\b(?:which|what) (?:country|countries|town|city|place|province|region|"
        r"village|river|lake|port|area)\b", re.I)),
    ("reason", re.compile(r"^\s*why\b", re.I)),
)  # fmt: skip


def question_type(question: str) -> str:
    """One of ``TYPES``: the kind of value the answer must hold.

    Example:
        >>> question_type("How many cases were investigated?"), question_type("Who runs it?")
        ('quantity', 'agent')
    """
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(question):
            return kind
    return "other"


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(strip_markers(text))


def _is_date(word: str) -> bool:
    w = word.lower().strip(".,")
    return bool(_YEAR_RE.match(w)) or w in MONTHS or w in DAYS


def _is_count(word: str) -> bool:
    w = word.lower().strip(".,")
    return (w[:1].isdigit() and not _YEAR_RE.match(w)) or w in NUMBER_WORDS


def values(kind: str, text: str) -> set[str]:
    """The dates or counts (by ``kind``) that ``text`` holds, lowercased."""
    test = _is_date if kind == "date" else _is_count
    return {w.lower().strip(".,") for w in _words(text) if test(w)}


def asked_words(question: str) -> set[str]:
    """The question's words, lowercased, as ``holds`` compares them with a sentence's names."""
    return {w.lower() for w in _words(question)}


def _new_names(text: str, q: Asked, said: str = "") -> list[str]:
    """Capitalised words of ``text`` (not its first word) that neither the question nor ``said``
    (the document's title: what every sentence of it is about) uses."""
    asked = q.words | asked_words(said)
    names = [m.group(0) for m in _NAME_RE.finditer(strip_markers(text))][1:]
    return [n for n in names if n.lower() not in asked and not _is_date(n)]


def holds(q: Asked, text: str, said: str = "") -> float:
    """1.0 when ``text`` holds a value of the kind ``q`` asks for that ``q`` lacks, 0.0 when not,
    0.5 n/a.

    "reason", "yesno" and "other" questions put no constraint on the value: 0.5. ``said`` is
    the document's title: a name in it answers no "who" or "where".
    """
    kind = q.kind
    if kind in ("date", "quantity"):
        return float(bool(values(kind, text) - q.values))
    if kind == "agent":
        return float(bool(_new_names(text, q, said)) or bool(_AGENT_RE.search(text)))
    if kind == "place":
        return float(bool(_new_names(text, q, said)) and bool(_PLACE_RE.search(text)))
    if kind == "reason":
        return 1.0 if _REASON_RE.search(text) else 0.5
    return 0.5

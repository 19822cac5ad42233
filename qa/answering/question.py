"""Questions: validation and normalisation, follow-ups, and the parts of compound questions."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from ..errors import QuestionError
from ..index.bm25 import STOPWORDS, tokenize

MAX_QUESTION_CHARS = 1000
MAX_K = 50
#: Longer raw input is refused before it is cleaned (whitespace padding included).
MAX_RAW_QUESTION_CHARS = 20 * MAX_QUESTION_CHARS


#: Characters that draw nothing although Unicode does not call them spaces: Hangul fillers,
#: the blank Braille pattern (red-team round two, finding 13).
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _blank(ch: str) -> bool:
    """``ch`` shows nothing by itself: a space, a format character, a blank, a lone mark."""
    return ch.isspace() or ch in _BLANKS or unicodedata.category(ch) in ("Cf", "Mn", "Me")


def clean_question(question: object) -> str:
    """Validate and normalize a question; raises QuestionError with what to change.

    Example:
        >>> clean_question("  How many   arrests? ")
        'How many arrests?'
    """
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    if len(question) > MAX_RAW_QUESTION_CHARS:  # refuse before scanning megabytes
        raise QuestionError(
            f"the question has {len(question)} characters; the limit is {MAX_QUESTION_CHARS}. "
            "Ask something shorter"
        )
    # Lone surrogates (undecodable input) cannot be encoded and control characters carry no
    # meaning for search: both become spaces (not "?", which would turn junk into a question).
    q = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cs") or ch == "\ufffd" else ch for ch in question
    )
    q = " ".join(q.split())
    # Invisible format characters alone (zero-width spaces, joiners, BOMs) are no question.
    if not q or all(_blank(ch) for ch in q):
        raise QuestionError("the question is empty; type a question about the text")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question has {len(q)} characters; the limit is {MAX_QUESTION_CHARS}. "
            "Ask something shorter"
        )
    return q


def check_k(k: object) -> int:
    """Validate the number of passages asked for."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise QuestionError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
    if not 1 <= int(k) <= MAX_K:
        raise QuestionError(f"k must be from 1 to {MAX_K}, not {k}")
    return int(k)


def clean_history(history: object) -> list[str]:
    """Validate the previous questions of a conversation: a list of strings, or nothing.

    Each item is checked as a question ("history item 2: the question is empty; …").

    Example:
        >>> clean_history(["What tier was Laos in?", "  and in 2018? "])
        ['What tier was Laos in?', 'and in 2018?']
    """
    if history is None:
        return []
    if isinstance(history, str | bytes) or not isinstance(history, list | tuple):
        raise QuestionError(
            f"history must be a list of earlier questions (or nothing), not "
            f"{type(history).__name__}"
        )
    out = []
    for n, item in enumerate(history, 1):
        try:
            out.append(clean_question(item))
        except QuestionError as e:
            raise QuestionError(f"history item {n}: {e}") from e
    return out


# ------------------------------------------------------------------------------ follow-ups

_FOLLOWUP_RE = re.compile(
    r"^(?:and|also|so|then|what about|how about|what of|and what|and how|and who|and when|"
    r"and where|same for|what else)\b",
    re.I,
)
_PRONOUN_RE = re.compile(r"\b(?:it|its|that|this|they|them|their|those|these|there|he|she)\b", re.I)


def is_followup(question: str) -> bool:
    """An elliptical question that needs the previous turn to make sense.

    Example:
        >>> is_followup("And in 2018?"), is_followup("Who runs the shelter for victims?")
        (True, False)
    """
    content = [t for t in re.findall(r"\w+", question.lower()) if t not in STOPWORDS]
    return bool(_FOLLOWUP_RE.match(question.strip())) or (
        len(content) <= 3 and bool(_PRONOUN_RE.search(question))
    )


def resolve_query(question: str, history: list[str] | None) -> str:
    """The text to search for: a follow-up is joined to the question it follows."""
    if history:
        previous = [h for h in history if isinstance(h, str) and h.strip()]
        if previous and is_followup(question):
            return f"{previous[-1].strip()} {question}"
    return question


# ----------------------------------------------------------------------- compound questions

_PART_SPLIT_RE = re.compile(
    r",?\s+and\s+(?=(?:about\s+|also\s+)?(?:how|what|who|whom|whose|when|where|which|why|"
    r"was|were|is|are|did|does|do|has|have|had)\b)",
    re.I,
)


def question_parts(question: str) -> list[str]:
    """The parts of a compound question, or ``[question]``.

    A part needs content words of its own; each part should get its own quote.

    Example:
        >>> question_parts("How many were brought home, and how many were still in centers?")
        ['How many were brought home', 'how many were still in centers?']
    """
    parts = [p for p in _PART_SPLIT_RE.split(question) if tokenize(p)]
    return parts if len(parts) > 1 else [question]

"""A question analysed once: validation, follow-ups, compound parts, and the ``Question`` value.

``analyse`` is the one place a question is read: its clean text, the query a follow-up
resolves to, its tokens and stems, names, numbers, the kind of value it asks for and its
parts. Retrieval, the features, the evidence and quote selection all take the ``Question``;
none of them splits the question's text again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import QuestionError
from ..index.text import content_words, figures, lemmas, numbers, stem, tokenize, words_as_written
from .answertype import asked_words, question_type, values

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
    content = content_words(question)
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


# --------------------------------------------------------------------------------- names

_NAME_RUN_RE = re.compile(r"[A-Z][\w’'-]*(?:\s+(?:(?:of|for|and|the|on|de)\s+)?[A-Z][\w’'-]*)*")
_ACRONYM_DOTS_RE = re.compile(r"\b(?:[A-Z]\.){2,}")


class Name(NamedTuple):
    """A run of capitalised words in a question: as written, its initials, its word tokens."""

    written: str
    initials: str
    tokens: list[str]


def undot_acronyms(text: str) -> str:
    """ "U.S." → "US": dotted acronyms read as one word, in a question and in a text alike."""
    return _ACRONYM_DOTS_RE.sub(lambda m: m.group(0).replace(".", ""), text)


def name_runs(question: str) -> list[Name]:
    """Each run of capitalised words in ``question``, skipping its first word and stopwords.

    The first word is capitalised because it comes first; "The", "In" are stopwords.

    Example:
        >>> [n.tokens for n in name_runs("Did the U.S. fund the International Organization?")]
        [['us'], ['international', 'organization']]
    """
    first = re.match(r"\s*\S+", question)
    body = undot_acronyms(question[first.end() :] if first else question)
    out = []
    for m in _NAME_RUN_RE.finditer(body):
        written = [w for w in m.group(0).split() if w[:1].isupper()]
        toks = [t for w in written for t in content_words(w)]
        if toks:
            out.append(Name(m.group(0), "".join(w[0] for w in written).lower(), toks))
    return out


# ------------------------------------------------------------------------------ the value


@dataclass(frozen=True)
class Question:
    """A question as every stage reads it (made by ``analyse``; never re-tokenised).

    Attributes:
        text: the clean question.
        query: what to search for: a follow-up joined to the question it follows, else ``text``.
        tokens: stemmed content words of ``text`` (BM25's terms).
        query_tokens: the same of ``query``.
        lemmas: the lemmas of ``text``'s words (for shared phrases).
        spelled: each stem of ``text`` as the question wrote it (for telling a user).
        names: the runs of capitalised words.
        numbers: digit runs of ``text`` as written (the scorer's reading).
        figures: numbers the question gives (the evidence's reading; ``query``'s for a
            follow-up that gives none of its own).
        kind: the kind of value asked for (``qa.answering.answertype.TYPES``).
        values: the dates or counts (by ``kind``) the question gives itself.
        words: the question's words, lowercased as ``answertype`` reads them.
        parts: the parts of a compound question, each analysed; empty when not compound.
    """

    text: str
    query: str
    tokens: tuple[str, ...]
    query_tokens: tuple[str, ...]
    lemmas: tuple[str, ...]
    spelled: dict[str, str]
    names: tuple[Name, ...]
    numbers: frozenset[str]
    figures: frozenset[str]
    kind: str
    values: frozenset[str]
    words: frozenset[str]
    parts: tuple[Question, ...] = ()

    @property
    def followup(self) -> bool:
        """The question was resolved against an earlier one."""
        return self.query != self.text

    @property
    def anchors(self) -> set[str]:
        """Numbers, years and names as stems: what a quote must not leave out."""
        out = {t for t in self.tokens if t[:1].isdigit()}
        out.update(stem(t) for name in self.names for t in name.tokens)
        return out

    @classmethod
    def of(cls, text: str, query: str | None = None, split: bool = True) -> Question:
        """Analyse ``text`` as it is (already clean); ``query`` defaults to ``text``."""
        query = text if query is None else query
        kind = question_type(text)
        part_texts = question_parts(text) if split else [text]
        return cls(
            text=text,
            query=query,
            tokens=tuple(tokenize(text)),
            query_tokens=tuple(tokenize(query)),
            lemmas=tuple(lemmas(text)),
            spelled={s: w for w in words_as_written(text) for s in tokenize(w)},
            names=tuple(name_runs(text)),
            numbers=frozenset(numbers(text)),
            figures=frozenset(figures(text) or figures(query)),
            kind=kind,
            values=frozenset(values(kind, text)),
            words=frozenset(asked_words(text)),
            parts=tuple(cls.of(p, split=False) for p in part_texts) if len(part_texts) > 1 else (),
        )


def analyse(question: object, history: object = None) -> Question:
    """Validate ``question`` (and the conversation's earlier questions) and analyse it once.

    Raises:
        QuestionError: the question or history is not usable, saying what to change.

    Example:
        >>> q = analyse("And in 2018?", ["What tier was Laos in?"])
        >>> q.query, q.tokens, q.followup
        ('What tier was Laos in? And in 2018?', ('2018',), True)
    """
    text = clean_question(question)
    return Question.of(text, resolve_query(text, clean_history(history)))

"""The typed values that flow between the modules and out of the public API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of a source document, best first in a result list.

    ``text == document_text[start:end]``; ``refs`` are the source's reference numbers for it.
    """

    text: str
    doc_id: str
    title: str
    section: str
    refs: tuple[int, ...]
    score: float
    start: int
    end: int
    dense_score: float = 0.0
    lexical_score: float = 0.0
    chunk: int = -1


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a source document: ``document_text[start:end] == text``."""

    text: str
    refs: tuple[int, ...]
    doc_id: str
    section: str
    start: int
    end: int
    score: float
    title: str = ""


@dataclass(frozen=True)
class Reference:
    """One entry of a source's References list, in the source's own wording."""

    doc_id: str
    number: int
    text: str


@dataclass
class Answer:
    """The answer to a question.

    Attributes:
        found: True when the source answers the question (``outcome == "answered"``).
        outcome: "answered"; "tentative" (the quote shown is the closest the text comes,
            not an answer: the confidence says how likely it is to be right); "not_found".
        quotes: verbatim quotes, most relevant first: the answer, or the one tentative quote
            (empty when not found).
        references: full entries for every number the shown quotes carry, and no others.
        markdown: the rendered answer.
        passages: the retrieved passages the quotes were drawn from (closest passages when
            not found).
        question: the question as asked; ``query`` what was searched (follow-ups resolved).
        confidence: calibrated probability that the first quote answers the question (of
            answers shown at 0.9 or more, 95% or more were right on held-out questions).
        reasons: when not found, what the closest passage lacks that the question needs
            ("never mentions Thailand"); empty when it was judged too far from the question.
    """

    question: str
    found: bool
    quotes: list[Quote] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    markdown: str = ""
    passages: list[Passage] = field(default_factory=list)
    query: str = ""
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)
    outcome: str = "not_found"

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """What decides whether the best sentence answers the question (see ``qa.abstention``).

    ``features`` are in the order of ``qa.abstention.FEATURES``; ``reasons`` are short phrases
    about the closest passage ("never mentions Thailand"), one per mismatch found.
    """

    features: tuple[float, ...]
    reasons: tuple[str, ...] = ()

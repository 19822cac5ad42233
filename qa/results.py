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
    """A verbatim span of a source document: ``document_text[start:end] == text``.

    Attributes:
        refs: the source's reference numbers for the quoted sentences.
        pages: page numbers the source gives for some of them (``[2]: 14`` → ``{2: "14"}``).
        notes: the source's notes on the quoted sentences, label → text (``{"a": "…"}``).
        tags: the source's maintenance tags on them (``("citation needed",)``).
        unsourced: the source marks a quoted claim as needing a citation.
    """

    text: str
    refs: tuple[int, ...]
    doc_id: str
    section: str
    start: int
    end: int
    score: float
    title: str = ""
    pages: dict[int, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    unsourced: bool = False


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
        found: False when the source does not answer the question.
        quotes: verbatim quotes, most relevant first (empty when not found).
        references: full entries for every number cited by the quotes.
        markdown: the rendered answer.
        passages: the retrieved passages the quotes were drawn from (closest passages when
            not found).
        question: the question as asked; ``query`` what was searched (follow-ups resolved).
        confidence: calibrated probability that the source answers the question.
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

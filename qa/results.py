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
        answer_start, answer_end: the words of the quote that answer the question (offsets
            into the document's text, inside ``start``–``end``), or None: a mark on the
            verbatim quote, never a change to it.
        written: the quote as the source writes it, with the marks inside it and the run
            that closes it, spacing included (``document_text[start:span_end]``, e.g.
            ``"… in September 2003.[1]"``); empty for a Quote made without a document.
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
    written: str = ""
    answer_start: int | None = None
    answer_end: int | None = None

    @property
    def answer_text(self) -> str | None:
        """The marked answer words (a slice of ``text``), or None."""
        if self.answer_start is None or self.answer_end is None:
            return None
        return self.text[self.answer_start - self.start : self.answer_end - self.start]


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
        unanswered: the parts of a compound question ("…, and which article bans it?") that
            the text does not answer, as asked; the rendering says so, never dropping one.
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
    unanswered: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # ``found`` and ``outcome`` say the same thing: an Answer made with found=True only
        # (as before outcomes existed) is an answered one
        if self.found and self.outcome == "not_found":
            self.outcome = "answered"

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """What decides whether the best sentence answers the question (see ``answering.abstention``).

    ``features`` are in the order of ``abstention.FEATURES``; ``reasons`` are short phrases
    about the closest passage ("never mentions Thailand"), one per mismatch found.
    """

    features: tuple[float, ...]
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefCheck:
    """One claim: the text's own markers ``claimed`` for ``text``; ``source`` are the source's."""

    text: str
    claimed: tuple[int, ...]
    source: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return set(self.claimed) == set(self.source)

    @property
    def wrong(self) -> tuple[int, ...]:
        """Claimed numbers the source does not attach to this text."""
        return tuple(n for n in self.claimed if n not in self.source)

    @property
    def missing(self) -> tuple[int, ...]:
        """Numbers the source attaches that the claim leaves out."""
        return tuple(n for n in self.source if n not in self.claimed)


@dataclass(frozen=True)
class DiffOp:
    """One step of a word-level diff: ``op`` is equal, replace, delete or insert."""

    op: str
    source: str
    given: str


@dataclass
class Verification:
    """Whether a text is a verbatim quote of the source, and with which references.

    Attributes:
        verbatim: the text occurs in a document (whitespace and quote marks aside).
        quote, start, end: the matched span, ``document_text[start:end] == quote``, without
            the marker run that follows it; ``refs`` are the source's numbers for it.
        ref_checks: one per marker run in the given text, against the source's refs.
        closest, closest_start, closest_end, similarity, diff: when not verbatim, the nearest
            sentence(s) of the source (verbatim, with ``refs`` theirs) and a word diff to it.
        closing_refs: the source's marker run that closes the text the span ends in (part of
            ``refs``); empty when the span ends after the last marker of its paragraph, so
            that the source cites nothing for its end (``uncited``).
    """

    text: str
    verbatim: bool
    doc_id: str = ""
    title: str = ""
    section: str = ""
    start: int = -1
    end: int = -1
    quote: str = ""
    refs: tuple[int, ...] = ()
    closing_refs: tuple[int, ...] = ()
    references: list[Reference] = field(default_factory=list)
    ref_checks: list[RefCheck] = field(default_factory=list)
    closest: str = ""
    closest_start: int = -1
    closest_end: int = -1
    similarity: float = 0.0
    diff: list[DiffOp] = field(default_factory=list)

    @property
    def claimed_refs(self) -> tuple[int, ...]:
        """Every number the given text's own markers claim, in order."""
        return tuple(dict.fromkeys(n for c in self.ref_checks for n in c.claimed))

    @property
    def uncited(self) -> bool:
        """The source gives no reference for the end of the matched (or closest) text."""
        return bool(self.quote or self.closest) and not self.closing_refs

    @property
    def refs_ok(self) -> bool | None:
        """None when the text claims no references, else whether every claim is the source's."""
        return None if not self.ref_checks else all(c.ok for c in self.ref_checks)

    @property
    def ok(self) -> bool:
        """Verbatim, and no claimed reference number is wrong or missing."""
        return self.verbatim and self.refs_ok is not False

    def diff_text(self) -> str:
        """The diff inline: ``[-source words-] {+given words+}`` around the changes."""
        out = []
        for d in self.diff:
            out.append(d.source if d.op == "equal" else "")
            out.append(f"[-{d.source}-]" if d.op != "equal" and d.source else "")
            out.append(f"{{+{d.given}+}}" if d.op != "equal" and d.given else "")
        return " ".join(x for x in out if x)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict, with the derived ``ok``, ``refs_ok`` and ``claimed_refs``."""
        d = asdict(self)
        d.update(ok=self.ok, refs_ok=self.refs_ok, claimed_refs=list(self.claimed_refs))
        d["uncited"] = self.uncited
        for check, raw in zip(self.ref_checks, d["ref_checks"], strict=True):
            raw.update(ok=check.ok, wrong=list(check.wrong), missing=list(check.missing))
        return d

"""Split Documents into sentence-aligned Chunks that carry their citations.

A chunk is a window of consecutive sentences of one paragraph: it never crosses a paragraph
or section, never cuts a sentence or a citation marker, and its text is exactly
``document.text[start:end]``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from ..readers.document import Document, strip_markers


@dataclass(frozen=True)
class ChunkerSettings:
    """How documents are cut into chunks.

    The defaults were chosen by measurement on the gold set (see docs/evaluation.md, "Chunk size").

    Attributes:
        max_sentences: most sentences in one chunk.
        overlap: sentences shared by consecutive chunks of a paragraph.
        max_chars: a chunk stops growing before it would pass this many characters.
    """

    max_sentences: int = 3
    overlap: int = 1
    max_chars: int = 600

    def __post_init__(self) -> None:
        if self.max_sentences < 1 or not 0 <= self.overlap < self.max_sentences:
            raise ValueError("need max_sentences >= 1 and 0 <= overlap < max_sentences")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A quotable window of sentences.

    ``sentences`` holds ``(start, end, span_end, refs)`` for each sentence, with absolute
    offsets into the document text.
    """

    doc_id: str
    title: str
    section: str
    paragraph: int
    start: int
    end: int
    text: str
    refs: tuple[int, ...]
    sentences: tuple[tuple[int, int, int, tuple[int, ...]], ...]

    @property
    def embed_text(self) -> str:
        """What the model sees: title and section as context, markers removed."""
        return embed_text(self.title, self.section, self.text)


def embed_text(title: str, section: str, text: str) -> str:
    """The text given to the embedding model for a passage or sentence."""
    context = " — ".join(x for x in (title, section) if x)
    body = " ".join(strip_markers(text).split())
    return f"{context}: {body}" if context else body


def text_key(text: str) -> str:
    """Stable key of a text for the embedding cache."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def chunk_document(doc: Document, settings: ChunkerSettings | None = None) -> list[Chunk]:
    """Cut one document into chunks.

    Example:
        >>> from qa.readers import parse_text
        >>> doc = parse_text("T\\n\\nOne.[1] Two. Three.[2]\\n", "t")
        >>> [c.text for c in chunk_document(doc, ChunkerSettings(2, 1))]
        ['One.[1] Two.', 'Two. Three.[2]']
    """
    settings = settings or ChunkerSettings()
    chunks: list[Chunk] = []
    step = settings.max_sentences - settings.overlap
    for para in doc.paragraphs:
        sents = para.sentences
        i = 0
        while i < len(sents):
            j = i + 1
            while (
                j < len(sents)
                and j - i < settings.max_sentences
                and sents[j].span_end - sents[i].start <= settings.max_chars
            ):
                j += 1
            window = sents[i:j]
            start, end = window[0].start, window[-1].span_end
            refs: list[int] = []
            for s in window:
                refs.extend(r for r in s.refs if r not in refs)
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=para.section,
                    paragraph=para.index,
                    start=start,
                    end=end,
                    text=doc.text[start:end],
                    refs=tuple(refs),
                    sentences=tuple((s.start, s.end, s.span_end, s.refs) for s in window),
                )
            )
            if j >= len(sents):
                break
            i = max(i + 1, min(i + step, j - settings.overlap) if j - i > 1 else j)
    return chunks


def chunk_documents(docs: list[Document], settings: ChunkerSettings | None = None) -> list[Chunk]:
    """Chunks of every document, in corpus order."""
    return [c for d in docs for c in chunk_document(d, settings)]

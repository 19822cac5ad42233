"""A loaded index: its records, vectors and search structures, for repeated queries.

Written and read by ``format`` (``load_index``); ranking is ``qa.answering.retrieval``'s job and
answering ``qa.answer``'s.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import CorruptIndexError, QAError, StaleIndexError
from .bm25 import BM25
from .embedding import Embedder
from .records import ChunkRecord, DocRecord, Manifest, SentenceRecord


class Integrity(Protocol):
    """A check that must have passed before the index answers (``format.IntegrityCheck``)."""

    def require(self) -> None: ...


class LoadedIndex:
    """A loaded index, ready for repeated queries (use ``qa.load_index`` to get one).

    Holds the records, the vectors and the search structures, and answers questions about
    them (a sentence's text, its paragraph, the chunks that hold it); ranking is
    ``qa.answering.retrieval``'s job and answering ``qa.answer``'s.
    """

    def __init__(
        self,
        index_dir: Path,
        manifest: Manifest,
        embedder: Embedder,
        docs: list[DocRecord],
        chunks: list[ChunkRecord],
        sentences: list[SentenceRecord],
        faiss_index: Any,
        bm25: BM25,
        sentence_vectors: np.ndarray,
        sentence_faiss: Any,
        search_threads: int = 1,
        integrity: Integrity | None = None,
    ):
        self.index_dir = Path(index_dir)
        self.manifest = manifest
        self.embedder = embedder
        self.docs = docs
        self.doc_by_id = {d.doc_id: i for i, d in enumerate(docs)}
        self.chunks = chunks
        self.sentences = sentences
        self.faiss_index = faiss_index
        self.bm25 = bm25
        self.sentence_vectors = sentence_vectors
        self.sentence_faiss = sentence_faiss
        self.search_threads = search_threads
        #: a cross-encoder for candidate sentences (``answering.reranker``), set from the settings
        self.reranker: Any = None
        #: whether the shipped answerhood cross-encoder judges candidates (QA_ANSWERHOOD)
        self.use_answerhood = True
        self.integrity = integrity
        # sentence row -> the chunks holding it (CSR): a sentence hit votes for its chunks
        lengths = np.fromiter((len(c.sentences) for c in chunks), dtype=np.int64, count=len(chunks))
        rows = np.fromiter(
            itertools.chain.from_iterable(c.sentences for c in chunks),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        order = np.argsort(rows, kind="stable")
        self._sentence_chunks = np.repeat(np.arange(len(chunks), dtype=np.int64), lengths)[order]
        self._sentence_chunk_ptr = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(sentences)), out=self._sentence_chunk_ptr[1:])
        self._lock = threading.Lock()

    # -- records -----------------------------------------------------------------------------

    def document_text(self, doc_id: str) -> str:
        """The rendered text of a document: every quote is a slice of it."""
        return self.docs[self.doc_by_id[doc_id]].text

    def references(self, doc_id: str) -> dict[int, str]:
        return self.docs[self.doc_by_id[doc_id]].references

    def sentence_text(self, si: int) -> str:
        s = self.sentences[si]
        return self.docs[s.doc].text[s.start : s.end]

    def adjacent(self, a: int, b: int) -> bool:
        """Sentences ``a`` and ``b`` follow each other in one paragraph."""
        sa, sb = self.sentences[a], self.sentences[b]
        return abs(a - b) == 1 and sa.doc == sb.doc and sa.paragraph == sb.paragraph

    def paragraph_sentences(self, si: int) -> list[int]:
        """The rows of every sentence in ``si``'s paragraph, in order."""
        lo = si
        while lo > 0 and self.adjacent(lo - 1, lo):
            lo -= 1
        hi = si
        while hi + 1 < len(self.sentences) and self.adjacent(hi, hi + 1):
            hi += 1
        return list(range(lo, hi + 1))

    def sentence_chunks(self, si: int) -> np.ndarray:
        """The chunks that hold sentence ``si``."""
        return self._sentence_chunks[
            self._sentence_chunk_ptr[si] : self._sentence_chunk_ptr[si + 1]
        ]

    # -- vectors -----------------------------------------------------------------------------

    def encode(self, question: str) -> np.ndarray:
        if self.integrity is not None:
            self.integrity.require()
        vec = self.embedder.encode_query(question)
        if vec.shape[-1] != self.faiss_index.d:
            raise StaleIndexError(
                f"the model gives {vec.shape[-1]}-dimensional vectors but index "
                f"{self.index_dir} holds {self.faiss_index.d}; run `qa build` to rebuild it"
            )
        return vec

    def search(self, qvec: np.ndarray, chunks: int, sentences: int) -> tuple[Any, Any, Any]:
        """Dense search: (chunk scores, chunk ids, sentence ids), best first."""
        import faiss  # deferred like every FAISS import; already loaded by load_index()

        if self.integrity is not None:
            self.integrity.require()

        with self._lock:  # FAISS search is thread-safe, but HNSW efSearch tweaks are not
            # One OpenMP thread per search (set per calling thread, so Gradio's workers get
            # it too): with a busy neighbour core, 2 threads cost 10x in p95 at 10k chunks.
            faiss.omp_set_num_threads(self.search_threads)
            scores, ids = self.faiss_index.search(qvec[None, :], chunks)
            sids = np.empty((1, 0), dtype=np.int64)
            if sentences and self.sentence_faiss.ntotal:
                k = min(self.sentence_faiss.ntotal, sentences)
                _, sids = self.sentence_faiss.search(qvec[None, :], k)
        return scores[0], ids[0], sids[0]

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Turn a read error while answering into one clear error for that request.

        The index's small files are in memory, so this should never fire; it is for someone
        who changed the files of a served index anyway, and for mapped large ones.
        """
        try:
            yield
        except QAError:
            raise
        except (OSError, IndexError, KeyError, ValueError, RuntimeError) as e:
            raise CorruptIndexError(
                f"the index at {self.index_dir} changed on disk or is damaged "
                f"({type(e).__name__}); run `qa build` to rebuild it"
            ) from e

    def chunk_vector(self, ci: int) -> np.ndarray:
        return self.faiss_index.reconstruct(ci)

    def __repr__(self) -> str:
        c = self.manifest.counts
        return (
            f"LoadedIndex({str(self.index_dir)!r}, documents={c['documents']}, "
            f"chunks={c['chunks']}, model={self.manifest.model!r})"
        )

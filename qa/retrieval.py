"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank."""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bm25 import BM25, tokenize
from .embedding import Embedder
from .errors import CorruptIndexError, IndexMissingError, QuestionError, StaleIndexError
from .settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
MAX_K = 50
#: Longer raw input is refused before it is cleaned (whitespace padding included).
MAX_RAW_QUESTION_CHARS = 20 * MAX_QUESTION_CHARS
RRF_K = 60
#: FAISS threads per query; see README, "Speed".
SEARCH_THREADS = Settings.search_threads


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
class DocRecord:
    doc_id: str
    path: str
    title: str
    text: str
    references: dict[int, str]


@dataclass(frozen=True)
class SentenceRecord:
    index: int
    doc: int
    start: int
    end: int
    span_end: int
    paragraph: int
    section: str
    refs: tuple[int, ...]


@dataclass(frozen=True)
class ChunkRecord:
    doc: int
    start: int
    end: int
    section: str
    paragraph: int
    refs: tuple[int, ...]
    sentences: tuple[int, ...]


def clean_question(question: object) -> str:
    """Validate and normalize a question; raises QuestionError with what to change."""
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
    if not q:
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


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class LoadedIndex:
    """A loaded index, ready for repeated queries (use ``qa.load_index`` to get one)."""

    search_threads: int = SEARCH_THREADS  # FAISS threads per search; edges set it from Settings

    def __init__(
        self,
        index_dir,
        manifest,
        embedder,
        docs,
        chunks,
        sentences,
        faiss_index,
        bm25,
        sentence_vectors,
        sentence_faiss=None,
    ):
        self.index_dir = Path(index_dir)
        self.manifest = manifest
        self.embedder: Embedder = embedder
        self.docs: list[DocRecord] = docs
        self.doc_by_id = {d.doc_id: i for i, d in enumerate(docs)}
        self.chunks: list[ChunkRecord] = chunks
        self.sentences: list[SentenceRecord] = sentences
        self.faiss_index = faiss_index
        self.bm25: BM25 = bm25
        self.sentence_vectors = sentence_vectors
        self.sentence_faiss = sentence_faiss
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

    @classmethod
    def open(cls, index_dir: Path, manifest: dict, embedder: Embedder) -> LoadedIndex:
        import faiss

        docs = [
            DocRecord(
                r["doc_id"],
                r["path"],
                r["title"],
                r["text"],
                {int(k): v for k, v in r["references"].items()},
            )
            for r in _read_jsonl(index_dir / "docs.jsonl")
        ]
        chunks = [
            ChunkRecord(
                r["doc"],
                r["start"],
                r["end"],
                r["section"],
                r["paragraph"],
                tuple(r["refs"]),
                tuple(r["sentences"]),
            )
            for r in _read_jsonl(index_dir / "chunks.jsonl")
        ]
        sentences = [
            SentenceRecord(
                i,
                r["doc"],
                r["start"],
                r["end"],
                r["span_end"],
                r["paragraph"],
                r["section"],
                tuple(r["refs"]),
            )
            for i, r in enumerate(_read_jsonl(index_dir / "sentences.jsonl"))
        ]
        # Memory-map the vectors (flat and HNSW): a 1M-chunk index loads in milliseconds
        # instead of copying 1.5 GB; the build's rename-swap leaves a mapped file valid.
        faiss_index = faiss.read_index(str(index_dir / "vectors.faiss"), faiss.IO_FLAG_MMAP_IFC)
        sentence_faiss = faiss.read_index(
            str(index_dir / "sentence_vectors.faiss"), faiss.IO_FLAG_MMAP_IFC
        )
        bm25 = BM25.load(index_dir)
        svecs = np.load(index_dir / "sentence_vectors.npy", mmap_mode="r", allow_pickle=False)
        counts = manifest["counts"]
        dim = int(manifest["dimension"])
        problems = []
        if len(docs) != counts["documents"] or len(chunks) != counts["chunks"]:
            problems.append("record counts differ from the manifest")
        if faiss_index.ntotal != len(chunks) or faiss_index.d != dim:
            problems.append("the FAISS index does not match the chunk records")
        if bm25.n_docs != len(chunks) or svecs.shape != (len(sentences), dim):
            problems.append("the lexical index or sentence vectors do not match")
        if sentence_faiss.ntotal != len(sentences) or sentence_faiss.d != dim:
            problems.append("the sentence FAISS index does not match the sentence records")
        if any(not 0 <= si < len(sentences) for c in chunks for si in c.sentences):
            problems.append("chunks point at sentences that do not exist")
        if any(not 0 <= c.doc < len(docs) or c.end > len(docs[c.doc].text) for c in chunks):
            problems.append("chunk offsets point outside the documents")
        if problems:
            raise CorruptIndexError(
                f"index {index_dir} is inconsistent ({'; '.join(problems)}); "
                "run `qa build` to rebuild it"
            )
        return cls(
            index_dir,
            manifest,
            embedder,
            docs,
            chunks,
            sentences,
            faiss_index,
            bm25,
            svecs,
            sentence_faiss,
        )

    # -- accessors ---------------------------------------------------------------------------

    def passage(self, i: int, score: float = 0.0, dense: float = 0.0, lexical: float = 0.0):
        c = self.chunks[i]
        d = self.docs[c.doc]
        return Passage(
            text=d.text[c.start : c.end],
            doc_id=d.doc_id,
            title=d.title,
            section=c.section,
            refs=c.refs,
            score=float(score),
            start=c.start,
            end=c.end,
            dense_score=float(dense),
            lexical_score=float(lexical),
            chunk=i,
        )

    def document_text(self, doc_id: str) -> str:
        return self.docs[self.doc_by_id[doc_id]].text

    def references(self, doc_id: str) -> dict[int, str]:
        return self.docs[self.doc_by_id[doc_id]].references

    # -- search ------------------------------------------------------------------------------

    def encode(self, question: str) -> np.ndarray:
        vec = self.embedder.encode_query(question)
        if vec.shape[-1] != self.faiss_index.d:
            raise StaleIndexError(
                f"the model gives {vec.shape[-1]}-dimensional vectors but index "
                f"{self.index_dir} holds {self.faiss_index.d}; run `qa build` to rebuild it"
            )
        return vec

    def _sentence_ranking(self, qvec: np.ndarray, depth: int) -> list[int]:
        """Chunks in the order of their best sentence's similarity to the query (``depth`` at most).

        A passage whose one sentence answers the question can look unlike the question as a
        whole; its sentence can still be the closest. Sentences are searched with their own
        FAISS index and each hit votes for the chunks that hold it.
        """
        if self.sentence_faiss is None or self.sentence_faiss.ntotal == 0:
            return []
        k = min(self.sentence_faiss.ntotal, 2 * depth)
        _, ids = self.sentence_faiss.search(qvec[None, :], k)
        order: dict[int, None] = {}
        for si in ids[0]:
            if si < 0:
                continue
            lo, hi = self._sentence_chunk_ptr[si], self._sentence_chunk_ptr[si + 1]
            for ci in self._sentence_chunks[lo:hi]:
                order.setdefault(int(ci))
            if len(order) >= depth:
                break
        return list(order)[:depth]

    def ranked(self, question: str, depth: int, qvec: np.ndarray | None = None):
        """Fused candidates as (chunk, fused, dense, lexical), best first, plus the query vector.

        Three rankings are fused by reciprocal rank: chunks by dense similarity, chunks by
        BM25, and chunks by their best sentence's dense similarity.
        """
        n = len(self.chunks)
        depth = min(n, depth)
        if depth == 0:
            return [], qvec
        if qvec is None:
            qvec = self.encode(question)
        import faiss  # already loaded by open(); a dict lookup here

        with self._lock:  # FAISS search is thread-safe, but HNSW efSearch tweaks are not
            # One OpenMP thread per search (set per calling thread, so Gradio's workers get
            # it too): with a busy neighbour core, 2 threads cost 10x in p95 at 10k chunks.
            faiss.omp_set_num_threads(self.search_threads)
            dense_scores, dense_ids = self.faiss_index.search(qvec[None, :], depth)
            by_sentence = self._sentence_ranking(qvec, depth)
        lex = self.bm25.scores(tokenize(question))
        lex_top = np.argpartition(-lex, depth - 1)[:depth] if depth < n else np.arange(n)
        lex_top = lex_top[np.argsort(-lex[lex_top], kind="stable")]
        fused: dict[int, float] = {}
        dense_of: dict[int, float] = {}
        for rank, (i, s) in enumerate(zip(dense_ids[0], dense_scores[0], strict=True)):
            if i < 0:
                continue
            fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + rank + 1)
            dense_of[int(i)] = float(s)
        rank = 0
        for i in lex_top:
            if lex[i] <= 0:
                break
            fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + rank + 1)
            rank += 1
        for rank, i in enumerate(by_sentence):
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
        order = sorted(fused, key=lambda i: (-fused[i], i))
        out = []
        for i in order:
            dense = dense_of.get(i)
            if dense is None:
                c_vec = self.faiss_index.reconstruct(i)
                dense = float(np.dot(c_vec, qvec))
            out.append((i, fused[i], dense, float(lex[i])))
        return out, qvec

    def retrieve(self, question: str, k: int = 5) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first.

        Example:
            >>> idx = qa.load_index("index")  # doctest: +SKIP
            >>> idx.retrieve("How many cases were investigated in 2007?", k=3)  # doctest: +SKIP
        """
        question = clean_question(question)
        k = check_k(k)
        ranked, _ = self.ranked(question, max(50, 4 * k))
        return [self.passage(i, f, d, lx) for i, f, d, lx in ranked[:k]]

    def answer(self, question: str, k: int = 5, history: list[str] | None = None):
        """Answer ``question`` with verbatim quotes (see ``qa.answer``)."""
        from .answer import answer_with_index

        return answer_with_index(self, question, k, history)

    def __repr__(self) -> str:
        c = self.manifest["counts"]
        return (
            f"LoadedIndex({str(self.index_dir)!r}, documents={c['documents']}, "
            f"chunks={c['chunks']}, model={self.manifest['model']!r})"
        )


# ------------------------------------------------------------------------ default index


_DEFAULT: dict[tuple, tuple[tuple, LoadedIndex]] = {}
_DEFAULT_LOCK = threading.Lock()


def default_dirs() -> tuple[Path, Path]:
    """``corpus/`` and ``index/`` under the current directory, or QA_CORPUS_DIR / QA_INDEX_DIR."""
    return (
        Path(os.environ.get("QA_CORPUS_DIR", "corpus")),
        Path(os.environ.get("QA_INDEX_DIR", "index")),
    )


def _signature(corpus_dir: Path) -> tuple:
    from .corpus import corpus_files

    try:
        files = corpus_files(corpus_dir)
    except Exception:
        return ()
    sig = []
    for p in files:
        st = p.stat()
        sig.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(sig)


def load_or_build(
    index_dir,
    corpus_dir,
    model: str | None = None,
    show_progress: bool | None = None,
    wait: float = 0.0,
    rebuild_corrupt: bool = False,
    embedder: Embedder | None = None,
    exact_max_chunks: int | None = None,
) -> LoadedIndex:
    """Load the index, first building it (saying so on stderr) if it is missing or stale.

    With ``rebuild_corrupt`` a damaged index is rebuilt too instead of refused (the web app
    does this at start-up; the library and CLI report it and say to run `qa build`).
    """
    from .index import build_index, load_index

    rebuild: tuple[type[Exception], ...] = (IndexMissingError, StaleIndexError)
    if rebuild_corrupt:
        rebuild += (CorruptIndexError,)
    try:
        return load_index(index_dir, corpus_dir, model, embedder)
    except rebuild as e:
        print(f"qa: {e}", file=sys.stderr)
        print(f"qa: building the index from {corpus_dir} into {index_dir} …", file=sys.stderr)
        report = build_index(
            corpus_dir,
            index_dir,
            model,
            show_progress=show_progress,
            wait=wait,
            embedder=embedder,
            exact_max_chunks=exact_max_chunks,
        )
        for w in report.warnings:
            print(f"qa: warning: {w}", file=sys.stderr)
        print(f"qa: {report.summary()}", file=sys.stderr)
        return load_index(index_dir, corpus_dir, model, embedder)


def default_index(model: str | None = None, show_progress: bool | None = None) -> LoadedIndex:
    """The index for the default directories, loaded once; built first if missing or stale."""
    corpus_dir, index_dir = default_dirs()
    key = (str(corpus_dir.resolve()), str(index_dir.resolve()), model)
    with _DEFAULT_LOCK:
        sig = _signature(corpus_dir)
        cached = _DEFAULT.get(key)
        if cached and cached[0] == sig:
            return cached[1]
        idx = load_or_build(index_dir, corpus_dir, model, show_progress)
        _DEFAULT[key] = (sig, idx)
        return idx


def retrieve(question: str, k: int = 5, index: LoadedIndex | None = None) -> list[Passage]:
    """The ``k`` passages that best match ``question``, best first.

    Uses ``index`` if given, else ``corpus/`` and ``index/`` of the current directory (built
    first, with a note on stderr, if missing or stale).

    Example:
        >>> import qa
        >>> qa.retrieve("How many trafficking cases were investigated in 2007?")[0].refs
        ... # doctest: +SKIP
        (2,)
    """
    question = clean_question(question)
    k = check_k(k)
    return (index or default_index()).retrieve(question, k)

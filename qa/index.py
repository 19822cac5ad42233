"""The index directory: written by ``save`` and read by ``load_index``, in this one module.

An index is a directory, never a pickle::

    manifest.json          format version, model, chunker settings, corpus file hashes, counts,
                           size and checksum of every other file (``qa.records.Manifest``)
    docs.jsonl             one record per document: id, path, title, rendered text, references
    chunks.jsonl           one record per chunk: document, offsets, section, refs, sentences
    sentences.jsonl        one record per sentence: document, offsets, section, refs
    vectors.faiss          FAISS inner-product index over normalized chunk vectors
    chunk_vectors.npy      the same vectors, aligned with chunks.jsonl (the embedding cache)
    sentence_vectors.npy   sentence vectors, aligned with sentences.jsonl (see embed_sentences)
    sentence_vectors.faiss FAISS inner-product index over the sentence vectors
    bm25_*                 the lexical side (see qa.bm25)

``qa.build`` writes it to a temporary directory and swaps it in atomically (``qa.storage``).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backend import query_embedder
from .bm25 import BM25
from .corpus import corpus_fingerprint
from .embedding import Embedder, resolve_model
from .errors import CorruptIndexError, IndexMissingError, QAError, StaleIndexError
from .records import (
    FIX,
    FORMAT_VERSION,
    ChunkRecord,
    DocRecord,
    Manifest,
    SentenceRecord,
    read_jsonl,
    write_jsonl,
)
from .storage import file_sha256

log = logging.getLogger(__name__)

#: Above this many chunks the FAISS index is approximate (HNSW). Measured here: exact search
#: costs ~75 µs per 1,000 chunks, so at 20k it stays within ~10% of one query's encoding,
#: while HNSW (efSearch 128) keeps recall@10 ≥ 0.985 up to 1M; see README, "Scale".
EXACT_MAX_CHUNKS = 20000
DATA_FILES = (
    "docs.jsonl",
    "chunks.jsonl",
    "sentences.jsonl",
    "vectors.faiss",
    "chunk_vectors.npy",
    "sentence_vectors.npy",
    "sentence_vectors.faiss",
    *BM25.FILES,
)
#: Files up to this size are checked against their SHA-256 on load; larger ones by size only.
HASH_CHECK_MAX_BYTES = 64 * 1024 * 1024


def make_faiss_index(
    vectors: np.ndarray, kind: str | None = None, exact_max: int = EXACT_MAX_CHUNKS
) -> tuple[Any, str]:
    """An inner-product FAISS index: exact up to ``exact_max`` vectors, HNSW above."""
    import faiss  # deferred: importing FAISS costs time the CLI's --help should not pay

    dim = vectors.shape[1]
    kind = kind or ("flat" if len(vectors) <= exact_max else "hnsw")
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        raise ValueError(f"unknown FAISS index kind {kind!r}; use 'flat' or 'hnsw'")
    if len(vectors):
        index.add(vectors)
    return index, kind


# ----------------------------------------------------------------------------------- writing


@dataclass
class BuiltIndex:
    """Everything a build produced, ready to be written by ``save``."""

    docs: list[DocRecord]
    chunks: list[ChunkRecord]
    sentences: list[SentenceRecord]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    bm25: BM25
    manifest: Manifest


def save(
    directory: Path,
    built: BuiltIndex,
    index_kind: str | None = None,
    exact_max: int = EXACT_MAX_CHUNKS,
    pause=lambda stage: None,
) -> None:
    """Write every file of the index into ``directory`` (a fresh temporary directory).

    ``pause(stage)`` is the build's test hook (``qa.storage.test_pause``).
    """
    import faiss  # deferred with the rest of the FAISS work

    write_jsonl(directory / "docs.jsonl", built.docs)
    write_jsonl(directory / "chunks.jsonl", built.chunks)
    pause("writing")  # docs and chunks are written, the rest not yet
    write_jsonl(directory / "sentences.jsonl", built.sentences)
    np.save(directory / "chunk_vectors.npy", built.chunk_vectors)
    np.save(directory / "sentence_vectors.npy", built.sentence_vectors)
    index, built.manifest.faiss_index = make_faiss_index(built.chunk_vectors, index_kind, exact_max)
    faiss.write_index(index, str(directory / "vectors.faiss"))
    sentence_index, built.manifest.sentence_faiss_index = make_faiss_index(
        built.sentence_vectors, index_kind, exact_max
    )
    faiss.write_index(sentence_index, str(directory / "sentence_vectors.faiss"))
    built.bm25.save(directory)
    _finish_manifest(directory, built.manifest)


def _finish_manifest(directory: Path, manifest: Manifest) -> None:
    """Record every data file's size and checksum, then write the manifest (last)."""
    manifest.files = {}
    for name in DATA_FILES:
        size = (directory / name).stat().st_size
        digest = file_sha256(directory / name) if size <= HASH_CHECK_MAX_BYTES else None
        manifest.files[name] = {"bytes": size, "sha256": digest}
    manifest.save(directory / "manifest.json")


# ----------------------------------------------------------------------------------- reading


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest, checked for format and completeness; raises a QAError saying what to do."""
    index_dir = Path(index_dir)
    path = index_dir / "manifest.json"
    if not index_dir.exists() or (index_dir.is_dir() and not any(index_dir.iterdir())):
        raise IndexMissingError(f"no index at {index_dir}; run `qa build` to create it")
    if not path.exists():
        raise CorruptIndexError(f"index {index_dir} has no manifest.json; {FIX}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CorruptIndexError(f"{path} is damaged ({e}); {FIX}") from e
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise CorruptIndexError(
            f"{path}: format_version must be a whole number, got {version!r}; {FIX}"
        )
    if version > FORMAT_VERSION:
        raise CorruptIndexError(
            f"index {index_dir} has format version {version}, newer than this qa "
            f"({FORMAT_VERSION}); upgrade qa or {FIX}"
        )
    if version < FORMAT_VERSION:
        raise StaleIndexError(f"index {index_dir} has old format version {version}; {FIX}")
    manifest = Manifest.from_json(raw, str(path))
    for name in DATA_FILES:
        p = index_dir / name
        info = manifest.files.get(name)
        if info is None:
            raise CorruptIndexError(f"{path} does not describe {name}; {FIX}")
        if not p.exists():
            raise CorruptIndexError(f"index file {p} is missing; {FIX}")
        size = p.stat().st_size
        if size != info["bytes"]:
            raise CorruptIndexError(
                f"index file {p} has {size} bytes, expected {info['bytes']}; {FIX}"
            )
        if info.get("sha256") and file_sha256(p) != info["sha256"]:
            raise CorruptIndexError(f"index file {p} does not match its checksum; {FIX}")
    return manifest


def check_fresh(
    manifest: Manifest, index_dir: Path, corpus_dir: Path | None, model: str | None
) -> None:
    """Raise StaleIndexError when the corpus or model differ from those the index was built on."""
    wanted = resolve_model(model)
    if manifest.model != wanted:
        raise StaleIndexError(
            f"index {index_dir} was built with model {manifest.model!r}, not {wanted!r}; "
            "run `qa build` to rebuild it"
        )
    if corpus_dir is None:
        return
    now = corpus_fingerprint(Path(corpus_dir))
    before = manifest.corpus_files
    if now != before:
        changed = sorted(f for f in set(now) | set(before) if now.get(f) != before.get(f))
        shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
        raise StaleIndexError(
            f"index {index_dir} is stale: {len(changed)} corpus file(s) changed since it was "
            f"built ({shown}); run `qa build` to update it"
        )


class LoadedIndex:
    """A loaded index, ready for repeated queries (use ``qa.load_index`` to get one).

    Holds the records, the vectors and the search structures, and answers questions about
    them (a sentence's text, its paragraph, the chunks that hold it); ranking is
    ``qa.retrieval``'s job and answering ``qa.answer``'s.
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
        vec = self.embedder.encode_query(question)
        if vec.shape[-1] != self.faiss_index.d:
            raise StaleIndexError(
                f"the model gives {vec.shape[-1]}-dimensional vectors but index "
                f"{self.index_dir} holds {self.faiss_index.d}; run `qa build` to rebuild it"
            )
        return vec

    def search(self, qvec: np.ndarray, chunks: int, sentences: int) -> tuple[Any, Any, Any]:
        """Dense search: (chunk scores, chunk ids, sentence ids), best first."""
        import faiss  # already loaded by load_index(); a dict lookup here

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

    def chunk_vector(self, ci: int) -> np.ndarray:
        return self.faiss_index.reconstruct(ci)

    def __repr__(self) -> str:
        c = self.manifest.counts
        return (
            f"LoadedIndex({str(self.index_dir)!r}, documents={c['documents']}, "
            f"chunks={c['chunks']}, model={self.manifest.model!r})"
        )


def _open(
    index_dir: Path, manifest: Manifest, embedder: Embedder, search_threads: int
) -> LoadedIndex:
    import faiss  # deferred: only loading an index needs it

    docs = [DocRecord.from_json(r) for r in read_jsonl(index_dir / "docs.jsonl")]
    chunks = [ChunkRecord.from_json(r) for r in read_jsonl(index_dir / "chunks.jsonl")]
    rows = read_jsonl(index_dir / "sentences.jsonl")
    sentences = [SentenceRecord.from_json(r, i) for i, r in enumerate(rows)]
    # Memory-map the vectors (flat and HNSW): a 1M-chunk index loads in milliseconds
    # instead of copying 1.5 GB; the build's rename-swap leaves a mapped file valid.
    faiss_index = faiss.read_index(str(index_dir / "vectors.faiss"), faiss.IO_FLAG_MMAP_IFC)
    sentence_faiss = faiss.read_index(
        str(index_dir / "sentence_vectors.faiss"), faiss.IO_FLAG_MMAP_IFC
    )
    bm25 = BM25.load(index_dir)
    svecs = np.load(index_dir / "sentence_vectors.npy", mmap_mode="r", allow_pickle=False)
    counts, dim = manifest.counts, manifest.dimension
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
    if any(not 0 <= s.doc < len(docs) or s.span_end > len(docs[s.doc].text) for s in sentences):
        problems.append("sentence offsets point outside the documents")
    if problems:
        raise CorruptIndexError(f"index {index_dir} is inconsistent ({'; '.join(problems)}); {FIX}")
    return LoadedIndex(
        index_dir, manifest, embedder, docs, chunks, sentences, faiss_index, bm25, svecs,
        sentence_faiss, search_threads,
    )  # fmt: skip


def load_index(
    index_dir: str | Path = "index",
    corpus_dir: str | Path | None = None,
    model: str | None = None,
    embedder: Embedder | None = None,
    search_threads: int = 1,
) -> LoadedIndex:
    """Load a built index for repeated queries.

    With ``corpus_dir`` given, an index built from other corpus content is refused as stale.

    Example:
        >>> idx = load_index("index")  # doctest: +SKIP
        >>> qa.retrieve("Who runs the long-term shelter?", k=3, index=idx)[0].refs  # doctest: +SKIP
        (2,)
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    corpus = Path(corpus_dir) if corpus_dir is not None else None
    check_fresh(manifest, index_dir, corpus, embedder.name if embedder else model)
    embedder = embedder or query_embedder(manifest.model, index_dir)  # ONNX or torch
    try:
        return _open(index_dir, manifest, embedder, search_threads)
    except QAError:
        raise
    except Exception as e:  # any parse or FAISS failure means a damaged file
        raise CorruptIndexError(
            f"index {index_dir} cannot be read ({type(e).__name__}: {e}); {FIX}"
        ) from e

"""The index directory: written by ``save`` and read by ``open_index``, in this one module.

An index is a directory, never a pickle::

    manifest.json          format version, model, chunker settings, corpus file hashes, counts,
                           size and checksum of every other file (``qa.index.records.Manifest``)
    docs.jsonl             one record per document: id, path, title, rendered text, references
    chunks.jsonl           one record per chunk: document, offsets, section, refs, sentences
    sentences.jsonl        one record per sentence: document, offsets, section, refs
    vectors.faiss          FAISS inner-product index over normalized chunk vectors
    chunk_vectors.npy      the same vectors, aligned with chunks.jsonl (the embedding cache)
    sentence_vectors.npy   sentence vectors, aligned with sentences.jsonl (see embed_sentences)
    sentence_vectors.faiss FAISS inner-product index over the sentence vectors
    bm25_*                 the lexical side (see qa.index.bm25)

``build`` writes it to a temporary directory and swaps it in atomically (``storage``). Which
model encodes questions (ONNX or torch) is the caller's choice (``qa.api.load_index``).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..errors import (
    CorruptIndexError,
    IndexBusyError,
    IndexMissingError,
    QAError,
    StaleIndexError,
)
from .bm25 import BM25
from .embedding import Embedder, resolve_model
from .loaded import LoadedIndex
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
from .sources import corpus_fingerprint
from .storage import file_sha256, remember_digest, verified_digest

log = logging.getLogger(__name__)

#: Above this many chunks the FAISS index is approximate (HNSW). Measured here: exact search
#: costs ~75 µs per 1,000 chunks, so at 20k it stays within ~10% of one query's encoding,
#: while HNSW (efSearch 128) keeps recall@10 ≥ 0.985 up to 1M; see docs/scale.md.
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
#: Index files up to this size are read into memory on load, so nothing done to the files on
#: disk afterwards (truncation, overwrite) can reach a running server; larger ones are
#: memory-mapped (a 1M-chunk index loads in milliseconds instead of copying gigabytes). Their
#: checksums are verified before loading, or in a background thread for the mapped ones, and
#: questions are refused until that check has passed. See SECURITY.md, "The index on disk".
MAP_MIN_BYTES = 64 * 1024 * 1024


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
    pause: Callable[[str], None] = lambda stage: None,
) -> None:
    """Write every file of the index into ``directory`` (a fresh temporary directory).

    ``pause(stage)`` is the build's test hook (``qa.index.storage.test_pause``).
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
    pause("written")  # every data file is written, the manifest not yet
    _finish_manifest(directory, built.manifest)


def _finish_manifest(directory: Path, manifest: Manifest) -> None:
    """Record every file's size and checksum (the data files and optional ones such as word
    vectors), then write the manifest, last."""
    manifest.files = {}
    extra = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name not in DATA_FILES)
    for name in [*DATA_FILES, *(n for n in extra if n != "manifest.json")]:
        size = (directory / name).stat().st_size
        manifest.files[name] = {"bytes": size, "sha256": file_sha256(directory / name)}
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
    for name in dict.fromkeys([*DATA_FILES, *manifest.files]):
        p = index_dir / name
        info = manifest.files.get(name)
        if info is None:
            raise CorruptIndexError(f"{path} does not describe {name}; {FIX}")
        try:
            st = os.lstat(p)
        except OSError:
            raise CorruptIndexError(f"index file {p} is missing; {FIX}") from None
        if not stat.S_ISREG(st.st_mode):  # a link or device (/dev/zero) is never an index file
            raise CorruptIndexError(f"index file {p} is not a regular file; {FIX}")
        size = st.st_size
        if size != info["bytes"]:
            raise CorruptIndexError(
                f"index file {p} has {size} bytes, expected {info['bytes']}; {FIX}"
            )
        if not info.get("sha256"):
            raise CorruptIndexError(f"{path} gives no checksum for {name}; {FIX}")
        if size <= MAP_MIN_BYTES and file_sha256(p) != info["sha256"]:
            raise CorruptIndexError(f"index file {p} does not match its checksum; {FIX}")
    return manifest


class IntegrityCheck:
    """Checksums of the memory-mapped (large) index files, verified in a background thread.

    ``require()`` waits for the check (at most ``wait_seconds``; None: until it is done) and
    raises if it failed: a damaged large file is refused before it can give a wrong quote,
    without making a large index slow to open. A file is verified once per index, not once
    per process: a passed check is remembered beside the index (``storage.verified_digest``),
    so the next ``qa ask`` starts at once.
    """

    #: None: ``require`` waits for the check (the CLI, ``qa.answer`` right after loading);
    #: a number: it refuses with IndexBusyError after that many seconds.
    wait_seconds: float | None = None

    def __init__(self, index_dir: Path, manifest: Manifest):
        self.index_dir = index_dir
        self._files = {
            name: info["sha256"]
            for name, info in manifest.files.items()
            if info["bytes"] > MAP_MIN_BYTES and verified_digest(index_dir / name) != info["sha256"]
        }
        self.error: str | None = None
        self._done = threading.Event()
        if self._files:
            threading.Thread(target=self._run, name="qa-index-check", daemon=True).start()
        else:
            self._done.set()

    def _run(self) -> None:
        try:
            for name, digest in self._files.items():
                if file_sha256(self.index_dir / name) != digest:
                    self.error = f"index file {self.index_dir / name} does not match its checksum"
                    return
                remember_digest(self.index_dir / name, digest)
        except OSError as e:
            self.error = f"index file {e.filename} cannot be read ({e.strerror})"
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def require(self) -> None:
        if not self._done.wait(self.wait_seconds):
            raise IndexBusyError(
                f"index {self.index_dir} is still being checked after loading; ask again in a "
                "few seconds"
            )
        if self.error:
            raise CorruptIndexError(f"{self.error}; {FIX}")


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


def _open(
    index_dir: Path, manifest: Manifest, embedder: Embedder, search_threads: int
) -> LoadedIndex:
    import faiss  # deferred: only loading an index needs it

    docs = [DocRecord.from_json(r) for r in read_jsonl(index_dir / "docs.jsonl")]
    chunks = [ChunkRecord.from_json(r) for r in read_jsonl(index_dir / "chunks.jsonl")]
    rows = read_jsonl(index_dir / "sentences.jsonl")
    sentences = [SentenceRecord.from_json(r, i) for i, r in enumerate(rows)]

    # Small files are read into memory; large ones memory-mapped (see MAP_MIN_BYTES).
    def mapped(name: str) -> bool:
        return manifest.files[name]["bytes"] > MAP_MIN_BYTES

    def read_faiss(name: str) -> Any:
        flags = faiss.IO_FLAG_MMAP_IFC if mapped(name) else 0
        return faiss.read_index(str(index_dir / name), flags)

    faiss_index = read_faiss("vectors.faiss")
    sentence_faiss = read_faiss("sentence_vectors.faiss")
    bm25 = BM25.load(index_dir, mmap=any(mapped(n) for n in BM25.FILES))
    svecs = np.load(
        index_dir / "sentence_vectors.npy",
        mmap_mode="r" if mapped("sentence_vectors.npy") else None,
        allow_pickle=False,
    )
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
    # In-memory vectors are checked for NaN here; mapped ones would cost a full read at load.
    if (not mapped("sentence_vectors.npy") and not np.isfinite(svecs).all()) or (
        not mapped("vectors.faiss") and not _finite_faiss(faiss_index)
    ):
        problems.append("the vectors hold values that are not finite numbers (NaN)")
    if problems:
        raise CorruptIndexError(f"index {index_dir} is inconsistent ({'; '.join(problems)}); {FIX}")
    return LoadedIndex(
        index_dir, manifest, embedder, docs, chunks, sentences, faiss_index, bm25, svecs,
        sentence_faiss, search_threads, IntegrityCheck(index_dir, manifest),
    )  # fmt: skip


def _finite_faiss(index: Any) -> bool:
    """The chunk vectors inside a FAISS index are finite (read back in blocks)."""
    step = 1 << 14
    for i in range(0, index.ntotal, step):
        if not np.isfinite(index.reconstruct_n(i, min(step, index.ntotal - i))).all():
            return False
    return True


#: Makes the query embedder for an index's model name and directory (``qa.api`` passes one).
EmbedderFactory = Callable[[str, Path], Embedder]


def open_index(
    index_dir: str | Path,
    corpus_dir: str | Path | None,
    embedder: Embedder | EmbedderFactory,
    model: str | None = None,
    search_threads: int = 1,
) -> LoadedIndex:
    """Open a built index for repeated queries, encoding questions with ``embedder`` (or the
    embedder that factory makes for the index's model, once the index is known to be fresh).

    With ``corpus_dir`` given, an index built from other corpus content is refused as stale.
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    corpus = Path(corpus_dir) if corpus_dir is not None else None
    given = cast(Embedder, embedder) if hasattr(embedder, "encode") else None
    check_fresh(manifest, index_dir, corpus, given.name if given else model)
    chosen = given or cast(EmbedderFactory, embedder)(manifest.model, index_dir)
    try:
        return _open(index_dir, manifest, chosen, search_threads)
    except QAError:
        raise
    except Exception as e:  # any parse or FAISS failure means a damaged file
        raise CorruptIndexError(
            f"index {index_dir} cannot be read ({type(e).__name__}: {e}); {FIX}"
        ) from e

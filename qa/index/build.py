"""Build an index: read the corpus, chunk, embed (re-embedding only what changed), write.

The files are written by ``qa.index.format.save`` into a temporary directory next to the target and
swapped in atomically under a lock (``qa.index.storage``): a reader never sees half an index and a
failed build leaves the old one intact.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import QAError
from ..readers.document import Document, strip_markers
from .backend import export_or_note
from .bm25 import BM25
from .chunking import Chunk, ChunkerSettings, chunk_documents, text_key
from .embedding import (
    Embedder,
    default_show_progress,
    embed_cached,
    embed_sentences,
    get_embedder,
)
from .format import DATA_FILES, EXACT_MAX_CHUNKS, MAP_MIN_BYTES, BuiltIndex, read_manifest, save
from .onnx_embedding import cache_dir_for
from .records import FORMAT_VERSION, ChunkRecord, DocRecord, Manifest, SentenceRecord, read_jsonl
from .sources import MAX_FILE_BYTES, corpus_fingerprint, load_corpus
from .storage import (
    build_lock,
    clean_stale_temp_dirs,
    freeze,
    fsync_dir,
    remember_digest,
    remove_tree,
    stage_hook,
    swap_in,
)
from .text import tokenize
from .wordvec import META_FILE, VECTORS_FILE, write_word_vectors


@dataclass
class BuildReport:
    """What a build did.

    Attributes:
        chunks_added / chunks_removed / chunks_unchanged: chunk texts compared with the old index.
        chunks_embedded / sentences_embedded: texts actually sent to the model (cache misses).
    """

    index_dir: str
    documents: int
    chunks: int
    sentences: int
    chunks_added: int
    chunks_removed: int
    chunks_unchanged: int
    chunks_embedded: int
    sentences_embedded: int
    seconds: float
    model: str
    warnings: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One human line, as `qa build` prints it."""
        return (
            f"indexed {self.documents} document(s), {self.chunks} chunks in {self.seconds:.1f}s: "
            f"{self.chunks_added} added, {self.chunks_removed} removed, "
            f"{self.chunks_unchanged} unchanged; {self.chunks_embedded} chunk(s) and "
            f"{self.sentences_embedded} sentence(s) embedded"
        )


@dataclass
class _Previous:
    """What the index being replaced offers: its vectors by text key and its corpus hashes."""

    cache: dict[str, np.ndarray] = field(default_factory=dict)
    chunk_keys: set[str] = field(default_factory=set)
    corpus_files: dict[str, str] = field(default_factory=dict)


def _previous(index_dir: Path, model: str) -> _Previous:
    """The old index's embedding cache (if it used the same model) and corpus hashes."""
    prev = _Previous()
    try:
        manifest = read_manifest(index_dir)
    except QAError:
        return prev  # no usable old index: embed everything
    prev.corpus_files = manifest.corpus_files
    try:
        for records, vectors in (
            ("chunks.jsonl", "chunk_vectors.npy"),
            ("sentences.jsonl", "sentence_vectors.npy"),
        ):
            keys = [str(r.get("key", "")) for r in read_jsonl(index_dir / records)]
            if records == "chunks.jsonl":
                prev.chunk_keys = set(keys)
            if manifest.model == model:
                vecs = np.load(index_dir / vectors, mmap_mode="r", allow_pickle=False)
                if len(vecs) == len(keys):
                    prev.cache.update((k, np.array(v)) for k, v in zip(keys, vecs, strict=True))
    except (OSError, ValueError, QAError):
        prev.cache.clear()  # a damaged cache is no cache
    return prev


#: Every name a build writes into an index directory; a damaged index holding only these is
#: rebuilt whatever its manifest says (red-team round two, finding 4).
INDEX_NAMES = frozenset({"manifest.json", *DATA_FILES, VECTORS_FILE, META_FILE})


def check_target(index_dir: Path, corpus_dir: Path) -> list[str]:
    """Refuse to build over a directory that is not an index (it would be replaced).

    A damaged index (no, empty or bad manifest; files it does not describe) is rebuilt: the
    returned notes say what was wrong and which files the build replaces. Only files an index
    never writes (``my-notes.txt``) make it refuse.
    """
    index_dir, corpus_dir = Path(index_dir), Path(corpus_dir)
    if index_dir.resolve() == corpus_dir.resolve() or corpus_dir.resolve().is_relative_to(
        index_dir.resolve()
    ):
        raise QAError(
            f"index directory {index_dir} holds the corpus {corpus_dir}; "
            "choose another --index directory"
        )
    if index_dir.exists() and not index_dir.is_dir():
        raise QAError(f"{index_dir} is a file, not a directory; choose another --index path")
    if not index_dir.is_dir():
        return []
    names = sorted(p.name for p in index_dir.iterdir())
    try:
        described = {"manifest.json", *read_manifest(index_dir).files}
        problem = None
    except QAError as e:
        described, problem = set(), str(e).split("; run `qa build`")[0]
    foreign = [n for n in names if n not in described and n not in INDEX_NAMES]
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        what = "holds files the index did not write" if described else "is not an index"
        raise QAError(
            f"{index_dir} {what} ({shown}); a rebuild replaces the whole directory, so move "
            "them elsewhere first (or choose a new or empty --index directory)"
        )
    if names and problem is not None:
        return [
            f"the index at {index_dir} was damaged ({problem}); rebuilt it from the corpus, "
            f"removing {', '.join(names)}"
        ]
    return []


def _records(
    docs: list[Document], chunks: list[Chunk], chunk_keys: list[str], sent_keys: list[str]
) -> tuple[list[DocRecord], list[ChunkRecord], list[SentenceRecord]]:
    """The on-disk records of the parsed documents and their chunks."""
    doc_pos = {d.doc_id: i for i, d in enumerate(docs)}
    sentences = [s for d in docs for s in d.sentences]
    row = {(s.doc_id, s.start): i for i, s in enumerate(sentences)}
    doc_records = [
        DocRecord(
            d.doc_id, d.path, d.title, d.text, dict(d.references), d.sha256, dict(d.notes), d.url
        )
        for d in docs
    ]
    chunk_records = [
        ChunkRecord(
            doc_pos[c.doc_id],
            c.start,
            c.end,
            c.section,
            c.paragraph,
            c.refs,
            tuple(row[(c.doc_id, s[0])] for s in c.sentences),
            key,
        )  # fmt: skip
        for c, key in zip(chunks, chunk_keys, strict=True)
    ]
    sentence_records = [
        SentenceRecord(
            i,
            doc_pos[s.doc_id],
            s.start,
            s.end,
            s.span_end,
            s.paragraph,
            s.section,
            s.refs,
            key,
            s.pages,
            s.notes,
            s.tags,
        )  # fmt: skip
        for i, (s, key) in enumerate(zip(sentences, sent_keys, strict=True))
    ]
    return doc_records, chunk_records, sentence_records


def _make_temp_dir(index_dir: Path) -> Path:
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide the index from other users
    return tmp


def _build_locked(
    corpus_dir: Path,
    index_dir: Path,
    settings: ChunkerSettings,
    show_progress: bool,
    embedder: Embedder,
    index_kind: str | None,
    wait: float,
    exact_max_chunks: int,
    max_file_bytes: int,
    t0: float,
) -> BuildReport:
    """Read, chunk, embed and write under the build lock; swap the new index in."""
    with build_lock(index_dir, wait=wait):
        stage_hook("locked")
        clean_stale_temp_dirs(index_dir)
        fingerprint = corpus_fingerprint(corpus_dir)
        docs, warnings = load_corpus(corpus_dir, max_file_bytes)
        chunks = chunk_documents(docs, settings)
        sentences = [s for d in docs for s in d.sentences]
        prev = _previous(index_dir, embedder.name)
        dim = embedder.dim
        chunk_texts = [c.embed_text for c in chunks]
        chunk_vecs, n_chunk_emb = embed_cached(
            embedder, chunk_texts, prev.cache, show_progress, dim
        )
        sent_vecs, sent_keys, n_sent_emb = embed_sentences(
            embedder, sentences, {d.doc_id: d.title for d in docs}, prev.cache, show_progress, dim
        )
        chunk_keys = [text_key(t) for t in chunk_texts]
        doc_records, chunk_records, sentence_records = _records(docs, chunks, chunk_keys, sent_keys)
        manifest = Manifest(
            model=embedder.name,
            dimension=dim,
            corpus_files=fingerprint,
            counts={"documents": len(docs), "chunks": len(chunks), "sentences": len(sentences)},
            chunker=settings.to_dict(),
            package_version=__version__,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            format_version=FORMAT_VERSION,
        )
        built = BuiltIndex(
            doc_records, chunk_records, sentence_records, chunk_vecs, sent_vecs,
            BM25.build([tokenize(t) for t in chunk_texts]), manifest,
        )  # fmt: skip
        tmp = _make_temp_dir(index_dir)
        try:
            manifest.build_seconds = round(time.perf_counter() - t0, 3)
            texts = [strip_markers(s.text) for s in sentences]
            write_word_vectors(tmp, embedder, texts, sent_keys, previous=index_dir)
            save(tmp, built, index_kind, exact_max_chunks, pause=stage_hook)
            freeze(tmp)
            fsync_dir(tmp)
            stage_hook("swap")
            swap_in(tmp, index_dir)
        except BaseException:
            remove_tree(tmp)
            raise
        for name, info in manifest.files.items():  # hashed just now: no process need redo it
            if info["bytes"] > MAP_MIN_BYTES:
                remember_digest(index_dir / name, info["sha256"])
        stage_hook("swapped")
    # Export the model for torch-free queries now, while it is loaded (qa.index.onnx_embedding).
    note = export_or_note(embedder, cache_dir_for(index_dir))
    warnings = [*warnings, note] if note else warnings
    new_keys, old = set(chunk_keys), prev.corpus_files
    return BuildReport(
        index_dir=str(index_dir),
        documents=len(docs),
        chunks=len(chunks),
        sentences=len(sentences),
        chunks_added=len(new_keys - prev.chunk_keys),
        chunks_removed=len(prev.chunk_keys - new_keys),
        chunks_unchanged=len(new_keys & prev.chunk_keys),
        chunks_embedded=n_chunk_emb,
        sentences_embedded=n_sent_emb,
        seconds=time.perf_counter() - t0,
        model=embedder.name,
        warnings=warnings,
        changed_files=sorted(
            f for f in set(fingerprint) | set(old) if fingerprint.get(f) != old.get(f)
        ),
    )


def build_index(
    corpus_dir: str | Path = "corpus",
    index_dir: str | Path = "index",
    model: str | None = None,
    settings: ChunkerSettings | None = None,
    show_progress: bool | None = None,
    embedder: Embedder | None = None,
    index_kind: str | None = None,
    wait: float = 0.0,
    exact_max_chunks: int = EXACT_MAX_CHUNKS,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> BuildReport:
    """Parse, chunk and embed ``corpus_dir`` into ``index_dir``; re-embed only changed texts.

    Example:
        >>> report = build_index("corpus", "index")  # doctest: +SKIP
        >>> print(report.summary())  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    settings = settings or ChunkerSettings()
    show_progress = default_show_progress() if show_progress is None else show_progress
    embedder = embedder or get_embedder(model)
    repaired = check_target(index_dir, corpus_dir)
    try:
        report = _build_locked(
            corpus_dir, index_dir, settings, show_progress, embedder, index_kind, wait,
            exact_max_chunks, max_file_bytes, t0,
        )  # fmt: skip
        report.warnings[:0] = repaired
        return report
    except PermissionError as e:
        raise QAError(
            f"cannot write the index at {index_dir} ({e.strerror}: {e.filename}); choose a "
            "writable --index directory (or QA_INDEX_DIR), or fix its permissions"
        ) from e
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        raise QAError(
            f"building the index at {index_dir} failed ({e.strerror or e}{where}); "
            "free some space or fix the directory, then run `qa build` again"
        ) from e

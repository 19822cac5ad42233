"""Build, save and load the index directory.

An index is a directory, never a pickle::

    manifest.json          format version, model, chunker settings, corpus file hashes, counts
    docs.jsonl             one record per document: id, path, title, text, references
    chunks.jsonl           one record per chunk: document, offsets, section, refs, sentences
    sentences.jsonl        one record per sentence: document, offsets, section, refs
    vectors.faiss          FAISS inner-product index over normalized chunk vectors
    chunk_vectors.npy      the same vectors, aligned with chunks.jsonl (the embedding cache)
    sentence_vectors.npy   sentence vectors, aligned with sentences.jsonl (see embed_sentences)
    sentence_vectors.faiss FAISS inner-product index over the sentence vectors
    bm25_*                 the lexical side (see qa.bm25)

It is written to a temporary directory next to the target and swapped in with a rename, so a
reader never sees half an index and a failed build leaves the old one intact.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .bm25 import BM25, tokenize
from .chunking import ChunkerSettings, chunk_documents, text_key
from .corpus import corpus_files, load_corpus
from .embedding import (
    Embedder,
    default_show_progress,
    embed_cached,
    embed_sentences,
    get_embedder,
    resolve_model,
)
from .errors import (
    CorruptIndexError,
    IndexMissingError,
    QAError,
    StaleIndexError,
)
from .settings import Settings
from .storage import (
    _fsync_dir,
    _test_pause,
    build_lock,
    clean_stale_temp_dirs,
    file_sha256,
    swap_in,
)

log = logging.getLogger(__name__)

#: 2: sentence vectors mix the sentence in context with the bare one, and have a FAISS index
FORMAT_VERSION = 2
#: Above this many chunks the FAISS index is approximate (HNSW). Measured here: exact search
#: costs ~75 µs per 1,000 chunks, so at 20k it stays within ~10% of one query's encoding,
#: while HNSW (efSearch 128) keeps recall@10 ≥ 0.985 up to 1M; see README, "Scale".
EXACT_MAX_CHUNKS = Settings.exact_max_chunks
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


def corpus_fingerprint(corpus_dir: Path) -> dict[str, str]:
    """SHA-256 of every corpus file (usable or not), keyed by path relative to the corpus."""
    corpus_dir = Path(corpus_dir)
    return {p.relative_to(corpus_dir).as_posix(): file_sha256(p) for p in corpus_files(corpus_dir)}


# ---------------------------------------------------------------------------------- building


def _old_cache(index_dir: Path, model: str) -> tuple[dict[str, np.ndarray], set[str]]:
    """Vectors of the previous index by text key, if it used the same model."""
    cache: dict[str, np.ndarray] = {}
    old_chunk_keys: set[str] = set()
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
            return cache, old_chunk_keys
        same_model = manifest.get("model") == model
        for records, vectors in (
            ("chunks.jsonl", "chunk_vectors.npy"),
            ("sentences.jsonl", "sentence_vectors.npy"),
        ):
            keys = [json.loads(line)["key"] for line in _read_lines(index_dir / records)]
            if records == "chunks.jsonl":
                old_chunk_keys = set(keys)
            if same_model:
                vecs = np.load(index_dir / vectors, mmap_mode="r", allow_pickle=False)
                if len(vecs) == len(keys):
                    cache.update((k, np.array(v)) for k, v in zip(keys, vecs, strict=True))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        log.info("no usable embedding cache in %s (%s); embedding everything", index_dir, e)
    return cache, old_chunk_keys


def _old_corpus_files(index_dir: Path) -> dict[str, str]:
    """Corpus hashes recorded by the previous build, or {} when there is no usable manifest."""
    try:
        files = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        files = files["corpus_files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return files if isinstance(files, dict) else {}


def check_target(index_dir: Path, corpus_dir: Path) -> None:
    """Refuse to build over a directory that is not an index (it would be replaced)."""
    index_dir, corpus_dir = Path(index_dir), Path(corpus_dir)
    if index_dir.resolve() == corpus_dir.resolve() or corpus_dir.resolve().is_relative_to(
        index_dir.resolve()
    ):
        raise QAError(
            f"index directory {index_dir} holds the corpus {corpus_dir}; "
            "choose another --index directory"
        )
    if (
        index_dir.is_dir()
        and any(index_dir.iterdir())
        and not (index_dir / "manifest.json").exists()
    ):
        raise QAError(
            f"{index_dir} is not empty and is not an index (no manifest.json); building would "
            "replace it. Choose a new or empty --index directory"
        )
    if index_dir.exists() and not index_dir.is_dir():
        raise QAError(f"{index_dir} is a file, not a directory; choose another --index path")


def _read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line for line in f if line.strip()]


def make_faiss_index(
    vectors: np.ndarray, kind: str | None = None, exact_max_chunks: int | None = None
):
    """An inner-product FAISS index: exact up to ``exact_max_chunks`` vectors, HNSW above."""
    import faiss

    dim = vectors.shape[1]
    limit = EXACT_MAX_CHUNKS if exact_max_chunks is None else exact_max_chunks
    kind = kind or ("flat" if len(vectors) <= limit else "hnsw")
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


def _write_jsonl(path: Path, records) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False))
            f.write("\n")


def build_index(
    corpus_dir: str | Path = "corpus",
    index_dir: str | Path = "index",
    model: str | None = None,
    settings: ChunkerSettings | None = None,
    show_progress: bool | None = None,
    embedder: Embedder | None = None,
    index_kind: str | None = None,
    wait: float = 0.0,
    exact_max_chunks: int | None = None,
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
    model_name = embedder.name
    check_target(index_dir, corpus_dir)
    with build_lock(index_dir, wait=wait):
        _test_pause("locked")
        clean_stale_temp_dirs(index_dir)
        fingerprint = corpus_fingerprint(corpus_dir)
        docs, warnings = load_corpus(corpus_dir)
        chunks = chunk_documents(docs, settings)
        sentences = [s for d in docs for s in d.sentences]
        cache, old_keys = _old_cache(index_dir, model_name)
        old_files = _old_corpus_files(index_dir)
        dim = embedder.dim
        chunk_texts = [c.embed_text for c in chunks]
        doc_titles = {d.doc_id: d.title for d in docs}
        chunk_vecs, n_chunk_emb = embed_cached(embedder, chunk_texts, cache, show_progress, dim)
        sent_vecs, sent_keys, n_sent_emb = embed_sentences(
            embedder, sentences, doc_titles, cache, show_progress, dim
        )
        new_keys = [text_key(t) for t in chunk_texts]
        new_key_set = set(new_keys)

        index_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide the index from other users
        try:
            _write_index(
                tmp,
                docs,
                chunks,
                sentences,
                chunk_vecs,
                sent_vecs,
                new_keys,
                sent_keys,
                settings,
                model_name,
                dim,
                fingerprint,
                index_kind,
                exact_max_chunks,
            )
            seconds = time.perf_counter() - t0
            _finish_manifest(tmp, seconds)
            _fsync_dir(tmp)
            _test_pause("swap")
            swap_in(tmp, index_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _test_pause("swapped")
    changed = sorted(
        {f for f in set(fingerprint) | set(old_files) if fingerprint.get(f) != old_files.get(f)}
    )
    return BuildReport(
        index_dir=str(index_dir),
        documents=len(docs),
        chunks=len(chunks),
        sentences=len(sentences),
        chunks_added=len(new_key_set - old_keys),
        chunks_removed=len(old_keys - new_key_set),
        chunks_unchanged=len(new_key_set & old_keys),
        chunks_embedded=n_chunk_emb,
        sentences_embedded=n_sent_emb,
        seconds=time.perf_counter() - t0,
        model=model_name,
        warnings=warnings,
        changed_files=changed,
    )


def _write_index(
    tmp,
    docs,
    chunks,
    sentences,
    chunk_vecs,
    sent_vecs,
    chunk_keys,
    sent_keys,
    settings,
    model_name,
    dim,
    fingerprint,
    index_kind,
    exact_max_chunks,
) -> None:
    import faiss

    doc_pos = {d.doc_id: i for i, d in enumerate(docs)}
    _write_jsonl(
        tmp / "docs.jsonl",
        (
            {
                "doc_id": d.doc_id,
                "path": d.path,
                "title": d.title,
                "sha256": d.sha256,
                "references": {str(k): v for k, v in d.references.items()},
                "text": d.text,
            }
            for d in docs
        ),
    )
    sent_index = {(s.doc_id, s.start): i for i, s in enumerate(sentences)}
    _write_jsonl(
        tmp / "chunks.jsonl",
        (
            {
                "doc": doc_pos[c.doc_id],
                "start": c.start,
                "end": c.end,
                "section": c.section,
                "paragraph": c.paragraph,
                "refs": list(c.refs),
                "sentences": [sent_index[(c.doc_id, s[0])] for s in c.sentences],
                "key": key,
            }
            for c, key in zip(chunks, chunk_keys, strict=True)
        ),
    )
    _test_pause("writing")  # docs and chunks are written, the rest not yet
    _write_jsonl(
        tmp / "sentences.jsonl",
        (
            {
                "doc": doc_pos[s.doc_id],
                "start": s.start,
                "end": s.end,
                "span_end": s.span_end,
                "paragraph": s.paragraph,
                "section": s.section,
                "refs": list(s.refs),
                "key": key,
            }
            for s, key in zip(sentences, sent_keys, strict=True)
        ),
    )
    np.save(tmp / "chunk_vectors.npy", chunk_vecs)
    np.save(tmp / "sentence_vectors.npy", sent_vecs)
    index, kind = make_faiss_index(chunk_vecs, index_kind, exact_max_chunks)
    faiss.write_index(index, str(tmp / "vectors.faiss"))
    sentence_index, sentence_kind = make_faiss_index(sent_vecs, index_kind, exact_max_chunks)
    faiss.write_index(sentence_index, str(tmp / "sentence_vectors.faiss"))
    BM25.build([tokenize(c.embed_text) for c in chunks]).save(tmp)
    manifest = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "model": model_name,
        "dimension": dim,
        "normalized": True,
        "faiss_index": kind,
        "sentence_faiss_index": sentence_kind,
        "chunker": settings.to_dict(),
        "corpus_files": fingerprint,
        "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(sentences)},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _finish_manifest(tmp: Path, seconds: float) -> None:
    path = tmp / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["build_seconds"] = round(seconds, 3)
    manifest["files"] = {
        name: {
            "bytes": (tmp / name).stat().st_size,
            "sha256": file_sha256(tmp / name)
            if (tmp / name).stat().st_size <= HASH_CHECK_MAX_BYTES
            else None,
        }
        for name in DATA_FILES
    }
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")


# ----------------------------------------------------------------------------------- loading


def read_manifest(index_dir: Path) -> dict:
    """The manifest, checked for format and completeness; raises a QAError saying what to do."""
    index_dir = Path(index_dir)
    path = index_dir / "manifest.json"
    fix = "run `qa build` to rebuild it"
    if not index_dir.exists() or (index_dir.is_dir() and not any(index_dir.iterdir())):
        raise IndexMissingError(f"no index at {index_dir}; run `qa build` to create it")
    if not path.exists():
        raise CorruptIndexError(f"index {index_dir} has no manifest.json; {fix}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        version = manifest["format_version"]
        files = manifest["files"]
        int(manifest["dimension"])
        manifest["counts"]["chunks"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CorruptIndexError(f"{path} is damaged ({e}); {fix}") from e
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CorruptIndexError(
            f"index {index_dir} has format version {version}, newer than this qa "
            f"({FORMAT_VERSION}); upgrade qa or {fix}"
        )
    if version < FORMAT_VERSION:
        raise StaleIndexError(f"index {index_dir} has old format version {version}; {fix}")
    for name in DATA_FILES:
        p = index_dir / name
        info = files.get(name) if isinstance(files, dict) else None
        if not isinstance(info, dict):
            raise CorruptIndexError(f"{path} does not describe {name}; {fix}")
        if not p.exists():
            raise CorruptIndexError(f"index file {p} is missing; {fix}")
        size = p.stat().st_size
        if size != info.get("bytes"):
            raise CorruptIndexError(
                f"index file {p} has {size} bytes, expected {info.get('bytes')}; {fix}"
            )
        if info.get("sha256") and file_sha256(p) != info["sha256"]:
            raise CorruptIndexError(f"index file {p} does not match its checksum; {fix}")
    return manifest


def check_fresh(manifest: dict, index_dir: Path, corpus_dir: Path | None, model: str | None):
    """Raise StaleIndexError when the corpus or model differ from those the index was built on."""
    wanted = resolve_model(model)
    if manifest["model"] != wanted:
        raise StaleIndexError(
            f"index {index_dir} was built with model {manifest['model']!r}, not {wanted!r}; "
            "run `qa build` to rebuild it"
        )
    if corpus_dir is None:
        return
    now = corpus_fingerprint(Path(corpus_dir))
    before = manifest["corpus_files"]
    if now != before:
        changed = sorted(f for f in set(now) | set(before) if now.get(f) != before.get(f))
        shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
        raise StaleIndexError(
            f"index {index_dir} is stale: {len(changed)} corpus file(s) changed since it was "
            f"built ({shown}); run `qa build` to update it"
        )


def load_index(
    index_dir: str | Path = "index",
    corpus_dir: str | Path | None = None,
    model: str | None = None,
    embedder: Embedder | None = None,
):
    """Load a built index for repeated queries.

    With ``corpus_dir`` given, an index built from other corpus content is refused as stale.

    Example:
        >>> idx = load_index("index")  # doctest: +SKIP
        >>> idx.retrieve("Who runs the long-term shelter?", k=3)[0].refs  # doctest: +SKIP
        (2,)
    """
    from .retrieval import LoadedIndex

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    check_fresh(manifest, index_dir, corpus_dir, embedder.name if embedder else model)
    try:
        return LoadedIndex.open(index_dir, manifest, embedder or get_embedder(manifest["model"]))
    except QAError:
        raise
    except Exception as e:  # any parse or FAISS failure means a damaged file
        raise CorruptIndexError(
            f"index {index_dir} cannot be read ({type(e).__name__}: {e}); "
            "run `qa build` to rebuild it"
        ) from e

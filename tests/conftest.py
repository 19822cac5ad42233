"""Shared fixtures: a fast fake embedder, corpus copies, and a real index built once per session."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
ARTICLE = ROOT / "corpus" / "human_trafficking_in_laos.txt"

_WORD_RE = re.compile(r"\w+")


class EmbedderFailure(RuntimeError):
    """Raised by FakeEmbedder when told to fail, to simulate a model crash mid-build."""


class FakeEmbedder:
    """A deterministic hashed bag of lowercase words, L2-normalized.

    Records every batch it encodes in ``calls`` so tests can see what was (re-)embedded.
    With ``fail_after=n`` it raises EmbedderFailure once more than ``n`` texts were asked for.
    """

    def __init__(self, dim: int = 64, name: str | None = None, fail_after: int | None = None):
        self.name = name or f"fake-hash-{dim}"
        self._dim = dim
        self.fail_after = fail_after
        self.calls: list[list[str]] = []
        self.queries: list[str] = []

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def encoded(self) -> int:
        """How many texts were sent to ``encode`` so far."""
        return sum(len(c) for c in self.calls)

    @property
    def encoded_texts(self) -> list[str]:
        return [t for c in self.calls for t in c]

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD_RE.findall(text.lower()):
            digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8)
            v[int.from_bytes(digest.digest(), "little") % self._dim] += 1.0
        if not v.any():
            v[0] = 1.0
        return v / np.linalg.norm(v)

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if self.fail_after is not None and self.encoded + len(texts) > self.fail_after:
            done = max(0, self.fail_after - self.encoded)
            self.calls.append(texts[:done])
            raise EmbedderFailure(f"fake model crashed after {self.fail_after} texts")
        self.calls.append(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return self._vector(text)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def article_path() -> Path:
    assert ARTICLE.is_file(), f"the article is missing at {ARTICLE}"
    return ARTICLE


@pytest.fixture(scope="session")
def article_text(article_path) -> str:
    return article_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def article_doc(article_path):
    from qa.corpus import read_document

    return read_document(article_path, article_path.parent)


@pytest.fixture
def corpus_copy(tmp_path, article_path) -> Path:
    """A writable corpus directory holding a copy of the article."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(article_path, corpus / article_path.name)
    return corpus


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def fake_index(tmp_path, corpus_copy, fake_embedder):
    """An index of the article built with the fake embedder: (index_dir, corpus_dir, report)."""
    from qa.index import build_index

    index_dir = tmp_path / "index"
    report = build_index(corpus_copy, index_dir, embedder=fake_embedder, show_progress=False)
    return index_dir, corpus_copy, report


@pytest.fixture
def app_module():
    """The ``qa.app`` module. Importing it sets GRADIO_ANALYTICS_ENABLED, HF_HUB_OFFLINE and
    TRANSFORMERS_OFFLINE in os.environ; they are put back afterwards, so that other tests see
    the environment they had."""
    names = ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {k: os.environ.get(k) for k in names}
    import qa.app

    yield qa.app
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# ------------------------------------------------------------------ real model (slow tests)


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled sentence-transformers model, loaded once per session."""
    from qa.embedding import get_embedder

    embedder = get_embedder()
    assert embedder.dim > 0  # forces the load here rather than inside a timed test
    return embedder


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, article_path, real_embedder):
    """A real index of the article, built once: (index_dir, corpus_dir). Do not modify it."""
    from qa.index import build_index

    base = tmp_path_factory.mktemp("real")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy2(article_path, corpus / article_path.name)
    index_dir = base / "index"
    build_index(corpus, index_dir, embedder=real_embedder, show_progress=False)
    return index_dir, corpus


@pytest.fixture(scope="session")
def real_loaded(real_index, real_embedder):
    """``real_index`` loaded with the real model, once per session. Read-only: do not modify it."""
    from qa.index import load_index

    index_dir, corpus = real_index
    return load_index(index_dir, corpus, embedder=real_embedder)

"""Shared fixtures: a fast fake embedder, corpus copies, and a real index built once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import ARTICLE, FakeEmbedder
from hypothesis import settings

DATA = Path(__file__).resolve().parent / "data"

# Property tests: a few examples for the default lane (seconds), many for CI. Chosen by
# HYPOTHESIS_PROFILE; ./run.sh test picks "thorough" when CI is set.
settings.register_profile("fast", max_examples=20)
settings.register_profile("thorough", max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


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
    from qa.index.sources import read_document

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
    from qa.index.build import build_index

    index_dir = tmp_path / "index"
    report = build_index(corpus_copy, index_dir, embedder=fake_embedder, show_progress=False)
    return index_dir, corpus_copy, report


@pytest.fixture
def app_module():
    """The ``qa.web.app`` module. Importing it sets GRADIO_ANALYTICS_ENABLED, HF_HUB_OFFLINE and
    TRANSFORMERS_OFFLINE in os.environ; they are put back afterwards, so that other tests see
    the environment they had."""
    names = ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {k: os.environ.get(k) for k in names}
    import qa.web.app

    yield qa.web.app
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# ------------------------------------------------------------------ real model (slow tests)


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled sentence-transformers model, loaded once per session."""
    from qa.index.embedding import get_embedder

    embedder = get_embedder()
    assert embedder.dim > 0  # forces the load here rather than inside a timed test
    return embedder


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, article_path, real_embedder):
    """A real index of the article, built once: (index_dir, corpus_dir). Do not modify it."""
    from qa.index.build import build_index

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
    from qa.api import load_index

    index_dir, corpus = real_index
    return load_index(index_dir, corpus, embedder=real_embedder)

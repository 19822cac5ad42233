"""Red-team round two (issue 22): every value read from an index checked before its first use.

Finding 2: word vectors verified by checksum when first read (after loading, at the first
answer), their offsets checked, NaN vectors refused. Finding 3: manifest values of the wrong
type or size, and a ``files`` key that is a path, are one clear error. Finding 4: a damaged
index is rebuilt by ``qa build``, which says what it removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np
import pytest
from helpers import FakeEmbedder

import qa
from qa.api import load_index
from qa.errors import CorruptIndexError
from qa.index.build import build_index
from qa.index.wordvec import META_FILE, VECTORS_FILE, sentence_words

QUESTION = "How many trafficking cases were investigated in 2007?"


def _edit_manifest(index_dir, edit) -> None:
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    os.chmod(path, 0o644)
    path.write_text(json.dumps(manifest))


def _put(index_dir, name: str, data: bytes) -> None:
    """Write an index file and record it in the manifest, as a build would."""
    path = index_dir / name
    if path.exists():
        os.chmod(path, 0o644)
    path.write_bytes(data)
    info = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    _edit_manifest(index_dir, lambda m: m["files"].__setitem__(name, info))


def _npy(array: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


@pytest.fixture
def with_word_vectors(fake_index):
    """The fake index with word vectors (two per sentence), as a real model's build has."""
    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    keys = [s.key for s in idx.sentences]
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2 * len(keys), 64)).astype(np.float16)
    meta = {
        "format": 1,
        "model": idx.manifest.model,
        "offsets": list(range(0, 2 * len(keys) + 1, 2)),
        "keys": keys,
    }
    _put(index_dir, VECTORS_FILE, _npy(vectors))
    _put(index_dir, META_FILE, json.dumps(meta).encode())
    return index_dir, corpus, meta


def test_word_vectors_overwritten_after_loading_are_refused_at_first_use(with_word_vectors):
    index_dir, corpus, _ = with_word_vectors
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    path = index_dir / VECTORS_FILE
    data = path.read_bytes()
    os.chmod(path, 0o644)
    noise = np.random.default_rng(1).integers(0, 255, len(data) - 128, dtype=np.uint8)
    path.write_bytes(data[:128] + noise.tobytes())  # same size, header intact
    with pytest.raises(CorruptIndexError, match="word_vectors.npy does not match its checksum"):
        sentence_words(idx)
    with pytest.raises(CorruptIndexError, match="qa build"):  # every time, not only once
        sentence_words(idx)


def test_good_word_vectors_are_read(with_word_vectors):
    index_dir, corpus, _ = with_word_vectors
    words = sentence_words(load_index(index_dir, corpus, embedder=FakeEmbedder()))
    assert words is not None and words(0).shape == (2, 64)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            lambda m: m.__setitem__("offsets", ["0", *m["offsets"][1:]]),
            "word_vectors.json is damaged",
        ),
        (lambda m: m.__setitem__("offsets", m["offsets"][::-1]), "word_vectors.json is damaged"),
        (None, "word_vectors.npy holds NaN"),
    ],
)
def test_odd_word_vector_values_are_refused(with_word_vectors, change, needle):
    index_dir, corpus, meta = with_word_vectors
    if change is None:
        _put(
            index_dir, VECTORS_FILE, _npy(np.full((2 * len(meta["keys"]), 64), np.nan, np.float16))
        )
    else:
        change(meta)
        _put(index_dir, META_FILE, json.dumps(meta).encode())
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    with pytest.raises(CorruptIndexError, match=needle):
        sentence_words(idx)


def test_nan_sentence_vectors_with_a_matching_manifest_are_refused(fake_index):
    index_dir, corpus, _ = fake_index
    vectors = np.load(index_dir / "sentence_vectors.npy")
    vectors[3] = np.nan
    _put(index_dir, "sentence_vectors.npy", _npy(vectors))
    with pytest.raises(CorruptIndexError, match="not finite numbers"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda m: m["counts"].__setitem__("x", [1]), "x must be a whole number"),
        (lambda m: m["counts"].__setitem__("x", 1e400), "x must be a whole number"),
        (lambda m: m["counts"].__setitem__("x", "y"), "x must be a whole number"),
        (lambda m: m["counts"].__setitem__("chunks", 1e400), "chunks must be a whole number"),
        (lambda m: m["counts"].__setitem__("documents", "y"), "documents must be a whole number"),
        (lambda m: m.__setitem__("dimension", 10**30), "dimension must be a whole number"),
        (lambda m: m.__setitem__("build_seconds", float("nan")), "build_seconds must be a finite"),
        (lambda m: m.__setitem__("normalized", "no"), "normalized must be true or false"),
        (
            lambda m: m["files"].__setitem__(
                "../../../../dev/zero",
                {"bytes": 0, "sha256": hashlib.sha256(b"").hexdigest()},
            ),
            "not a plain file name",
        ),
        (lambda m: m["files"]["docs.jsonl"].__setitem__("sha256", 5), "must be a SHA-256"),
    ],
)
def test_manifest_values_are_one_clear_error(fake_index, edit, needle):
    index_dir, corpus, _ = fake_index
    path = index_dir / "manifest.json"
    text = path.read_text()
    manifest = json.loads(text)
    edit(manifest)
    os.chmod(path, 0o644)
    # json.dumps writes 1e400 as Infinity; as the red-team wrote it, it is the literal 1e400
    path.write_text(json.dumps(manifest).replace("Infinity", "1e400"))
    t0 = time.monotonic()
    with pytest.raises(CorruptIndexError, match="qa build") as info:
        load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert time.monotonic() - t0 < 10  # /dev/zero was once read for ever
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_an_index_file_that_is_a_link_is_refused(fake_index):
    index_dir, corpus, _ = fake_index
    (index_dir / "docs.jsonl").unlink()
    os.symlink("/dev/zero", index_dir / "docs.jsonl")
    with pytest.raises(CorruptIndexError, match="docs.jsonl is not a regular file"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


@pytest.mark.parametrize("manifest", ["", "{", "[]"])
def test_a_damaged_index_is_rebuilt_and_the_build_says_what_it_removed(with_word_vectors, manifest):
    index_dir, corpus, _ = with_word_vectors
    path = index_dir / "manifest.json"
    os.chmod(path, 0o644)
    path.write_text(manifest)
    report = build_index(corpus, index_dir, embedder=FakeEmbedder())
    (note,) = [w for w in report.warnings if "damaged" in w]
    assert "rebuilt it from the corpus, removing" in note and "word_vectors.json" in note
    assert "\n" not in note
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert qa.answer(QUESTION, index=idx).quotes


def test_an_index_without_its_manifest_is_rebuilt(fake_index):
    index_dir, corpus, _ = fake_index
    (index_dir / "manifest.json").unlink()
    report = build_index(corpus, index_dir, embedder=FakeEmbedder())
    assert any("removing" in w and "docs.jsonl" in w for w in report.warnings)

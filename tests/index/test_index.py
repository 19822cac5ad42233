"""Index build, manifest, save/load round trip, staleness, corruption, rebuilds and queries.

Everything here uses the fake embedder, so no model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from helpers import EmbedderFailure, FakeEmbedder

import qa
import qa.index.embedding
import qa.index.format
from qa.answering.retrieval import rank, retrieve_with_index, sentence_ranking
from qa.api import load_index
from qa.errors import (
    BuildInProgressError,
    CorruptIndexError,
    IndexMissingError,
    QAError,
    QuestionError,
    StaleIndexError,
)
from qa.index.build import build_index
from qa.index.chunking import ChunkerSettings, chunk_documents, embed_text
from qa.index.format import DATA_FILES
from qa.index.records import FORMAT_VERSION
from qa.index.storage import build_lock, file_sha256
from qa.readers import parse_text

ARTICLE_NAME = "human_trafficking_in_laos.txt"
QUESTIONS = [
    "How many trafficking cases were investigated in 2007?",
    "Who runs the long-term shelter?",
    "What tier was Laos placed at in 2023?",
    "When did Laos ratify the UN TIP Protocol?",
    "What did the Lao Youth Union do in December 2007?",
]
CFG = ChunkerSettings(2, 1, 600)


def temp_dirs(parent, index_name="index"):
    """Leftover build directories next to the index (the lock file is not a directory)."""
    return [p.name for p in parent.iterdir() if p.is_dir() and p.name.startswith(f".{index_name}")]


def assert_article_index(idx, chunks: int, model: str = "fake-hash-64") -> None:
    """``idx`` is a whole index of the article: its counts, model, and a known passage's refs."""
    assert idx.manifest.model == model
    assert (len(idx.docs), len(idx.chunks), len(idx.sentences)) == (1, chunks, 48)
    assert idx.references(ARTICLE_NAME)[2].startswith('"Laos". Trafficking in Persons Report')
    top = retrieve_with_index(idx, QUESTIONS[0], 1)[0]
    assert "38 cases" in top.text and top.refs == (2,)


def results(idx, questions=QUESTIONS, k=5):
    return [retrieve_with_index(idx, q, k) for q in questions]


def chunk_embed_texts(text: str, cfg: ChunkerSettings = CFG) -> list[str]:
    return [c.embed_text for c in chunk_documents([parse_text(text, ARTICLE_NAME)], cfg)]


def sentence_embed_texts(text: str) -> list[str]:
    """What a sentence vector is made of: the sentence in context, and bare."""
    doc = parse_text(text, ARTICLE_NAME)
    return [embed_text(doc.title, s.section, s.text) for s in doc.sentences] + [
        embed_text("", "", s.text) for s in doc.sentences
    ]


# ---------------------------------------------------------------------------------- building


def test_build_report_first_build(tmp_path, corpus_copy, fake_embedder, article_text):
    report = build_index(
        corpus_copy, tmp_path / "index", settings=CFG, embedder=fake_embedder, show_progress=False
    )
    chunks = chunk_embed_texts(article_text)
    assert report.documents == 1
    assert report.chunks == len(chunks)
    assert report.sentences == 48
    assert report.chunks_added == len(set(chunks))
    assert report.chunks_removed == 0 and report.chunks_unchanged == 0
    assert report.chunks_embedded == len(set(chunks))
    assert report.model == "fake-hash-64"
    assert report.changed_files == [ARTICLE_NAME]
    assert report.warnings == []
    # every text went to the model once: chunks, and each sentence in context and bare
    sent = fake_embedder.encoded_texts
    assert len(sent) == len(set(sent))
    assert set(chunks) <= set(sent)
    assert set(sent) == set(chunks) | set(sentence_embed_texts(article_text))
    assert report.sentences_embedded == len(
        {(s.section, s.text) for s in parse_text(article_text, ARTICLE_NAME).sentences}
    )
    summary = report.summary()
    assert f"{report.chunks} chunks" in summary
    assert f"{report.chunks_embedded} chunk(s)" in summary


def test_sentence_vectors_mix_the_sentence_in_context_and_bare(fake_index, article_text):
    index_dir, _, _ = fake_index
    vecs = np.load(index_dir / "sentence_vectors.npy")
    doc = parse_text(article_text, ARTICLE_NAME)
    fake = FakeEmbedder()
    w = qa.index.embedding.SENTENCE_CONTEXT_WEIGHT
    assert 0.0 < w < 1.0
    for i in (0, 14, len(doc.sentences) - 1):
        s = doc.sentences[i]
        ctx, bare = fake.encode(
            [embed_text(doc.title, s.section, s.text), embed_text("", "", s.text)]
        )
        np.testing.assert_allclose(vecs[i], w * ctx + (1 - w) * bare, rtol=1e-5, atol=1e-6)


def test_manifest_contents(fake_index, article_path, article_text):
    index_dir, corpus, report = fake_index
    before = datetime.now(UTC)
    m = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["format_version"] == FORMAT_VERSION
    assert m["package_version"] == qa.__version__
    assert m["model"] == "fake-hash-64"
    assert m["dimension"] == 64
    assert m["chunker"] == ChunkerSettings().to_dict()
    assert m["corpus_files"] == {
        ARTICLE_NAME: hashlib.sha256(article_path.read_bytes()).hexdigest()
    }
    n_chunks = len(chunk_embed_texts(article_text, ChunkerSettings()))
    assert m["counts"] == {"documents": 1, "chunks": n_chunks, "sentences": 48}
    assert report.chunks == n_chunks
    built = datetime.strptime(m["built_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((before - built).total_seconds()) < 120
    assert set(m["files"]) == set(DATA_FILES)
    for name in DATA_FILES:
        assert m["files"][name]["bytes"] == (index_dir / name).stat().st_size


def test_index_is_a_directory_without_pickles(fake_index):
    index_dir, _, report = fake_index
    assert sorted(p.name for p in index_dir.iterdir()) == sorted([*DATA_FILES, "manifest.json"])
    for name in DATA_FILES:
        if name.endswith(".npy"):
            np.load(index_dir / name, allow_pickle=False)  # raises if it holds objects
    vecs = np.load(index_dir / "chunk_vectors.npy", allow_pickle=False)
    assert vecs.shape == (report.chunks, 64) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    lines = (index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == report.chunks
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_build_with_other_settings_recorded(tmp_path, corpus_copy, fake_embedder):
    cfg = ChunkerSettings(4, 2, 300)
    build_index(corpus_copy, tmp_path / "i", settings=cfg, embedder=fake_embedder)
    m = json.loads((tmp_path / "i" / "manifest.json").read_text(encoding="utf-8"))
    assert m["chunker"] == {"max_sentences": 4, "overlap": 2, "max_chars": 300}


# --------------------------------------------------------------------------- round trip


def test_save_load_round_trip(fake_index):
    index_dir, corpus, _ = fake_index
    first = load_index(index_dir, corpus, embedder=FakeEmbedder())
    second = load_index(index_dir, corpus, embedder=FakeEmbedder())
    a, b = results(first), results(second)
    assert a == b
    assert all(len(r) == 5 for r in a)
    # results are real passages of the source, best first
    text = first.document_text(ARTICLE_NAME)
    for passages in a:
        scores = [p.score for p in passages]
        assert scores == sorted(scores, reverse=True)
        for p in passages:
            assert text[p.start : p.end] == p.text
            assert p.doc_id == ARTICLE_NAME and p.title == "Human trafficking in Laos"
    assert first.references(ARTICLE_NAME)[2].startswith('"Laos". Trafficking in Persons Report')


def test_retrieve_finds_expected_passage(fake_index):
    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    top = retrieve_with_index(idx, "How many trafficking cases were investigated in 2007?", 3)
    assert any("38 cases" in p.text and p.refs == (2,) for p in top)
    assert qa.retrieve("Tier 3 Watchlist 2018", k=1, index=idx)[0].refs[0] == 3


def test_multi_document_index(tmp_path, corpus_copy, data_dir, fake_embedder):
    shutil.copy(data_dir / "wiki_sample.txt", corpus_copy / "wiki_sample.txt")
    shutil.copy(data_dir / "notes.md", corpus_copy / "notes.md")
    report = build_index(corpus_copy, tmp_path / "index", embedder=fake_embedder)
    assert report.documents == 3
    idx = load_index(tmp_path / "index", corpus_copy, embedder=FakeEmbedder())
    top = retrieve_with_index(idx, "Is tea the national drink today?", 1)[0]
    assert top.doc_id == "wiki_sample.txt"
    assert top.title == "Tea culture in Atlantis"
    assert "national drink" in top.text and set(top.refs) >= {1, 4}
    kettle = retrieve_with_index(idx, "copper kettles heat", 1)[0]
    assert kettle.doc_id == "notes.md" and kettle.section == "Materials" and kettle.refs == ()


# ------------------------------------------------------------------------- missing / stale


def test_missing_index(tmp_path, corpus_copy):
    with pytest.raises(IndexMissingError, match="qa build"):
        load_index(tmp_path / "nothing", corpus_copy, embedder=FakeEmbedder())
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError, match="qa build"):
        load_index(tmp_path / "empty", corpus_copy, embedder=FakeEmbedder())


def test_stale_model(fake_index):
    index_dir, corpus, _ = fake_index
    with pytest.raises(StaleIndexError, match="qa build") as info:
        load_index(index_dir, corpus, model="other")
    assert "fake-hash-64" in str(info.value) and "other" in str(info.value)
    with pytest.raises(StaleIndexError):
        load_index(index_dir, corpus, embedder=FakeEmbedder(name="fake-other"))


def test_stale_corpus_file_edited(fake_index):
    index_dir, corpus, report = fake_index
    path = corpus / ARTICLE_NAME
    path.write_text(path.read_text(encoding="utf-8").replace("38 cases", "41 cases"), "utf-8")
    with pytest.raises(StaleIndexError, match="qa build") as info:
        load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert ARTICLE_NAME in str(info.value)
    # without a corpus to compare with, the old index still loads
    assert_article_index(load_index(index_dir, embedder=FakeEmbedder()), report.chunks)


def test_stale_corpus_file_added(fake_index, data_dir):
    index_dir, corpus, _ = fake_index
    shutil.copy(data_dir / "notes.md", corpus / "notes.md")
    with pytest.raises(StaleIndexError, match="notes.md"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


def test_embedder_dimension_mismatch(fake_index):
    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder(dim=32, name="fake-hash-64"))
    with pytest.raises(StaleIndexError, match="qa build"):
        retrieve_with_index(idx, "How many cases?", 3)


# ------------------------------------------------------------------------------ corruption


@pytest.mark.parametrize("mode", ["delete", "truncate", "garbage", "empty"])
@pytest.mark.parametrize("name", [*DATA_FILES, "manifest.json"])
def test_corrupt_index_file(fake_index, name, mode):
    index_dir, corpus, _ = fake_index
    path = index_dir / name
    data = path.read_bytes()
    if mode == "delete":
        path.unlink()
    elif mode == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif mode == "garbage":
        path.write_bytes(os.urandom(len(data)))  # same size: only a checksum can tell
    else:
        path.write_bytes(b"")
    with pytest.raises(CorruptIndexError, match="qa build") as info:
        load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert str(index_dir) in str(info.value)


@pytest.mark.parametrize(
    "name",
    [n for n in DATA_FILES if n != "chunk_vectors.npy"],  # only read when rebuilding
)
def test_corrupt_file_past_checksums(tmp_path, corpus_copy, monkeypatch, name):
    """Files too big to hash before loading are mapped and hashed in the background: bad
    content fails on load, or at the latest on the first question."""
    monkeypatch.setattr(qa.index.format, "MAP_MIN_BYTES", 0)
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    path = index_dir / name
    path.write_bytes(b"\x93" + os.urandom(path.stat().st_size - 1))
    with pytest.raises(CorruptIndexError, match="qa build"):
        idx = load_index(index_dir, corpus_copy, embedder=FakeEmbedder())
        assert idx.integrity is not None and idx.integrity.wait(30)
        qa.answer("How many cases were investigated?", index=idx)


def test_file_sha256_covers_the_whole_file(tmp_path):
    """Index files can be far bigger than one read block: a change at the end must show."""
    data = os.urandom(3 * (1 << 20) + 123)
    path = tmp_path / "big.npy"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert file_sha256(path) != hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_whole_index_dir_gone(fake_index):
    index_dir, corpus, _ = fake_index
    shutil.rmtree(index_dir)
    with pytest.raises(IndexMissingError, match="qa build"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


def _edit_manifest(index_dir, **changes):
    path = index_dir / "manifest.json"
    m = json.loads(path.read_text(encoding="utf-8"))
    m.update(changes)
    path.write_text(json.dumps(m), encoding="utf-8")


def test_newer_format_version(fake_index):
    index_dir, corpus, _ = fake_index
    _edit_manifest(index_dir, format_version=FORMAT_VERSION + 1)
    with pytest.raises(CorruptIndexError, match="qa build") as info:
        load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert f"version {FORMAT_VERSION + 1}" in str(info.value)


def test_older_format_version_is_stale(fake_index):
    index_dir, corpus, _ = fake_index
    _edit_manifest(index_dir, format_version=FORMAT_VERSION - 1)
    with pytest.raises(StaleIndexError, match="qa build"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


def test_index_from_the_old_stemmer_is_stale_and_rebuilt(fake_index):
    """An index written before the tokenizer was recorded (hand-written stemmer) has BM25 terms
    a query no longer produces: loading it says to rebuild, and a build repairs it."""
    index_dir, corpus, first = fake_index
    vocab_path = index_dir / "bm25_vocab.json"
    meta = json.loads(vocab_path.read_text(encoding="utf-8"))
    del meta["tokenizer"]
    vocab_path.write_text(json.dumps(meta), encoding="utf-8")
    data = vocab_path.read_bytes()
    files = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))["files"]
    files["bm25_vocab.json"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    _edit_manifest(index_dir, files=files)  # consistent files, as the old version wrote them
    with pytest.raises(StaleIndexError, match="qa build") as info:
        load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert str(index_dir) in str(info.value)
    fake = FakeEmbedder()
    report = build_index(corpus, index_dir, embedder=fake)
    assert fake.encoded == 0  # the vectors are still good: only the lexical side is rebuilt
    assert_article_index(load_index(index_dir, corpus, embedder=FakeEmbedder()), first.chunks)
    assert report.chunks == first.chunks


@pytest.mark.parametrize("bad", [{"format_version": "1"}, {"files": None}, {"dimension": "x"}])
def test_malformed_manifest_fields(fake_index, bad):
    index_dir, corpus, _ = fake_index
    _edit_manifest(index_dir, **bad)
    with pytest.raises(CorruptIndexError, match="qa build"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


def test_counts_mismatch(fake_index):
    index_dir, corpus, report = fake_index
    _edit_manifest(index_dir, counts={"documents": 1, "chunks": report.chunks + 1, "sentences": 48})
    with pytest.raises(CorruptIndexError, match="qa build"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


def test_corrupt_index_is_rebuilt_by_build(fake_index):
    index_dir, corpus, _ = fake_index
    (index_dir / "vectors.faiss").write_bytes(b"junk")
    fake = FakeEmbedder()
    report = build_index(corpus, index_dir, embedder=fake)
    assert report.chunks > 0
    assert_article_index(load_index(index_dir, corpus, embedder=FakeEmbedder()), report.chunks)


@pytest.mark.parametrize(
    "content",
    ["{}", "null", "[]", '{"format_version": 1}', '{"corpus_files": null}', "garbage{"],
)
def test_build_repairs_damaged_manifest(fake_index, content):
    """`qa build` is the advertised fix for a damaged index, so it must cope with any manifest."""
    index_dir, corpus, first = fake_index
    (index_dir / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises((CorruptIndexError, StaleIndexError), match="qa build"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())
    report = build_index(corpus, index_dir, embedder=FakeEmbedder())
    assert report.chunks == first.chunks
    assert_article_index(load_index(index_dir, corpus, embedder=FakeEmbedder()), report.chunks)


def test_build_does_not_delete_a_non_index_directory(tmp_path, corpus_copy):
    """An --index pointing at a directory of other files must not wipe those files."""
    target = tmp_path / "my-documents"
    target.mkdir()
    (target / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(qa.QAError):
        build_index(corpus_copy, target, embedder=FakeEmbedder())
    assert (target / "thesis.docx").read_bytes() == b"precious"


def test_build_into_the_corpus_dir_keeps_the_corpus(corpus_copy, article_text):
    with pytest.raises(qa.QAError):
        build_index(corpus_copy, corpus_copy, embedder=FakeEmbedder())
    assert (corpus_copy / ARTICLE_NAME).read_text(encoding="utf-8") == article_text


def test_build_into_empty_existing_dir(tmp_path, corpus_copy):
    target = tmp_path / "empty"
    target.mkdir()
    assert build_index(corpus_copy, target, embedder=FakeEmbedder()).chunks > 0
    assert (target / "manifest.json").exists()


# ------------------------------------------------------------------------------- rebuilding


def test_rebuild_without_changes_embeds_nothing(fake_index):
    index_dir, corpus, first = fake_index
    fake = FakeEmbedder()
    report = build_index(corpus, index_dir, embedder=fake)
    assert fake.encoded == 0
    assert report.chunks_embedded == 0 and report.sentences_embedded == 0
    assert report.chunks_unchanged == first.chunks_added
    assert report.chunks_added == 0 and report.chunks_removed == 0
    assert report.changed_files == []


def test_incremental_rebuild_reembeds_only_changed_paragraph(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, settings=CFG, embedder=FakeEmbedder())
    path = corpus_copy / ARTICLE_NAME
    old_text = path.read_text(encoding="utf-8")
    assert old_text.count("38 cases") == 1
    new_text = old_text.replace("38 cases", "41 cases")
    path.write_text(new_text, encoding="utf-8")

    old_chunks, new_chunks = chunk_embed_texts(old_text), chunk_embed_texts(new_text)
    changed = [t for t in new_chunks if t not in set(old_chunks)]
    assert 1 <= len(changed) <= CFG.max_sentences  # only windows over the edited sentence
    old_sents, new_sents = sentence_embed_texts(old_text), sentence_embed_texts(new_text)
    changed_sents = [t for t in new_sents if t not in set(old_sents)]
    assert len(changed_sents) == 2  # the edited sentence, in context and bare

    fake = FakeEmbedder()
    report = build_index(corpus_copy, index_dir, settings=CFG, embedder=fake)
    assert report.chunks_embedded == len(changed)
    assert report.chunks_unchanged == len(set(new_chunks)) - len(changed)
    assert report.chunks_added == len(changed)
    assert report.chunks_removed == len([t for t in old_chunks if t not in set(new_chunks)])
    assert report.sentences_embedded == 1
    assert report.changed_files == [ARTICLE_NAME]
    # exactly the changed texts reached the model
    assert sorted(fake.encoded_texts) == sorted(changed + changed_sents)
    assert all("41 cases" in t for t in fake.encoded_texts)

    idx = load_index(index_dir, corpus_copy, embedder=FakeEmbedder())
    top = retrieve_with_index(idx, "How many trafficking cases were investigated? 41 cases", 3)
    assert "41 cases" in top[0].text
    assert not any("38 cases" in p.text for p in retrieve_with_index(idx, "38 cases", 10))


def test_rebuild_with_other_model_reembeds_everything(fake_index):
    index_dir, corpus, first = fake_index
    other = FakeEmbedder(name="fake-other")
    report = build_index(corpus, index_dir, embedder=other)
    assert report.chunks_embedded == first.chunks_embedded
    assert report.sentences_embedded == first.sentences_embedded
    assert report.model == "fake-other"
    idx = load_index(index_dir, corpus, model="fake-other", embedder=other)
    assert_article_index(idx, first.chunks, model="fake-other")


def _snapshot(index_dir):
    return {p.name: p.read_bytes() for p in index_dir.iterdir()}


@pytest.mark.parametrize("fail_after", [0, 1])
def test_failed_rebuild_keeps_old_index(tmp_path, corpus_copy, fail_after):
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, settings=CFG, embedder=FakeEmbedder())
    before = results(load_index(index_dir, corpus_copy, embedder=FakeEmbedder()))
    files_before = _snapshot(index_dir)

    path = corpus_copy / ARTICLE_NAME
    path.write_text(path.read_text(encoding="utf-8").replace("38 cases", "41 cases"), "utf-8")
    crashing = FakeEmbedder(fail_after=fail_after)
    with pytest.raises(EmbedderFailure):
        build_index(corpus_copy, index_dir, settings=CFG, embedder=crashing)
    assert crashing.calls, "the build must have tried to embed"

    assert _snapshot(index_dir) == files_before
    assert results(load_index(index_dir, embedder=FakeEmbedder())) == before
    with pytest.raises(StaleIndexError):  # it is still the old index
        load_index(index_dir, corpus_copy, embedder=FakeEmbedder())
    assert temp_dirs(tmp_path) == []


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_while_writing_leaves_no_temp_dir(tmp_path, corpus_copy, monkeypatch, exc):
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    before = results(load_index(index_dir, corpus_copy, embedder=FakeEmbedder()))
    seen = []

    def boom(tmp, manifest):
        seen.append(tmp)
        assert tmp.is_dir() and (tmp / "docs.jsonl").exists() and manifest.counts["chunks"]
        raise exc

    monkeypatch.setattr(qa.index.format, "_finish_manifest", boom)
    path = corpus_copy / ARTICLE_NAME
    path.write_text(path.read_text(encoding="utf-8").replace("38 cases", "41 cases"), "utf-8")
    # an OSError is reported as one line naming the index; an interrupt stays an interrupt
    with pytest.raises(QAError if isinstance(exc, OSError) else type(exc)) as info:
        build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    assert isinstance(exc, KeyboardInterrupt) or "disk full); free some space" in str(info.value)
    assert seen and not seen[0].exists()
    assert temp_dirs(tmp_path) == []
    assert results(load_index(index_dir, embedder=FakeEmbedder())) == before


def test_failed_first_build_leaves_nothing(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    with pytest.raises(EmbedderFailure):
        build_index(corpus_copy, index_dir, embedder=FakeEmbedder(fail_after=3))
    assert not index_dir.exists()
    assert temp_dirs(tmp_path) == []
    with pytest.raises(IndexMissingError):
        load_index(index_dir, corpus_copy, embedder=FakeEmbedder())


def test_concurrent_build_refused(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    fake = FakeEmbedder()
    with build_lock(index_dir):
        with pytest.raises(BuildInProgressError, match=str(index_dir)):
            build_index(corpus_copy, index_dir, embedder=fake)
        with pytest.raises(BuildInProgressError):
            build_index(corpus_copy, index_dir, embedder=fake, wait=0.3)
    assert fake.encoded == 0
    assert not index_dir.exists()
    # released: the next build goes through
    assert build_index(corpus_copy, index_dir, embedder=fake).chunks > 0


def test_build_waits_for_running_build(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    held = threading.Event()

    def holder():
        with build_lock(index_dir):
            held.set()
            time.sleep(0.4)

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(5)
    try:
        report = build_index(corpus_copy, index_dir, embedder=FakeEmbedder(), wait=10)
    finally:
        t.join()
    assert report.chunks > 0


# --------------------------------------------------------------------- question validation


@pytest.fixture
def loaded(fake_index):
    index_dir, corpus, _ = fake_index
    fake = FakeEmbedder()
    return load_index(index_dir, corpus, embedder=fake), fake


@pytest.mark.parametrize("question", ["", "   ", "\n\t ", "\x00\x01\x7f", None, 42, b"bytes"])
def test_bad_questions(loaded, question):
    idx, fake = loaded
    with pytest.raises(QuestionError):
        retrieve_with_index(idx, question, 3)
    with pytest.raises(QuestionError):
        qa.retrieve(question, 3, index=idx)
    assert fake.queries == []


def test_question_length_limit(loaded):
    idx, _ = loaded
    with pytest.raises(QuestionError, match="1000"):
        retrieve_with_index(idx, "cases " * 200, 3)  # 1199 characters after cleaning
    assert retrieve_with_index(idx, ("x" * 999) + "?", 3)  # exactly 1000 is fine


@pytest.mark.parametrize("k", [0, -1, "3", True, False, 3.0, None, 51, 10**9])
def test_bad_k(loaded, k):
    idx, fake = loaded
    with pytest.raises(QuestionError):
        retrieve_with_index(idx, "How many cases?", k)
    with pytest.raises(QuestionError):
        qa.retrieve("How many cases?", k, index=idx)
    assert fake.queries == []


@pytest.mark.parametrize("k", [1, 7, 50, np.int64(4)])
def test_good_k(loaded, k):
    idx, _ = loaded
    passages = retrieve_with_index(idx, "How many cases were investigated?", k)
    assert len(passages) == min(int(k), len(idx.chunks))
    assert len({p.chunk for p in passages}) == len(passages)


def test_question_errors_are_value_errors():
    assert issubclass(QuestionError, ValueError)
    assert issubclass(QuestionError, qa.QAError)


@pytest.mark.parametrize(
    "question",
    [
        "How many\x00 cases were investigated in 2007?",
        "How many cases\x07\x1b[31m were investigated?\r\n",
        "How many cases \ud800were investigated\udfff in 2007?",
        "\x00\x00How many cases\u0085were investigated?",
    ],
)
def test_messy_questions_are_cleaned(loaded, question):
    idx, fake = loaded
    passages = retrieve_with_index(idx, question, 3)
    assert len(passages) == 3
    sent = fake.queries[-1]
    sent.encode("utf-8")  # no lone surrogates reach the model
    assert not any(ord(ch) < 32 or ord(ch) == 0x7F for ch in sent)
    assert "cases" in sent
    assert qa.retrieve(question, 3, index=idx) == passages


# ---------------------------------------------------------------------- real model (slow)


@pytest.mark.slow
def test_real_index_round_trip_and_answers(real_index, real_embedder):
    index_dir, corpus = real_index
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == real_embedder.name
    assert manifest["dimension"] == real_embedder.dim == 384
    first = load_index(index_dir, corpus)
    second = load_index(index_dir, corpus, embedder=real_embedder)
    a, b = results(first), results(second)
    assert [[(p.chunk, p.refs, p.text) for p in r] for r in a] == [
        [(p.chunk, p.refs, p.text) for p in r] for r in b
    ]
    assert [p.score for r in a for p in r] == pytest.approx([p.score for r in b for p in r])
    cases = a[0][0]
    assert "38 cases" in cases.text and cases.refs == (2,)
    shelter = a[1][0]
    assert "long-term shelter" in shelter.text and shelter.refs == (2,)
    tier = a[2][0]
    assert "Tier 2" in tier.text and 4 in tier.refs
    protocol = a[3][0]
    assert "ratified" in protocol.text and protocol.refs == (1,)


def test_large_corpora_switch_to_hnsw_with_the_same_top_results(
    tmp_path, corpus_copy, fake_embedder
):
    """Above EXACT_MAX_CHUNKS the index is HNSW; on a small corpus it finds what exact finds."""
    exact_dir, approx_dir = tmp_path / "exact", tmp_path / "approx"
    build_index(corpus_copy, exact_dir, embedder=fake_embedder, show_progress=False)
    build_index(
        corpus_copy, approx_dir, embedder=fake_embedder, show_progress=False, exact_max_chunks=5
    )
    assert json.loads((exact_dir / "manifest.json").read_text())["faiss_index"] == "flat"
    assert json.loads((approx_dir / "manifest.json").read_text())["faiss_index"] == "hnsw"
    exact = load_index(exact_dir, corpus_copy, embedder=fake_embedder)
    approx = load_index(approx_dir, corpus_copy, embedder=fake_embedder)
    for q in ["How many cases were investigated in 2007?", "Tier 2 in 2023", "shelter"]:
        assert [p.text for p in retrieve_with_index(approx, q, 3)] == [
            p.text for p in retrieve_with_index(exact, q, 3)
        ]


def test_sentence_hits_vote_for_every_chunk_holding_them(fake_index):
    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    for si in range(len(idx.sentences)):
        holding = [ci for ci, c in enumerate(idx.chunks) if si in c.sentences]
        assert list(idx.sentence_chunks(si)) == holding and holding
    vecs = np.asarray(idx.sentence_vectors)
    for question in ("Who runs the long-term shelter?", "Tier 2 in 2023", "38 cases"):
        q = idx.encode(question)
        ranking = sentence_ranking(idx, idx.search(q, 5, 10)[2], 5)
        assert len(ranking) == len(set(ranking)) == 5
        best_sentence = int(np.argmax(vecs @ q))
        assert best_sentence in idx.chunks[ranking[0]].sentences
        # and the fused ranking puts that chunk among the first ones
        fused = [i for i, *_ in rank(idx, question, 10)[0]]
        assert ranking[0] in fused[:5]

"""The ONNX query path: which backend is chosen, the torch-free CLI, identical answers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, FakeEmbedder

from qa.cli import main
from qa.errors import ConfigError
from qa.index import backend
from qa.index.backend import query_embedder, wants_export
from qa.index.build import build_index
from qa.index.embedding import (
    DEFAULT_MODEL,
    SentenceTransformerEmbedder,
    model_location,
    resolve_backend,
)
from qa.index.onnx_embedding import (
    INPUTS,
    OnnxEmbedder,
    OnnxExport,
    cache_dir_for,
    find_export,
    model_key,
    pool,
)
from qa.settings import Settings

QUESTION = "When did Laos ratify the UN TIP Protocol?"
HEAVY = ("torch", "sentence_transformers", "transformers")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("QA_BACKEND", "QA_MODEL", "QA_DEVICE", "QA_CORPUS_DIR", "QA_INDEX_DIR"):
        monkeypatch.delenv(var, raising=False)


def put_export(index_dir, min_cosine: float, version: int | None = None):
    """A stand-in export of the default model beside ``index_dir`` (never loaded)."""
    d = cache_dir_for(index_dir) / model_key(DEFAULT_MODEL, model_location(DEFAULT_MODEL))
    d.mkdir(parents=True)
    (d / "model.onnx").write_bytes(b"not loaded by these tests")
    (d / "tokenizer.json").write_text("{}", encoding="utf-8")
    export = OnnxExport(d, DEFAULT_MODEL, d.name, 384, 256, "mean", INPUTS, min_cosine, 150, 1.0)
    raw = export.to_json()
    if version is not None:
        raw["export_version"] = version
    (d / "export.json").write_text(json.dumps(raw), encoding="utf-8")
    return d


# ------------------------------------------------------------------------ choosing (fast)


def test_bad_backend_is_a_config_error():
    with pytest.raises(ConfigError, match=r"QA_BACKEND must be auto, onnx or torch.*tensorflow"):
        Settings.from_env({"QA_BACKEND": "tensorflow"})
    with pytest.raises(ConfigError, match=r"QA_BACKEND must be auto, onnx or torch.*gpu"):
        resolve_backend("gpu")
    assert Settings.from_env({"QA_BACKEND": "torch"}).backend == "torch"


def test_bad_backend_is_one_line_from_the_cli(monkeypatch, tmp_path, corpus_copy, capsys):
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder(name=DEFAULT_MODEL))
    monkeypatch.setenv("QA_BACKEND", "gpu please")
    rc = main(["search", QUESTION, "--index", str(index_dir), "--corpus", str(corpus_copy)])
    out, err = capsys.readouterr()
    assert rc == 1 and out == ""
    assert err.startswith("qa: error: QA_BACKEND must be auto, onnx or torch, got 'gpu please'")
    assert len(err.strip().splitlines()) == 1


def test_a_matching_export_is_used(tmp_path):
    put_export(tmp_path / "index", min_cosine=0.99999)
    e = query_embedder(DEFAULT_MODEL, tmp_path / "index")
    assert isinstance(e, OnnxEmbedder) and e.name == DEFAULT_MODEL and e.dim == 384


def test_a_mismatching_export_falls_back_to_torch_with_a_note(tmp_path, caplog):
    put_export(tmp_path / "index", min_cosine=0.9990)
    with caplog.at_level(logging.WARNING, logger="qa.index.backend"):
        e = query_embedder(DEFAULT_MODEL, tmp_path / "index")
    assert isinstance(e, SentenceTransformerEmbedder)
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and "\n" not in notes[0]
    assert "min cosine 0.999000" in notes[0] and "queries use torch" in notes[0]


def test_forced_onnx_uses_even_a_mismatching_export(tmp_path, monkeypatch, caplog):
    put_export(tmp_path / "index", min_cosine=0.9990)
    with caplog.at_level(logging.WARNING, logger="qa.index.backend"):
        e = query_embedder(DEFAULT_MODEL, tmp_path / "index", "onnx")
        assert isinstance(e, OnnxEmbedder)
    assert "QA_BACKEND=onnx" in caplog.text


def test_forced_torch_ignores_a_good_export(tmp_path, monkeypatch):
    put_export(tmp_path / "index", min_cosine=1.0)
    assert isinstance(
        query_embedder(DEFAULT_MODEL, tmp_path / "index", "torch"), SentenceTransformerEmbedder
    )


def test_auto_off_the_cpu_is_torch(tmp_path):
    put_export(tmp_path / "index", min_cosine=1.0)
    e = query_embedder(DEFAULT_MODEL, tmp_path / "index", device="cuda")
    assert isinstance(e, SentenceTransformerEmbedder)


def test_without_an_export_auto_is_torch_and_wants_one(tmp_path):
    e = query_embedder(DEFAULT_MODEL, tmp_path / "index")
    assert isinstance(e, SentenceTransformerEmbedder)
    assert wants_export(e, cache_dir_for(tmp_path / "index"))
    assert not wants_export(e, cache_dir_for(tmp_path / "index"), backend="torch")


def test_an_old_export_version_is_ignored(tmp_path):
    put_export(tmp_path / "index", min_cosine=1.0, version=0)
    assert find_export(DEFAULT_MODEL, cache_dir_for(tmp_path / "index")) is None
    assert isinstance(
        query_embedder(DEFAULT_MODEL, tmp_path / "index"), SentenceTransformerEmbedder
    )


def test_forced_onnx_without_onnxruntime_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "missing_runtime", lambda: ["onnxruntime"])
    with pytest.raises(ConfigError, match="QA_BACKEND=onnx needs onnxruntime.*pip install"):
        query_embedder(DEFAULT_MODEL, tmp_path / "index", backend="onnx")


def test_model_key_follows_the_model_files(tmp_path):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    before = model_key("m", str(tmp_path))
    assert model_key("m", str(tmp_path)) == before
    (tmp_path / "config.json").write_text('{"hidden_size": 8}', encoding="utf-8")
    assert model_key("m", str(tmp_path)) != before
    assert model_key("other", str(tmp_path)) != model_key("m", str(tmp_path))


def test_pooling_ignores_padding_and_normalises():
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(pool(hidden, mask, "mean"), [[1.0, 0.0]])
    np.testing.assert_allclose(pool(hidden, mask, "cls"), [[1.0, 0.0]])
    hidden[0, 1] = [0.0, 4.0]
    np.testing.assert_allclose(pool(hidden, mask, "cls"), [[1.0, 0.0]])
    got = pool(hidden, mask, "max")[0]
    np.testing.assert_allclose(got, np.array([1.0, 4.0]) / 17**0.5, rtol=1e-6)


# ------------------------------------------------------------------- real model (slow)


@pytest.mark.slow
def test_the_build_exported_a_checked_model(real_index, real_embedder):
    index_dir, _ = real_index
    export = find_export(DEFAULT_MODEL, cache_dir_for(index_dir))
    assert export is not None and export.ok and export.checked == 150
    onnx = OnnxEmbedder(export)
    from qa.index.backend import check_texts

    texts = check_texts()[::10]
    a, b = onnx.encode(texts), real_embedder.encode(texts)  # batches: padded
    assert float((a * b).sum(axis=1).min()) >= 0.9999
    for t in texts:
        assert float(onnx.encode_query(t) @ real_embedder.encode_query(t)) >= 0.9999


@pytest.mark.slow
def test_the_cli_query_path_imports_no_torch(real_index):
    index_dir, corpus = real_index
    flags = ["--index", str(index_dir), "--corpus", str(corpus)]
    code = (
        "import json, sys\n"
        "from qa.cli import main\n"
        f"codes = [main(['ask', {QUESTION!r}, *{flags!r}]),\n"
        f"         main(['search', 'shelter', *{flags!r}])]\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'codes': codes, 'heavy': heavy}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0, 0], "heavy": []}
    assert "September 2003.[1]" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.slow
def test_gold_answers_are_identical_between_backends(real_index, real_embedder):
    from qa.answering.answer import answer_with_index
    from qa.api import load_index
    from qa.eval.evaluate import load_questions

    index_dir, corpus = real_index
    onnx = load_index(index_dir, corpus)
    torch = load_index(index_dir, corpus, embedder=real_embedder)
    assert isinstance(onnx.embedder, OnnxEmbedder)

    def key(idx, q):
        a = answer_with_index(idx, q.question, history=list(q.history) or None)
        quotes = [(x.doc_id, x.start, x.end, x.text, x.refs) for x in a.quotes]
        refs = [r.number for r in a.references]
        return a.found, a.outcome, round(a.confidence, 3), quotes, refs

    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    differ = [q.id for q in questions if key(onnx, q) != key(torch, q)]
    assert len(questions) == 150 and differ == []


@pytest.mark.slow
def test_the_export_gives_the_question_word_vectors_torch_gives(real_index, real_embedder):
    """The answerer's soft word alignment needs the question's word vectors: the ONNX path must
    give them (the same as torch's), or answers silently use the weaker model without them."""
    from qa.api import load_index
    from qa.index.wordvec import encode_query

    index_dir, corpus = real_index
    onnx = load_index(index_dir, corpus)
    torch = load_index(index_dir, corpus, embedder=real_embedder)
    assert isinstance(onnx.embedder, OnnxEmbedder)
    for q in (QUESTION, "Who runs the long-term shelter for victims?", "and in 2018?"):
        (va, wa), (vb, wb) = encode_query(onnx, q), encode_query(torch, q)
        assert wa is not None and wb is not None and wa.words == wb.words and wa.words
        assert float(np.dot(va, vb)) > 0.9999
        assert float(np.min(np.sum(wa.vectors * wb.vectors, axis=1))) > 0.999

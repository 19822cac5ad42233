"""Readers' feedback: appended to a local file, read back, turned into gold candidates by
`qa eval --feedback`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from qa.results import Answer, Quote, Reference


def _answer() -> Answer:
    q = Quote("It rained.[3] Boats sank.", (3, 4), "b.txt", "History", 10, 35, 0.9, "Boats")
    refs = [Reference("b.txt", 3, "Atlas."), Reference("b.txt", 4, "Log.")]
    return Answer("Did boats sink?", True, [q], refs)


def test_feedback_is_appended_and_turned_into_gold_candidates(tmp_path):
    from qa.eval.feedback import Feedback, FeedbackError, candidates, read_feedback, record

    path = tmp_path / "fb" / "feedback.jsonl"
    ans = _answer()
    record(path, Feedback.of(ans, "up", "", [], "v1", 5))
    record(path, Feedback.of(ans, "down", "should_be_not_found", ["earlier?"], "v1", 5))
    with pytest.raises(FeedbackError, match="reason must be one of"):
        Feedback.of(ans, "down", "<script>", [], "v1", 5)
    entries = read_feedback(path)
    assert [(e.vote, e.history) for e in entries] == [("up", ()), ("down", ("earlier?",))]
    up, down = candidates(entries)
    assert (up["answerable"], up["answers"], up["refs"]) == (True, [ans.quotes[0].text], [3, 4])
    assert (down["answerable"], down["answers"], down["history"]) == (False, [], ["earlier?"])
    from qa.eval.evaluate import load_questions  # the candidates load as gold questions

    gold = tmp_path / "candidates.jsonl"
    gold.write_text("\n".join(json.dumps(c) for c in (up, down)), encoding="utf-8")
    assert [g.id for g in load_questions(gold)] == ["fb001", "fb002"]


def test_qa_eval_feedback_prints_candidates(tmp_path):
    from helpers import run_qa

    from qa.eval.feedback import Feedback, record

    path = tmp_path / "feedback.jsonl"
    record(path, Feedback.of(_answer(), "down", "missing_part", [], "v1", 5))
    proc = run_qa("eval", "--feedback", path, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.strip().splitlines()
    assert json.loads(line)["review"].startswith("a reader says part of the answer is missing")
    assert "1 candidate" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    proc = run_qa("eval", "--feedback", bad, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 1 and "bad.jsonl:1: bad feedback entry" in proc.stderr


def test_concurrent_feedback_lines_stay_whole(tmp_path):
    from qa.eval.feedback import Feedback, read_feedback, record

    path = tmp_path / "feedback.jsonl"
    fb = Feedback.of(_answer(), "up", "", [], "v1", 5)
    threads = [
        threading.Thread(target=lambda: [record(path, fb) for _ in range(20)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(read_feedback(path)) == 80


def test_feedback_file_stops_growing_at_its_limit(tmp_path, monkeypatch):
    import qa.eval.feedback as feedback

    path = tmp_path / "feedback.jsonl"
    fb = feedback.Feedback.of(_answer(), "up", "", [], "v1", 5)
    feedback.record(path, fb)
    monkeypatch.setattr(feedback, "MAX_FILE_BYTES", path.stat().st_size + 10)
    with pytest.raises(feedback.FeedbackError, match="is full"):
        feedback.record(path, fb)
    assert len(feedback.read_feedback(path)) == 1  # what was kept stays whole

"""The one JSON-lines reader: index records, question sets, feedback and check texts use it."""

from __future__ import annotations

import json

import pytest

from qa.errors import CorruptIndexError, EvalDataError
from qa.eval.evaluate import load_questions
from qa.index.records import JsonLineError, jsonl_objects, read_jsonl


def test_objects_come_with_their_line_numbers_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"b": "line\u2028separator"}\r\n', encoding="utf-8")
    assert list(jsonl_objects(path)) == [(1, {"a": 1}), (3, {"b": "line\u2028separator"})]


@pytest.mark.parametrize(("line", "why"), [("{oops", "not JSON"), ("[1]", "not a JSON object")])
def test_a_bad_line_is_named_by_every_caller(tmp_path, line, why):
    path = tmp_path / "x.jsonl"
    gold = {"id": "q1", "question": "Who?", "answerable": True, "answers": ["x"], "refs": [1]}
    path.write_text(json.dumps(gold | {"type": "who"}) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(JsonLineError) as e:
        list(jsonl_objects(path))
    assert e.value.line == 2 and why in e.value.why
    with pytest.raises(CorruptIndexError, match=f"x.jsonl:2: {why}"):
        list(read_jsonl(path))
    with pytest.raises(EvalDataError, match=f"x.jsonl:2: bad gold question \\({why}"):
        load_questions(path)

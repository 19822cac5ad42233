"""Readers' feedback on answers: kept in a local JSON-lines file, turned into gold candidates.

The web app appends one line per 👍/👎 (with a reason) to a file on this machine; nothing is
ever sent anywhere. ``qa eval --feedback FILE`` turns the marked answers into candidate gold
questions in the format of ``eval/questions.jsonl``, each with a ``review`` note saying what a
person must check before adding it to a gold set.

Example:
    >>> fb = Feedback("down", "should_be_not_found", "Who won the 1998 cup?", (),
    ...               {"outcome": "answered", "quotes": [{"text": "It rained.", "refs": [2]}]},
    ...               "built 2024-01-01 · content 0a1b", 5, "2024-01-02T03:04:05Z")
    >>> c = candidates([fb])[0]
    >>> c["answerable"], c["answers"], c["refs"]
    (False, [], [])
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import QAError
from ..results import Answer
from .evaluate import read_jsonl_file

#: The reasons a reader can give for 👎, by key: what each key means, as the page shows it.
REASONS = {
    "wrong_quote": "wrong quote",
    "should_be_not_found": "should have said not found",
    "missing_part": "missing part",
    "other": "something else",
}
VOTES = ("up", "down")
#: The file stops growing here: every entry is kept, but no more are added (see SECURITY.md).
MAX_FILE_BYTES = 20 * 1024 * 1024

_write_lock = threading.Lock()


class FeedbackError(QAError):
    """Feedback could not be recorded (bad vote or reason, file not writable or full)."""


@dataclass(frozen=True)
class Feedback:
    """One reader's verdict on one answer.

    Attributes:
        vote: "up" or "down".
        reason: a key of :data:`REASONS`, or "" (none given).
        question: the question as asked; ``history`` the questions before it.
        answer: what was shown: outcome, confidence, quotes (text, refs, place), references.
        index_version: the index that answered (build time and content hash).
        k: passages searched.
        time: when, UTC, ISO 8601.
    """

    vote: str
    reason: str
    question: str
    history: tuple[str, ...]
    answer: dict[str, Any]
    index_version: str
    k: int
    time: str

    @classmethod
    def of(
        cls,
        ans: Answer,
        vote: str,
        reason: str,
        history: Sequence[str],
        index_version: str,
        k: int,
    ) -> Feedback:
        """Feedback on ``ans``; raises FeedbackError for a vote or reason not offered."""
        if vote not in VOTES:
            raise FeedbackError(f"vote must be one of {', '.join(VOTES)}, got {vote[:20]!r}")
        if reason and reason not in REASONS:
            raise FeedbackError(f"reason must be one of {', '.join(REASONS)}, got {reason[:30]!r}")
        shown = {
            "outcome": getattr(ans, "outcome", "answered" if ans.found else "not_found"),
            "found": ans.found,
            "confidence": round(ans.confidence, 4),
            "query": ans.query,
            "quotes": [
                {
                    "text": q.text,
                    "refs": list(q.refs),
                    "doc_id": q.doc_id,
                    "section": q.section,
                    "start": q.start,
                    "end": q.end,
                }
                for q in ans.quotes
            ],  # fmt: skip
            "references": [{"number": r.number, "text": r.text} for r in ans.references],
        }
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return cls(vote, reason, ans.question, tuple(history), shown, index_version, k, now)


class FeedbackGate:
    """Refuses repeated and too frequent feedback before it is written (red-team round two,
    finding 14: one client filled the 20 MiB file in 57 s with one 👍 repeated 2,800 times).

    A vote identical to one already recorded (same answer, question, history, vote and
    reason) is not written again, and each client may give at most ``per_minute`` votes a
    minute. Both are kept in memory, bounded (``remember`` votes, ``clients`` clients).
    """

    def __init__(self, per_minute: int = 20, remember: int = 10_000, clients: int = 1_000):
        self.per_minute = per_minute
        self._seen: dict[str, None] = {}
        self._times: dict[str, list[float]] = {}
        self._remember, self._clients = remember, clients
        self._lock = threading.Lock()

    @staticmethod
    def key(fb: Feedback) -> str:
        same = {**asdict(fb), "time": ""}
        return hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()

    def admit(self, fb: Feedback, client: str, now: float | None = None) -> str | None:
        """None when ``fb`` may be written (and it is counted), else why it may not."""
        now = time.monotonic() if now is None else now
        key = self.key(fb)
        with self._lock:
            if key in self._seen:
                return "this vote on this answer is already recorded"
            recent = [t for t in self._times.get(client, []) if now - t < 60]
            if len(recent) >= self.per_minute:
                return f"at most {self.per_minute} votes a minute; try again in a minute"
            recent.append(now)
            self._times.pop(client, None)
            self._times[client] = recent
            while len(self._times) > self._clients:
                del self._times[next(iter(self._times))]
            self._seen[key] = None
            while len(self._seen) > self._remember:
                del self._seen[next(iter(self._seen))]
        return None


def record(path: Path, fb: Feedback) -> None:
    """Append ``fb`` to the JSON-lines file at ``path``; raises FeedbackError if it cannot."""
    line = json.dumps(asdict(fb), ensure_ascii=False) + "\n"
    path = Path(path)
    with _write_lock:
        try:
            if path.exists() and path.stat().st_size + len(line) > MAX_FILE_BYTES:
                raise FeedbackError(
                    f"feedback file {path} is full ({MAX_FILE_BYTES // 2**20} MiB); "
                    "move it aside to collect more"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as e:
            raise FeedbackError(
                f"cannot write feedback to {path} ({e.strerror or e}); check the folder"
            ) from e


def read_feedback(path: Path) -> list[Feedback]:
    """The entries of a feedback file; EvalDataError names the file and the bad line."""

    def entry(r: dict) -> Feedback:
        history = r.get("history", [])
        if not isinstance(history, list):
            raise ValueError("history must be a list of questions")
        return Feedback(
            str(r["vote"]),
            str(r.get("reason", "")),
            str(r["question"]),
            tuple(str(h) for h in history),
            _checked_answer(r["answer"]),
            str(r.get("index_version", "")),
            int(r.get("k", 0)),
            str(r.get("time", "")),
        )

    fix = "give --feedback the JSON-lines file the web app writes"
    return read_jsonl_file(path, "feedback", "feedback entry", fix, entry)


def _checked_answer(answer: object) -> dict[str, Any]:
    """The ``answer`` of a feedback entry, checked as far as ``candidates`` reads it (a
    hand-edited line such as ``"refs": [[1]]`` or ``"quotes": "abc"`` is one clear error)."""
    if not isinstance(answer, dict):
        raise ValueError("answer must be an object")
    quotes = answer.get("quotes", [])
    if not isinstance(quotes, list) or not all(isinstance(q, dict) for q in quotes):
        raise ValueError("answer.quotes must be a list of objects")
    for n, q in enumerate(quotes, 1):
        if not isinstance(q.get("text"), str):
            raise ValueError(f"answer.quotes[{n}].text must be text")
        refs = q.get("refs", [])
        if not isinstance(refs, list) or any(type(x) is not int for x in refs):
            raise ValueError(f"answer.quotes[{n}].refs must be a list of whole numbers")
    if not isinstance(answer.get("outcome", ""), str):
        raise ValueError("answer.outcome must be text")
    return dict(answer)


def _verdict(fb: Feedback) -> tuple[bool, list[str], str]:
    """(answerable, answers, what a reviewer must check) for one entry."""
    quotes = [str(q["text"]) for q in fb.answer.get("quotes", [])]
    shown = fb.answer.get("outcome") != "not_found" and bool(quotes)
    if fb.vote == "up":
        if shown:
            return True, quotes[:1], "a reader found this answer right: trim answers to the words"
        return False, [], "a reader agreed that the text does not say"
    if fb.reason == "should_be_not_found":
        return False, [], "a reader says the text does not answer this: check the whole text"
    if fb.reason == "missing_part":
        return True, quotes, "a reader says part of the answer is missing: add it to answers"
    return True, [], "a reader says the quote is wrong: write the right answer, or answerable=false"


def candidates(entries: Sequence[Feedback]) -> list[dict[str, Any]]:
    """Candidate gold questions (the format of ``eval/questions.jsonl``), one per question.

    The latest entry on a question (with its history) wins. Each candidate has a ``review``
    note and the ``feedback`` it came from; neither is read by the evaluation.
    """
    latest: dict[tuple[str, tuple[str, ...]], Feedback] = {}
    for fb in entries:
        latest.pop((fb.question, fb.history), None)
        latest[(fb.question, fb.history)] = fb
    out = []
    for n, fb in enumerate(latest.values(), 1):
        answerable, answers, review = _verdict(fb)
        refs = (
            sorted({int(r) for q in fb.answer.get("quotes", []) for r in q.get("refs", [])})
            if answers
            else []
        )
        out.append(
            {
                "id": f"fb{n:03d}",
                "question": fb.question,
                "answerable": answerable,
                "answers": answers,
                "refs": refs,
                "type": "",
                "history": list(fb.history),
                "review": review,
                "feedback": {
                    "vote": fb.vote,
                    "reason": REASONS.get(fb.reason, ""),
                    "time": fb.time,
                    "index_version": fb.index_version,
                },
            }
        )
    return out

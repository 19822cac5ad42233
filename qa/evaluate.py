"""Score retrieval (and answers) on the gold question set in ``eval/questions.jsonl``.

A passage is a hit when it contains one of the question's acceptable answer substrings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .answer import answer_with_index
from .embedding import Embedder
from .errors import EvalDataError
from .loaded import LoadedIndex
from .retrieval import retrieve_with_index
from .sources import load_corpus

DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
#: Written apart from the method and never used to fit or tune it: a check of generality.
HELD_OUT_QUESTIONS = Path("eval/heldout2.jsonl")


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    refs: tuple[int, ...]
    type: str
    history: tuple[str, ...] = ()


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[GoldQuestion]:
    """Read the gold set (one JSON object per line); EvalDataError names the file and line."""
    fix = "give --questions a JSON-lines file of gold questions"
    try:
        # split("\n"), not splitlines(): a JSON string may hold U+2028, and line numbers count \n
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as e:
        why = str(e.strerror or e) if isinstance(e, OSError) else "not UTF-8 text"
        raise EvalDataError(f"cannot read questions file {path} ({why}); {fix}") from e
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            if not isinstance(r, dict):
                raise TypeError("not a JSON object")
            out.append(
                GoldQuestion(
                    r["id"],
                    r["question"],
                    bool(r["answerable"]),
                    tuple(r["answers"]),
                    tuple(r["refs"]),
                    r.get("type", ""),
                    tuple(r.get("history", ())),
                )
            )
        except (ValueError, KeyError, TypeError) as e:
            why = f"no {e}" if isinstance(e, KeyError) else str(e)
            raise EvalDataError(f"{path}:{n}: bad gold question ({why}); {fix}") from e
    return out


@dataclass
class RetrievalScores:
    """Hit@k is the share of questions with a hit among the first k passages."""

    name: str
    questions: int
    hit1: float
    hit3: float
    hit5: float
    mrr: float
    misses: list[str] = field(default_factory=list)

    def row(self) -> str:
        return (
            f"{self.name:<28} {self.questions:>4} {self.hit1:>6.3f} {self.hit3:>6.3f} "
            f"{self.hit5:>6.3f} {self.mrr:>6.3f}"
        )


HEADER = f"{'method':<28} {'n':>4} {'Hit@1':>6} {'Hit@3':>6} {'Hit@5':>6} {'MRR':>6}"


def first_hit(texts: list[str], answers: tuple[str, ...]) -> int | None:
    """1-based rank of the first text containing an acceptable answer, or None."""
    for rank, text in enumerate(texts, 1):
        if any(a in text for a in answers):
            return rank
    return None


def score_rankings(name: str, questions, rankings: list[list[str]]) -> RetrievalScores:
    ranks = [first_hit(r, q.answers) for q, r in zip(questions, rankings, strict=True)]
    n = len(ranks)

    def hit(k):
        return sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0

    return RetrievalScores(
        name=name,
        questions=n,
        hit1=hit(1),
        hit3=hit(3),
        hit5=hit(5),
        mrr=sum(1.0 / r for r in ranks if r) / n if n else 0.0,
        misses=[q.id for q, r in zip(questions, ranks, strict=True) if r is None or r > 1],
    )


def retrieval_questions(questions: list[GoldQuestion]) -> list[GoldQuestion]:
    """Answerable questions that stand alone (follow-ups are scored through answers)."""
    return [q for q in questions if q.answerable and not q.history]


def evaluate_retrieval(
    index: LoadedIndex, questions: list[GoldQuestion], k: int = 5
) -> RetrievalScores:
    qs = retrieval_questions(questions)
    rankings = [[p.text for p in retrieve_with_index(index, q.question, k)] for q in qs]
    return score_rankings("hybrid (dense+sentence+BM25)", qs, rankings)


def evaluate_baseline(
    corpus_dir: str | Path, embedder: Embedder, questions: list[GoldQuestion], k: int = 5
) -> RetrievalScores:
    """Naive baseline: blank-line paragraphs, dense only, no section context."""
    docs, _ = load_corpus(Path(corpus_dir))
    paras = [d.text[p.start : p.end] for d in docs for p in d.paragraphs]
    vecs = embedder.encode(paras)
    qs = retrieval_questions(questions)
    rankings = []
    for q in qs:
        sims = vecs @ embedder.encode_query(q.question)
        order = np.argsort(-sims, kind="stable")[:k]
        rankings.append([paras[i] for i in order])
    return score_rankings("baseline (paragraphs, dense)", qs, rankings)


def to_json(*scores) -> str:
    return json.dumps([asdict(s) for s in scores], indent=2)


# ------------------------------------------------------------------------------- answers


@dataclass
class AnswerScores:
    """Answer-level figures over the gold set (see README for definitions)."""

    questions: int
    answerable: int
    unanswerable: int
    answer_at_1: float
    answer_any: float
    citation_accuracy: float
    citation_checked: int
    abstention_precision: float
    abstention_recall: float
    wrongly_abstained: float
    mean_first_quote_chars: float
    mean_quoted_chars: float
    followup_answer_at_1: float
    failures: dict = field(default_factory=dict)

    def table(self) -> str:
        rows = [
            ("answer@1 (first quote holds an answer)", self.answer_at_1),
            ("answer@any (some quote holds an answer)", self.answer_any),
            (f"citation accuracy ({self.citation_checked} quotes checked)", self.citation_accuracy),
            ("abstention precision", self.abstention_precision),
            ("abstention recall", self.abstention_recall),
            ("answerable wrongly abstained", self.wrongly_abstained),
            ("follow-up answer@1", self.followup_answer_at_1),
            ("mean first-quote length (chars)", self.mean_first_quote_chars),
            ("mean characters quoted per answer", self.mean_quoted_chars),
        ]
        head = (
            f"Answers ({self.questions} questions: {self.answerable} answerable, "
            f"{self.unanswerable} not)"
        )
        body = "\n".join(f"  {name:<44} {value:8.3f}" for name, value in rows)
        fails = "\n".join(f"  {k}: {', '.join(v)}" for k, v in self.failures.items() if v)
        return head + "\n" + body + ("\n" + fails if fails else "")


def evaluate_answers(index: LoadedIndex, questions: list[GoldQuestion], k: int = 5) -> AnswerScores:

    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    hit1, hit_any, cite_ok, cite_n, abstained_ok, abstained_bad = 0, 0, 0, 0, 0, 0
    first_chars, all_chars = [], []
    fu_total, fu_hit = 0, 0
    fails: dict[str, list[str]] = {"answer@1": [], "citation": [], "abstained": [], "answered": []}
    for q in questions:
        ans = answer_with_index(index, q.question, k=k, history=list(q.history))
        if not q.answerable:
            if not ans.found:
                abstained_ok += 1
            else:
                fails["answered"].append(q.id)
            continue
        if q.history:
            fu_total += 1
        if not ans.found:
            abstained_bad += 1
            fails["abstained"].append(q.id)
            continue
        first_chars.append(len(ans.quotes[0].text))
        all_chars.append(sum(len(x.text) for x in ans.quotes))
        holding = [x for x in ans.quotes if any(a in x.text for a in q.answers)]
        if holding:
            hit_any += 1
            cite_n += 1
            if tuple(sorted(holding[0].refs)) == tuple(sorted(q.refs)):
                cite_ok += 1
            else:
                fails["citation"].append(q.id)
        if any(a in ans.quotes[0].text for a in q.answers):
            hit1 += 1
            fu_hit += bool(q.history)
        else:
            fails["answer@1"].append(q.id)
    n_abst = abstained_ok + abstained_bad
    return AnswerScores(
        questions=len(questions),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        answer_at_1=hit1 / len(answerable) if answerable else 0.0,
        answer_any=hit_any / len(answerable) if answerable else 0.0,
        citation_accuracy=cite_ok / cite_n if cite_n else 0.0,
        citation_checked=cite_n,
        abstention_precision=abstained_ok / n_abst if n_abst else 1.0,
        abstention_recall=abstained_ok / len(unanswerable) if unanswerable else 1.0,
        wrongly_abstained=abstained_bad / len(answerable) if answerable else 0.0,
        mean_first_quote_chars=float(np.mean(first_chars)) if first_chars else 0.0,
        mean_quoted_chars=float(np.mean(all_chars)) if all_chars else 0.0,
        followup_answer_at_1=fu_hit / fu_total if fu_total else 0.0,
        failures=fails,
    )

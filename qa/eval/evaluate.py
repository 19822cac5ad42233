"""Score retrieval and answers on a question set (``eval/questions.jsonl`` and the others).

A passage or quote is a hit when it contains one of the question's acceptable answer
substrings. Answers are scored by outcome (answered / tentative / not found), citation of
the answer span, references, quote length and the calibration of their confidence.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..answering.answer import answer_with_index
from ..answering.retrieval import retrieve_with_index
from ..errors import EvalDataError
from ..index.embedding import Embedder
from ..index.loaded import LoadedIndex
from ..index.records import JsonLineError, jsonl_objects
from ..index.sources import load_corpus
from ..results import Quote

T = TypeVar("T")
DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
#: Written apart from the method and never used to fit or tune it: a check of generality.
HELD_OUT_QUESTIONS = Path("eval/heldout2.jsonl")
HELD_OUT_SETS = (HELD_OUT_QUESTIONS, Path("eval/heldout3.jsonl"))


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    refs: tuple[int, ...]
    type: str
    history: tuple[str, ...] = ()


def read_jsonl_file(
    path: str | Path, kind: str, entry: str, fix: str, make: Callable[[dict], T]
) -> list[T]:
    """``make(row)`` for each JSON object of a JSON-lines file; EvalDataError names the file
    and the bad line (``kind``: "questions", ``entry``: "gold question", ``fix``: what to do)."""
    out = []
    try:
        for n, r in jsonl_objects(Path(path)):
            try:
                out.append(make(r))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                why = f"no {e}" if isinstance(e, KeyError) else str(e)
                raise EvalDataError(f"{path}:{n}: bad {entry} ({why}); {fix}") from e
    except (OSError, UnicodeDecodeError) as e:
        why = str(e.strerror or e) if isinstance(e, OSError) else "not UTF-8 text"
        raise EvalDataError(f"cannot read {kind} file {path} ({why}); {fix}") from e
    except JsonLineError as e:
        raise EvalDataError(f"{path}:{e.line}: bad {entry} ({e.why}); {fix}") from e
    return out


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[GoldQuestion]:
    """Read the gold set (one JSON object per line); EvalDataError names the file and line."""

    def question(r: dict) -> GoldQuestion:
        return GoldQuestion(
            r["id"],
            r["question"],
            bool(r["answerable"]),
            tuple(r["answers"]),
            tuple(r["refs"]),
            r.get("type", ""),
            tuple(r.get("history", ())),
        )

    fix = "give --questions a JSON-lines file of gold questions"
    return read_jsonl_file(path, "questions", "gold question", fix, question)


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


def score_rankings(
    name: str, questions: Sequence[GoldQuestion], rankings: list[list[str]]
) -> RetrievalScores:
    ranks = [first_hit(r, q.answers) for q, r in zip(questions, rankings, strict=True)]
    n = len(ranks)

    def hit(k: int) -> float:
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


def to_json(*scores: RetrievalScores | AnswerScores) -> str:
    return json.dumps([asdict(s) for s in scores], indent=2)


# ------------------------------------------------------------------------------- answers

#: A marker run: [n] (with a page suffix such as ": 14"), notes [a] and tags [citation needed].
_RUN_RE = re.compile(r"(?:\[[^\]\n]{1,40}\](?::\s?[\d–-]+)?)+")
_REF_RE = re.compile(r"\[(\d{1,4})\]")
#: Confidence bands of the reliability table.
BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0001)


def span_refs(text: str, end: int, paragraph_end: int) -> tuple[int, ...]:
    """The refs the source gives the text ending at ``end``: the first run of numbered markers
    after it in its paragraph (notes and tags are not references); () when none follows."""
    for m in _RUN_RE.finditer(text, end, paragraph_end):
        refs = tuple(int(n) for n in _REF_RE.findall(m.group(0)))
        if refs:
            return refs
    return ()


def _paragraph_end(index: LoadedIndex, doc: int, pos: int) -> int:
    for si, s in enumerate(index.sentences):
        if s.doc == doc and s.start <= pos < s.span_end:
            return index.sentences[index.paragraph_sentences(si)[-1]].span_end
    return pos


def cited_refs(
    index: LoadedIndex, quotes: Sequence[Quote], answers: tuple[str, ...]
) -> tuple[set[int], bool, bool]:
    """Refs of the answer spans in the shown quotes; whether each lies within its quote's refs;
    whether every acceptable answer was found.

    Each acceptable answer found in a quote (its first occurrence, quotes in order) gets the
    refs of the marker run that follows it in its paragraph; markers inside the quote before
    it do not count.
    """
    cited: set[int] = set()
    within = True
    found = 0
    for a in answers:
        for q in quotes:
            at = q.text.find(a)
            if at < 0:
                continue
            doc = index.doc_by_id[q.doc_id]
            end = q.start + at + len(a)
            refs = span_refs(index.docs[doc].text, end, _paragraph_end(index, doc, end - 1))
            cited.update(refs)
            within &= set(refs) <= set(q.refs)
            found += 1
            break
    return cited, within, found == len(answers)


def citation_ok(index: LoadedIndex, quotes: Sequence[Quote], q: GoldQuestion) -> bool:
    """The answer spans carry exactly the gold refs (within their quotes' refs).

    When only some acceptable answers are shown (one part of a two-part question), their refs
    must be among the gold ones: the quote is cited right, the answer is incomplete.
    """
    cited, within, complete = cited_refs(index, quotes, q.answers)
    gold = set(q.refs)
    return within and (cited == gold or (not complete and bool(cited) and cited < gold))


@dataclass
class AnswerScores:
    """Answer-level figures over a question set (see docs/evaluation.md)."""

    name: str
    questions: int
    answerable: int
    unanswerable: int
    answer_at_1: float  # first shown quote (answered or tentative) holds an answer
    answered_right: float  # answered, and the first quote holds an answer
    citation_accuracy: float
    citation_checked: int
    reference_precision: float
    abstention_recall: float  # unanswerable, not answered (tentative or not found)
    abstention_not_found: float  # unanswerable, told "not found"
    wrongly_refused: float  # answerable, told "not found"
    not_answered: float  # answerable, tentative or not found
    confident_wrong: float  # of shown quotes with confidence >= 0.9, the share wrong
    confident_n: int
    mean_quotes: float
    mean_first_quote_chars: float
    mean_quoted_chars: float
    followup_answer_at_1: float
    references_not_shown: int  # answers listing a reference no shown quote carries
    reliability: list = field(default_factory=list)  # [confidence, right] per shown quote
    failures: dict = field(default_factory=dict)

    @property
    def wrongly_abstained(self) -> float:
        """The old name of ``wrongly_refused``."""
        return self.wrongly_refused


def _share(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate_answers(
    index: LoadedIndex,
    questions: list[GoldQuestion],
    k: int = 5,
    name: str = "",
    **kwargs: Any,
) -> AnswerScores:
    """Score ``answer_with_index`` on ``questions``; ``kwargs`` go to it (fitted, reranker)."""
    answerable = [q for q in questions if q.answerable]
    unans = len(questions) - len(answerable)
    c = dict.fromkeys(("right", "answered_right", "cite_ok", "cite_n", "abst", "abst_nf",
                       "refused", "not_answered", "fu_n", "fu_hit", "ref_hit", "ref_n",
                       "bad_refs"), 0)  # fmt: skip
    first_chars, all_chars, n_quotes, reliability = [], [], [], []
    fails: dict[str, list[str]] = {k: [] for k in ("answer@1", "citation", "refused",
                                                  "tentative", "answered")}  # fmt: skip
    for q in questions:
        ans = answer_with_index(index, q.question, k=k, history=list(q.history), **kwargs)
        shown = ans.quotes if ans.outcome != "not_found" else []
        right = bool(shown) and any(a in shown[0].text for a in q.answers) and q.answerable
        carried = {(x.doc_id, r) for x in shown for r in x.refs}
        c["bad_refs"] += any((r.doc_id, r.number) not in carried for r in ans.references)
        if shown:
            reliability.append([round(ans.confidence, 4), int(right)])
        if ans.outcome == "answered":
            n_quotes.append(len(shown))
            first_chars.append(len(shown[0].text))
            all_chars.append(sum(len(x.text) for x in shown))
        if not q.answerable:
            c["abst"] += ans.outcome != "answered"
            c["abst_nf"] += ans.outcome == "not_found"
            if ans.outcome == "answered":
                fails["answered"].append(q.id)
            continue
        c["fu_n"] += bool(q.history)
        c["refused"] += ans.outcome == "not_found"
        c["not_answered"] += ans.outcome != "answered"
        if ans.outcome == "not_found":
            fails["refused"].append(q.id)
        elif ans.outcome == "tentative":
            fails["tentative"].append(q.id)
        if not right:
            fails["answer@1"].append(q.id)
            continue
        c["right"] += 1
        c["answered_right"] += ans.outcome == "answered"
        c["fu_hit"] += bool(q.history)
        c["cite_n"] += 1
        if citation_ok(index, shown, q):
            c["cite_ok"] += 1
        else:
            fails["citation"].append(q.id)
        listed = {r.number for r in ans.references}
        c["ref_hit"] += len(listed & set(q.refs))
        c["ref_n"] += len(listed)
    confident = [r for r in reliability if r[0] >= 0.9]
    n_ans = len(answerable)
    return AnswerScores(
        name=name,
        questions=len(questions),
        answerable=n_ans,
        unanswerable=unans,
        answer_at_1=_share(c["right"], n_ans),
        answered_right=_share(c["answered_right"], n_ans),
        citation_accuracy=_share(c["cite_ok"], c["cite_n"]),
        citation_checked=c["cite_n"],
        reference_precision=_share(c["ref_hit"], c["ref_n"]) if c["ref_n"] else 1.0,
        abstention_recall=_share(c["abst"], unans) if unans else 1.0,
        abstention_not_found=_share(c["abst_nf"], unans) if unans else 1.0,
        wrongly_refused=_share(c["refused"], n_ans),
        not_answered=_share(c["not_answered"], n_ans),
        confident_wrong=_share(sum(1 for r in confident if not r[1]), len(confident)),
        confident_n=len(confident),
        mean_quotes=float(np.mean(n_quotes)) if n_quotes else 0.0,
        mean_first_quote_chars=float(np.mean(first_chars)) if first_chars else 0.0,
        mean_quoted_chars=float(np.mean(all_chars)) if all_chars else 0.0,
        followup_answer_at_1=_share(c["fu_hit"], c["fu_n"]),
        references_not_shown=c["bad_refs"],
        reliability=reliability,
        failures=fails,
    )


def reliability_table(pairs: list) -> list[tuple[str, int, float]]:
    """(band, count, share right) for each confidence band of ``[confidence, right]`` pairs."""
    rows = []
    for lo, hi in itertools.pairwise(BANDS):
        inside = [r for c, r in pairs if lo <= c < hi]
        label = f"{lo:.1f}–{min(hi, 1.0):.1f}"
        rows.append((label, len(inside), _share(sum(inside), len(inside))))
    return rows

"""Feature ablation of the sentence scorer and the abstention model (docs/evaluation.md).

    PYTHONPATH=. python -m bench.ablation

Each row refits without one feature group, exactly as ``qa eval --fit`` does (leave one
article out), and reports on questions no model saw: answer@1 of the scorer's best sentence
on the held-out sets (models fitted on all four articles) and on the held-out articles
(each scored by the models fitted without it), and, for the abstention model, the share of
answerable questions answered right at the abstention-recall target. Needs scikit-learn.
"""

from __future__ import annotations

import numpy as np

from qa.answering.scorer import Linear
from qa.api import load_or_build
from qa.eval import fitting as F
from qa.eval.evalsets import BUNDLED, article_sets, cached_index
from qa.eval.evaluate import load_questions

SCORER_GROUPS = {
    "dense cosine (and gap)": ("dense", "dense_gap"),
    "BM25 over sentences": ("bm25", "bm25_gap"),
    "IDF coverage": ("coverage",),
    "phrase overlap (bi/trigrams)": ("bigrams", "trigrams"),
    "answer type": ("type_match", "type_free"),
    "numbers / names missing": ("numbers_missing", "names_missing"),
    "soft word alignment": ("soft", "soft_gap", "soft_min"),
    "novelty, length, anaphor": ("novelty", "length", "anaphor"),
}
EVIDENCE_GROUPS = {
    "scorer logit and margin": ("score", "margin"),
    "dense cosine": ("dense",),
    "answer type": ("type_match", "type_missing"),
    "numbers missing": ("missing_number",),
    "names missing": ("names_absent_doc", "names_absent_para"),
    "words missing": ("missing_para", "missing_doc"),
    "soft alignment (sentence, paragraph)": (
        "soft", "soft_min", "para_soft", "para_soft_min", "para_gap"),
}  # fmt: skip


def _top1(fitter: F.Fitter, items: list[F.Item], excluded: frozenset) -> list[bool]:
    scorer = fitter.scorer(excluded)
    return [F.evidence(it, scorer, "words")[1] for it in items if it.question.answerable]


def _answered_right(fitter: F.Fitter) -> float:
    """Answered and right, as a share of answerable questions, over held-out articles."""
    right, total = 0, 0
    for g in fitter.groups:
        held = fitter.held_out(frozenset({g}))
        cal = F.calibrate(held)
        answer, _ = F.thresholds(held, cal)
        X, ok = fitter.evidence(g, frozenset())
        z = fitter.abstention(frozenset({g})).logits(X, F.EVIDENCE)
        p = 1 / (1 + np.exp(-(cal[0] * z + cal[1])))
        ans = np.array([it.question.answerable for it in fitter.items
                        if it.group == g and not it.junk])  # fmt: skip
        right += int(((p >= answer) & (ok > 0)).sum())
        total += int(ans.sum())
    return right / total


def run(items, held, drop_scorer=(), drop_evidence=()) -> tuple[float, float, float]:
    s_all, e_all = F.VARIANTS["words"]
    F.VARIANTS["words"] = (
        tuple(f for f in s_all if f not in drop_scorer),
        tuple(f for f in e_all if f not in drop_evidence),
    )
    try:
        fitter = F.Fitter(items, "words")
        questions = np.mean(_top1(fitter, held, frozenset()))
        articles = []
        for g in fitter.groups:
            own = [it for it in items if it.group == g and not it.junk]
            articles += _top1(fitter, own, frozenset({g}))
        return float(questions), float(np.mean(articles)), _answered_right(fitter)
    finally:
        F.VARIANTS["words"] = (s_all, e_all)


def main() -> None:
    idx = load_or_build("index", "corpus")
    items = F.collect(idx, BUNDLED, load_questions("eval/questions.jsonl"))
    items += F.collect(idx, BUNDLED, load_questions("eval/calibration_negatives.jsonl"), junk=True)
    for s in article_sets():
        items += F.collect(cached_index(s.corpus), s.name, load_questions(s.questions))
    held = [it for p in ("eval/heldout2.jsonl", "eval/heldout3.jsonl")
            for it in F.collect(idx, "heldout", load_questions(p))]  # fmt: skip
    print("| scorer without | held-out questions answer@1 | held-out articles answer@1 |")
    print("|---|---|---|")
    hand = Linear(("dense", "coverage"), np.zeros(2), np.ones(2), np.array([1.0, 0.4]), 0.0)
    arts = [it for it in items if not it.junk]
    for name, lin in (("hand weights before (dense + 0.4 coverage)", hand),):
        q = np.mean([F.evidence(it, lin, "words")[1] for it in held if it.question.answerable])
        a = np.mean([F.evidence(it, lin, "words")[1] for it in arts if it.question.answerable])
        print(f"| {name} | {q:.3f} | {a:.3f} |")
    full = run(items, held)
    print(f"| (all features) | {full[0]:.3f} | {full[1]:.3f} |")
    for name, group in SCORER_GROUPS.items():
        r = run(items, held, drop_scorer=group)
        print(f"| {name} | {r[0]:.3f} | {r[1]:.3f} |")
    print()
    print("| abstention without | held-out articles: answered and right at 85% abstention |")
    print("|---|---|")
    print(f"| (all features) | {full[2]:.3f} |")
    for name, group in EVIDENCE_GROUPS.items():
        print(f"| {name} | {run(items, held, drop_evidence=group)[2]:.3f} |")


if __name__ == "__main__":
    main()

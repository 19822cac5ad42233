"""``qa eval``: score every question set (held-out first), or one set on any corpus; ``--fit``
refits the scorer and abstention models across articles."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..answering.reranker import reranker_for
from ..api import load_with_settings
from ..errors import QAError
from ..index.loaded import LoadedIndex
from ..settings import Settings
from . import evalsets, feedback
from .evaluate import HEADER, load_questions


def _fit(args: argparse.Namespace, idx: LoadedIndex, settings: Settings) -> None:
    from .fitting import collect, fit_all, write_model  # deferred: needs scikit-learn

    items = collect(idx, evalsets.BUNDLED, load_questions("eval/questions.jsonl"))
    items += collect(
        idx, evalsets.BUNDLED, load_questions("eval/calibration_negatives.jsonl"), junk=True
    )
    for s in evalsets.article_sets(Path(args.articles or evalsets.ARTICLES_DIR)):
        assert s.corpus is not None  # an article set always has its corpus
        article = evalsets.cached_index(s.corpus, settings.model)
        items += collect(article, s.name, load_questions(s.questions))
    result = fit_all(items, idx.manifest.model)
    path = write_model(result)
    t = result["thresholds"]
    print(
        f"fitted on {result['fitted_on']['questions']} (+{result['fitted_on']['junk']} junk); "
        f"answer from {t['answer']:.2f}, tentative from {t['tentative']:.2f}; wrote {path}"
    )


def feedback_candidates(path: str) -> int:
    """``qa eval --feedback FILE``: candidate gold questions from the web app's feedback."""
    found = feedback.candidates(feedback.read_feedback(Path(path)))
    for c in found:
        print(json.dumps(c, ensure_ascii=False))
    print(
        f"{len(found)} candidate gold question(s) from {path}; check each one's 'review' note "
        "before adding it to a gold set",
        file=sys.stderr,
    )
    return 0


def _sets(args: argparse.Namespace) -> list[evalsets.EvalSet]:
    if args.questions:
        load_questions(args.questions)  # a missing or malformed file fails before any build
        corpus = Path(args.corpus) if args.corpus else None
        name = Path(args.questions).parent.name if corpus else Path(args.questions).stem
        # an article the models were fitted on is scored by the models fitted without it
        gold = Path(args.questions).resolve() == Path("eval/questions.jsonl").resolve()
        fold = args.fold or (name if corpus else evalsets.BUNDLED if gold else None)
        return [evalsets.EvalSet(name, Path(args.questions), corpus, fold)]
    if args.articles or args.split:
        return evalsets.article_sets(Path(args.articles or evalsets.ARTICLES_DIR), args.split)
    return evalsets.bundled_sets() + evalsets.article_sets()


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.feedback:
        return feedback_candidates(args.feedback)
    reranker = reranker_for(args.reranker or settings.reranker)
    sets = _sets(args)
    if args.fit:
        _fit(args, load_with_settings(settings), settings)
    if not sets:
        raise QAError(f"no question sets found (looked in {args.articles or 'eval/'})")
    results = []
    for s in sets:
        if s.corpus is None or (args.index and args.questions):
            idx = load_with_settings(settings)
        else:
            idx = evalsets.cached_index(s.corpus, settings.model)
        results.append(evalsets.run_set(idx, s, reranker, use_folds=not args.no_folds))
    _print_eval(results)
    if args.json:
        out = [
            {"set": s.set.name, "models": s.model, "retrieval": asdict(s.retrieval),
             "answers": asdict(s.answers)}
            for s in results
        ]  # fmt: skip
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _print_eval(results: list[evalsets.SetResult]) -> None:
    held = [r for r in results if r.set.name.startswith("heldout")]
    test = [r for r in results if r.set.split == "test"]
    dev = [r for r in results if r.set.split == "dev"]
    articles = [r for r in results if r.set.fold and r.model.startswith("without")]
    pooled = [("test articles", test), ("held-out questions", held), ("dev articles", dev),
              ("train articles, held out", articles)]  # fmt: skip
    print("Answers (models: shipped = fitted on the train articles, calibrated on the dev ones;")
    print("without X = the models fitted without the train article X). Test articles are never")
    print("fitted on or used for a choice.")
    print(evalsets.answers_table(results, [(n, g) for n, g in pooled if len(g) > 1]))
    print()
    print("Retrieval (answerable stand-alone questions; hit = passage contains an answer)")
    print(HEADER.replace("method", "set"))
    for r in results:
        print(r.retrieval.row().replace(r.retrieval.name, f"{r.set.name:<28}"[:28], 1))
    others = [r for r in results if r not in held + articles + test + dev]
    for name, group in pooled + [("each set", [r]) for r in others]:
        if group:
            print()
            print(evalsets.reliability_lines(name, group))
    print()
    for r in results:
        fails = "; ".join(f"{k}: {', '.join(v)}" for k, v in r.answers.failures.items() if v)
        print(f"{r.set.name}: {fails or 'no failures'}")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The ``eval`` subcommand's options."""
    e = sub.add_parser(
        "eval", parents=[common], help="score every question set (held-out sets first)"
    )
    e.add_argument("--questions", help="one question file (with --corpus: on that corpus)")
    e.add_argument("--articles", metavar="DIR", help="every article under DIR (eval/articles)")
    e.add_argument("--fold", help="score with the models fitted without this article")
    e.add_argument(
        "--split", choices=["test", "dev", "train"], help="only the articles of this split"
    )
    e.add_argument("--no-folds", action="store_true", help="shipped models for every set")
    e.add_argument("--reranker", metavar="DIR", help="a cross-encoder directory ($QA_RERANKER)")
    e.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    e.add_argument(
        "--feedback",
        metavar="FILE",
        help="instead: print candidate gold questions (JSON lines) from the web app's "
        "feedback file, for review",
    )
    e.add_argument(
        "--fit",
        "--calibrate",
        action="store_true",
        help="refit scorer and abstention on the gold set and the articles (needs scikit-learn;"
        " writes qa/models/calibration.json)",
    )
    e.set_defaults(func=cmd_eval)

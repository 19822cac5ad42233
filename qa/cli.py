"""The ``qa`` command: build, search, ask, eval, serve.

Library errors become one-line messages on stderr and exit code 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

from .errors import QAError


def _dirs(args) -> tuple[Path, Path]:
    from .api import default_dirs

    corpus, index = default_dirs()
    return Path(args.corpus or corpus), Path(args.index or index)


def _load(args):
    from .api import load_or_build

    corpus, index = _dirs(args)
    return load_or_build(index, corpus, args.model)


def cmd_build(args) -> int:
    from .build import build_index
    from .chunking import ChunkerSettings

    corpus, index = _dirs(args)
    from .embedding import default_show_progress

    settings = ChunkerSettings(args.max_sentences, args.overlap, args.max_chars)
    show_progress = False if args.no_progress else default_show_progress()
    if show_progress:  # for a person watching; scripts get one line on failure
        print(f"building {index} from {corpus} …", file=sys.stderr)
    report = build_index(
        corpus,
        index,
        args.model,
        settings,
        show_progress=show_progress,
        wait=args.wait,
    )
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if report.changed_files:
        print("changed files: " + ", ".join(report.changed_files))
    print(report.summary())
    return 0


def _passage_dict(p) -> dict:
    return asdict(p)


def cmd_search(args) -> int:
    from .retrieval import retrieve_with_index

    idx = _load(args)
    passages = retrieve_with_index(idx, args.question, args.k)
    if args.json:
        print(json.dumps([_passage_dict(p) for p in passages], ensure_ascii=False, indent=2))
        return 0
    for rank, p in enumerate(passages, 1):
        refs = "".join(f"[{r}]" for r in p.refs)
        where = f"{p.title} › {p.section}" if p.section else p.title
        print(f"{rank}. {where}  (score {p.score:.4f}) {refs}")
        print(f"   {p.text}\n")
    return 0


def cmd_ask(args) -> int:
    from .answer import answer_with_index
    from .reranker import load_reranker

    idx = _load(args)
    reranker = load_reranker(args.reranker) if args.reranker else None
    ans = answer_with_index(
        idx, args.question, k=args.k, history=args.history or None, reranker=reranker
    )
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(ans.markdown)
    return 0


def _fit(args, idx) -> None:
    from .evalsets import ARTICLES_DIR, BUNDLED, article_sets, cached_index
    from .evaluate import load_questions
    from .fitting import collect, fit_all, write_model

    items = collect(idx, BUNDLED, load_questions("eval/questions.jsonl"))
    items += collect(idx, BUNDLED, load_questions("eval/calibration_negatives.jsonl"), junk=True)
    for s in article_sets(Path(args.articles or ARTICLES_DIR)):
        items += collect(cached_index(s.corpus, args.model), s.name, load_questions(s.questions))
    result = fit_all(items, idx.manifest.model)
    path = write_model(result)
    t = result["thresholds"]
    print(
        f"fitted on {result['fitted_on']['questions']} (+{result['fitted_on']['junk']} junk); "
        f"answer from {t['answer']:.2f}, tentative from {t['tentative']:.2f}; wrote {path}"
    )


def cmd_eval(args) -> int:
    from . import evalsets
    from .reranker import load_reranker

    reranker = load_reranker(args.reranker) if args.reranker else None
    if args.fit:
        _fit(args, _load(args))
    if args.questions:
        corpus = Path(args.corpus) if args.corpus else None
        name = Path(args.questions).parent.name if corpus else Path(args.questions).stem
        # an article the models were fitted on is scored by the models fitted without it
        gold = Path(args.questions).resolve() == Path("eval/questions.jsonl").resolve()
        fold = args.fold or (name if corpus else evalsets.BUNDLED if gold else None)
        sets = [evalsets.EvalSet(name, Path(args.questions), corpus, fold)]
    elif args.articles:
        sets = evalsets.article_sets(Path(args.articles))
    else:
        sets = evalsets.bundled_sets() + evalsets.article_sets()
    if not sets:
        raise QAError(f"no question sets found (looked in {args.articles or 'eval/'})")
    results = []
    for s in sets:
        if s.corpus is None or (args.index and args.questions):
            idx = _load(args)
        else:
            idx = evalsets.cached_index(s.corpus, args.model)
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


def _print_eval(results) -> None:
    from . import evalsets
    from .evaluate import HEADER

    held = [r for r in results if r.set.name.startswith("heldout")]
    articles = [r for r in results if r.set.fold and r.model.startswith("without")]
    pooled = [("held-out questions", held), ("held-out articles", articles)]
    print("Answers (models: shipped = fitted on the gold set and the articles; without X = the")
    print("leave-one-article-out models that never saw X)")
    print(evalsets.answers_table(results, [(n, g) for n, g in pooled if len(g) > 1]))
    print()
    print("Retrieval (answerable stand-alone questions; hit = passage contains an answer)")
    print(HEADER.replace("method", "set"))
    for r in results:
        print(r.retrieval.row().replace(r.retrieval.name, f"{r.set.name:<28}"[:28], 1))
    for name, group in pooled + [("each set", [r]) for r in results if r not in held + articles]:
        if group:
            print()
            print(evalsets.reliability_lines(name, group))
    print()
    for r in results:
        fails = "; ".join(f"{k}: {', '.join(v)}" for k, v in r.answers.failures.items() if v)
        print(f"{r.set.name}: {fails or 'no failures'}")


def cmd_serve(args) -> int:
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path and (root / "app.py").exists():
        sys.path.insert(0, str(root))
    try:
        from app import main as app_main  # app.py sits at the project root
    except ImportError as e:
        raise QAError(
            f"cannot start the web app ({e}); run `qa serve` from the project directory "
            "that holds app.py"
        ) from e

    argv = ["--host", args.host, "--port", str(args.port)]
    passthrough = (("--corpus", args.corpus), ("--index", args.index), ("--model", args.model))
    for flag, value in passthrough:
        if value:
            argv += [flag, value]
    if args.share:
        argv.append("--share")
    return app_main(argv) or 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qa", description="Answer questions about a text by quoting it with its references."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", help="corpus directory (default: corpus/ or $QA_CORPUS_DIR)")
    common.add_argument("--index", help="index directory (default: index/ or $QA_INDEX_DIR)")
    common.add_argument("--model", help="sentence-transformers model name or path ($QA_MODEL)")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", parents=[common], help="(re)build the index from the corpus")
    b.add_argument("--max-sentences", type=int, default=3, help="sentences per chunk")
    b.add_argument("--overlap", type=int, default=1, help="sentences shared by neighbours")
    b.add_argument("--max-chars", type=int, default=600, help="characters per chunk at most")
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    b.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="seconds to wait for another running build (default: refuse at once)",
    )
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("search", parents=[common], help="show the best matching passages")
    s.add_argument("question")
    s.add_argument("-k", type=int, default=5, help="how many passages (1-50)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_search)

    a = sub.add_parser("ask", parents=[common], help="answer with verbatim quotes and references")
    a.add_argument("question")
    a.add_argument("-k", type=int, default=5, help="passages to draw quotes from (1-50)")
    a.add_argument("--history", action="append", help="a previous question (repeatable)")
    a.add_argument("--json", action="store_true", help="print the Answer as JSON")
    a.add_argument("--reranker", metavar="DIR", help="a cross-encoder directory ($QA_RERANKER)")
    a.set_defaults(func=cmd_ask)

    e = sub.add_parser(
        "eval", parents=[common], help="score every question set (held-out sets first)"
    )
    e.add_argument("--questions", help="one question file (with --corpus: on that corpus)")
    e.add_argument("--articles", metavar="DIR", help="every article under DIR (eval/articles)")
    e.add_argument("--fold", help="score with the models fitted without this article")
    e.add_argument("--no-folds", action="store_true", help="shipped models for every set")
    e.add_argument("--reranker", metavar="DIR", help="a cross-encoder directory ($QA_RERANKER)")
    e.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    e.add_argument(
        "--fit",
        "--calibrate",
        action="store_true",
        help="refit scorer and abstention on the gold set and the articles (needs scikit-learn;"
        " writes qa/calibration.json)",
    )
    e.set_defaults(func=cmd_eval)

    v = sub.add_parser("serve", parents=[common], help="start the web app")
    v.add_argument("--host", default=os.environ.get("QA_HOST", "127.0.0.1"))
    v.add_argument("--port", type=int, default=int(os.environ.get("QA_PORT", "7860")))
    v.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    v.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Corpus warnings reach the user once: from the BuildReport, or in the error that
        # ends the build; logging them as well would print each twice.
        logging.getLogger("qa.corpus").setLevel(logging.ERROR)
    if args.model:
        os.environ["QA_MODEL"] = args.model
    try:
        return args.func(args)
    except QAError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # bad settings such as --overlap >= --max-sentences
        print(f"qa: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

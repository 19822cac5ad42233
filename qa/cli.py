"""The ``qa`` command: build, search, ask, verify, eval, serve.

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

#: Exit code of `qa verify` when the text is not verbatim or a claimed [n] is not the source's.
NOT_VERIFIED = 3


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


def _note_backend(idx) -> None:
    """Say, once per command, when queries pay for torch only because no export was made."""
    from .backend import wants_export
    from .onnx_embedding import cache_dir_for

    if wants_export(idx.embedder, cache_dir_for(idx.index_dir)):
        print(
            "qa: note: no ONNX export of this index's model yet, so questions load torch (~7 s); "
            "`qa build` makes one, once (then ~1 s)",
            file=sys.stderr,
        )


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
    _note_backend(idx)
    return 0


def cmd_ask(args) -> int:
    from .answer import answer_with_index

    idx = _load(args)
    ans = answer_with_index(idx, args.question, k=args.k, history=args.history or None)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(ans.markdown)
    _note_backend(idx)
    return 0


def cmd_verify(args) -> int:
    from .render import render_verification
    from .verify import check_text, verify_with_index

    check_text(args.text)  # refuse bad input before any build
    result = verify_with_index(_load(args), args.text)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_verification(result))
    return 0 if result.ok else NOT_VERIFIED


def cmd_eval(args) -> int:
    from . import evaluate

    corpus, _ = _dirs(args)
    idx = _load(args)
    questions = evaluate.load_questions(args.questions)
    if args.calibrate:
        from .calibration import calibrate

        cal = calibrate(idx, questions)
        cv = cal["cross_validated"]
        print(
            f"calibrated abstention on {cal['questions']} questions: weights {cal['weights']}, "
            f"bias {cal['bias']}; 5-fold cross-validated abstention recall "
            f"{cv['abstention_recall']:.3f}, answerable wrongly abstained "
            f"{cv['wrongly_abstained']:.3f}"
        )
    ret = evaluate.evaluate_retrieval(idx, questions)
    base = evaluate.evaluate_baseline(corpus, idx.embedder, questions)
    results: dict[str, object] = {"retrieval": [asdict(ret), asdict(base)]}
    print("Retrieval (answerable standalone questions; hit = passage contains an answer)")
    print(evaluate.HEADER)
    print(ret.row())
    print(base.row())
    if ret.misses:
        print(f"not at rank 1: {', '.join(ret.misses)}")
    if hasattr(evaluate, "evaluate_answers"):
        ans = evaluate.evaluate_answers(idx, questions)
        results["answers"] = asdict(ans)
        print()
        print(ans.table())
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


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
    a.set_defaults(func=cmd_ask)

    f = sub.add_parser(
        "verify",
        parents=[common],
        help="is a text in the source verbatim, with the source's [n]? (exit 3 if not)",
    )
    f.add_argument("text", help='the quoted text, with or without its markers: "… 2003.[1]"')
    f.add_argument("--json", action="store_true", help="print the Verification as JSON")
    f.set_defaults(func=cmd_verify)

    e = sub.add_parser("eval", parents=[common], help="score on the gold question set")
    e.add_argument("--questions", default="eval/questions.jsonl")
    e.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    e.add_argument(
        "--calibrate",
        action="store_true",
        help="refit the abstention model on the gold set (writes qa/calibration.json)",
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

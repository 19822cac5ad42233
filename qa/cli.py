"""The ``qa`` command: build, search, ask, verify, eval, serve.

Library errors and bad ``QA_*`` settings become one-line messages on stderr and exit code 1;
usage errors exit 2. The environment is read once, in :func:`main`, into a ``Settings`` that the
command-line options override and every command is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict

from .answering.answer import answer_with_index
from .answering.render import render_verification
from .answering.render import where as render_where
from .answering.reranker import reranker_for
from .answering.retrieval import retrieve_with_index
from .answering.verify import check_text, verify_with_index
from .api import load_with_settings, show_progress
from .errors import ConfigError, QAError
from .eval import cli as eval_cli
from .eval import train as eval_train
from .index.backend import wants_export
from .index.build import build_index
from .index.chunking import ChunkerSettings
from .index.embedding import Embedder, default_show_progress, get_embedder
from .index.loaded import LoadedIndex
from .index.onnx_embedding import cache_dir_for
from .results import Passage
from .settings import Settings, add_serve_arguments, serve_overrides
from .terminal import print_answer

#: Exit code of `qa verify` when the text is not verbatim or a claimed [n] is not the source's.
NOT_VERIFIED = 3


def _embedder(settings: Settings) -> Embedder:
    return get_embedder(settings.model, settings.device, settings.query_threads)


def _load(settings: Settings) -> LoadedIndex:
    return load_with_settings(settings)


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    corpus, index = settings.corpus_dir, settings.index_dir
    chunker = ChunkerSettings(args.max_sentences, args.overlap, args.max_chars)
    show_progress = False if args.no_progress else default_show_progress()
    if show_progress:  # for a person watching; scripts get one line on failure
        print(f"building {index} from {corpus} …", file=sys.stderr)
    report = build_index(
        corpus,
        index,
        settings.model,
        chunker,
        show_progress=show_progress,
        embedder=_embedder(settings),
        wait=args.wait,
        exact_max_chunks=settings.exact_max_chunks,
        max_file_bytes=settings.max_file_bytes,
    )
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if report.changed_files:
        print("changed files: " + ", ".join(report.changed_files))
    print(report.summary())
    return 0


def _passage_dict(p: Passage) -> dict:
    return asdict(p)


def _note_backend(idx: LoadedIndex, settings: Settings) -> None:
    """Say, once per command, when queries pay for torch only because no export was made."""
    if wants_export(idx.embedder, cache_dir_for(idx.index_dir), settings.backend):
        print(
            "qa: note: no ONNX export of this index's model yet, so questions load torch (~7 s); "
            "`qa build` makes one, once (then ~1 s)",
            file=sys.stderr,
        )


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    idx = _load(settings)
    with idx.serving():
        passages = retrieve_with_index(idx, args.question, args.k)
    if args.json:
        print(json.dumps([_passage_dict(p) for p in passages], ensure_ascii=False, indent=2))
        return 0
    for rank, p in enumerate(passages, 1):
        refs = "".join(f"[{r}]" for r in p.refs)
        where = render_where(p.title, p.section)
        print(f"{rank}. {where}  (score {p.score:.4f}) {refs}")
        print(f"   {p.text}\n")
    _note_backend(idx, settings)
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    idx = _load(settings)
    if args.reranker:
        idx.reranker = reranker_for(args.reranker)
    with idx.serving():
        ans = answer_with_index(idx, args.question, k=args.k, history=args.history or None)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
    elif sys.stdout.isatty() and not args.markdown:  # a person reads it: formatted
        print_answer(ans, multi_doc=len(idx.docs) > 1)
    else:  # piped or asked for: the Markdown, as the API's `markdown` field holds it
        print(ans.markdown)
    _note_backend(idx, settings)
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    check_text(args.text)  # refuse bad input before any build
    idx = _load(settings)
    with idx.serving():
        result = verify_with_index(idx, args.text)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_verification(result))
    return 0 if result.ok else NOT_VERIFIED


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .web.app import serve  # deferred: only serve needs the app (it sets gradio's switches)
    from .web.ports import port_problem

    settings = serve_overrides(settings, args)
    if problem := port_problem(settings.host, settings.port):  # before building the index
        raise ConfigError(problem)
    return serve(settings, share=args.share)


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``settings`` (default: the built-in ones) give shown defaults."""
    settings = settings or Settings()
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
    a.add_argument(
        "--markdown",
        action="store_true",
        help="print Markdown even to a terminal (the default when output is piped)",
    )
    a.add_argument("--reranker", metavar="DIR", help="a cross-encoder directory ($QA_RERANKER)")
    a.set_defaults(func=cmd_ask)

    f = sub.add_parser(
        "verify",
        parents=[common],
        help="is a text in the source verbatim, with the source's [n]? (exit 3 if not)",
    )
    f.add_argument("text", help='the quoted text, with or without its markers: "… 2003.[1]"')
    f.add_argument("--json", action="store_true", help="print the Verification as JSON")
    f.set_defaults(func=cmd_verify)

    eval_cli.add_parser(sub, common)
    eval_train.add_parser(sub, common)

    v = sub.add_parser("serve", parents=[common], help="start the web app")
    add_serve_arguments(v, settings)
    v.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        env = Settings.from_env()  # before parsing: even `qa --help` reports a bad value
    except ConfigError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    args = build_parser(env).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    show_progress()  # the default index's "building …" lines, logged by qa.api
    if not args.verbose:
        # Corpus warnings reach the user once: from the BuildReport, or in the error that
        # ends the build; logging them as well would print each twice.
        logging.getLogger("qa.readers.document").setLevel(logging.ERROR)
    settings = env.override(
        corpus_dir=args.corpus,
        index_dir=args.index,
        model=args.model,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )
    try:
        return args.func(args, settings)
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

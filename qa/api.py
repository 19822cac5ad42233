"""The public entry points on the default index: ``qa.retrieve``, ``qa.answer``, ``qa.verify``.

The default index is ``index/`` built from ``corpus/`` under the current directory (or the
directories the settings name), loaded once per process and rebuilt first when it is missing
or stale. The library prints nothing: it logs that progress on the ``qa.api`` logger, which
the CLI and the web app show on stderr (``show_progress``).
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import TextIO

from .answering.answer import answer_with_index
from .answering.question import check_k, clean_question
from .answering.reranker import reranker_for
from .answering.retrieval import retrieve_with_index
from .answering.verify import check_text, verify_with_index
from .errors import CorruptIndexError, IndexMissingError, QAError, StaleIndexError
from .index.backend import query_embedder
from .index.build import build_index
from .index.embedding import Embedder
from .index.format import EXACT_MAX_CHUNKS, open_index
from .index.loaded import LoadedIndex
from .index.onnx_embedding import OnnxEmbedder
from .index.sources import MAX_FILE_BYTES, corpus_files
from .results import Answer, Passage, Verification
from .settings import Settings


def load_index(
    index_dir: str | Path = "index",
    corpus_dir: str | Path | None = None,
    model: str | None = None,
    embedder: Embedder | None = None,
    search_threads: int = 1,
) -> LoadedIndex:
    """Load a built index for repeated queries.

    Questions are encoded by ``embedder``, else by the index's model: its ONNX export when the
    index has one and onnxruntime is installed (``QA_BACKEND``), else the torch model. With
    ``corpus_dir`` given, an index built from other corpus content is refused as stale.

    Example:
        >>> idx = load_index("index")  # doctest: +SKIP
        >>> qa.retrieve("Who runs the long-term shelter?", k=3, index=idx)[0].refs  # doctest: +SKIP
        (2,)
    """
    chosen = embedder if embedder is not None else query_embedder  # ONNX or torch
    return open_index(index_dir, corpus_dir, chosen, model, search_threads)


log = logging.getLogger(__name__)


class _ProgressFormat(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        warning = "warning: " if record.levelno >= logging.WARNING else ""
        return f"qa: {warning}{record.getMessage()}"


def show_progress(stream: TextIO | None = None) -> logging.Handler:
    """Show the default index's progress (``qa: building the index …``) on ``stream``.

    For the interfaces (CLI, web app); the library itself only logs. A second call replaces
    the first one's handler (each line is shown once). Returns the handler.
    """
    for old in [h for h in log.handlers if isinstance(h.formatter, _ProgressFormat)]:
        log.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_ProgressFormat())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # shown once, as these lines, not again by a root handler
    return handler


_DEFAULT: dict[tuple, tuple[tuple, LoadedIndex]] = {}
_DEFAULT_LOCK = threading.Lock()


def load_with_settings(
    settings: Settings,
    show_progress: bool | None = None,
    wait: float = 0.0,
    rebuild_corrupt: bool = False,
) -> LoadedIndex:
    """The index the settings name (directories, model, backend, threads, re-ranker), built
    first if needed (``wait``, ``rebuild_corrupt``: as for ``load_or_build``)."""
    idx = load_or_build(
        settings.index_dir,
        settings.corpus_dir,
        settings.model,
        show_progress,
        wait=wait,
        rebuild_corrupt=rebuild_corrupt,
        embedder=query_embedder(
            settings.model,
            settings.index_dir,
            settings.backend,
            settings.device,
            settings.query_threads,
        ),
        exact_max_chunks=settings.exact_max_chunks,
        max_file_bytes=settings.max_file_bytes,
    )
    idx.search_threads = settings.search_threads
    idx.reranker = reranker_for(settings.reranker)
    idx.use_answerhood = settings.answerhood
    return idx


def _signature(corpus_dir: Path) -> tuple:
    try:
        files = corpus_files(corpus_dir)
    except QAError:
        return ()
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def load_or_build(
    index_dir: str | Path,
    corpus_dir: str | Path,
    model: str | None = None,
    show_progress: bool | None = None,
    wait: float = 0.0,
    rebuild_corrupt: bool = False,
    embedder: Embedder | None = None,
    exact_max_chunks: int = EXACT_MAX_CHUNKS,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> LoadedIndex:
    """Load the index, first building it (logging so on ``qa.api``) if it is missing or stale.

    With ``rebuild_corrupt`` a damaged index is rebuilt too instead of refused (the web app
    does this at start-up; the library and CLI report it and say to run `qa build`).
    """
    rebuild: tuple[type[Exception], ...] = (IndexMissingError, StaleIndexError)
    if rebuild_corrupt:
        rebuild += (CorruptIndexError,)
    try:
        return load_index(index_dir, corpus_dir, model, embedder)
    except rebuild as e:
        log.info("%s", e)
        log.info("building the index from %s into %s …", corpus_dir, index_dir)
        # the build needs the full model (an ONNX export only encodes questions)
        builder = None if isinstance(embedder, OnnxEmbedder) else embedder
        report = build_index(
            corpus_dir, index_dir, model, show_progress=show_progress, embedder=builder,
            wait=wait, exact_max_chunks=exact_max_chunks, max_file_bytes=max_file_bytes,
        )  # fmt: skip
        for w in report.warnings:
            log.warning("%s", w)
        log.info("%s", report.summary())
        return load_index(index_dir, corpus_dir, model, embedder)


def default_index(show_progress: bool | None = None) -> LoadedIndex:
    """The index the ``QA_*`` settings name (``corpus/`` and ``index/`` under the current
    directory by default), loaded once; built first if missing or stale."""
    settings = Settings.from_env()
    key = (settings, str(settings.corpus_dir.resolve()), str(settings.index_dir.resolve()))
    with _DEFAULT_LOCK:
        sig = _signature(settings.corpus_dir)
        cached = _DEFAULT.get(key)
        if cached and cached[0] == sig:
            return cached[1]
        idx = load_with_settings(settings, show_progress)
        _DEFAULT[key] = (sig, idx)
        return idx


def retrieve(question: str, k: int = 5, index: LoadedIndex | None = None) -> list[Passage]:
    """The ``k`` passages that best match ``question``, best first.

    Uses ``index`` if given, else ``corpus/`` and ``index/`` of the current directory (built
    first if missing or stale; ``show_progress`` shows that on stderr).

    Example:
        >>> import qa
        >>> qa.retrieve("How many trafficking cases were investigated in 2007?")[0].refs
        ... # doctest: +SKIP
        (2,)
    """
    question, k = clean_question(question), check_k(k)  # refuse bad input before any build
    idx = index or default_index()
    with idx.serving():
        return retrieve_with_index(idx, question, k)


def answer(
    question: str, k: int = 5, history: list[str] | None = None, index: LoadedIndex | None = None
) -> Answer:
    """Answer a question with verbatim quotes from the source and its reference numbers.

    ``history`` holds the previous questions of a conversation, so that a follow-up such as
    "and how many arrests?" is understood. ``found`` is False when the text does not answer;
    the closest passages are then in ``passages`` and the markdown says so.

    Example:
        >>> import qa
        >>> a = qa.answer("Who runs the long-term shelter for victims?")  # doctest: +SKIP
        >>> a.quotes[0].refs, a.references[0].number  # doctest: +SKIP
        ((2,), 2)
    """
    idx = index or default_index()
    with idx.serving():
        return answer_with_index(idx, question, k, history)


def verify(text: str, index: LoadedIndex | None = None) -> Verification:
    """Is ``text`` in the source verbatim, and are its reference numbers the source's?

    Whitespace and quote marks (straight or curly) are the only differences allowed. A match
    gives the document, section, offsets and the source's refs for the span; the text's own
    markers ("… 2003.[1]") are checked against them. When the text is not verbatim, the
    closest sentence and a word-level diff say what differs.

    Example:
        >>> import qa
        >>> v = qa.verify("Laos ratified the 2000 UN TIP Protocol in September 2003.[1]")
        ... # doctest: +SKIP
        >>> v.verbatim, v.refs, v.refs_ok  # doctest: +SKIP
        (True, (1,), True)
    """
    check_text(text)  # refuse bad input before any build
    idx = index or default_index()
    with idx.serving():
        return verify_with_index(idx, text)

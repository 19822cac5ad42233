"""Readers under a deadline: a file whose markup makes a parser slow is skipped, not waited on.

Why by hand: the parsers we use (mwparserfromhell's C tokenizer, lexbor) cannot be interrupted
from Python, and some inputs make them quadratic (wikitext with thousands of unbalanced ``{{a|``
or crossed ``{{a|[[b|}}]]``, 200,000 nested ``<div>``: minutes per file, with the build lock
held). No library bounds that, and a pre-check of brace balance cannot: one crossed pair before a
2 MB body costs about a second. So markup forms (HTML, wikitext) are read in a worker process
that is killed at the deadline; plain text and Markdown, read in linear time, stay in-process.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from ..errors import CorpusError
from ..readers import read_text
from ..readers.document import Document

#: Seconds a markup file may take to read: this much, plus READ_SECONDS_PER_MB per megabyte
#: (a 2 MB wikitext article reads in about 7 s on a busy core).
READ_SECONDS = 20.0
READ_SECONDS_PER_MB = 10.0
_MARKUP = (".html", ".htm", ".wiki", ".wikitext")


def _is_markup(text: str, suffix: str) -> bool:
    suffix = suffix.lower()
    if suffix in _MARKUP:
        return True
    head = text[:1000].lstrip().lower()
    return suffix == ".txt" and head.startswith(("<!doctype html", "<html"))


class BoundedReader:
    """``read_text`` with a deadline per markup file; one worker process, reused, per build.

    Use as a context manager: the worker is stopped on exit.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> BoundedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:  # a parser stuck in C ignores everything but SIGKILL
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
        pool.shutdown(wait=not kill, cancel_futures=True)

    def read(self, text: str, doc_id: str, path: str, suffix: str) -> Document:
        """The document, or CorpusError when reading it takes longer than its deadline."""
        if not _is_markup(text, suffix):
            return read_text(text, doc_id, path, suffix)
        seconds = READ_SECONDS + READ_SECONDS_PER_MB * len(text) / 1e6
        if self._pool is None:
            # spawn, not fork: the caller may hold threads (the web app, torch) and locks
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        future = self._pool.submit(read_text, text, doc_id, path, suffix)
        try:
            return future.result(timeout=seconds)
        except FutureTimeout:
            self.close(kill=True)
            raise CorpusError(
                f"{path}: reading it took over {seconds:.0f} s (deeply nested or unbalanced "
                "markup); fix the markup or save the text as .txt"
            ) from None
        except BrokenProcessPool:
            self.close(kill=True)
            raise CorpusError(
                f"{path}: the reader stopped on it (out of memory or crashed); fix the markup "
                "or save the text as .txt"
            ) from None

"""The MCP tools — ``answer``, ``retrieve``, ``verify`` — as plain functions for Gradio's server.

Gradio's MCP server (``launch(mcp_server=True)``) makes every public API endpoint a tool named
after its function, described by its docstring (the ``Args:`` lines describe the parameters)
and typed by its hints, so these functions carry the descriptions an agent reads (Gradio
keeps the first line of each ``Args:`` entry only: keep them to one line). They take
strings and return JSON-ready dicts (``retrieve`` a list of them, as the web API's /retrieve
always has), the same shapes as the web API. ``make_tools`` binds them to an index given as a
callable, so that the app's rebuilt index is the one they use.

Wiring, in the app's ``gr.Blocks``::

    for fn in make_tools(lambda: state.index, error=lambda m: gr.Error(m, print_exception=False)):
        gr.api(fn, api_name=fn.__name__)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ..answering.answer import answer_with_index
from ..answering.question import clean_history
from ..answering.retrieval import retrieve_with_index
from ..answering.verify import verify_with_index
from ..errors import QAError
from ..index.loaded import LoadedIndex

#: Passages searched for an answer unless the caller says otherwise.
DEFAULT_K = 5


def one_line(message: str) -> str:
    """An error message as one line (tool errors are shown to agents as they are)."""
    return " ".join(message.split())


def make_tools(
    index: Callable[[], LoadedIndex],
    error: Callable[[str], Exception] | None = None,
) -> list[Callable[..., Any]]:
    """The functions ``answer``, ``retrieve`` and ``verify`` over ``index()``.

    A refused input (a ``QAError`` such as an empty question) is raised as
    ``error(one-line message)`` when ``error`` is given (the app passes ``gr.Error``, so the
    message reaches the client), else as it is.
    """

    def fail(e: QAError) -> Exception:
        return error(one_line(str(e))) if error else e

    def answer(question: str, k: int = DEFAULT_K, history: list[str] | None = None) -> dict:
        """Answer a question about the source text with verbatim quotes and its own citations.

        The answer never paraphrases: every quote is an exact span of the source, tagged with
        the source's own reference numbers, and the references list gives the full entries.
        When the source does not answer, found is false and no quote is given: say so rather
        than guess.

        Args:
            question: the question, in plain words (up to 1000 characters).
            k: how many passages to draw quotes from, 1 to 50 (default 5).
            history: earlier questions of the conversation, oldest first (for a follow-up).

        Returns:
            found: whether the source answers the question
            quotes: verbatim spans, each with text, refs (the source's [n]), section, start, end
            references: the full entry of every number the quotes cite
            markdown: the answer as Markdown, each quote tagged with its [n]
            confidence: the calibrated probability that the source answers (0 to 1)
            reasons: when not found, what the closest passage lacks
        """
        try:
            # the app's own checks: a list of questions or nothing ("history item 2: …")
            hist = clean_history(history)
            return answer_with_index(index(), question, k=k, history=hist).to_dict()
        except QAError as e:
            raise fail(e) from None

    def retrieve(question: str, k: int = DEFAULT_K) -> list[dict]:
        """Search the source text: the k passages that best match a question, best first.

        Passages are verbatim spans of the source with the source's reference numbers; use
        answer for a cited answer, and this to see more of the text around a topic.

        Args:
            question: what to look for, in plain words (up to 1000 characters).
            k: how many passages, 1 to 50 (default 5).

        Returns:
            passages: a list, each with text (verbatim), refs (the source's [n]), section, score
        """
        try:
            return [asdict(p) for p in retrieve_with_index(index(), question, k)]
        except QAError as e:
            raise fail(e) from None

    def verify(text: str) -> dict:
        """Check that a quotation is verbatim in the source and that its [n] are the source's.

        Use it before quoting the source: only whitespace and straight/curly quote marks may
        differ. The text may carry the reference markers it claims, e.g. "... in 2003.[1]" or
        "...[7][8][9]"; each claim is checked against the source.

        Args:
            text: the quoted text, with or without its [n] markers (up to 5000 characters).

        Returns:
            ok: the text is verbatim and every [n] it claims is the source's
            verbatim: the text is in the source (quote, section, start, end say where)
            refs: the source's [n] for the text (or for the closest sentence)
            ref_checks: one per claimed marker run, with claimed, source, wrong and missing
            closest: when not verbatim, the nearest sentence of the source, with similarity
            diff: when not verbatim, a word-level diff from closest to the text
        """
        try:
            return verify_with_index(index(), text).to_dict()
        except QAError as e:
            raise fail(e) from None

    return [answer, retrieve, verify]

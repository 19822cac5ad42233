"""What the web app does, without Gradio: the shared index with rebuild, one chat turn, and
the rendering of answers, sources and status.

``qa/app.py`` lays these out with Gradio. Everything the source or a user wrote
is escaped before it is shown: chat messages are Markdown, so text goes through
:func:`md_text`; the HTML panels go through :func:`html.escape`.

Example:
    >>> state = AppState.open(Settings.from_env())  # doctest: +SKIP
    >>> turn = chat_turn(state.index, "Who runs the long-term shelter?", 5, [])  # doctest: +SKIP
    >>> print(turn.reply)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .answer import answer_with_index
from .api import load_or_build
from .build import build_index
from .embedding import get_embedder
from .errors import (
    BuildInProgressError,
    QAError,
    QuestionError,
)
from .index import EXACT_MAX_CHUNKS, LoadedIndex, load_index
from .questions import check_k, clean_question
from .render import claim_marks, notes_of, tags, why_not
from .settings import Settings

log = logging.getLogger(__name__)

#: Previous questions passed to the answerer, so follow-ups ("and in 2018?") are understood.
HISTORY_TURNS = 5
NOT_FOUND = "The text does not say."
EMPTY_PROMPT = "Type a question about the text, or click one of the examples below."


# ------------------------------------------------------------------------------- state


class AppState:
    """The loaded index shared by every session; swapped atomically by :meth:`rebuild`.

    Readers take ``state.index`` once per request, so a question asked during a rebuild is
    answered from the old index, and never from half of the new one.
    """

    def __init__(
        self,
        corpus_dir: Path,
        index_dir: Path,
        index: LoadedIndex,
        exact_max_chunks: int = EXACT_MAX_CHUNKS,
    ):
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = Path(index_dir)
        self.exact_max_chunks = exact_max_chunks  # for rebuilds
        self._index = index
        self._swap_lock = threading.Lock()
        self._build_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, show_progress: bool | None = None) -> AppState:
        """Load the index, building it first (with progress on stderr) if missing or stale."""
        idx = load_or_build(
            settings.index_dir,
            settings.corpus_dir,
            settings.model,
            show_progress,
            wait=600.0,
            rebuild_corrupt=True,
            embedder=get_embedder(settings.model, settings.device, settings.query_threads),
            exact_max_chunks=settings.exact_max_chunks,
        )
        idx.search_threads = settings.search_threads
        return cls(settings.corpus_dir, settings.index_dir, idx, settings.exact_max_chunks)

    @property
    def index(self) -> LoadedIndex:
        return self._index

    @property
    def building(self) -> bool:
        return self._build_lock.locked()

    def warm_up(self) -> threading.Thread:
        """Load the model in the background so the first question is not slow."""

        def run():
            try:
                self.index.encode("warm up")
            except Exception as e:  # the first real question will report it properly
                log.warning("model warm-up failed: %s", e)

        t = threading.Thread(target=run, name="qa-warm-up", daemon=True)
        t.start()
        return t

    def status(self) -> dict:
        m = self.index.manifest
        return {
            "documents": m.counts["documents"],
            "chunks": m.counts["chunks"],
            "sentences": m.counts.get("sentences"),
            "model": m.model,
            "built_at": m.built_at,
            "build_seconds": m.build_seconds,
            "files": sorted(m.corpus_files),
            "corpus_dir": str(self.corpus_dir),
            "index_dir": str(self.index_dir),
            "building": self.building,
        }

    def rebuild(self) -> dict:
        """Rebuild from the corpus and swap the new index in; refuse if a build is running.

        Returns a JSON-ready dict: ``ok``, ``message``, ``status``, ``report`` (after a build).
        """
        if not self._build_lock.acquire(blocking=False):
            return self._result("A rebuild is already running; wait for it to finish.")
        try:
            old = self.index
            report = build_index(
                self.corpus_dir,
                self.index_dir,
                embedder=old.embedder,
                show_progress=False,
                exact_max_chunks=self.exact_max_chunks,
            )
            new = load_index(self.index_dir, None, embedder=old.embedder)
            new.search_threads = old.search_threads
            with self._swap_lock:
                self._index = new
            msg = f"Rebuilt: {report.summary()}."
            if report.changed_files:
                msg += " Changed files: " + ", ".join(report.changed_files) + "."
            if report.warnings:
                msg += " Warnings: " + "; ".join(report.warnings)
            log.info(msg)
            return self._result(msg, report)
        except BuildInProgressError:
            return self._result(
                f"Another process is building {self.index_dir}; the rebuild was refused. "
                "Try again when it has finished."
            )
        except QAError as e:
            return self._result(f"Rebuild failed, the previous index is still in use: {e}")
        finally:
            self._build_lock.release()

    def _result(self, message: str, report=None) -> dict:
        return {
            "ok": report is not None,
            "message": message,
            "status": self.status(),
            "report": asdict(report) if report is not None else None,
        }


# ---------------------------------------------------------------------------- rendering

_MD_ESCAPE = re.compile(r"([\\`*_\[\]|~$])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def md_text(text: str) -> str:
    """``text`` as Markdown that renders to exactly that text: no HTML, no formatting."""
    text = " ".join(text.split())
    text = html.escape(text, quote=False)
    text = _MD_ESCAPE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def one_line(msg: str) -> str:
    """An error message as one sentence: capitalized, with a final period."""
    msg = msg.strip()
    if not msg.startswith("k "):  # k is the parameter's name, keep it as typed
        msg = msg[:1].upper() + msg[1:]
    return msg.rstrip(".") + "."


def _missing_tags(text: str, refs, pages=None) -> str:
    """Tags for the refs not already marked inside the verbatim ``text``."""
    return tags(tuple(r for r in refs if f"[{r}]" not in text), pages)


def _where(title: str, section: str) -> str:
    return f"{title}, {section}" if section else title


def answer_markdown(ans) -> str:
    """The chat message for an Answer: escaped block quotes with [n] tags, then References."""
    lines: list[str] = []
    if ans.found:
        for q in ans.quotes:
            marks = _missing_tags(q.text, q.refs, q.pages)
            if not q.refs:
                marks = "(no reference in the source)"
            lines.append(f"> {md_text(q.text)}" + (f" **{md_text(marks)}**" if marks else ""))
            lines.append(f"> — *{md_text(_where(q.title, q.section))}*")
            lines.extend(f"> *{md_text(m)}*" for m in claim_marks(q))
            lines.append("")
        if notes_of(ans):
            lines += ["**Notes**", ""]
            lines.extend(f"- {md_text(f'[{label}] {text}')}" for label, text in notes_of(ans))
            lines.append("")
        if ans.references:
            lines.append("**References**")
            lines.append("")
            lines.extend(f"- {md_text(f'[{r.number}] {r.text}')}" for r in ans.references)
        return "\n".join(lines).rstrip()
    lines.append(f"**{NOT_FOUND}** No passage of the source answers this question.")
    if getattr(ans, "reasons", None):
        lines += ["", md_text(why_not(ans.reasons))]
    if ans.passages:
        lines += ["", "Closest passages (for context; they do not answer the question):", ""]
        for p in ans.passages[:2]:
            lines.append(f"> {md_text(p.text)} {md_text(_missing_tags(p.text, p.refs))}".rstrip())
            lines.append(f"> — *{md_text(_where(p.title, p.section))}*")
            lines.append("")
    return "\n".join(lines).rstrip()


def _spans(quotes, doc_id: str, start: int, end: int) -> list[tuple[int, int]]:
    """Quote spans inside [start, end) of a document, merged, relative to ``start``."""
    spans = sorted(
        (max(q.start, start) - start, min(q.end, end) - start)
        for q in quotes
        if q.doc_id == doc_id and q.start < end and q.end > start
    )
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def marked_html(text: str, spans) -> str:
    """``text`` HTML-escaped, with each span wrapped in <mark>."""
    out, pos = [], 0
    for s, e in spans:
        out += [html.escape(text[pos:s]), "<mark>", html.escape(text[s:e]), "</mark>"]
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


def sources_html(ans) -> str:
    """The sources panel: each retrieved passage with section, scores and quotes marked."""
    if ans is None:
        return (
            '<div class="qa-empty">Ask a question: the passages it was answered from will '
            "appear here, with the quoted sentences highlighted.</div>"
        )
    if not ans.passages:
        return '<div class="qa-empty">No passages retrieved.</div>'
    cards = []
    for rank, p in enumerate(ans.passages, 1):
        quoted = _spans(ans.quotes, p.doc_id, p.start, p.end)
        badge = '<span class="qa-badge">quoted</span>' if quoted else ""
        cards.append(
            f'<div class="qa-passage{" qa-quoted" if quoted else ""}">'
            f'<div class="qa-meta"><span><b>#{rank}</b> · '
            f"{html.escape(_where(p.title, p.section))} {html.escape(tags(p.refs))} {badge}"
            '</span><span class="qa-score" title="fused rank score · dense cosine · BM25">'
            f"score {p.score:.4f} · dense {p.dense_score:.2f} · BM25 {p.lexical_score:.1f}"
            "</span></div>"
            f'<div class="qa-text">{marked_html(p.text, quoted)}</div></div>'
        )
    return "".join(cards)


def context_html(index: LoadedIndex, ans, i: int) -> str:
    """Passage ``i`` of ``ans`` inside its paragraph and the paragraphs around it."""
    p = ans.passages[i]
    try:
        text = index.document_text(p.doc_id)
    except KeyError:
        return '<div class="qa-empty">This document is no longer in the index.</div>'
    if text[p.start : p.end] != p.text:
        return '<div class="qa-empty">The index was rebuilt; ask the question again.</div>'
    # One paragraph either side: paragraphs are separated by blank lines in the source.
    lo = text.rfind("\n\n", 0, p.start)
    lo = text.rfind("\n\n", 0, lo) if lo > 0 else -1
    hi = text.find("\n\n", p.end)
    hi = text.find("\n\n", hi + 2) if hi >= 0 else -1
    lo, hi = (0 if lo < 0 else lo + 2), (len(text) if hi < 0 else hi)
    window, spans = text[lo:hi], _spans(ans.quotes, p.doc_id, lo, hi)
    s, e = p.start - lo, p.end - lo
    # The passage itself is framed; quote marks inside it are kept.
    rendered = (
        marked_html(window[:s], _clip(spans, 0, s))
        + '<span class="qa-here">'
        + marked_html(window[s:e], _clip(spans, s, e))
        + "</span>"
        + marked_html(window[e:], _clip(spans, e, hi - lo))
    )
    paragraphs = "".join(f"<p>{para}</p>" for para in rendered.split("\n\n") if para.strip())
    return (
        f'<div class="qa-context"><div class="qa-meta">{html.escape(_where(p.title, p.section))}'
        f" · characters {p.start}–{p.end}</div>{paragraphs}</div>"
    )


def _clip(spans, lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(s, lo) - lo, min(e, hi) - lo) for s, e in spans if s < hi and e > lo]


def status_markdown(state: AppState) -> str:
    """The Index tab: counts, model, build time and corpus files of the index in use."""
    s = state.status()
    built = (s["built_at"] or "?").replace("T", " ").replace("Z", " UTC")
    files = ", ".join(md_text(f) for f in s["files"][:5]) or "none"
    if len(s["files"]) > 5:
        files += f" and {len(s['files']) - 5} more"
    took = s["build_seconds"]
    return (
        f"**{s['documents']}** document(s) · **{s['chunks']}** chunks · "
        f"**{s['sentences']}** sentences  \n"
        f"**Model:** {md_text(s['model'])}  \n**Built:** {built}"
        + (f" (took {took:.2f} s)" if took is not None else "")
        + f"  \n**Corpus:** {md_text(s['corpus_dir'])}: {files}"
        + f"  \n**Index:** {md_text(s['index_dir'])}"
    )


def status_line(state: AppState) -> str:
    s = state.status()
    built = (s["built_at"] or "?").replace("T", " ").replace("Z", " UTC")
    model = s["model"].rsplit("/", 1)[-1]
    return (
        f"Index: {s['documents']} document(s) · {s['chunks']} chunks · "
        f"model {md_text(model)} · built {built}"
    )


# ----------------------------------------------------------------------------- a chat turn


@dataclass
class Turn:
    """One question and its reply, ready to show.

    Attributes:
        user: Markdown of the user's message (None: show none, e.g. for an empty question).
        reply: Markdown of the reply.
        question: the cleaned question to remember for follow-ups (None if it was refused).
        answer: the Answer, when one was computed.
        keep_input: leave the text in the input box so that it can be corrected.
        contexts: HTML of each retrieved passage in its surrounding paragraphs.
        choices: (label, position) of each passage, for a picker.
        picked: the passage to show first: the first one quoted from.
        sources_head: Markdown heading of the sources panel.
    """

    user: str | None
    reply: str
    question: str | None = None
    answer: object | None = None
    keep_input: bool = False
    contexts: list[str] = field(default_factory=list)
    choices: list[tuple[str, int]] = field(default_factory=list)
    picked: int | None = None
    sources_head: str = ""


def chat_turn(index: LoadedIndex, question, k, history: list[str]) -> Turn:
    """Validate, answer and render one chat question against ``index``; never raises QAError."""
    raw = question if isinstance(question, str) else ""
    if not raw.strip():
        return Turn(None, EMPTY_PROMPT)
    try:
        k = check_k(int(round(float(k))))
        q = clean_question(raw)
    except (QuestionError, ValueError, TypeError) as e:
        shown = raw if len(raw) <= 200 else raw[:200] + " …"
        return Turn(md_text(shown), f"**{md_text(one_line(str(e)))}**", keep_input=True)
    try:
        with index.serving():
            ans = answer_with_index(index, q, k=k, history=list(history)[-HISTORY_TURNS:])
    except QAError as e:
        return Turn(md_text(q), f"**Error:** {md_text(one_line(str(e)))}", keep_input=True)
    quoted = [i for i, p in enumerate(ans.passages) if _spans(ans.quotes, p.doc_id, p.start, p.end)]
    searched = f"  \nSearched for: {md_text(ans.query)}" if ans.query and ans.query != q else ""
    return Turn(
        user=md_text(q),
        reply=answer_markdown(ans),
        question=q,
        answer=ans,
        contexts=[context_html(index, ans, i) for i in range(len(ans.passages))],
        choices=[
            (f"#{i + 1} · {p.section or p.title} · {p.text[:60]}…", i)
            for i, p in enumerate(ans.passages)
        ],
        picked=(quoted or [0])[0] if ans.passages else None,
        sources_head=f"**{len(ans.passages)}** passage(s) for *{md_text(q)}*{searched}  \n"
        f"Confidence that the text answers: {ans.confidence:.0%}",
    )

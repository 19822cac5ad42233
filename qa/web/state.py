"""What the web app does, without Gradio: the shared index with its rebuild rules, and one
chat turn.

``qa/web/app.py`` lays these out with Gradio; the conversation's HTML is :mod:`qa.web.chat_html`,
the side panels' :mod:`qa.web.panel_html`, the exact copy and export texts :mod:`qa.web.transcript`.
The Index tab is Markdown, so text shown there goes through :func:`md_text`.

Example:
    >>> state = AppState.open(Settings.from_env())  # doctest: +SKIP
    >>> turn = chat_turn(state.index, "Who runs the long-term shelter?", 5, [])  # doctest: +SKIP
    >>> print(turn.exchange.answer.quotes[0].text)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..answering.answer import answer_with_index
from ..answering.question import check_k, clean_question
from ..api import load_index, load_with_settings
from ..errors import BuildInProgressError, QAError, QuestionError
from ..index.build import BuildReport, build_index
from ..index.format import EXACT_MAX_CHUNKS
from ..index.loaded import LoadedIndex
from ..index.onnx_embedding import OnnxEmbedder
from ..index.records import Manifest
from ..index.sources import MAX_FILE_BYTES, corpus_fingerprint
from ..index.storage import build_lock
from ..settings import Settings
from .panel_html import context_html, passage_references, spans_in
from .text import md_text, one_line
from .transcript import Exchange, answer_markdown, outcome, shown_passages, written_lines

__all__ = [  # answer_markdown: the Markdown of an answer, as the chat once showed it
    "EMPTY_PROMPT", "HISTORY_TURNS", "AppState", "Turn", "answer_markdown", "chat_turn",
    "index_version", "is_loopback", "md_text", "one_line", "rebuild_message",
    "rebuild_off_reason", "status_markdown", "version_line",
]  # fmt: skip

log = logging.getLogger(__name__)

#: Previous questions passed to the answerer, so follow-ups ("and in 2018?") are understood.
HISTORY_TURNS = 5
EMPTY_PROMPT = "Type a question about the text, or click one of the examples below."


# ------------------------------------------------------------------------------- state


def _built(m: Manifest) -> str:
    built = (m.built_at or "?").replace("T", " ").replace("Z", " UTC")
    return re.sub(r":\d\d(\.\d+)?(?= UTC)", "", built)  # minutes are enough


def index_version(m: Manifest) -> str:
    """Which index answers: a hash of what it was built from (the corpus files' hashes, the
    model, the chunker and the format), so that a rebuild that changed nothing keeps it."""
    what = [sorted(m.corpus_files.items()), m.model, m.chunker, m.format_version]
    digest = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
    return f"content {digest[:12]}"


def is_loopback(host: str) -> bool:
    """``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def rebuild_off_reason(settings: Settings) -> str:
    """Why the app offers no rebuilds ("" when it does): it listens beyond this machine."""
    if settings.allow_rebuild or is_loopback(settings.host):
        return ""
    return (
        f"Rebuilding is off: this app listens on {settings.host}, beyond this machine. "
        "Start it with --allow-rebuild to allow rebuilds from the page and the API."
    )


def rebuild_message(report: BuildReport) -> str:
    """What a rebuild did, in plain words: "Rebuilt: 1 document, nothing changed."."""
    docs = f"{report.documents} document{'s' if report.documents != 1 else ''}"
    parts = [
        f"{n} passage{'s' if n != 1 else ''} {verb}"
        for n, verb in ((report.chunks_added, "re-read"), (report.chunks_removed, "removed"))
        if n
    ]
    if not parts and not report.changed_files:
        msg = f"Rebuilt: {docs}, nothing changed."
    else:
        msg = f"Rebuilt: {docs}; {', '.join(parts) or 'no passage changed'}."
    if report.changed_files:
        msg += " Changed: " + ", ".join(report.changed_files) + "."
    if report.warnings:
        msg += " Warnings: " + "; ".join(report.warnings)
    return msg


class AppState:
    """The loaded index shared by every session; swapped atomically by :meth:`rebuild`.

    Readers take ``state.index`` once per request, so a question asked during a rebuild is
    answered from the old index, and never from half of the new one.

    Rebuilds: one at a time; none when ``rebuild_off`` says why; and, with
    ``rebuild_interval`` > 0, at most one per that many seconds unless the corpus changed.
    ``show_paths``: the status gives absolute paths, not just the folders' names.
    """

    def __init__(
        self,
        corpus_dir: Path,
        index_dir: Path,
        index: LoadedIndex,
        exact_max_chunks: int = EXACT_MAX_CHUNKS,
        *,
        max_file_bytes: int = MAX_FILE_BYTES,
        rebuild_off: str = "",
        rebuild_interval: float = 0.0,
        show_paths: bool = False,
    ):
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = Path(index_dir)
        self.exact_max_chunks, self.max_file_bytes = exact_max_chunks, max_file_bytes  # rebuilds
        self.rebuild_off = rebuild_off
        self.rebuild_interval = rebuild_interval
        self.show_paths = show_paths
        self.rebuilds = 0
        self._last_rebuild: float | None = None
        self._index = index
        #: when the version in use was first built: a rebuild that changed nothing keeps it
        self.version_built = _built(index.manifest)
        self._swap_lock = threading.Lock()
        self._build_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, show_progress: bool | None = None) -> AppState:
        """Load the index, building it first (with progress on stderr) if missing or stale."""
        idx = load_with_settings(settings, show_progress, wait=600.0, rebuild_corrupt=True)
        return cls(
            settings.corpus_dir,
            settings.index_dir,
            idx,
            settings.exact_max_chunks,
            max_file_bytes=settings.max_file_bytes,
            rebuild_off=rebuild_off_reason(settings),
            rebuild_interval=settings.rebuild_interval,
            show_paths=settings.status_paths,
        )

    @property
    def index(self) -> LoadedIndex:
        return self._index

    @property
    def building(self) -> bool:
        return self._build_lock.locked()

    def warm_up(self) -> threading.Thread:
        """Load the model in the background so the first question is not slow."""

        def run() -> None:
            try:
                self.index.encode("warm up")
            except Exception as e:  # the first real question will report it properly
                log.warning("model warm-up failed: %s", e)

        t = threading.Thread(target=run, name="qa-warm-up", daemon=True)
        t.start()
        return t

    def _path(self, p: Path) -> str:
        return str(p.resolve()) if self.show_paths else p.name

    def _model(self, model: str) -> str:
        """The model's name; a local model's folder by its name only, as the corpus's."""
        if self.show_paths or not (os.path.isabs(model) or os.path.exists(model)):
            return model
        return Path(model).name

    def status(self) -> dict:
        m = self.index.manifest
        return {
            "documents": m.counts["documents"],
            "chunks": m.counts["chunks"],
            "sentences": m.counts.get("sentences"),
            "model": self._model(m.model),
            "built_at": m.built_at,
            "build_seconds": m.build_seconds,
            "version": index_version(m),
            "files": sorted(m.corpus_files),
            "corpus_dir": self._path(self.corpus_dir),
            "index_dir": self._path(self.index_dir),
            "building": self.building,
            "rebuild_allowed": not self.rebuild_off,
            "rebuild_interval_s": self.rebuild_interval,
            "rebuilds": self.rebuilds,
        }

    def _too_soon(self) -> str:
        """Why a rebuild now would be one too many ("" if it may run)."""
        if self.rebuild_interval <= 0 or self._last_rebuild is None:
            return ""
        ago = time.monotonic() - self._last_rebuild
        if ago >= self.rebuild_interval:
            return ""
        try:
            if corpus_fingerprint(self.corpus_dir) != self.index.manifest.corpus_files:
                return ""  # the corpus changed: rebuild at once
        except (QAError, OSError):
            return ""  # let the build say what is wrong with the corpus
        wait = max(1, math.ceil(self.rebuild_interval - ago))
        return (
            f"The index was rebuilt {ago:.0f} s ago and no corpus file has changed since; "
            f"try again in {wait} s."
        )

    def rebuild(self) -> dict:
        """Rebuild from the corpus and swap the new index in, unless refused (see the class).

        Returns a JSON-ready dict: ``ok``, ``message``, ``status``, ``report`` (after a build).
        """
        if self.rebuild_off:
            return self._result(self.rebuild_off)
        if not self._build_lock.acquire(blocking=False):
            return self._result("A rebuild is already running; wait for it to finish.")
        try:
            with build_lock(self.index_dir):  # only a probe: build_index takes it again
                pass
            if why := self._too_soon():
                return self._result(why)
            return self._rebuild()
        except BuildInProgressError:
            return self._result(
                f"Another process is building {self.index_dir.name}; the rebuild was refused. "
                "Try again when it has finished."
            )
        finally:
            self._build_lock.release()

    def _rebuild(self) -> dict:
        old = self.index
        try:
            # a build needs the full model: the ONNX export only encodes questions
            builder = None if isinstance(old.embedder, OnnxEmbedder) else old.embedder
            report = build_index(
                self.corpus_dir,
                self.index_dir,
                old.manifest.model,
                embedder=builder,
                show_progress=False,
                exact_max_chunks=self.exact_max_chunks,
                max_file_bytes=self.max_file_bytes,
            )
            new = load_index(self.index_dir, None, embedder=old.embedder)
        except BuildInProgressError:
            raise
        except QAError as e:
            self._last_rebuild = time.monotonic()
            return self._result(f"Rebuild failed, the previous index is still in use: {e}")
        new.search_threads, new.reranker = old.search_threads, old.reranker
        with self._swap_lock:
            if index_version(new.manifest) != index_version(old.manifest):
                self.version_built = _built(new.manifest)
            self._index = new
        self._last_rebuild = time.monotonic()
        self.rebuilds += 1
        msg = rebuild_message(report)
        log.info(msg)
        return self._result(msg, report)

    def _scrub(self, text: str) -> str:
        """``text`` with the corpus and index folders by name, other absolute paths (a link's
        target outside the corpus) by their last name only, unless paths are to be shown."""
        if self.show_paths:
            return text
        for p in (self.corpus_dir, self.index_dir):
            for shown in sorted({str(p.resolve()), str(p)} - {p.name}, key=len, reverse=True):
                text = text.replace(shown, p.name)
        return _ABSOLUTE.sub(lambda m: "…/" + m.group(1), text)

    def _result(self, message: str, report: BuildReport | None = None) -> dict:
        shown = asdict(report) if report is not None else None
        if shown is not None:  # a build's report names files too
            shown["index_dir"] = self._scrub(shown["index_dir"])
            shown["warnings"] = [self._scrub(w) for w in shown["warnings"]]
        return {
            "ok": report is not None,
            "message": self._scrub(message),
            "status": self.status(),
            "report": shown,
        }


# ---------------------------------------------------------------------------- rendering

_ABSOLUTE = re.compile(r"(?<![\w.~-])/(?:[^\s/;,()]+/)+([^\s/;,()]+)")


def status_markdown(state: AppState) -> str:
    """The Index tab: counts, model, version and corpus files of the index in use."""
    s = state.status()
    took = s["build_seconds"]
    files = ", ".join(md_text(f) for f in s["files"][:5]) or "none"
    if len(s["files"]) > 5:
        files += f" and {len(s['files']) - 5} more"
    return (
        f"**{s['documents']}** document(s) · **{s['chunks']}** passages (chunks) · "
        f"**{s['sentences']}** sentences  \n"
        f"**Version:** {md_text(s['version'])}"
        + (f" (took {took:.1f} s)" if took is not None else "")
        + f"  \n**Model:** {md_text(s['model'])}"
        + f"  \n**Files:** {files} (in the folder {md_text(s['corpus_dir'])})"
        + f"  \n**Index folder:** {md_text(s['index_dir'])}"
    )


def version_line(state: AppState) -> str:
    """The page's line saying which index answers (and since when)."""
    version = md_text(f"{index_version(state.index.manifest)}, built {state.version_built}")
    return f"Answers come from the index {version}."


# ----------------------------------------------------------------------------- a chat turn


@dataclass
class Turn:
    """One question and its reply, ready to show.

    Attributes:
        exchange: what the conversation keeps of it.
        keep_input: leave the text in the input box so that it can be corrected.
        contexts: HTML of each retrieved passage in its surrounding paragraphs.
        choices: (label, position) of each passage, for a picker.
        picked: the passage to show first: the first one quoted from.
    """

    exchange: Exchange
    keep_input: bool = False
    contexts: list[str] = field(default_factory=list)
    choices: list[tuple[str, int]] = field(default_factory=list)
    picked: int | None = None


def chat_turn(index: LoadedIndex, question: object, k: float | str, history: list[str]) -> Turn:
    """Validate, answer and render one chat question against ``index``; never raises QAError."""
    raw = question if isinstance(question, str) else ""
    if not raw.strip():
        return Turn(Exchange(None, None, notice=EMPTY_PROMPT))
    try:
        k = check_k(math.floor(float(k) + 0.5))  # as the slider rounds: 2.5 is 3
        q = clean_question(raw)
    except (QuestionError, ValueError, TypeError, OverflowError) as e:
        shown = raw if len(raw) <= 200 else raw[:200] + " …"
        return Turn(Exchange(shown, None, notice=one_line(str(e))), keep_input=True)
    try:
        with index.serving():
            ans = answer_with_index(index, q, k=k, history=list(history)[-HISTORY_TURNS:])
    except QAError as e:
        return Turn(Exchange(q, None, notice="Error: " + one_line(str(e))), keep_input=True)
    refs = (
        ans.references
        if outcome(ans) != "not_found"
        else passage_references(index, shown_passages(ans))
    )
    version = index_version(index.manifest)
    quoted = [
        i for i, p in enumerate(ans.passages) if spans_in(ans.quotes, p.doc_id, p.start, p.end)
    ]
    return Turn(
        Exchange(q, q, ans, tuple(refs), version=version, k=k, written=written_lines(index, ans)),
        contexts=[context_html(index, ans, i) for i in range(len(ans.passages))],
        choices=[
            (f"#{i + 1} · {p.section or p.title} · {p.text[:60]}…", i)
            for i, p in enumerate(ans.passages)
        ],
        picked=(quoted or [0])[0] if ans.passages else None,
    )

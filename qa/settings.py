"""Settings: every ``QA_*`` environment variable, read once and checked, at the edges.

The ``qa`` command, the web app and the default index call :meth:`Settings.from_env` once and
pass the values down as arguments; nothing below them reads the environment. A bad value is a
:class:`~qa.errors.ConfigError` that names the variable, what it must be and what it got, so
the edges can show it as one line. An empty variable counts as unset.

Example:
    >>> Settings.from_env({"QA_PORT": "8080", "QA_INDEX_DIR": "/tmp/idx"}).port
    8080
    >>> Settings.from_env({"QA_SEARCH_THREADS": "two"})
    Traceback (most recent call last):
    ...
    qa.errors.ConfigError: QA_SEARCH_THREADS must be a whole number from 1 to 64, got 'two'
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: The longest part of a bad value repeated in an error message.
_SHOWN_CHARS = 40


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live, which model runs where, and where the app listens.

    Each field's default is what applies when its variable (README, "Configuration") is unset.

    Attributes:
        corpus_dir: source texts (``QA_CORPUS_DIR``).
        index_dir: the built index (``QA_INDEX_DIR``).
        model: sentence-transformers model name or path; None is the bundled default
            (``QA_MODEL``).
        device: torch device of the model (``QA_DEVICE``).
        query_threads: torch threads for encoding one question (``QA_QUERY_THREADS``).
        search_threads: FAISS threads for one search (``QA_SEARCH_THREADS``).
        exact_max_chunks: above this many vectors an index is HNSW, not exact
            (``QA_EXACT_MAX_CHUNKS``).
        backend: what encodes questions: ``auto`` (a checked ONNX export on the CPU, else
            torch), ``onnx`` or ``torch`` (``QA_BACKEND``).
        reranker: a local sentence-transformers CrossEncoder directory that re-ranks candidate
            sentences; None: none (``QA_RERANKER``).
        answerhood: whether the shipped answerhood cross-encoder judges the best candidates
            (``QA_ANSWERHOOD``: ``on``, the default, or ``off``).
        max_file_mb: corpus files larger than this many MB are skipped (``QA_MAX_FILE_MB``).
        host: address the web app listens on (``QA_HOST``).
        port: port the web app listens on (``QA_PORT``).
        rebuild_interval: the web app rebuilds at most once per this many seconds unless the
            corpus changed; 0: no limit (``QA_REBUILD_INTERVAL``).
        allow_rebuild: the web app offers rebuilds even when it listens beyond 127.0.0.1
            (``--allow-rebuild``).
        status_paths: the web app's status gives absolute paths, not only folder names
            (``--status-paths``).
        mcp: the web app also serves the MCP tools answer, retrieve and verify (``--mcp``).
        feedback_file: where the web app appends readers' feedback; None: no feedback
            (``QA_FEEDBACK_FILE``; ``--no-feedback``).
    """

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str | None = None
    device: str = "cpu"
    query_threads: int = 1
    search_threads: int = 1
    exact_max_chunks: int = 20_000
    max_file_mb: float = 10.0
    backend: str = "auto"
    reranker: str | None = None
    answerhood: bool = True
    host: str = "127.0.0.1"
    port: int = 7860
    rebuild_interval: int = 30
    allow_rebuild: bool = False
    status_paths: bool = False
    mcp: bool = False
    feedback_file: Path | None = Path("feedback.jsonl")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``environ`` (default: ``os.environ``); raises ConfigError."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (variable, parse) in _VARIABLES.items():
            raw = env.get(variable)
            if raw is not None and raw.strip():
                values[name] = parse(variable, raw.strip())
        return cls(**values)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    def override(self, **values: Any) -> Settings:
        """A copy with the given fields replaced; a None value leaves its field as it is.

        For command-line options, which win over the environment when given.
        """
        given = {k: v for k, v in values.items() if v is not None}
        for name in ("corpus_dir", "index_dir", "feedback_file"):
            if name in given:
                given[name] = Path(given[name])
        return dataclasses.replace(self, **given)


def add_serve_arguments(p: argparse.ArgumentParser, settings: Settings) -> None:
    """The web app's options, shared by ``app.py`` and ``qa serve``; ``settings`` give defaults."""
    p.add_argument(
        "--host",
        default=settings.host,
        help="address to listen on (default: %(default)s, from $QA_HOST or 127.0.0.1)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=settings.port,
        help="port (default: %(default)s, from $QA_PORT or 7860)",
    )
    p.add_argument(
        "--share",
        action="store_true",
        help="also open a public gradio.live link (off unless given)",
    )
    p.add_argument(
        "--mcp",
        action="store_true",
        help="also serve the MCP tools answer, retrieve and verify at /gradio_api/mcp/ "
        "(off unless given; see SECURITY.md)",
    )
    p.add_argument(
        "--allow-rebuild",
        action="store_true",
        help="offer 'Rebuild index' and /rebuild even when listening beyond 127.0.0.1",
    )
    p.add_argument(
        "--rebuild-interval",
        type=int,
        metavar="SECONDS",
        help="at most one rebuild per this many seconds unless the corpus changed "
        f"(default: {settings.rebuild_interval}, from $QA_REBUILD_INTERVAL; 0: no limit)",
    )
    p.add_argument(
        "--status-paths",
        action="store_true",
        help="show absolute corpus and index paths in /status and the Index tab",
    )
    p.add_argument(
        "--no-feedback",
        action="store_true",
        help=f"no 👍/👎 buttons (default: appended to {settings.feedback_file}, $QA_FEEDBACK_FILE)",
    )


def serve_overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` with the options of :func:`add_serve_arguments` applied."""
    if args.rebuild_interval is not None and not 0 <= args.rebuild_interval <= MAX_REBUILD_INTERVAL:
        raise ConfigError(
            f"--rebuild-interval must be from 0 to {MAX_REBUILD_INTERVAL:,} seconds, "
            f"got {args.rebuild_interval}"
        )
    out = settings.override(
        host=args.host,
        port=args.port,
        rebuild_interval=args.rebuild_interval,
        allow_rebuild=args.allow_rebuild or None,
        status_paths=args.status_paths or None,
        mcp=args.mcp or None,
    )
    return dataclasses.replace(out, feedback_file=None) if args.no_feedback else out


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= _SHOWN_CHARS else raw[:_SHOWN_CHARS] + "…")


#: Upper bounds of the numeric settings: a value past them is a typo or an attack, never a
#: setup (QA_QUERY_THREADS=100000 once started 4,298 threads and took 16 GB).
MAX_THREADS = 64
MAX_EXACT_CHUNKS = 100_000_000
MAX_FILE_MB = 1000.0
MAX_REBUILD_INTERVAL = 86_400


def _whole(minimum: int, maximum: int) -> Callable[[str, str], int]:
    def parse(variable: str, raw: str) -> int:
        # at most 12 digits: int() of a huge digit string is itself slow
        if re.fullmatch(r"[0-9]{1,12}", raw) and minimum <= int(raw) <= maximum:
            return int(raw)
        raise ConfigError(
            f"{variable} must be a whole number from {minimum} to {maximum:,}, got {_shown(raw)}"
        )

    return parse


def _megabytes(variable: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if 0 < value <= MAX_FILE_MB:
        return value
    raise ConfigError(
        f"{variable} must be a positive number of megabytes up to {MAX_FILE_MB:g}, "
        f"got {_shown(raw)}"
    )


def _backend(variable: str, raw: str) -> str:
    if raw in ("auto", "onnx", "torch"):
        return raw
    raise ConfigError(f"{variable} must be auto, onnx or torch, got {_shown(raw)}")


def _port(variable: str, raw: str) -> int:
    if re.fullmatch(r"[0-9]{1,5}", raw) and 1 <= int(raw) <= 65535:
        return int(raw)
    raise ConfigError(f"{variable} must be a port number from 1 to 65535, got {_shown(raw)}")


def _device(variable: str, raw: str) -> str:
    if re.fullmatch(r"[a-z][a-z0-9_]*(:[0-9]+)?", raw):
        return raw
    raise ConfigError(
        f"{variable} must be a torch device such as cpu, cuda or cuda:0, got {_shown(raw)}"
    )


def _host(variable: str, raw: str) -> str:
    if not re.search(r"[\s/]", raw):
        return raw
    raise ConfigError(
        f"{variable} must be a host name or IP address such as 127.0.0.1, got {_shown(raw)}"
    )


def _text(variable: str, raw: str) -> str:
    return raw


def _on_off(variable: str, raw: str) -> bool:
    if raw.lower() not in ("on", "off"):
        raise ConfigError(f"{variable} must be on or off, got {raw!r}")
    return raw.lower() == "on"


def _path(variable: str, raw: str) -> Path:
    return Path(raw)


#: field -> (environment variable, parser of its stripped, non-empty value)
_VARIABLES: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "corpus_dir": ("QA_CORPUS_DIR", _path),
    "index_dir": ("QA_INDEX_DIR", _path),
    "model": ("QA_MODEL", _text),
    "device": ("QA_DEVICE", _device),
    "query_threads": ("QA_QUERY_THREADS", _whole(1, MAX_THREADS)),
    "search_threads": ("QA_SEARCH_THREADS", _whole(1, MAX_THREADS)),
    "exact_max_chunks": ("QA_EXACT_MAX_CHUNKS", _whole(0, MAX_EXACT_CHUNKS)),
    "max_file_mb": ("QA_MAX_FILE_MB", _megabytes),
    "backend": ("QA_BACKEND", _backend),
    "reranker": ("QA_RERANKER", _text),
    "answerhood": ("QA_ANSWERHOOD", _on_off),
    "host": ("QA_HOST", _host),
    "port": ("QA_PORT", _port),
    "rebuild_interval": ("QA_REBUILD_INTERVAL", _whole(0, MAX_REBUILD_INTERVAL)),
    "feedback_file": ("QA_FEEDBACK_FILE", _path),
}

"""The index's on-disk records and manifest: each type writes (``to_json``) and reads
(``from_json``) its own form, so the format lives in one place.

``from_json`` checks every field's type and range and raises ``CorruptIndexError`` naming the
field and the fix: a hand-edited or foreign file is refused with one line, never a traceback.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CorruptIndexError

#: 2: sentence vectors mix the sentence in context with the bare one, and have a FAISS index
#: 3: documents keep their Notes; sentences their pages ([2]: 14), notes ([a]) and tags
#:    ([citation needed]); the text is the reader's rendered text (HTML, wikitext, Markdown)
FORMAT_VERSION = 3
FIX = "run `qa build` to rebuild it"


#: An index file's name: a plain name inside the index directory, never a path (a ``files`` key
#: ``../../dev/zero`` made loading hang) nor a hidden file.
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Bounds of the numbers a manifest gives: past them it is damaged, whatever it says.
MAX_DIMENSION = 65_536
MAX_COUNT = 10**12


def _bad(where: str, what: str) -> CorruptIndexError:
    return CorruptIndexError(f"{where}: {what}; {FIX}")


def _int(r: dict, key: str, where: str, lo: int = 0, hi: int = MAX_COUNT) -> int:
    v = r.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or v > hi:
        shown = repr(v) if len(repr(v)) <= 40 else type(v).__name__
        raise _bad(where, f"{key} must be a whole number ≥ {lo} (up to {hi:,}), got {shown}")
    return v


def _str(r: dict, key: str, where: str) -> str:
    v = r.get(key)
    if not isinstance(v, str):
        raise _bad(where, f"{key} must be text, got {type(v).__name__}")
    return v


def _ints(r: dict, key: str, where: str) -> tuple[int, ...]:
    v = r.get(key)
    if not isinstance(v, list) or any(isinstance(x, bool) or not isinstance(x, int) for x in v):
        raise _bad(where, f"{key} must be a list of whole numbers")
    return tuple(v)


def _strs(r: dict, key: str, where: str) -> tuple[str, ...]:
    v = r.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _bad(where, f"{key} must be a list of texts")
    return tuple(v)


def _pages(r: dict, where: str) -> tuple[tuple[int, str], ...]:
    v = r.get("pages", [])
    ok = isinstance(v, list) and all(
        isinstance(x, list) and len(x) == 2 and type(x[0]) is int and isinstance(x[1], str)
        for x in v
    )
    if not ok:
        raise _bad(where, "pages must be a list of [reference number, page] pairs")
    return tuple((n, p) for n, p in v)


def _dict(r: dict, key: str, where: str) -> dict:
    v = r.get(key)
    if not isinstance(v, dict):
        raise _bad(where, f"{key} must be an object, got {type(v).__name__}")
    return v


@dataclass(frozen=True)
class DocRecord:
    """One source document: its rendered text (what quotes slice from), References, Notes."""

    doc_id: str
    path: str
    title: str
    text: str
    references: dict[int, str]
    sha256: str = ""
    notes: dict[str, str] = field(default_factory=dict)
    url: str = ""  # the page's web address, when the source file gives one

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "url": self.url,
            "path": self.path,
            "title": self.title,
            "sha256": self.sha256,
            "references": {str(k): v for k, v in self.references.items()},
            "notes": self.notes,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, r: dict, where: str = "docs.jsonl") -> DocRecord:
        refs = _dict(r, "references", where)
        try:
            references = {int(k): str(v) for k, v in refs.items()}
        except ValueError as e:
            raise _bad(where, "references must be keyed by number") from e
        return cls(
            _str(r, "doc_id", where),
            _str(r, "path", where),
            _str(r, "title", where),
            _str(r, "text", where),
            references,
            str(r.get("sha256", "")),
            {str(k): str(v) for k, v in _dict({"notes": {}, **r}, "notes", where).items()},
            str(r.get("url", "")),
        )


@dataclass(frozen=True)
class SentenceRecord:
    """One sentence: ``text[start:end]`` is quotable; ``span_end`` includes its markers."""

    index: int
    doc: int
    start: int
    end: int
    span_end: int
    paragraph: int
    section: str
    refs: tuple[int, ...]
    key: str = ""
    pages: tuple[tuple[int, str], ...] = ()
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        r: dict[str, Any] = {
            "doc": self.doc,
            "start": self.start,
            "end": self.end,
            "span_end": self.span_end,
            "paragraph": self.paragraph,
            "section": self.section,
            "refs": list(self.refs),
            "key": self.key,
        }
        for name in ("pages", "notes", "tags"):  # only when there are some: most have none
            if getattr(self, name):
                r[name] = [list(x) if isinstance(x, tuple) else x for x in getattr(self, name)]
        return r

    @classmethod
    def from_json(cls, r: dict, index: int, where: str = "sentences.jsonl") -> SentenceRecord:
        start, end = _int(r, "start", where), _int(r, "end", where)
        span_end = _int(r, "span_end", where)
        if not start <= end <= span_end:
            raise _bad(where, f"sentence {index} has offsets out of order")
        return cls(
            index,
            _int(r, "doc", where),
            start,
            end,
            span_end,
            _int(r, "paragraph", where),
            _str(r, "section", where),
            _ints(r, "refs", where),
            str(r.get("key", "")),
            _pages(r, where),
            _strs(r, "notes", where),
            _strs(r, "tags", where),
        )


@dataclass(frozen=True)
class ChunkRecord:
    """One retrievable passage: a window of sentences of one paragraph."""

    doc: int
    start: int
    end: int
    section: str
    paragraph: int
    refs: tuple[int, ...]
    sentences: tuple[int, ...]
    key: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "start": self.start,
            "end": self.end,
            "section": self.section,
            "paragraph": self.paragraph,
            "refs": list(self.refs),
            "sentences": list(self.sentences),
            "key": self.key,
        }

    @classmethod
    def from_json(cls, r: dict, where: str = "chunks.jsonl") -> ChunkRecord:
        start, end = _int(r, "start", where), _int(r, "end", where)
        if start > end:
            raise _bad(where, "a chunk has offsets out of order")
        return cls(
            _int(r, "doc", where),
            start,
            end,
            _str(r, "section", where),
            _int(r, "paragraph", where),
            _ints(r, "refs", where),
            _ints(r, "sentences", where),
            str(r.get("key", "")),
        )


def write_jsonl(path: Path, records: Iterable[DocRecord | ChunkRecord | SentenceRecord]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_json(), ensure_ascii=False))
            f.write("\n")


class JsonLineError(ValueError):
    """A line of a JSON-lines file that is not a JSON object; ``line`` is its number."""

    def __init__(self, line: int, why: str):
        super().__init__(why)
        self.line, self.why = line, why


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a UTF-8 JSON-lines file: the one
    JSON-lines reader (index records, question sets, feedback, export check texts).

    Lines end at ``\n`` only: a JSON string may hold U+2028, and line numbers count ``\n``.

    Raises:
        JsonLineError: a line is not JSON, or not an object.
        OSError, UnicodeDecodeError: the file cannot be read as text.
    """
    with open(path, encoding="utf-8", newline="\n") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                raise JsonLineError(n, f"not JSON ({e})") from e
            if not isinstance(r, dict):
                raise JsonLineError(n, "not a JSON object")
            yield n, r


def read_jsonl(path: Path) -> Iterator[dict]:
    """The objects of an index's JSON-lines file; a line that is not an object is damage."""
    try:
        for _, r in jsonl_objects(path):
            yield r
    except JsonLineError as e:
        raise _bad(f"{path}:{e.line}", e.why) from e


@dataclass
class Manifest:
    """``manifest.json``: what was built, from what, with which model, and every file's checksum.

    ``files`` maps each data file to ``{"bytes": int, "sha256": str}``.
    """

    model: str
    dimension: int
    corpus_files: dict[str, str]
    counts: dict[str, int]
    chunker: dict[str, Any]
    faiss_index: str = "flat"
    sentence_faiss_index: str = "flat"
    package_version: str = ""
    built_at: str = ""
    build_seconds: float = 0.0
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    normalized: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "package_version": self.package_version,
            "model": self.model,
            "dimension": self.dimension,
            "normalized": self.normalized,
            "faiss_index": self.faiss_index,
            "sentence_faiss_index": self.sentence_faiss_index,
            "chunker": self.chunker,
            "corpus_files": self.corpus_files,
            "counts": self.counts,
            "built_at": self.built_at,
            "build_seconds": self.build_seconds,
            "files": self.files,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")

    @classmethod
    def from_json(cls, r: object, where: str = "manifest.json") -> Manifest:
        """Every field checked by type and range (the format version is checked by the caller)."""
        if not isinstance(r, dict):
            raise _bad(where, "not a JSON object")
        corpus_files = _dict(r, "corpus_files", where)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in corpus_files.items()):
            raise _bad(where, "corpus_files must map file names to checksums")
        counts = _dict(r, "counts", where)
        for key in ("documents", "chunks", "sentences", *counts):
            _int(counts, key, f"{where} counts")
        files = _dict(r, "files", where)
        for name, info in files.items():
            if not _FILE_NAME.fullmatch(name):
                raise _bad(where, f"files holds {name[:60]!r}, which is not a plain file name")
            if not isinstance(info, dict):
                raise _bad(where, f"files.{name} must be an object")
            _int(info, "bytes", f"{where} files.{name}")
            if not isinstance(info.get("sha256"), str) or not _SHA256.fullmatch(info["sha256"]):
                raise _bad(where, f"files.{name}.sha256 must be a SHA-256 in hex")
        kinds = {}
        for key in ("faiss_index", "sentence_faiss_index"):
            kinds[key] = r.get(key, "flat")
            if kinds[key] not in ("flat", "hnsw"):
                raise _bad(where, f"{key} must be 'flat' or 'hnsw', got {kinds[key]!r}")
        seconds = r.get("build_seconds", 0.0)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
        ):
            raise _bad(where, "build_seconds must be a finite number")
        for key in ("package_version", "built_at"):
            if not isinstance(r.get(key, ""), str):
                raise _bad(where, f"{key} must be text")
        if not isinstance(r.get("normalized", True), bool):
            raise _bad(where, "normalized must be true or false")
        return cls(
            model=_str(r, "model", where),
            dimension=_int(r, "dimension", where, lo=1, hi=MAX_DIMENSION),
            corpus_files=corpus_files,
            counts={k: int(v) for k, v in counts.items()},
            chunker=_dict(r, "chunker", where),
            faiss_index=kinds["faiss_index"],
            sentence_faiss_index=kinds["sentence_faiss_index"],
            package_version=r.get("package_version", ""),
            built_at=r.get("built_at", ""),
            build_seconds=float(seconds),
            files=files,
            format_version=_int(r, "format_version", where),
            normalized=r.get("normalized", True),
        )

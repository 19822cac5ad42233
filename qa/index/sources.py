"""The corpus directory: which files are read, how they are read safely, and by which reader.

Nothing outside the corpus directory is ever read: a symbolic link that leads outside it is
refused, loops and dangling links are skipped, and so are files whose names are not valid
UTF-8, files that are not regular files, files over the size limit (``QA_MAX_FILE_MB``) and
unreadable ones (unreadable folders too), each with one warning naming it; the good files are
still indexed. Control characters other than newline and tab never reach a Document.

A file is opened once, with ``O_NOFOLLOW``, and everything checked about it (regular file, size,
where it really is) is checked on the open descriptor (``fstat``, ``/proc/self/fd``), never on
the path again: a symbolic link swapped in between the scan and the read is refused, not
followed (red-team round two, finding 1).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorpusError
from ..readers import SUFFIXES, read_text
from ..readers.document import Document
from .bounded import BoundedReader

log = logging.getLogger("qa.readers.document")

#: Default size limit per corpus file (QA_MAX_FILE_MB, read by qa.settings, overrides it).
MAX_FILE_BYTES = 10_000_000
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Bidirectional embeddings, overrides and isolates: U+202E shows a quote reversed. Removed at
#: reading time, so the rendered text (what quotes slice from) never holds them.
_BIDI_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: Line and paragraph separators (U+2028, U+2029) become what they mean.
_SEPARATORS = {"\u2028": "\n", "\u2029": "\n\n"}
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FORMS = ", ".join(SUFFIXES[:-1]) + " or " + SUFFIXES[-1]


def printable(path: Path | str) -> str:
    """A path as text that can always be printed: undecodable bytes as ``\\xNN``, control and
    bidi characters (terminal escapes, U+202E) as ``\\uNNNN``."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@dataclass
class CorpusScan:
    """The files of a corpus directory to read, and what was skipped (one warning each)."""

    root: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _link_problem(path: Path, root: Path) -> str | None:
    """Why a symbolic link cannot be followed, or None when it stays inside the corpus."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:
        return "is a symbolic link that loops; remove it"
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "is a symbolic link that loops; remove it"
        return f"is a symbolic link to {printable(os.readlink(path))}, which does not exist"
    if not target.is_relative_to(root):
        return (
            f"is a symbolic link to {printable(target)}, outside the corpus directory; "
            "copy the file into the corpus instead"
        )
    return None


def _walk_error(scan: CorpusScan, root_dir: Path) -> Callable[[OSError], None]:
    def onerror(e: OSError) -> None:
        where = e.filename if e.filename is not None else root_dir
        if os.path.abspath(where) == os.path.abspath(root_dir):
            raise CorpusError(
                f"corpus directory {printable(root_dir)} cannot be read "
                f"({e.strerror or e}); fix its permissions"
            ) from e
        scan.warnings.append(
            f"skipped the folder {printable(where)}: it cannot be read ({e.strerror or e}); "
            "fix its permissions to index its files"
        )

    return onerror


def scan_corpus(corpus_dir: Path) -> CorpusScan:
    """The readable-looking files under ``corpus_dir`` (sorted), and warnings for the rest."""
    corpus_dir = Path(corpus_dir)
    if corpus_dir.exists() and not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus directory {corpus_dir} is a file, not a directory; point --corpus (or "
            f"QA_CORPUS_DIR) at a directory of {_FORMS} files"
        )
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus directory {corpus_dir} does not exist; create it and put {_FORMS} files "
            "in it (or set QA_CORPUS_DIR)"
        )
    scan = CorpusScan(corpus_dir)
    root = corpus_dir.resolve()
    walk = os.walk(corpus_dir, onerror=_walk_error(scan, corpus_dir), followlinks=False)
    for dirpath, dirnames, filenames in walk:
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                dirnames.remove(d)
                scan.warnings.append(
                    f"skipped {printable(os.path.join(dirpath, d))}: a symbolic link to a "
                    "directory is not followed; copy the files into the corpus instead"
                )
        for name in filenames:
            path = Path(dirpath) / name
            if name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            problem = None
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                problem = "its name is not valid UTF-8; rename it"
            if problem is None and _UNPRINTABLE.search(name):
                problem = "its name holds control or text-direction characters; rename it"
            if problem is None and path.is_symlink():
                problem = _link_problem(path, root)
            if problem is None:
                try:
                    mode = path.stat().st_mode
                except OSError as e:
                    problem = f"cannot be examined ({e.strerror})"
                else:
                    if not stat.S_ISREG(mode):
                        problem = "is not a regular file"
            if problem:
                scan.warnings.append(f"skipped {printable(path)}: {problem}")
            else:
                scan.files.append(path)
    scan.files.sort(key=lambda p: p.relative_to(corpus_dir).as_posix())
    return scan


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The files under ``corpus_dir`` that a build reads, sorted; hidden files are skipped."""
    return scan_corpus(corpus_dir).files


def corpus_fingerprint(corpus_dir: Path) -> dict[str, str]:
    """SHA-256 of every corpus file (usable or not), keyed by path relative to the corpus.

    A file over the default size limit is fingerprinted by size and time (a fingerprint only
    has to change with the file), an unreadable one as such.
    """
    corpus_dir = Path(corpus_dir)
    limit = MAX_FILE_BYTES
    out = {}
    for p in corpus_files(corpus_dir):
        key = p.relative_to(corpus_dir).as_posix()
        try:
            with open_corpus_file(p, corpus_dir) as f:
                st = os.fstat(f.fileno())
                if st.st_size > limit:
                    out[key] = f"size:{st.st_size}:{st.st_mtime_ns}"
                    continue
                out[key] = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError as e:
            out[key] = f"unreadable:{e.errno}"
        except CorpusError:
            out[key] = "refused"
    return out


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _open_nofollow(path: str) -> int:
    return os.open(path, _OPEN_FLAGS)


def open_corpus_file(path: Path, corpus_dir: Path) -> io.BufferedReader:
    """``path`` opened for reading (binary), only if it is a regular file inside the corpus.

    The last component is opened with ``O_NOFOLLOW``; a symbolic link (one the scan let
    through because it stays inside the corpus) is resolved once and its target opened the
    same way. Then the *open* file is checked: a regular file (``fstat``) whose real place
    (``/proc/self/fd``) is inside the corpus. Raises CorpusError (refused) or OSError.
    """
    root = os.path.realpath(corpus_dir)
    try:
        fd = _open_nofollow(os.fspath(path))
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        target = os.path.realpath(path)
        if os.path.commonpath([root, target]) != root:
            raise CorpusError(
                f"{printable(path)}: became a symbolic link out of the corpus directory while "
                "it was being read; refused"
            ) from e
        fd = _open_nofollow(target)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CorpusError(f"{printable(path)}: is not a regular file")
        with contextlib.suppress(OSError):  # no /proc (not Linux): O_NOFOLLOW and fstat hold
            real = os.readlink(f"/proc/self/fd/{fd}")
            if os.path.commonpath([root, real]) != root:
                raise CorpusError(
                    f"{printable(path)}: leads out of the corpus directory (a folder on its way "
                    "was replaced by a link while it was being read); refused"
                )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _decode(path: Path, raw: bytes) -> tuple[str, int]:
    """The file's text with control characters removed, and how many were removed."""
    head = raw[:8192]
    nuls = head.count(b"\x00")
    if nuls and (nuls * 100 > len(head) or not _decodes(raw)):
        raise CorpusError(
            f"{path}: looks like a binary file (NUL bytes); remove it from the corpus"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise CorpusError(
            f"{path}:{line}: is not valid UTF-8 (byte {e.start}); re-save the file as UTF-8"
        ) from e
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, removed = _CONTROL_RE.subn("", text)
    text, bidi = _BIDI_RE.subn("", text)
    for sep, meaning in _SEPARATORS.items():
        bidi += text.count(sep)
        text = text.replace(sep, meaning)
    return text, removed + bidi


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_document(
    path: Path, root: Path, max_bytes: int = MAX_FILE_BYTES, reader: BoundedReader | None = None
) -> Document:
    """Read one file with its form's reader; raises CorpusError naming the file if unusable.

    With ``reader``, markup forms are read under its deadline (``qa.index.bounded``).
    """
    doc_id = path.relative_to(root).as_posix()
    limit = max_bytes
    try:
        with open_corpus_file(path, root) as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise CorpusError(
                    f"{path}: is {size / 1e6:.1f} MB, over the limit of {limit / 1e6:g} MB per "
                    "file; split it, or raise QA_MAX_FILE_MB"
                )
            if size > 1_000_000:
                log.info("reading %s (%.1f MB)", path, size / 1e6)
            raw = f.read(limit + 1)  # never more than the limit, even if the file grows
        if len(raw) > limit:
            raise CorpusError(f"{path}: grew over the limit of {limit / 1e6:g} MB while read")
    except OSError as e:
        raise CorpusError(f"{path}: cannot be read ({e.strerror}); check its permissions") from e
    text, removed = _decode(path, raw)
    if not text.strip():
        raise CorpusError(f"{path}: is empty; add text or remove the file")
    try:
        if reader is not None:
            doc = reader.read(text, doc_id, str(path), path.suffix)
        else:
            doc = read_text(text, doc_id, str(path), path.suffix)
    except CorpusError:
        raise
    except Exception as e:  # a reader that fails on odd input must not stop the build
        raise CorpusError(
            f"{path}: could not be read as {path.suffix} ({type(e).__name__}: "
            f"{' '.join(str(e).split())[:200]}); "
            "save it in another form (.txt, .html, .wiki)"
        ) from e
    if removed:
        doc.warnings.insert(
            0,
            f"{printable(path)}: removed {removed} control character(s) (NUL, text-direction "
            "overrides, line separators and other invisible codes) from the text",
        )
    if not doc.paragraphs:
        raise CorpusError(f"{path}: has no paragraphs of text to index")
    return doc


def load_corpus(
    corpus_dir: Path, max_bytes: int = MAX_FILE_BYTES
) -> tuple[list[Document], list[str]]:
    """Read every usable file of ``corpus_dir``.

    Returns the documents and the warnings (bad files are skipped with a warning naming them,
    so a good file beside a bad one is still indexed). Raises CorpusError when nothing is usable.

    Example:
        >>> docs, warnings = load_corpus(Path("corpus"))  # doctest: +SKIP
    """
    scan = scan_corpus(corpus_dir)
    warnings = list(scan.warnings)
    if not scan.files:
        detail = f" ({'; '.join(warnings)})" if warnings else ""
        raise CorpusError(f"corpus directory {corpus_dir} has no {_FORMS} files{detail}; add some")
    docs = []
    with BoundedReader() as reader:
        for path in scan.files:
            try:
                doc = read_document(path, Path(corpus_dir), max_bytes, reader)
            except CorpusError as e:
                warnings.append(f"skipped {e}")
                continue
            warnings.extend(doc.warnings)
            docs.append(doc)
    for w in warnings:
        log.warning(w)
    if not docs:
        raise CorpusError(f"no usable file in {corpus_dir}: " + "; ".join(warnings))
    return docs, warnings

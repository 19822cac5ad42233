"""Safe writes for the index directory: a build lock, atomic swap, crash leftovers.

A build writes a complete index into a temporary sibling directory and swaps it in at once, so
a reader never sees half an index and a failed or killed build leaves the old one in place.

Why the swap is written here: no library exchanges two directories atomically. Linux offers it
as renameat2(RENAME_EXCHANGE), which Python's os module does not wrap, so it is called through
ctypes, with two plain renames (and a leftover that the next build puts back) where it is
missing. The lock is filelock's (an flock the kernel releases when its holder dies, even by
kill -9), and file hashes are hashlib.file_digest.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from ..errors import BuildInProgressError

log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    """The SHA-256 hex digest of the file at ``path``, read in blocks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_verified(path: Path, size: int, digest: str) -> bytes | None:
    """The whole file at ``path`` if it has ``size`` bytes and SHA-256 ``digest``, else None.

    What is returned is what was checked: the bytes are hashed after they were read, so a file
    changed between a check and a later read cannot slip through.
    """
    with open(path, "rb") as f:
        data = f.read(size + 1)
    if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
        return None
    return data


def _stamp(path: Path) -> dict[str, int]:
    """What changes whenever a file's content can have changed (ctime cannot be set back)."""
    st = os.stat(path)
    return {
        "dev": st.st_dev,
        "ino": st.st_ino,
        "bytes": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
    }


def _verified_record(path: Path) -> Path:
    real = os.path.realpath(path)
    key = hashlib.sha256(os.fsencode(real)).hexdigest()[:32]
    return Path(real).parent.parent / ".qa-cache" / "verified" / f"{key}.json"


def verified_digest(path: Path) -> str | None:
    """The SHA-256 verified earlier for ``path`` if the file has not changed since, else None.

    Large index files are verified once per index, not once per process: a verified digest is
    kept in ``.qa-cache/verified/`` beside the index with the file's device, inode, size,
    mtime and ctime (``remember_digest``).
    """
    try:
        record = json.loads(_verified_record(path).read_text(encoding="utf-8"))
        stamp = _stamp(path)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("stamp") != stamp:
        return None
    digest = record.get("sha256")
    return digest if isinstance(digest, str) else None


def remember_digest(path: Path, digest: str) -> None:
    """Keep ``digest`` as verified for ``path`` as it is now; best effort (read-only is fine)."""
    with contextlib.suppress(OSError):
        record = _verified_record(path)
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(f".{record.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"sha256": digest, "stamp": _stamp(path)}), encoding="utf-8")
        os.replace(tmp, record)


def lock_path(index_dir: Path) -> Path:
    """The lock file of ``index_dir``: ``.<name>.lock`` beside it, never inside the index."""
    return index_dir.parent / f".{index_dir.name}.lock"


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock for building ``index_dir``; refuse if another process has it.

    Waits up to ``wait`` seconds for another build to finish, then raises
    BuildInProgressError. The lock is released when the holder exits, however it exits.
    """
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    # preserve_lock_file: the file stays put, and filelock never falls back to a "soft" lock
    # file, which a killed build would leave behind to refuse every later build.
    lock = filelock.FileLock(lock_path(index_dir), preserve_lock_file=True)
    try:
        lock.acquire(timeout=max(0.0, wait), poll_interval=0.2)
    except filelock.Timeout:
        raise BuildInProgressError(
            f"another build of {index_dir} is running; wait for it to finish (or use --wait)"
        ) from None
    try:
        yield
    finally:
        lock.release()


def remove_tree(path: Path) -> bool:
    """Delete a directory tree, making read-only directories in it writable first if needed.

    Index files are frozen read-only once written (``freeze``), and an index directory a user
    made read-only would otherwise leave its files behind forever. True when it is gone.
    """

    top = os.path.abspath(path)
    parent = os.path.dirname(top)
    opened: dict[str, int] = {}  # directories outside the tree whose mode was changed

    def open_up(d: str) -> None:
        if d not in opened and not (d + os.sep).startswith(top + os.sep):
            opened[d] = stat.S_IMODE(os.stat(d).st_mode)
        os.chmod(d, 0o700)

    # a read-only parent directory refused the unlink: open it up
    def retry(func: Callable[[str], object], p: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            open_up(os.path.dirname(os.path.abspath(p)) or ".")
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
            func(p)

    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    try:
        shutil.rmtree(path, onerror=retry)  # onexc needs Python 3.12
        if os.path.lexists(path):  # the parent itself refused: open it for the last rmdir
            with contextlib.suppress(OSError):
                open_up(parent)
                shutil.rmtree(path, onerror=retry)
    finally:
        for d, mode in opened.items():  # a parent's mode is never changed (round two, 10)
            with contextlib.suppress(OSError):
                os.chmod(d, mode)
    return not os.path.lexists(path)


def freeze(directory: Path) -> None:
    """Make every file of a finished index read-only: an index is never changed in place."""
    for p in directory.iterdir():
        if p.is_file() and not p.is_symlink():
            os.chmod(p, 0o444)


def clean_stale_temp_dirs(index_dir: Path) -> list[Path]:
    """Remove what a killed build left next to ``index_dir``; call only while holding the lock.

    Only a lock holder writes ``.<name>.tmp-*`` and ``.<name>.old-*``, so under the lock every
    one of them is stale. An ``.old-*`` directory is the previous index if a build died between
    the two renames of :func:`swap_in`; it is put back when ``index_dir`` is missing.
    """
    index_dir = Path(index_dir)
    removed = _clean_dead_exports(index_dir)
    old = sorted(index_dir.parent.glob(f".{index_dir.name}.old-*"))
    tmp = sorted(index_dir.parent.glob(f".{index_dir.name}.tmp-*"))
    for path in old + tmp:
        if not path.is_dir() or path.is_symlink():
            continue
        if path in old and not index_dir.exists():
            os.rename(path, index_dir)
            log.warning("restored the previous index from %s", path)
            continue
        if remove_tree(path):
            log.info("removed %s, left by an interrupted build", path)
            removed.append(path)
        else:
            log.warning("could not remove %s, left by an earlier build; delete it by hand", path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def _clean_dead_exports(index_dir: Path) -> list[Path]:
    """Remove ONNX exports a killed process left (``.qa-cache/onnx/.<key>.tmp-<pid>-*``).

    The export runs outside the build lock, so only a leftover whose process is gone is
    removed; one without a pid in its name (older versions) once it is a day old.
    """
    removed = []
    cache = index_dir.resolve().parent / ".qa-cache" / "onnx"
    for path in sorted(cache.glob(".*.tmp-*")) if cache.is_dir() else []:
        tail = path.name.rsplit(".tmp-", 1)[1]
        pid = tail.split("-", 1)[0]
        if pid.isdigit() and "-" in tail:
            stale = not _alive(int(pid))
        else:
            stale = time.time() - path.lstat().st_mtime > 86_400
        if stale and path.is_dir() and not path.is_symlink() and remove_tree(path):
            log.info("removed %s, left by an interrupted ONNX export", path)
            removed.append(path)
    return removed


def stage_hook(stage: str) -> None:
    """Test-only hook: stop a build at ``stage`` so a test can kill it there.

    With ``QA_TEST_PAUSE_AT=<stage>`` (locked, writing, written, swap, swapped) the build prints
    ``qa-test: paused at <stage>`` on stderr and sleeps until the file named by
    ``QA_TEST_RESUME_FILE`` exists (at most ``QA_TEST_PAUSE_SECONDS``, default 600). Used only
    by tests (test_crash_safety.py, test_web_chat.py); never set it otherwise.
    """
    if os.environ.get("QA_TEST_PAUSE_AT") != stage:
        return
    os.write(2, f"qa-test: paused at {stage}\n".encode())
    resume = os.environ.get("QA_TEST_RESUME_FILE")
    deadline = time.monotonic() + float(os.environ.get("QA_TEST_PAUSE_SECONDS", "600"))
    while time.monotonic() < deadline and not (resume and os.path.exists(resume)):
        time.sleep(0.05)


def fsync_dir(path: Path) -> None:
    for p in [*path.iterdir(), path]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    res = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return res == 0


def swap_in(tmp: Path, index_dir: Path) -> None:
    """Make ``tmp`` the index at ``index_dir`` without a moment where neither is complete."""
    if not index_dir.exists():
        os.rename(tmp, index_dir)
        return
    if _exchange(tmp, index_dir):
        remove_tree(tmp)  # tmp now holds the old index; a leftover is cleaned by the next build
        return
    old = index_dir.parent / f".{index_dir.name}.old-{os.getpid()}"
    os.rename(index_dir, old)
    os.rename(tmp, index_dir)
    remove_tree(old)

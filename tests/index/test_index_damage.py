"""The index on disk after it was built: damage under a loaded index, checksums of every file,
read-only and odd locations, files the index did not write (red-team issue, items 4–7)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from helpers import ARTICLE, FakeEmbedder

import qa
import qa.index.format
from qa.api import load_index
from qa.errors import CorruptIndexError, IndexBusyError, QAError
from qa.index.build import build_index
from qa.index.format import DATA_FILES

QUESTION = "How many trafficking cases were investigated in 2007?"
TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def _answer(idx) -> list[tuple[str, tuple[int, ...]]]:
    return [(q.text, q.refs) for q in qa.answer(QUESTION, index=idx).quotes]


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    os.chmod(path, 0o644)
    if how == "truncate":
        with open(path, "r+b") as f:  # in place, as a careless copy or a full disk would
            f.truncate(len(data) // 3)
    else:  # same size, other bytes in the middle (headers intact: only a checksum can tell)
        mid = len(data) // 2
        path.write_bytes(
            data[:mid] + bytes(b ^ 0x5A for b in data[mid : mid + 16]) + data[mid + 16 :]
        )


# The truncation runs in a child process: a memory-mapped file truncated under a reader kills
# it with SIGBUS, which would take pytest down with it.
_SURVIVE = """
import json, os, sys
sys.path.insert(0, {tests!r})
from helpers import FakeEmbedder
import qa
from qa.api import load_index
idx = load_index({index!r}, embedder=FakeEmbedder())
before = [(q.text, q.refs) for q in qa.answer({question!r}, index=idx).quotes]
for name in {names!r}:
    path = os.path.join({index!r}, name)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 3)
after = [(q.text, q.refs) for q in qa.answer({question!r}, index=idx).quotes]
print(json.dumps(before == after and bool(before)))
"""


def test_a_served_index_survives_files_truncated_under_it(fake_index):
    index_dir, _, _ = fake_index
    names = ["vectors.faiss", "sentence_vectors.npy", "sentence_vectors.faiss", "bm25_weights.npy"]
    code = _SURVIVE.format(tests=str(TESTS), index=str(index_dir), question=QUESTION, names=names)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "true"


@pytest.mark.parametrize("name", ["sentence_vectors.npy", "vectors.faiss", "docs.jsonl"])
def test_same_size_overwrite_leaves_the_served_index_alone_and_is_refused_on_load(fake_index, name):
    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    before = _answer(idx)
    _damage(index_dir / name, "overwrite")
    assert _answer(idx) == before
    with pytest.raises(CorruptIndexError, match="checksum.*qa build"):
        load_index(index_dir, corpus, embedder=FakeEmbedder())


def test_files_are_read_only_once_built(fake_index):
    index_dir, _, _ = fake_index
    for name in [*DATA_FILES, "manifest.json"]:
        mode = stat.S_IMODE((index_dir / name).stat().st_mode)
        assert mode & 0o222 == 0, (name, oct(mode))


def test_every_file_has_a_checksum(fake_index):
    index_dir, _, _ = fake_index
    files = json.loads((index_dir / "manifest.json").read_text())["files"]
    assert set(files) == set(DATA_FILES)
    assert all(isinstance(f["sha256"], str) and len(f["sha256"]) == 64 for f in files.values())


def test_large_files_are_checked_in_the_background_before_any_answer(fake_index, monkeypatch):
    """Above MAP_MIN_BYTES a file is mapped and its checksum verified off the loading path:
    questions wait for the check and a damaged file is refused, not quoted."""
    index_dir, corpus, _ = fake_index
    monkeypatch.setattr(qa.index.format, "MAP_MIN_BYTES", 0)  # every file counts as large
    good = load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert good.integrity is not None and good.integrity.wait(30)
    assert _answer(good)

    _damage(index_dir / "sentence_vectors.npy", "overwrite")
    release = threading.Event()
    real_hash = qa.index.format.file_sha256

    def slow_hash(path):
        release.wait(30)
        return real_hash(path)

    monkeypatch.setattr(qa.index.format, "file_sha256", slow_hash)
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())  # loads at once
    assert idx.integrity is not None
    idx.integrity.wait_seconds = 0.1  # a caller that will not wait is refused, not answered
    with pytest.raises(IndexBusyError, match="still being checked"):
        qa.answer(QUESTION, index=idx)
    release.set()
    assert idx.integrity is not None and idx.integrity.wait(30)
    with pytest.raises(CorruptIndexError, match="sentence_vectors.npy does not match"):
        qa.answer(QUESTION, index=idx)
    with pytest.raises(CorruptIndexError):
        qa.retrieve(QUESTION, index=idx)


def test_a_read_error_while_answering_is_one_clear_error(fake_index):
    index_dir, corpus, _ = fake_index
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    idx.sentence_vectors = idx.sentence_vectors[:3]  # as if another index's file were read
    with pytest.raises(CorruptIndexError, match="changed on disk or is damaged.*qa build"):
        qa.answer(QUESTION, index=idx)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ({"corpus_files": ["a.txt"]}, "corpus_files must be an object"),
        ({"corpus_files": {"a.txt": 5}}, "corpus_files must map"),
        ({"format_version": "2"}, "format_version must be a whole number, got '2'"),
        ({"counts": {"documents": "1", "chunks": 2, "sentences": 3}}, "documents must be"),
        ({"dimension": -4}, "dimension must be a whole number ≥ 1"),
        ({"faiss_index": "ivf"}, "faiss_index must be 'flat' or 'hnsw'"),
        ({"files": {"docs.jsonl": 3}}, "files.docs.jsonl must be an object"),
    ],
)
def test_manifest_fields_are_checked_by_type(fake_index, edit, needle):
    index_dir, corpus, _ = fake_index
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(edit)
    os.chmod(path, 0o644)
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptIndexError, match="qa build") as info:
        load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert build_index(corpus, index_dir, embedder=FakeEmbedder()).chunks > 0  # the fix works


def test_a_build_refuses_to_delete_files_it_did_not_write(fake_index):
    index_dir, corpus, _ = fake_index
    (index_dir / "my-notes.txt").write_text("keep me")
    with pytest.raises(QAError, match="did not write \\(my-notes.txt\\).*move them"):
        build_index(corpus, index_dir, embedder=FakeEmbedder())
    assert (index_dir / "my-notes.txt").read_text() == "keep me"


def test_an_unwritable_location_is_one_line_naming_it(tmp_path, corpus_copy, monkeypatch):
    import qa.index.build

    def denied(index_dir):
        raise PermissionError(13, "Permission denied", str(index_dir.parent))

    monkeypatch.setattr(qa.index.build, "_make_temp_dir", denied)
    with pytest.raises(QAError, match="cannot write the index at .*Permission denied") as info:
        build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    assert "\n" not in str(info.value)


_AS_NOBODY = """
import os, sys
sys.path.insert(0, {tests!r})
from helpers import FakeEmbedder
from qa.index.build import build_index
corpus, index = {corpus!r}, {index!r}
build_index(corpus, index, embedder=FakeEmbedder())
os.chmod(index, 0o555)  # the user makes the index directory read-only
path = os.path.join(corpus, "a.txt")
with open(path, "a") as f:
    f.write("\\n\\nA new paragraph about shelters.[1]\\n")
build_index(corpus, index, embedder=FakeEmbedder())
print(sorted(n for n in os.listdir(os.path.dirname(index)) if n.startswith(".index")))
"""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_a_read_only_index_directory_leaves_no_temp_dirs_behind():
    """As an ordinary user (root ignores permissions): the old index, swapped out of a
    read-only directory, is removed instead of left as .index.tmp-* forever."""
    base = Path(tempfile.mkdtemp(prefix="qa-ro-"))
    os.chmod(base, 0o777)
    corpus = base / "corpus"
    corpus.mkdir()
    text = ARTICLE.read_text(encoding="utf-8")
    (corpus / "a.txt").write_text(text, encoding="utf-8")
    os.chmod(corpus, 0o777)
    os.chmod(corpus / "a.txt", 0o666)
    code = _AS_NOBODY.format(tests=str(TESTS), corpus=str(corpus), index=str(base / "index"))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
            user=65534,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    except PermissionError:
        pytest.skip("this Python is not usable by other users here")
    if "Permission denied" in proc.stderr and "import" in proc.stderr.lower():
        pytest.skip("the checkout is not readable by other users here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "['.index.lock']"


def _as_ordinary_user(monkeypatch) -> None:
    """Make unlink/rmdir honour directory permissions as they do for a user other than root
    (root ignores them, and the tests run as root in CI)."""
    for name in ("unlink", "rmdir"):
        real = getattr(os, name)

        def guarded(path, *, dir_fd=None, _real=real):
            parent = os.fstat(dir_fd) if dir_fd is not None else os.stat(os.path.dirname(path))
            if not parent.st_mode & stat.S_IWUSR:
                raise PermissionError(13, "Permission denied", path)
            return _real(path, dir_fd=dir_fd)

        monkeypatch.setattr(os, name, guarded)


def test_leftovers_in_read_only_directories_are_removed_by_the_next_build(
    tmp_path, corpus_copy, monkeypatch
):
    """A read-only index directory swapped out by a build, or a leftover with read-only
    directories in it, is removed instead of staying as .index.tmp-* for ever."""
    from qa.index.storage import remove_tree

    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    leftover = tmp_path / ".index.tmp-dead"
    (leftover / "inner").mkdir(parents=True)
    (leftover / "inner" / "vectors.faiss").write_bytes(b"x")
    os.chmod(leftover / "inner", 0o555)
    os.chmod(index_dir, 0o555)  # the user made the index read-only
    _as_ordinary_user(monkeypatch)
    assert remove_tree(tmp_path / "absent") is True
    (corpus_copy / "extra.txt").write_text("Extra\n\nA new text.[1]\n\nReferences\n\n1. ^ A.\n")
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".index")) == [
        ".index.lock"
    ]
    assert (index_dir / "manifest.json").exists()


def test_a_large_file_is_checked_once_per_index_and_answers_wait_for_the_check(
    fake_index, monkeypatch
):
    """Red-team round two, finding 5: every new process (each `qa ask`) restarted the check
    and was refused; `qa.answer` right after `load_index` failed the same way."""
    index_dir, corpus, _ = fake_index
    monkeypatch.setattr(qa.index.format, "MAP_MIN_BYTES", 0)  # every file counts as large
    real_hash = qa.index.format.file_sha256
    hashed: list[str] = []

    def slow_hash(path):
        hashed.append(Path(path).name)
        threading.Event().wait(0.3)
        return real_hash(path)

    monkeypatch.setattr(qa.index.format, "file_sha256", slow_hash)
    idx = load_index(index_dir, corpus, embedder=FakeEmbedder())
    assert _answer(idx)  # waits for the check instead of refusing
    assert hashed
    hashed.clear()
    again = load_index(index_dir, corpus, embedder=FakeEmbedder())  # as the next process would
    assert again.integrity is not None and again.integrity.wait(0)
    assert hashed == [] and _answer(again)

    _damage(index_dir / "docs.jsonl", "overwrite")  # a changed file is checked again
    monkeypatch.setattr(qa.index.format, "read_manifest", lambda d: again.manifest)
    check = qa.index.format.IntegrityCheck(index_dir, again.manifest)
    check.wait(30)
    assert hashed and check.error and "docs.jsonl does not match" in check.error


def test_removing_a_leftover_never_changes_its_parents_mode(tmp_path, monkeypatch):
    """Red-team round two, finding 10: a leftover in a read-only (0555) folder was removed,
    and the folder was left 0700."""
    from qa.index.storage import remove_tree

    parent = tmp_path / "ro"
    (parent / ".index.tmp-dead" / "inner").mkdir(parents=True)
    (parent / ".index.tmp-dead" / "inner" / "x.npy").write_bytes(b"x")
    os.chmod(parent / ".index.tmp-dead" / "inner", 0o555)
    os.chmod(parent, 0o555)
    _as_ordinary_user(monkeypatch)
    assert remove_tree(parent / ".index.tmp-dead") is True
    assert stat.S_IMODE(os.stat(parent).st_mode) == 0o555


def test_a_dead_onnx_exports_leftover_is_removed_by_the_next_build(tmp_path, corpus_copy):
    """Red-team round two, finding 10: kill -9 during the ONNX export left an 87 MB
    .qa-cache/onnx/.<key>.tmp-* behind every later build; a live export's is kept."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    onnx = tmp_path / ".qa-cache" / "onnx"
    gone = onnx / f".model-abc.tmp-{dead.stdout.strip()}-x1y2"
    live = onnx / f".model-abc.tmp-{os.getpid()}-z3w4"
    for d in (gone, live):
        d.mkdir(parents=True)
        (d / "model.onnx").write_bytes(b"\0" * 1000)
    build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    assert not gone.exists() and live.exists()

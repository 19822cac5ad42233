"""Crash safety of `qa build`: kill -9 at every stage, two builds at once, leftovers.

The slow tests run the real `python -m qa.cli build` (real model) in a subprocess over a copy of the
session's real index, after editing the corpus ("38 cases" -> "41 cases") so that the new index
differs from the old one. A build is stopped at a named stage by the build's own test-only hook
(``QA_TEST_PAUSE_AT``, see ``qa.index.storage.stage_hook``), not after a guessed number of seconds,
and killed with SIGKILL there:

    locked   the lock is held, nothing written yet
    writing  the temporary directory holds the word vectors, docs.jsonl and chunks.jsonl only
    written  it holds every data file (vectors, FAISS, BM25) but no manifest
    swap     it holds a complete index, not yet swapped in
    swapped  the new index is in place, the lock not yet released

Whatever the stage, ``qa.index.format.load_index`` must then load a complete index (its manifest
checksums verified) that answers: the old one before the swap, the new one after; with no old
index there is still none. The next build, started at once, must clean up what the kill left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import ROOT, FakeEmbedder, checkout_env

from qa.answering.answer import answer_with_index
from qa.answering.retrieval import retrieve_with_index
from qa.api import load_index
from qa.errors import BuildInProgressError, CorruptIndexError, IndexMissingError
from qa.index.build import build_index
from qa.index.format import DATA_FILES
from qa.index.storage import build_lock
from qa.index.wordvec import META_FILE, VECTORS_FILE

ARTICLE = "human_trafficking_in_laos.txt"
QUESTION = "How many trafficking cases were investigated in 2007?"
OLD, NEW = "38 cases", "41 cases"


class Build:
    """A `qa build` subprocess whose stderr is read line by line in the background."""

    def __init__(self, corpus, index_dir, *extra, pause_at=None, resume_file=None):
        env = checkout_env()
        if pause_at:
            env["QA_TEST_PAUSE_AT"] = pause_at
        if resume_file:
            env["QA_TEST_RESUME_FILE"] = str(resume_file)
        args = ["build", "--corpus", str(corpus), "--index", str(index_dir), "--no-progress"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", *args, *extra],
            cwd=Path(index_dir).parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started = time.monotonic()
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()

    def wait_for_pause(self, stage: str, timeout: float = 180):
        marker = f"qa-test: paused at {stage}"
        deadline = time.monotonic() + timeout
        with self._new_line:
            while marker not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    self.kill()
                    pytest.fail(f"build never reached {stage!r}; stderr:\n" + "\n".join(self.lines))
                self._new_line.wait(min(left, 0.5))

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        out = self.proc.stdout.read() if self.proc.stdout else ""
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return rc, out, "\n".join(self.lines)


@pytest.fixture
def workspace(tmp_path, real_index):
    """A copy of the real index and its corpus, the corpus edited since: (corpus, index_dir)."""
    src_index, src_corpus = real_index
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(src_corpus, corpus)
    shutil.copytree(src_index, index_dir)
    path = corpus / ARTICLE
    text = path.read_text(encoding="utf-8")
    assert OLD in text
    path.write_text(text.replace(OLD, NEW), encoding="utf-8")
    return corpus, index_dir


def snapshot(index_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(index_dir.iterdir())}


def temp_dirs(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.is_dir() and p.name.startswith(".index."))


def assert_index_answers(index_dir: Path, embedder, expected: str):
    """The index loads (manifest, sizes and checksums verified) and answers from ``expected``."""
    idx = load_index(index_dir, embedder=embedder)
    top = retrieve_with_index(idx, QUESTION, 3)[0]
    assert expected in top.text and top.refs == (2,)
    ans = answer_with_index(idx, QUESTION)
    assert ans.outcome != "not_found" and any(expected in q.text for q in ans.quotes)


WORD_FILES = {VECTORS_FILE, META_FILE}
#: What the build's temporary directory holds when killed at each stage (None: no such directory).
LEFT_IN_TEMP = {
    "locked": None,
    # word vectors (qa.index.wordvec) are written first, so that the manifest describes them too
    "writing": {"docs.jsonl", "chunks.jsonl", *WORD_FILES},
    "written": {*DATA_FILES, *WORD_FILES},
    "swap": {*DATA_FILES, *WORD_FILES, "manifest.json"},
    "swapped": None,
}


def killed_at(stage: str, corpus: Path, index_dir: Path) -> Path | None:
    """Run `qa build` until it pauses at ``stage``, kill -9 it there; its temp dir, if any."""
    build = Build(corpus, index_dir, pause_at=stage)
    build.wait_for_pause(stage)
    build.kill()
    assert build.proc.returncode == -signal.SIGKILL
    left = temp_dirs(index_dir.parent)
    if LEFT_IN_TEMP[stage] is None:
        assert left == []
        return None
    assert len(left) == 1 and left[0].startswith(".index.tmp-"), left
    tmp = index_dir.parent / left[0]
    assert {p.name for p in tmp.iterdir()} == LEFT_IN_TEMP[stage]
    return tmp


def assert_next_build_cleans_up(corpus: Path, index_dir: Path, embedder) -> None:
    """The lock died with the killed build: a build without --wait runs and removes leftovers."""
    rc, out, err = Build(corpus, index_dir).finish()
    assert rc == 0, err
    assert "Traceback" not in err
    assert temp_dirs(index_dir.parent) == []
    assert f"changed files: {ARTICLE}" in out
    assert_index_answers(index_dir, embedder, NEW)


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(LEFT_IN_TEMP))
def test_kill_at_each_stage_keeps_a_loadable_index(workspace, real_embedder, stage):
    corpus, index_dir = workspace
    before = snapshot(index_dir)
    tmp = killed_at(stage, corpus, index_dir)
    if stage == "swapped":
        assert_index_answers(index_dir, real_embedder, NEW)
        rc, out, err = Build(corpus, index_dir).finish()  # nothing left to do or clean
        assert rc == 0, err
        assert "0 added, 0 removed" in out and temp_dirs(index_dir.parent) == []
        return
    assert snapshot(index_dir) == before
    assert_index_answers(index_dir, real_embedder, OLD)
    if stage == "swap":  # complete in its temp dir: it would answer, were it swapped in
        assert_index_answers(tmp, real_embedder, NEW)
    elif tmp is not None:  # half written: not an index anyone could load
        with pytest.raises(CorruptIndexError):
            load_index(tmp, embedder=real_embedder)
    assert_next_build_cleans_up(corpus, index_dir, real_embedder)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["writing", "written", "swap"])
def test_kill_during_a_first_build_leaves_no_index(workspace, real_embedder, stage):
    corpus, index_dir = workspace
    shutil.rmtree(index_dir)
    killed_at(stage, corpus, index_dir)
    assert not index_dir.exists()
    with pytest.raises(IndexMissingError):
        load_index(index_dir, corpus, embedder=real_embedder)
    assert_next_build_cleans_up(corpus, index_dir, real_embedder)


@pytest.mark.slow
def test_two_builds_at_once_one_refused_one_waits(workspace, real_embedder, tmp_path):
    corpus, index_dir = workspace
    resume = tmp_path / "resume"
    first = Build(corpus, index_dir, pause_at="locked", resume_file=resume)
    waiting = None
    try:
        first.wait_for_pause("locked")

        # without --wait: refused at once with one line, nothing written
        rc, out, err = Build(corpus, index_dir).finish(timeout=120)
        assert rc == 1 and out == ""
        assert err.strip().splitlines() == [
            f"qa: error: another build of {index_dir} is running; wait for it to finish "
            "(or use --wait)"
        ]
        assert temp_dirs(index_dir.parent) == []

        # with --wait: blocks until the first build is done, then runs on its result
        waiting = Build(corpus, index_dir, "--wait", "300")
        time.sleep(3)
        assert waiting.proc.poll() is None
        assert temp_dirs(index_dir.parent) == []
        resume.touch()
        rc1, out1, err1 = first.finish()
        rc2, out2, err2 = waiting.finish()
    finally:
        resume.touch()
        for build in (first, waiting):
            if build is not None:
                build.kill()
    assert rc1 == 0, err1
    assert rc2 == 0, err2
    assert "0 chunk(s) and 0 sentence(s) embedded" not in out1  # the first did the work
    # the second started after the first had swapped in: it found every vector cached
    assert "0 added, 0 removed" in out2 and "0 chunk(s) and 0 sentence(s) embedded" in out2
    assert temp_dirs(index_dir.parent) == []
    assert_index_answers(index_dir, real_embedder, NEW)


# --------------------------------------------------------- leftovers, in process (fake model)


def test_leftovers_are_kept_while_another_build_holds_the_lock(tmp_path, corpus_copy):
    """A temp dir is only stale when nobody holds the lock: a live build's is never touched."""
    index_dir = tmp_path / "index"
    live = tmp_path / ".index.tmp-live"
    live.mkdir()
    (live / "docs.jsonl").write_text("{}\n")
    with build_lock(index_dir), pytest.raises(BuildInProgressError):
        build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    assert (live / "docs.jsonl").exists()
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder())  # lock free: now it is stale
    assert temp_dirs(tmp_path) == []
    # with an index in place, a copy left aside by a swap that died is stale too
    shutil.copytree(index_dir, tmp_path / ".index.old-99999")
    (tmp_path / ".index.tmp-dead").mkdir()
    fake = FakeEmbedder()
    build_index(corpus_copy, index_dir, embedder=fake)
    assert temp_dirs(tmp_path) == [] and fake.encoded == 0


def test_index_left_aside_by_a_dead_swap_is_restored(tmp_path, corpus_copy):
    """Killed between the two renames of a non-exchanging swap: index/ is missing and the old
    index sits in .index.old-PID. The next build puts it back and reuses its vectors."""
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    index_dir.rename(tmp_path / ".index.old-4242")
    (tmp_path / ".index.tmp-dead").mkdir()
    fake = FakeEmbedder()
    report = build_index(corpus_copy, index_dir, embedder=fake)
    assert fake.encoded == 0 and report.chunks_unchanged == report.chunks
    assert temp_dirs(tmp_path) == []
    top = retrieve_with_index(
        load_index(index_dir, corpus_copy, embedder=FakeEmbedder()), QUESTION, 1
    )[0]
    assert OLD in top.text and top.refs == (2,)


def test_a_lock_held_by_another_process_refuses_and_dies_with_it(tmp_path, corpus_copy):
    """The lock is an flock on ``.index.lock`` beside the index: another process holding it
    refuses a build, with or without a wait, and a kill -9 of that process frees it."""
    index_dir = tmp_path / "index"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from qa.index.storage import build_lock; "
            "lock = build_lock(sys.argv[1]); lock.__enter__(); print('locked', flush=True); "
            "time.sleep(600)",
            str(index_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        assert (tmp_path / ".index.lock").is_file()
        with pytest.raises(BuildInProgressError, match=str(index_dir)):
            build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
        started = time.monotonic()
        with pytest.raises(BuildInProgressError):
            build_index(corpus_copy, index_dir, embedder=FakeEmbedder(), wait=0.5)
        assert time.monotonic() - started >= 0.5
        assert not index_dir.exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert build_index(corpus_copy, index_dir, embedder=FakeEmbedder(), wait=5).chunks > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".index.lock", "corpus", "index"]

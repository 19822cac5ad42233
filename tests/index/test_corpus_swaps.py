"""Red-team round two (issue 22): the corpus read once, safely, and within bounded time.

Finding 1: a symbolic link swapped in between the scan and the read is refused, not followed.
Finding 8: a file whose markup makes its parser slow is skipped with one warning, in time.
Finding 13: an unreadable subfolder is warned about; an unreadable corpus folder says so.
"""

from __future__ import annotations

import os
import time

import pytest
from helpers import FakeEmbedder

import qa.index.sources
from qa.api import load_index
from qa.errors import CorpusError
from qa.index.build import build_index
from qa.index.sources import load_corpus

ARTICLE = "human_trafficking_in_laos.txt"


def _swap_after_scan(monkeypatch, swap) -> None:
    """Run ``swap()`` after the build's reading scan, before any file is read (the build scans
    twice: for the corpus fingerprint, then to read)."""
    real = qa.index.sources.scan_corpus
    calls = []

    def scan_then_swap(corpus_dir):
        scan = real(corpus_dir)
        calls.append(1)
        if len(calls) == 2:
            swap()
        return scan

    monkeypatch.setattr(qa.index.sources, "scan_corpus", scan_then_swap)


def _secret(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.txt").write_text("Secret\n\nThe password is swordfish.\n", encoding="utf-8")
    return outside


def test_a_link_swapped_in_after_the_scan_is_not_followed(tmp_path, corpus_copy, monkeypatch):
    outside = _secret(tmp_path)
    victim = corpus_copy / "a.txt"
    victim.write_text("Lake\n\nThe lake is deep.\n", encoding="utf-8")

    def swap():
        victim.unlink()
        os.symlink(outside / "a.txt", victim)

    _swap_after_scan(monkeypatch, swap)
    report = build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    idx = load_index(tmp_path / "index", embedder=FakeEmbedder())
    assert all("swordfish" not in d.text for d in idx.docs)
    assert any("a.txt" in w and "refused" in w for w in report.warnings), report.warnings


def test_a_folder_swapped_for_a_link_after_the_scan_is_not_followed(
    tmp_path, corpus_copy, monkeypatch
):
    outside = _secret(tmp_path)
    sub = corpus_copy / "sub"
    sub.mkdir()
    (sub / "a.txt").write_text("Lake\n\nThe lake is deep.\n", encoding="utf-8")

    def swap():
        sub.rename(tmp_path / "moved")
        os.symlink(outside, sub)

    _swap_after_scan(monkeypatch, swap)
    report = build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    idx = load_index(tmp_path / "index", embedder=FakeEmbedder())
    assert all("swordfish" not in d.text for d in idx.docs)
    assert any("sub/a.txt" in w and "out of the corpus" in w for w in report.warnings)


@pytest.mark.slow  # waits out the parse deadline (seconds by design)
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bad.wiki", "Intro text.\n\n" + "{{a|" * 40_000),  # 160 KB: minutes unbounded
        ("bad.html", "<html><body>" + "<div>" * 200_000 + "x"),  # 1 MB
    ],
)
def test_a_slow_markup_file_is_skipped_in_bounded_time(
    tmp_path, corpus_copy, monkeypatch, name, text
):
    (corpus_copy / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr("qa.index.bounded.READ_SECONDS", 3.0)
    monkeypatch.setattr("qa.index.bounded.READ_SECONDS_PER_MB", 0.0)
    t0 = time.monotonic()
    docs, warnings = load_corpus(corpus_copy)
    assert time.monotonic() - t0 < 30
    assert [d.doc_id for d in docs] == [ARTICLE]
    (w,) = [w for w in warnings if name in w]
    assert "took over 3 s" in w and "\n" not in w


def test_a_good_markup_file_is_still_read_in_the_worker(tmp_path):
    (tmp_path / "lake.wiki").write_text(
        "'''Lake''' is deep.<ref>A book.</ref>\n\n== References ==\n<references/>\n",
        encoding="utf-8",
    )
    docs, _ = load_corpus(tmp_path)
    assert "Lake is deep.[1]" in docs[0].text and docs[0].references == {1: "A book."}


def _deny_folder(monkeypatch, folder) -> None:
    """Listing ``folder`` fails as for a folder of mode 000 (root, as in CI, could list it)."""
    real = os.scandir

    def guarded(path="."):
        if os.fspath(path) == os.fspath(folder):
            raise PermissionError(13, "Permission denied", os.fspath(folder))
        return real(path)

    monkeypatch.setattr(os, "scandir", guarded)


def test_an_unreadable_subfolder_is_warned_about(tmp_path, corpus_copy, monkeypatch):
    (corpus_copy / "private").mkdir()
    (corpus_copy / "private" / "x.txt").write_text("X\n\nHidden.\n", encoding="utf-8")
    _deny_folder(monkeypatch, corpus_copy / "private")
    docs, warnings = load_corpus(corpus_copy)
    assert [d.doc_id for d in docs] == [ARTICLE]
    (w,) = [w for w in warnings if "private" in w]
    assert "cannot be read (Permission denied)" in w


def test_an_unreadable_corpus_folder_says_so(corpus_copy, monkeypatch):
    _deny_folder(monkeypatch, corpus_copy)
    with pytest.raises(CorpusError, match="cannot be read \\(Permission denied\\)") as info:
        load_corpus(corpus_copy)
    assert "add some" not in str(info.value)

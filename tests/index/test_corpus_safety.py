"""Reading the corpus safely: never outside it, never stopped by one bad file, no control codes.

Each test builds through ``build_index`` (the public path) and checks BuildReport.warnings:
a symbolic link out of the corpus is refused, loops and dangling links are skipped, a file
name that is not UTF-8, an unreadable file, a FIFO and a file over QA_MAX_FILE_MB are skipped,
each with one printable warning naming it, and the good file is still indexed.
"""

from __future__ import annotations

import builtins
import io
import os
import re

import pytest
from helpers import FakeEmbedder

from qa.api import load_index
from qa.errors import ConfigError
from qa.index.build import build_index
from qa.settings import Settings

ARTICLE = "human_trafficking_in_laos.txt"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _build(corpus, tmp_path):
    report = build_index(corpus, tmp_path / "index", embedder=FakeEmbedder(), show_progress=False)
    idx = load_index(tmp_path / "index", corpus, embedder=FakeEmbedder())
    for w in report.warnings:
        w.encode("utf-8")  # printable: no lone surrogates
        assert "\n" not in w
    return report, idx


def _about(report, name: str) -> list[str]:
    return [w for w in report.warnings if name in w]


def test_link_out_of_the_corpus_is_refused(tmp_path, corpus_copy):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("Secret\n\nThe password is swordfish.\n", encoding="utf-8")
    os.symlink(secret, corpus_copy / "leak.txt")
    report, idx = _build(corpus_copy, tmp_path)
    (w,) = _about(report, "leak.txt")
    assert "outside the corpus" in w and str(corpus_copy / "leak.txt") in w
    assert report.documents == 1 and list(idx.doc_by_id) == [ARTICLE]
    assert all("swordfish" not in d.text for d in idx.docs)
    assert "leak.txt" not in idx.manifest.corpus_files  # never read, not even to hash it


def test_link_inside_the_corpus_is_read(tmp_path, corpus_copy):
    (corpus_copy / "sub").mkdir()
    (corpus_copy / "sub" / "lake.txt").write_text("Lake\n\nThe lake is deep.\n", encoding="utf-8")
    os.symlink(corpus_copy / "sub" / "lake.txt", corpus_copy / "alias.txt")
    report, idx = _build(corpus_copy, tmp_path)
    assert {"alias.txt", "sub/lake.txt", ARTICLE} == set(idx.doc_by_id)
    assert not report.warnings


def test_link_loop_and_dangling_link_are_skipped_with_a_warning(tmp_path, corpus_copy):
    os.symlink("loop.txt", corpus_copy / "loop.txt")
    os.symlink("nowhere.txt", corpus_copy / "dangling.txt")
    os.symlink(tmp_path, corpus_copy / "dirlink")
    report, idx = _build(corpus_copy, tmp_path)
    assert "loops" in " ".join(_about(report, "loop.txt"))
    assert "does not exist" in " ".join(_about(report, "dangling.txt"))
    assert "not followed" in " ".join(_about(report, "dirlink"))
    assert report.documents == 1


def test_file_name_that_is_not_utf8_is_skipped_with_a_printable_warning(tmp_path, corpus_copy):
    bad = os.fsencode(corpus_copy) + b"/caf\xe9.txt"
    with open(bad, "wb") as f:
        f.write(b"Cafe\n\nThe cafe opened in 1901.\n")
    report, idx = _build(corpus_copy, tmp_path)
    (w,) = _about(report, "caf\\xe9.txt")
    assert "not valid UTF-8" in w
    assert report.documents == 1 and list(idx.doc_by_id) == [ARTICLE]


def _deny(monkeypatch, path):
    """Opening ``path`` fails as for a file of mode 000 (root, as in CI, could read it)."""
    real_open = io.open

    def guarded(file, *args, **kwargs):
        if not isinstance(file, int) and os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(file, *args, **kwargs)

    real_os_open = os.open

    def guarded_os(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_os_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", guarded)
    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(os, "open", guarded_os)


def test_unreadable_file_is_skipped_and_the_good_one_indexed(tmp_path, corpus_copy, monkeypatch):
    locked = corpus_copy / "locked.txt"
    locked.write_text("Locked\n\nNobody may read this.\n", encoding="utf-8")
    locked.chmod(0)
    if os.geteuid() == 0:
        _deny(monkeypatch, locked)
    report, idx = _build(corpus_copy, tmp_path)
    (w,) = _about(report, "locked.txt")
    assert "cannot be read" in w
    assert report.documents == 1 and list(idx.doc_by_id) == [ARTICLE]


def test_fifo_is_skipped_without_blocking(tmp_path, corpus_copy):
    os.mkfifo(corpus_copy / "pipe.txt")
    report, _ = _build(corpus_copy, tmp_path)
    assert "not a regular file" in " ".join(_about(report, "pipe.txt"))


def test_nul_and_other_control_characters_never_reach_the_index(tmp_path, corpus_copy):
    filler = "A plain sentence about lakes. " * 400  # past the first 8 KiB
    text = f"Lakes\n\n{filler}\n\nThe lake\x00 is deep.\x07 The pond\x1b is shallow.\r\n"
    (corpus_copy / "nul.txt").write_bytes(text.encode("utf-8"))
    report, idx = _build(corpus_copy, tmp_path)
    assert "removed 3 control character(s)" in " ".join(_about(report, "nul.txt"))
    for d in idx.docs:
        assert not CONTROL.search(d.text)
    doc = idx.docs[idx.doc_by_id["nul.txt"]]
    assert "The lake is deep. The pond is shallow." in doc.text
    for s in idx.sentences:
        assert not CONTROL.search(idx.sentence_text(s.index))


def test_paragraph_after_the_references_list_is_warned_about(tmp_path, corpus_copy):
    (corpus_copy / "late.txt").write_text(
        "Rivers\n\nThe river is long.[1]\n\nReferences\n\n1. ^ Atlas.\n\n"
        "The river also floods every spring, as later surveys found.\n",
        encoding="utf-8",
    )
    report, _ = _build(corpus_copy, tmp_path)
    (w,) = _about(report, "late.txt")
    assert "not indexed" in w and "floods every spring" in w


def test_file_over_the_size_limit_is_skipped(tmp_path, corpus_copy):
    (corpus_copy / "big.txt").write_text("Big\n\n" + "Lakes are deep. " * 4000, encoding="utf-8")
    report = build_index(
        corpus_copy, tmp_path / "index", embedder=FakeEmbedder(), max_file_bytes=50_000
    )
    idx = load_index(tmp_path / "index", embedder=FakeEmbedder())
    (w,) = _about(report, "big.txt")
    assert "over the limit" in w and "QA_MAX_FILE_MB" in w
    assert list(idx.doc_by_id) == [ARTICLE]


@pytest.mark.parametrize("value", ["abc", "0", "-3", "inf"])
def test_bad_size_limit_is_one_clear_error(value):
    with pytest.raises(ConfigError, match="QA_MAX_FILE_MB must be a positive number") as info:
        Settings.from_env({"QA_MAX_FILE_MB": value})
    assert "\n" not in str(info.value)
    assert Settings.from_env({"QA_MAX_FILE_MB": "0.5"}).max_file_bytes == 500_000


def test_a_form_the_reader_cannot_read_is_one_warning(tmp_path, corpus_copy, monkeypatch):
    import qa.index.bounded
    import qa.readers

    def broken(text, doc_id, path):
        raise ValueError("unexpected markup\nat line 3")

    monkeypatch.setitem(qa.readers.READERS, ".wiki", broken)
    # in this process, where the patch holds (markup is otherwise read in a worker process)
    monkeypatch.setattr(qa.index.bounded, "_is_markup", lambda text, suffix: False)
    (corpus_copy / "Page.wiki").write_text("Some '''wikitext'''.\n", encoding="utf-8")
    (corpus_copy / "empty.html").write_text("<html><body><div></div></body></html>", "utf-8")
    report, idx = _build(corpus_copy, tmp_path)
    (w,) = _about(report, "Page.wiki")
    assert "could not be read as .wiki" in w
    (w,) = _about(report, "empty.html")
    assert "no paragraphs of text" in w
    assert list(idx.doc_by_id) == [ARTICLE]

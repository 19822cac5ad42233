"""Bad corpora through build_index and `qa build`: a clear warning or error naming the file.

The parser-level behaviour is in test_corpus.py; here the whole build is run: a bad file beside
a good one is skipped or indexed with a warning in BuildReport.warnings that names it, the good
file is indexed exactly as if it were alone, and a corpus with nothing usable fails with one
CorpusError (one `qa: error:` line from the CLI) that names the directory or the files, leaving
any previous index untouched.
"""

from __future__ import annotations

import shutil

import pytest
from helpers import FakeEmbedder, assert_one_line_error, run_qa

from qa.answering.retrieval import retrieve_with_index
from qa.api import load_index
from qa.errors import CorpusError
from qa.index.build import build_index
from qa.index.chunking import ChunkerSettings, chunk_documents
from qa.index.embedding import DEFAULT_MODEL
from qa.index.sources import read_document
from qa.readers.document import MAX_SENTENCE_CHARS

ARTICLE = "human_trafficking_in_laos.txt"
QUESTION = "How many trafficking cases were investigated in 2007?"


def _latin1(path):
    path.write_bytes("Café history\n\nThe café opened in 1901.\n".encode("latin-1"))


def _huge_line(path):
    unit = "lorem ipsum dolor sit amet "
    path.write_text("Huge file\n\n" + unit * (5_000_000 // len(unit)) + "\n", encoding="utf-8")


#: name -> (writer, is the file still indexed, words the warning about it must contain)
BAD_FILES = {
    "empty": (lambda p: p.write_bytes(b""), False, "is empty"),
    "whitespace-only": (lambda p: p.write_bytes(b" \n\n\t\r\n  \n"), False, "is empty"),
    "bom-only": (lambda p: p.write_bytes(b"\xef\xbb\xbf\n"), False, "is empty"),
    "binary": (
        lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8),
        False,
        "binary",
    ),
    "utf16": (lambda p: p.write_bytes("Title\n\nA sentence.\n".encode("utf-16")), False, "binary"),
    "non-utf8": (_latin1, False, "UTF-8"),
    "headings-only": (
        lambda p: p.write_text("Title\n\nSection\n\nOther section\n"),
        False,
        "no paragraphs",
    ),
    "5MB-one-line": (_huge_line, True, "split at spaces"),
    "marker-without-entry": (
        lambda p: p.write_text(
            "Rivers\n\nThe river is long.[1] It floods.[7]\n\nReferences\n\n1. ^ Atlas.\n"
        ),
        True,
        "marker [7] has no entry",
    ),
    "duplicate-reference": (
        lambda p: p.write_text(
            "Lakes\n\nThe lake is deep.[1] The pond is flat.[2]\n\nReferences\n\n"
            "1. ^ Atlas.\n2. ^ Survey.\n2. ^ Survey, second printing.\n"
        ),
        True,
        "reference 2 is listed twice",
    ),
    "references-without-markers": (
        lambda p: p.write_text("Hills\n\nThe hill is high.\n\nReferences\n\n1. ^ Atlas.\n"),
        True,
        "no [n] markers",
    ),
    "markers-without-references": (
        lambda p: p.write_text("Hills\n\nThe hill is high.[3] The dale is low.[4]\n"),
        True,
        "no References list",
    ),
}


@pytest.fixture(scope="module")
def article_alone(article_path):
    """Chunk texts of the article when it is the only file (what a mixed build must keep)."""
    doc = read_document(article_path, article_path.parent)
    return [(c.start, c.end, c.refs) for c in chunk_documents([doc], ChunkerSettings())]


def _article_chunks(idx):
    pos = idx.doc_by_id[ARTICLE]
    return [(c.start, c.end, c.refs) for c in idx.chunks if c.doc == pos]


def _temp_dirs(parent):
    return sorted(p.name for p in parent.iterdir() if p.is_dir() and p.name.startswith(".index"))


# ------------------------------------------------------------------ a good file beside a bad


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_good_file_is_indexed_beside_a_bad_one(tmp_path, corpus_copy, article_alone, kind):
    write, indexed, words = BAD_FILES[kind]
    bad = corpus_copy / f"bad {kind} ພາສາ.txt"  # spaces and non-ASCII in the name as well
    write(bad)
    index_dir = tmp_path / "index"
    report = build_index(corpus_copy, index_dir, embedder=FakeEmbedder(), show_progress=False)

    about_bad = [w for w in report.warnings if str(bad) in w]
    assert about_bad, f"no warning names {bad}: {report.warnings}"
    assert any(words in w for w in about_bad), about_bad
    assert not [w for w in report.warnings if ARTICLE in w]  # the good file is not blamed
    assert all("\n" not in w for w in report.warnings)  # one line each on the CLI
    assert report.documents == (2 if indexed else 1)

    idx = load_index(index_dir, corpus_copy, embedder=FakeEmbedder())
    assert (bad.name in idx.doc_by_id) is indexed
    assert _article_chunks(idx) == article_alone
    assert any(p.doc_id == ARTICLE for p in retrieve_with_index(idx, QUESTION, 5))
    # the skipped file is still fingerprinted: fixing it later makes the index stale
    assert bad.name in idx.manifest.corpus_files


def test_huge_line_is_indexed_in_bounded_pieces(tmp_path, corpus_copy):
    _huge_line(corpus_copy / "huge.txt")
    report = build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    (warning,) = [w for w in report.warnings if "huge.txt" in w]
    assert f"{MAX_SENTENCE_CHARS} characters" in warning and "huge.txt:3:" in warning
    idx = load_index(tmp_path / "index", corpus_copy, embedder=FakeEmbedder())
    huge = idx.doc_by_id["huge.txt"]
    chunks = [c for c in idx.chunks if c.doc == huge]
    assert len(chunks) > 5_000_000 // (2 * MAX_SENTENCE_CHARS)
    assert max(c.end - c.start for c in chunks) <= MAX_SENTENCE_CHARS
    assert retrieve_with_index(idx, "lorem ipsum", 3)[0].doc_id == "huge.txt"


def test_several_bad_files_each_named_once(tmp_path, corpus_copy):
    names = ["empty", "binary", "non-utf8", "marker-without-entry", "duplicate-reference"]
    for name in names:
        BAD_FILES[name][0](corpus_copy / f"{name}.txt")
    report = build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder())
    for name in names:
        assert len([w for w in report.warnings if f"{name}.txt" in w]) == 1, report.warnings
    assert report.documents == 3


# ------------------------------------------------------------------ nothing usable: an error


def test_missing_corpus_leaves_previous_index(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder())
    before = {p.name: p.read_bytes() for p in index_dir.iterdir()}
    missing = tmp_path / "gone"
    with pytest.raises(CorpusError, match="does not exist") as info:
        build_index(missing, index_dir, embedder=FakeEmbedder())
    assert str(missing) in str(info.value)
    assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == before
    assert _temp_dirs(tmp_path) == []
    assert retrieve_with_index(load_index(index_dir, embedder=FakeEmbedder()), QUESTION, 1)


def test_corpus_path_that_is_a_file(tmp_path, article_path):
    with pytest.raises(CorpusError, match="is a file, not a directory") as info:
        build_index(article_path, tmp_path / "index", embedder=FakeEmbedder())
    assert str(article_path) in str(info.value)
    assert not (tmp_path / "index").exists()


def test_empty_directory(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sub").mkdir()
    (corpus / "data.csv").write_text("a,b\n")
    (corpus / ".hidden.txt").write_text("Hidden\n\nA sentence.\n")
    fake = FakeEmbedder()
    with pytest.raises(CorpusError, match="no .txt, .md") as info:
        build_index(corpus, tmp_path / "index", embedder=fake)
    assert str(corpus) in str(info.value)
    assert fake.encoded == 0 and not (tmp_path / "index").exists()


def test_only_bad_files_is_one_error_naming_each(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("empty", "binary", "non-utf8", "headings-only"):
        BAD_FILES[name][0](corpus / f"{name}.txt")
    fake = FakeEmbedder()
    with pytest.raises(CorpusError, match="no usable file") as info:
        build_index(corpus, tmp_path / "index", embedder=fake)
    message = str(info.value)
    assert "\n" not in message
    for name in ("empty", "binary", "non-utf8", "headings-only"):
        assert str(corpus / f"{name}.txt") in message
    assert fake.encoded == 0 and not (tmp_path / "index").exists()
    assert _temp_dirs(tmp_path) == []


# ----------------------------------------------------------------------------------- CLI


def test_cli_build_missing_corpus_keeps_index(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder(name=DEFAULT_MODEL))
    manifest = (index_dir / "manifest.json").read_bytes()
    missing = tmp_path / "gone"
    proc = run_qa("build", "--corpus", missing, "--index", index_dir, cwd=tmp_path)
    assert_one_line_error(proc, str(missing), "does not exist")
    assert (index_dir / "manifest.json").read_bytes() == manifest


def test_cli_build_empty_directory(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    proc = run_qa("build", "--corpus", corpus, "--index", tmp_path / "index", cwd=tmp_path)
    assert_one_line_error(proc, str(corpus), "no .txt, .md")
    assert not (tmp_path / "index").exists()


def test_cli_build_corpus_is_a_file(tmp_path, article_path):
    proc = run_qa("build", "--corpus", article_path, "--index", tmp_path / "index", cwd=tmp_path)
    assert_one_line_error(proc, str(article_path), "not a directory")


def test_cli_build_only_bad_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("empty", "binary", "non-utf8"):
        BAD_FILES[name][0](corpus / f"{name}.txt")
    proc = run_qa("build", "--corpus", corpus, "--index", tmp_path / "index", cwd=tmp_path)
    assert_one_line_error(proc, "no usable file", "empty.txt", "binary.txt", "non-utf8.txt")
    assert not (tmp_path / "index").exists()


@pytest.mark.slow
def test_cli_build_good_beside_bad_files(tmp_path, data_dir, real_embedder):
    """The real `qa build`: exit 0, one `warning:` line per bad file, the good file indexed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(data_dir / "wiki_sample.txt", corpus / "wiki_sample.txt")
    bad = ["binary", "non-utf8", "empty", "marker-without-entry", "duplicate-reference"]
    for name in bad:
        BAD_FILES[name][0](corpus / f"{name}.txt")
    index_dir = tmp_path / "index"
    proc = run_qa("build", "--corpus", corpus, "--index", index_dir, "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    for name in bad:
        assert len([w for w in warnings if f"{corpus / name}.txt" in w]) == 1, proc.stderr
    assert not [w for w in warnings if "wiki_sample" in w]
    assert "indexed 3 document(s)" in proc.stdout

    idx = load_index(index_dir, corpus, embedder=real_embedder)
    top = retrieve_with_index(idx, "When did tea reach Atlantis?", 3)[0]
    assert top.doc_id == "wiki_sample.txt" and "1802" in top.text and 1 in top.refs

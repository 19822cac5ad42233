"""qa.verify and `qa verify`: verbatim or not, where, and whether the [n] are the source's."""

from __future__ import annotations

import json

import pytest
from helpers import FakeEmbedder, run_qa

from qa.answering.verify import MAX_VERIFY_CHARS, normalize, span_refs
from qa.api import load_index, verify
from qa.cli import NOT_VERIFIED, main
from qa.errors import QuestionError
from qa.index.build import build_index
from qa.index.embedding import DEFAULT_MODEL

RATIFIED = "Laos ratified the 2000 UN TIP Protocol in September 2003."
TIERS = 'placed the country in "Tier 3 Watchlist" in 2018.[3] In 2023 it was placed at Tier 2.[4]'
VICTIMS = "foreigners have been victims of sex trafficking in Laos."
TINY = """Tiny article

First fact here.[1] Second fact, cited twice.[2][3] A sentence after the last marker.

Section two

It’s “quoted” here.[4]

References

1. ^ One.
2. ^ Two.
3. ^ Three.
4. ^ Four.
"""


@pytest.fixture
def article(fake_index):
    index_dir, corpus, _ = fake_index
    return load_index(index_dir, corpus, embedder=FakeEmbedder())


@pytest.fixture
def tiny(tmp_path):
    corpus = tmp_path / "tiny-corpus"
    corpus.mkdir()
    (corpus / "tiny.txt").write_text(TINY, encoding="utf-8")
    build_index(corpus, tmp_path / "tiny-index", embedder=FakeEmbedder(), show_progress=False)
    return load_index(tmp_path / "tiny-index", corpus, embedder=FakeEmbedder())


def source_slice(index, v) -> str:
    return index.document_text(v.doc_id)[v.start : v.end]


def test_verbatim_with_its_marker(article):
    v = verify(RATIFIED + "[1]", index=article)
    assert v.verbatim and v.ok and v.refs_ok is True
    assert v.doc_id == "human_trafficking_in_laos.txt" and v.title == "Human trafficking in Laos"
    assert v.quote == RATIFIED == source_slice(article, v)
    assert v.refs == (1,) and v.closing_refs == (1,)
    assert [(r.number, r.text[:27]) for r in v.references] == [(1, "United Nations Treaty Colle")]
    assert [(c.text, c.claimed, c.source) for c in v.ref_checks] == [(RATIFIED, (1,), (1,))]


def test_verbatim_without_markers_still_gets_the_source_refs(article):
    v = verify(RATIFIED, index=article)
    assert v.verbatim and v.ok and v.refs_ok is None and v.ref_checks == []
    assert v.refs == (1,)


def test_a_partial_sentence_takes_the_run_that_closes_it(article):
    v = verify("was placed at Tier", index=article)
    assert v.verbatim and v.refs == (4,) and v.section == ""


def test_whitespace_and_quote_marks_may_differ(article):
    given = "placed  the country in\n“Tier 3 Watchlist” in 2018. In 2023\tit was placed at Tier 2."
    v = verify(given, index=article)
    assert v.verbatim
    assert v.quote == source_slice(article, v) == TIERS.removesuffix("[4]")
    curly = verify("the country's most significant crime", index=article)  # the source has ’
    assert curly.verbatim and "country’s" in curly.quote and curly.refs == (5,)


def test_one_word_changed_is_not_verbatim_and_the_diff_says_which(article):
    v = verify(RATIFIED.replace("September", "October"), index=article)
    assert not v.verbatim and not v.ok
    assert v.closest == RATIFIED and v.refs == (1,)
    assert v.similarity > 0.85
    changed = [(d.op, d.source, d.given) for d in v.diff if d.op != "equal"]
    assert changed == [("replace", "September", "October")]
    assert "[-September-] {+October+}" in v.diff_text()


def test_right_text_with_the_wrong_reference(article):
    v = verify(RATIFIED + " [2]", index=article)
    assert v.verbatim and v.refs == (1,)
    assert v.refs_ok is False and not v.ok
    (check,) = v.ref_checks
    assert check.claimed == (2,) and check.wrong == (2,) and check.missing == (1,)


def test_two_sentences_with_different_refs(article):
    v = verify(TIERS, index=article)
    assert v.verbatim and v.ok and v.refs == (3, 4)
    assert [(c.claimed, c.source) for c in v.ref_checks] == [((3,), (3,)), ((4,), (4,))]
    swapped = verify(TIERS.replace("[3]", "[x]").replace("[4]", "[3]").replace("[x]", "[4]"),
                     index=article)  # fmt: skip
    assert swapped.verbatim and [c.wrong for c in swapped.ref_checks] == [(4,), (3,)]
    one_claim = verify(TIERS.replace("2018.[3]", "2018.").replace("[4]", "[3]"), index=article)
    (check,) = one_claim.ref_checks
    assert check.source == (3, 4) and check.missing == (4,) and not one_claim.ok


def test_a_run_of_markers_is_one_claim(article):
    assert verify(VICTIMS + "[7][8][9]", index=article).ok
    spaced = verify(VICTIMS + "[7] [8]  [9]", index=article)
    assert spaced.ok and [c.claimed for c in spaced.ref_checks] == [(7, 8, 9)]
    partial = verify(VICTIMS + "[7][8]", index=article)
    assert partial.verbatim and not partial.ok and partial.ref_checks[0].missing == (9,)


def test_text_not_in_the_source(article):
    v = verify("The moon is made of green cheese.", index=article)
    assert not v.verbatim and not v.ok and v.similarity < 0.5


def test_text_after_the_last_marker_carries_no_reference(tiny):
    v = verify("A sentence after the last marker.", index=tiny)
    assert v.verbatim and v.refs == () and v.uncited
    both = verify("cited twice.[2][3] A sentence after", index=tiny)
    assert both.refs == (2, 3) and both.uncited and both.ok
    assert verify("Second fact", index=tiny).refs == (2, 3)
    spaced = verify("Second fact, cited twice.[2] [3] A sentence", index=tiny)
    assert spaced.ok and [c.claimed for c in spaced.ref_checks] == [(2, 3)]
    quoted = verify('It\'s "quoted" here.', index=tiny)
    assert quoted.verbatim and quoted.refs == (4,) and quoted.section == "Section two"


def test_span_refs_rule_directly():
    text = "A one.[1] B two.[2][3] C three."
    assert span_refs(text, 0, 6, len(text)) == ((1,), (1,))  # "A one."
    assert span_refs(text, 0, 2, len(text)) == ((1,), (1,))  # "A " ends in [1]'s text
    assert span_refs(text, 0, 16, len(text)) == ((1, 2, 3), (2, 3))  # through "B two."
    assert span_refs(text, 23, len(text), len(text)) == ((), ())  # after the last marker


def test_normalize_keeps_offsets_and_removes_markers():
    norm, offsets, runs = normalize("It’s  “x”.[1][2]\nNext")
    assert norm == 'It\'s "x". Next'
    assert runs == [(9, (1, 2))]
    assert offsets[norm.index("N")] == len("It’s  “x”.[1][2]\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("  [1][2] ", "empty"), ("x" * (MAX_VERIFY_CHARS + 1), "limit"), (3, "text")],
)
def test_bad_input_is_refused(article, text, message):
    with pytest.raises(QuestionError, match=message):
        verify(text, index=article)


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def named_index(tmp_path, corpus_copy):
    """The article indexed by the fake embedder under the default model's name: the CLI takes it
    as it is (verify embeds nothing), so no model is loaded."""
    build_index(corpus_copy, tmp_path / "index", embedder=FakeEmbedder(name=DEFAULT_MODEL))
    return tmp_path / "index", corpus_copy


def run(capsys, index_dir, corpus, *args):
    rc = main(["verify", *args, "--index", str(index_dir), "--corpus", str(corpus)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_verbatim(named_index, capsys):
    index_dir, corpus = named_index
    rc, out, err = run(capsys, index_dir, corpus, RATIFIED + "[1]")
    assert (rc, err) == (0, "")
    assert out.startswith("verbatim: Human trafficking in Laos, characters ")
    assert f"> {RATIFIED} [1]" in out and "claimed [1]: right" in out and "- [1] United" in out


def test_cli_wrong_reference_exits_3(named_index, capsys):
    index_dir, corpus = named_index
    rc, out, _ = run(capsys, index_dir, corpus, RATIFIED + "[2]")
    assert rc == NOT_VERIFIED == 3
    assert "claimed [2]: WRONG; source [1]" in out


def test_cli_changed_word_and_json(named_index, capsys):
    index_dir, corpus = named_index
    rc, out, _ = run(capsys, index_dir, corpus, RATIFIED.replace("2003", "2004"), "--json")
    assert rc == 3
    d = json.loads(out)
    assert d["verbatim"] is False and d["ok"] is False and d["closest"] == RATIFIED
    assert {"op": "replace", "source": "2003.", "given": "2004."} in d["diff"]
    rc, out, _ = run(capsys, index_dir, corpus, TIERS, "--json")
    d = json.loads(out)
    assert rc == 0 and d["refs"] == [3, 4] and [c["ok"] for c in d["ref_checks"]] == [True, True]


def test_cli_not_in_the_source_and_bad_input(named_index, capsys):
    index_dir, corpus = named_index
    rc, out, _ = run(capsys, index_dir, corpus, "Nothing of the sort appears anywhere.")
    assert rc == 3 and out.startswith("NOT ")
    rc, out, err = run(capsys, index_dir, corpus, "   ")
    assert rc == 1 and out == "" and err.startswith("qa: error: the text to verify is empty")


def test_cli_subprocess_exit_codes(named_index, tmp_path):
    index_dir, corpus = named_index
    flags = ["--index", index_dir, "--corpus", corpus]
    ok = run_qa("verify", RATIFIED, *flags, cwd=tmp_path)
    assert ok.returncode == 0 and "verbatim:" in ok.stdout and ok.stderr == ""
    bad = run_qa("verify", RATIFIED + "[9]", *flags, cwd=tmp_path)
    assert bad.returncode == 3 and "WRONG" in bad.stdout

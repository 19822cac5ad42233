"""The `qa` command: exit codes, one-line errors, `search --json` and `build` output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import FakeEmbedder, assert_one_line_error, run_qa

from qa.cli import main
from qa.index.build import build_index
from qa.index.chunking import ChunkerSettings, chunk_documents
from qa.index.embedding import DEFAULT_MODEL
from qa.index.storage import build_lock
from qa.readers import parse_text

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_NAME = "human_trafficking_in_laos.txt"
QUESTION = "How many trafficking cases were investigated in 2007?"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in [v for v in os.environ if v.startswith("QA_")]:
        monkeypatch.delenv(var)


@pytest.fixture
def default_named_index(tmp_path, corpus_copy):
    """An index built by the fake embedder under the default model's name.

    The CLI accepts it without loading any model as long as nothing has to be embedded, which
    is all the error paths need.
    """
    index_dir = tmp_path / "index"
    build_index(corpus_copy, index_dir, embedder=FakeEmbedder(name=DEFAULT_MODEL))
    return index_dir, corpus_copy


# -------------------------------------------------------------------- subprocess: exit codes


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("truncate-faiss", "vectors.faiss"),
        ("delete-chunks", "chunks.jsonl"),
        ("garbage-manifest", "manifest.json"),
        ("null-files-in-manifest", "manifest.json"),
    ],
)
def test_subprocess_corrupt_index_is_one_line(default_named_index, tmp_path, damage, expected):
    index_dir, corpus = default_named_index
    if damage == "truncate-faiss":
        p = index_dir / "vectors.faiss"
        p.write_bytes(p.read_bytes()[:100])
    elif damage == "delete-chunks":
        (index_dir / "chunks.jsonl").unlink()
    elif damage == "garbage-manifest":
        (index_dir / "manifest.json").write_bytes(b"\x00{not json")
    else:
        m = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        m["files"] = None
        (index_dir / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    proc = run_qa("search", QUESTION, "--index", index_dir, "--corpus", corpus, cwd=tmp_path)
    assert_one_line_error(proc, expected, "qa build")


def test_subprocess_missing_corpus_search_is_one_line(default_named_index, tmp_path):
    index_dir, _ = default_named_index
    missing = tmp_path / "no-such-corpus"
    proc = run_qa("search", QUESTION, "--index", index_dir, "--corpus", missing, cwd=tmp_path)
    assert_one_line_error(proc, str(missing), "does not exist")


def test_subprocess_missing_corpus_build_is_one_line(tmp_path):
    missing = tmp_path / "no-such-corpus"
    proc = run_qa("build", "--corpus", missing, "--index", tmp_path / "index", cwd=tmp_path)
    assert_one_line_error(proc, str(missing), "does not exist")
    assert not (tmp_path / "index").exists()


def test_subprocess_usage_error_exit_2(tmp_path):
    proc = run_qa("search", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "usage: qa" in proc.stderr


# --------------------------------------------------------------- in process, no model needed


def test_bad_chunker_settings_exit_2(tmp_path, corpus_copy, capsys):
    rc = main(
        ["build", "--corpus", str(corpus_copy), "--index", str(tmp_path / "i"),
         "--max-sentences", "2", "--overlap", "2"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines()[-1].startswith("qa: error:") and "overlap" in err
    assert not (tmp_path / "i").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "-k", "3"], "empty"),
        ([QUESTION, "-k", "0"], "k must be"),
        ([QUESTION, "-k", "51"], "k must be"),
        (["x" * 1001], "1000"),
    ],
)
def test_search_bad_question_or_k(default_named_index, capsys, args, message):
    index_dir, corpus = default_named_index
    rc = main(["search", *args, "--index", str(index_dir), "--corpus", str(corpus)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert out == ""
    assert err.startswith("qa: error:") and message in err
    assert len(err.strip().splitlines()) == 1


def test_build_refused_while_another_runs(tmp_path, corpus_copy, capsys):
    index_dir = tmp_path / "index"
    with build_lock(index_dir):
        rc = main(["build", "--corpus", str(corpus_copy), "--index", str(index_dir)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "qa: error: another build" in err
    assert not index_dir.exists()


def test_corrupt_index_in_process(default_named_index, capsys):
    index_dir, corpus = default_named_index
    (index_dir / "docs.jsonl").write_text("{}", encoding="utf-8")
    rc = main(["search", QUESTION, "--index", str(index_dir), "--corpus", str(corpus)])
    out, err = capsys.readouterr()
    assert rc == 1 and out == ""
    assert err.startswith("qa: error:") and "docs.jsonl" in err and "qa build" in err


# ------------------------------------------------------------------- bad configuration

#: (variable, value, the one line `qa` prints after "qa: error: ")
BAD_SETTINGS = [
    (
        "QA_SEARCH_THREADS",
        "two",
        "QA_SEARCH_THREADS must be a whole number from 1 to 64, got 'two'",
    ),
    ("QA_SEARCH_THREADS", "0", "QA_SEARCH_THREADS must be a whole number from 1 to 64, got '0'"),
    ("QA_QUERY_THREADS", "-1", "QA_QUERY_THREADS must be a whole number from 1 to 64, got '-1'"),
    ("QA_QUERY_THREADS", "1.5", "QA_QUERY_THREADS must be a whole number from 1 to 64, got '1.5'"),
    # red-team round two, finding 9: 100000 once started 4,298 threads and took 16 GB
    ("QA_QUERY_THREADS", "100000", "QA_QUERY_THREADS must be a whole number from 1 to 64"),
    ("QA_SEARCH_THREADS", "9" * 40, "QA_SEARCH_THREADS must be a whole number from 1 to 64"),
    ("QA_EXACT_MAX_CHUNKS", "1e5", "QA_EXACT_MAX_CHUNKS must be a whole number from 0 to"),
    ("QA_REBUILD_INTERVAL", "99999999", "QA_REBUILD_INTERVAL must be a whole number from 0 to"),
    ("QA_MAX_FILE_MB", "1e9", "QA_MAX_FILE_MB must be a positive number of megabytes up to"),
    ("QA_PORT", "abc", "QA_PORT must be a port number from 1 to 65535, got 'abc'"),
    ("QA_PORT", "65536", "QA_PORT must be a port number from 1 to 65535, got '65536'"),
    ("QA_DEVICE", "GPU 1", "QA_DEVICE must be a torch device such as cpu, cuda or cuda:0, got"),
    ("QA_HOST", "local host", "QA_HOST must be a host name or IP address"),
]


@pytest.mark.parametrize(("variable", "value", "message"), BAD_SETTINGS)
@pytest.mark.parametrize(
    "argv", [["--help"], ["build", "--help"], ["search", QUESTION], ["eval"], ["serve"]]
)
def test_bad_setting_is_one_line_for_every_subcommand(
    monkeypatch, tmp_path, capsys, variable, value, message, argv
):
    monkeypatch.chdir(tmp_path)  # were the value let through: no corpus, a quick other error
    monkeypatch.setenv(variable, value)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"qa: error: {message}") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({"QA_SEARCH_THREADS": "two"}, ["--help"], "QA_SEARCH_THREADS must be a whole number"),
        ({"QA_PORT": "abc"}, ["build", "--help"], "QA_PORT must be a port number"),
    ],
)
def test_subprocess_bad_setting_is_one_line(tmp_path, env, argv, message):
    proc = run_qa(*argv, cwd=tmp_path, env=env, timeout=120)
    assert_one_line_error(proc, message)


def test_subprocess_app_bad_setting_is_one_line(tmp_path):
    """`python app.py` reads the same settings and fails the same way."""
    proc = run_qa(
        "--help", cwd=tmp_path, env={"QA_PORT": "80 80"}, script=str(ROOT / "app.py"), timeout=120
    )
    assert_one_line_error(proc, "QA_PORT must be a port number from 1 to 65535, got '80 80'")


def test_settings_from_env_reads_every_variable_and_ignores_empty_ones():
    from qa.settings import Settings

    env = {
        "QA_CORPUS_DIR": "texts",
        "QA_INDEX_DIR": " built ",
        "QA_MODEL": "some/model",
        "QA_DEVICE": "cuda:1",
        "QA_QUERY_THREADS": "3",
        "QA_SEARCH_THREADS": "2",
        "QA_EXACT_MAX_CHUNKS": "0",
        "QA_MAX_FILE_MB": "2.5",
        "QA_HOST": "0.0.0.0",
        "QA_PORT": "8080",
    }
    assert Settings.from_env(env) == Settings(
        corpus_dir=Path("texts"),
        index_dir=Path("built"),
        model="some/model",
        device="cuda:1",
        query_threads=3,
        search_threads=2,
        exact_max_chunks=0,
        max_file_mb=2.5,
        host="0.0.0.0",
        port=8080,
    )
    assert Settings.from_env({k: " " for k in env}) == Settings() == Settings.from_env({})
    assert Settings().override(corpus_dir="c", model=None, port=1) == Settings(
        corpus_dir=Path("c"), port=1
    )


def test_settings_reach_the_embedder_the_index_and_the_search(
    default_named_index, tmp_path, monkeypatch, capsys
):
    """QA_* values travel as arguments (model, device, threads, exact limit); none is written
    to os.environ."""
    import faiss

    import qa.cli
    import qa.index.backend

    index_dir, corpus = default_named_index
    asked, threads = [], []

    def get_embedder(model=None, device=None, query_threads=None):
        asked.append((model, device, query_threads))
        return FakeEmbedder(name=model or DEFAULT_MODEL)

    monkeypatch.setattr(qa.cli, "get_embedder", get_embedder)
    monkeypatch.setattr(qa.index.backend, "get_embedder", get_embedder)
    monkeypatch.setattr(faiss, "omp_set_num_threads", threads.append)
    monkeypatch.setenv("QA_DEVICE", "cuda:1")
    monkeypatch.setenv("QA_QUERY_THREADS", "3")
    monkeypatch.setenv("QA_SEARCH_THREADS", "2")
    monkeypatch.setenv("QA_EXACT_MAX_CHUNKS", "5")
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("QA_CORPUS_DIR", str(corpus))
    before = dict(os.environ)

    assert main(["build", "--index", str(index_dir), "--model", DEFAULT_MODEL]) == 0
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["faiss_index"] == "hnsw"  # 5 < the chunks of the article
    assert main(["search", QUESTION, "--index", str(index_dir), "-k", "2"]) == 0
    assert "1. " in capsys.readouterr().out
    assert asked == [(DEFAULT_MODEL, "cuda:1", 3), (DEFAULT_MODEL, "cuda:1", 3)]
    assert threads and set(threads) == {2}
    assert dict(os.environ) == before
    assert not (tmp_path / "elsewhere").exists()  # --index won over QA_INDEX_DIR


def test_eval_missing_questions_file_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    assert main(["eval", "--questions", str(missing), "--index", str(tmp_path / "i")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"qa: error: cannot read questions file {missing}")
    assert not (tmp_path / "i").exists()  # refused before any index was built


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("{not json", "Expecting property name"),
        ('["a list"]', "not a JSON object"),
        ('{"id": "q2", "question": "Who?"}', "no 'answerable'"),
    ],
)
def test_eval_malformed_questions_file_names_the_line(tmp_path, capsys, line, why):
    good = {"id": "q1", "question": "Who?", "answerable": True, "answers": ["x"], "refs": [1]}
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + line + "\n", encoding="utf-8")
    assert main(["eval", "--questions", str(path), "--index", str(tmp_path / "i")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"qa: error: {path}:3: bad gold question (") and why in err


# ---------------------------------------------------------------------- real model (slow)


@pytest.mark.slow
def test_search_json(real_index, capsys):
    index_dir, corpus = real_index
    rc = main(["search", QUESTION, "--json", "--index", str(index_dir), "--corpus", str(corpus)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    passages = json.loads(out)
    assert len(passages) == 5
    first = passages[0]
    assert "38 cases" in first["text"]
    assert first["refs"] == [2]
    assert first["section"] == "Prosecution (2008)"
    assert first["doc_id"] == ARTICLE_NAME
    text = (corpus / ARTICLE_NAME).read_text(encoding="utf-8")
    for p in passages:
        assert text[p["start"] : p["end"]] == p["text"]
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_search_text_output(real_index, capsys):
    index_dir, corpus = real_index
    rc = main(["search", QUESTION, "-k", "2", "--index", str(index_dir), "--corpus", str(corpus)])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("1. Human trafficking in Laos, Prosecution (2008)")
    assert "[2]" in out.splitlines()[0]
    assert "38 cases" in out
    assert "\n2. " in out and "\n3. " not in out


@pytest.mark.slow
def test_build_prints_what_changed(real_index, tmp_path, capsys):
    src_index, src_corpus = real_index
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(src_corpus, corpus)
    shutil.copytree(src_index, index_dir)
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    cfg = ChunkerSettings(**manifest["chunker"])
    flags = [
        "--corpus", str(corpus), "--index", str(index_dir), "--no-progress",
        "--max-sentences", str(cfg.max_sentences), "--overlap", str(cfg.overlap),
        "--max-chars", str(cfg.max_chars),
    ]  # fmt: skip

    # nothing changed: nothing embedded, no changed files
    assert main(["build", *flags]) == 0
    out = capsys.readouterr().out
    assert "changed files" not in out
    assert f"0 added, 0 removed, {manifest['counts']['chunks']} unchanged" in out
    assert "0 chunk(s) and 0 sentence(s) embedded" in out

    path = corpus / ARTICLE_NAME
    old = path.read_text(encoding="utf-8")
    new = old.replace("38 cases", "41 cases")
    path.write_text(new, encoding="utf-8")
    old_chunks = {c.embed_text for c in chunk_documents([parse_text(old, ARTICLE_NAME)], cfg)}
    new_chunks = [c.embed_text for c in chunk_documents([parse_text(new, ARTICLE_NAME)], cfg)]
    changed = len([t for t in new_chunks if t not in old_chunks])
    assert changed >= 1

    assert main(["build", *flags]) == 0
    out = capsys.readouterr().out
    assert f"changed files: {ARTICLE_NAME}" in out
    assert f"{changed} added, {changed} removed" in out
    assert f"{changed} chunk(s) and 1 sentence(s) embedded" in out

    rc = main(["search", "How many cases were investigated in 2007?", "--json", "-k", "3",
               "--index", str(index_dir), "--corpus", str(corpus)])  # fmt: skip
    assert rc == 0
    assert "41 cases" in json.loads(capsys.readouterr().out)[0]["text"]

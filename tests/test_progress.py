"""The library logs, the interfaces print: building the default index says so only where shown."""

from __future__ import annotations

import io
import logging

import pytest

from qa import api


@pytest.fixture
def api_log():
    """``qa.api``'s logger as the package leaves it, restored after the test (the CLI's
    ``show_progress`` in other tests changes it)."""
    log = logging.getLogger("qa.api")
    saved = (list(log.handlers), log.level, log.propagate)
    log.handlers, log.level, log.propagate = [], logging.NOTSET, True
    yield log
    log.handlers, log.level, log.propagate = saved


def test_the_library_builds_silently_and_logs_why(
    api_log, tmp_path, corpus_copy, fake_embedder, capfd, caplog
):
    caplog.set_level(logging.INFO, logger="qa.api")
    api.load_or_build(tmp_path / "index", corpus_copy, embedder=fake_embedder)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "qa.api"]
    assert messages[0].startswith("no index at")
    assert messages[1].startswith("building the index from")
    assert messages[-1].startswith("indexed 1 document(s)")


def test_the_interfaces_show_those_lines_once(api_log, tmp_path, corpus_copy, fake_embedder):
    stream = io.StringIO()
    api.show_progress(io.StringIO())
    api.show_progress(stream)  # a second call replaces the first handler
    api.load_or_build(tmp_path / "index", corpus_copy, embedder=fake_embedder)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("qa: no index at")
    assert lines[1].startswith("qa: building the index from")
    assert lines[-1].startswith("qa: indexed 1 document(s)")
    assert len(lines) == 3
    logging.getLogger("qa.api").warning("a file was skipped")
    assert stream.getvalue().splitlines()[-1] == "qa: warning: a file was skipped"

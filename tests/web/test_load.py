"""Load tests: many concurrent clients on the app's JSON API, and a rebuild under load.

The app runs as `python app.py` in a subprocess over a tmp copy of the corpus (as in
test_app_client). Clients use Gradio's plain HTTP API (POST /gradio_api/call/<name>, then GET
the event stream), one urllib request pair per call: cheaper than a gradio_client.Client per
thread, and nothing to share between threads. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from pathlib import Path

import pytest
from helpers import api_call, app_on_corpus_copy

ROOT = Path(__file__).resolve().parents[2]
ARTICLE_NAME = "human_trafficking_in_laos.txt"
START_TIMEOUT = 240  # seconds: a cold start builds the index with the real model
CALL_TIMEOUT = 120  # seconds for one API call (the queue runs /answer one at a time)
QUESTIONS = [
    "Who runs the long-term shelter for victims?",
    "How many trafficking cases were investigated in 2007?",
    "When did Laos ratify the UN TIP Protocol?",
    "What tier was Laos placed in in 2023?",
    "Who mainly carries out human trafficking in Laos?",
    "What is the capital of France?",  # not answered by the article
]
NEW_TEXT = "Extra paragraph for the load test about okapi zebra lanterns."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app over a writable copy of the corpus: (url, corpus_dir, process)."""
    with app_on_corpus_copy(tmp_path_factory.mktemp("load"), START_TIMEOUT) as (
        url,
        corpus,
        _,
        proc,
    ):
        yield url, corpus, proc


def ask(url: str, i: int, session: str | None = None) -> dict:
    ans = api_call(
        url, "answer", QUESTIONS[i % len(QUESTIONS)], 5, [], session=session, timeout=CALL_TIMEOUT
    )
    if not isinstance(ans, dict) or "found" not in ans or "quotes" not in ans:
        raise AssertionError(f"answer without found/quotes: {ans!r}"[:500])
    return ans


def run_clients(url, n_threads, total, stop_at, stop_event=None):
    """``n_threads`` threads ask until ``total`` requests were taken, ``stop_at`` (monotonic)
    passes or ``stop_event`` is set. Returns (latencies, errors, wall seconds)."""
    lock = threading.Lock()
    taken = [0]
    latencies: list[float] = []
    errors: list[str] = []

    def worker():
        session = uuid.uuid4().hex  # one session per client thread, as a browser tab has
        while time.monotonic() < stop_at and not (stop_event and stop_event.is_set()):
            with lock:
                if taken[0] >= total:
                    return
                i = taken[0]
                taken[0] += 1
            t0 = time.perf_counter()
            try:
                ask(url, i, session)
            except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                with lock:
                    errors.append(f"{type(e).__name__}: {e}"[:300])
                continue
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(n_threads)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at - time.monotonic()) + CALL_TIMEOUT + 10)
    wall = time.perf_counter() - start
    assert not any(t.is_alive() for t in threads), "a client thread did not stop"
    return latencies, errors, wall


def report(label, latencies, errors, wall):
    lat = sorted(latencies)
    p50 = statistics.median(lat) if lat else float("nan")
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
    print(
        f"\n[{label}] {len(lat)} ok, {len(errors)} errors in {wall:.1f}s: "
        f"{len(lat) / wall:.1f} req/s, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )


def rss_mb(proc) -> float:
    import psutil

    return psutil.Process(proc.pid).memory_info().rss / 2**20


@pytest.mark.slow
def test_load_2000_requests_32_clients(server):
    url, _, proc = server
    for i in range(len(QUESTIONS)):  # warm-up: model loaded, every code path taken once
        ask(url, i)
    # A first round of ~200 requests lets lazy caches and allocator pools settle before the
    # baseline, so the RSS comparison measures growth under steady load, not start-up.
    # Each client keeps one session hash (as gradio_client and a browser tab do): a call that
    # sends none gets a new server-side session, which Gradio keeps (up to its
    # state_session_capacity, 10,000 by default) -- about 75 KiB each here, so 2,000
    # session-less calls grow RSS by ~150 MiB (~22%) however few clients send them.
    _, errors, _ = run_clients(url, 32, 200, time.monotonic() + 120)
    assert not errors, errors[:5]
    rss_before = rss_mb(proc)

    lat, errors, wall = run_clients(url, 32, 2000, time.monotonic() + 240)
    rss_after = rss_mb(proc)
    report("load 32 clients", lat, errors, wall)
    print(f"[load 32 clients] RSS {rss_before:.0f} MiB -> {rss_after:.0f} MiB")

    assert not errors, f"{len(errors)} errors, e.g. {errors[:5]}"
    # The target is 2,000; within the 240 s guard at least 1,000 must have completed.
    assert len(lat) >= 1000, f"only {len(lat)} requests completed in {wall:.0f}s"
    assert abs(rss_after - rss_before) <= 0.10 * rss_before, (rss_before, rss_after)


@pytest.mark.slow
def test_rebuild_while_16_clients_ask(server):
    url, corpus, _ = server
    assert NEW_TEXT not in api_call(url, "retrieve", NEW_TEXT, 1)[0]["text"]
    article = corpus / ARTICLE_NAME
    text = article.read_text(encoding="utf-8")
    assert "\nReferences\n" in text
    article.write_text(
        text.replace("\nReferences\n", f"\n{NEW_TEXT}[2]\n\nReferences\n", 1), encoding="utf-8"
    )

    done = threading.Event()
    result: dict = {}

    def stop_two_seconds_after_rebuild():
        done.wait(180)
        time.sleep(2)
        stop.set()

    stop = threading.Event()
    threading.Thread(target=stop_two_seconds_after_rebuild, daemon=True).start()
    clients: dict = {}
    t = threading.Thread(
        target=lambda: clients.update(
            out=run_clients(url, 16, 10**6, time.monotonic() + 180, stop_event=stop)
        ),
        daemon=True,
    )
    t.start()
    time.sleep(1)  # the clients are asking when the rebuild starts
    try:
        result.update(api_call(url, "rebuild", timeout=180))
    finally:
        done.set()
    t.join(180 + CALL_TIMEOUT + 30)
    assert "out" in clients, "the client threads did not finish"
    lat, errors, wall = clients["out"]
    report("rebuild under 16 clients", lat, errors, wall)

    assert not errors, f"{len(errors)} errors, e.g. {errors[:5]}"
    assert lat, "no request completed during the rebuild"
    assert result["ok"] is True, result
    assert result["report"]["changed_files"] == [ARTICLE_NAME]
    top = api_call(url, "retrieve", NEW_TEXT, 3)
    assert any(NEW_TEXT in p["text"] for p in top), top

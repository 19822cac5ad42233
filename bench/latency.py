"""Query latency: encode (the floor), retrieve and answer over the gold questions.

One request at a time, after warm-up, with the encoder's thread count set as ``encode_query``
sets it, idle and with a second process keeping one core busy.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from .util import busy_neighbour, loadavg, log, percentiles, summary

WARMUP = 10


@contextlib.contextmanager
def query_threads(idx, n: int):
    """Set the query-encoding thread count of ``idx``'s embedder (what QA_QUERY_THREADS sets)
    for the block."""
    before = idx.embedder.query_threads
    idx.embedder.query_threads = n
    try:
        yield
    finally:
        idx.embedder.query_threads = before


@contextlib.contextmanager
def swapped_embedder(idx, embedder):
    before = idx.embedder
    idx.embedder = embedder
    try:
        yield
    finally:
        idx.embedder = before


def one_pass(idx, questions) -> dict[str, list[float]]:
    """Time encode / retrieve / answer per question, interleaved so noise hits all three."""
    from qa.answering.answer import answer_with_index
    from qa.answering.retrieval import retrieve_with_index

    times: dict[str, list[float]] = {"encode": [], "retrieve": [], "answer": []}
    for q in questions:
        t0 = time.perf_counter()
        idx.embedder.encode_query(q.question)
        t1 = time.perf_counter()
        retrieve_with_index(idx, q.question, k=5)
        t2 = time.perf_counter()
        answer_with_index(idx, q.question, k=5, history=list(q.history))
        t3 = time.perf_counter()
        times["encode"].append(t1 - t0)
        times["retrieve"].append(t2 - t1)
        times["answer"].append(t3 - t2)
    return times


def measure_config(idx, questions, repeats: int) -> dict:
    """``repeats`` passes over the questions; each figure is summarised over the passes."""
    one_pass(idx, questions[:WARMUP])
    passes = []
    for _ in range(repeats):
        t = one_pass(idx, questions)
        p = {name: percentiles(v) for name, v in t.items()}
        for stat in ("p50", "p95"):
            for name in ("retrieve", "answer"):
                p[f"{name}_ratio_{stat}"] = p[name][stat] / p["encode"][stat]
        passes.append(p)
    out = {"loadavg": loadavg()}
    for name in ("encode", "retrieve", "answer"):
        for stat in ("p50", "p95"):
            out[f"{name}_{stat}_ms"] = summary(p[name][stat] for p in passes)
    for key in passes[0]:
        if "_ratio_" in key:
            out[key] = summary(p[key] for p in passes)
    return out


def run(idx, questions, repeats: int = 3, threads=(1, 2), ort=None, busy: bool = True) -> dict:
    """Every (backend, threads) configuration, idle and (if ``busy``) with one core kept busy.

    ``ort`` is a factory of qa's ONNX embedder taking a thread count, or None.
    """
    configs = [("torch", n) for n in threads]
    if ort is not None:
        configs += [("onnx", n) for n in threads]
    loads = ["idle", "busy"] if busy else ["idle"]
    results: dict[str, dict] = {}
    for load in loads:
        ctx = busy_neighbour(limit_s=600) if load == "busy" else contextlib.nullcontext()
        with ctx:
            for backend, n in configs:
                name = f"{backend}/{n}t/{load}"
                log(f"latency {name} …")
                if backend == "torch":
                    with query_threads(idx, n):
                        results[name] = measure_config(idx, questions, repeats)
                else:
                    with swapped_embedder(idx, ort(n)):
                        results[name] = measure_config(idx, questions, repeats)
                results[name].update(backend=backend, threads=n, load=load)
    return results


def compare_rankings(idx, questions, other, depth: int = 10) -> dict:
    """Do rankings and answers stay the same when ``other`` encodes the questions?"""
    from qa.answering.answer import answer_with_index
    from qa.answering.retrieval import rank

    same_top, same_answer, worst_cos = 0, 0, 1.0
    diffs = []
    for q in questions:
        a = idx.embedder.encode_query(q.question)
        b = other.encode_query(q.question)
        worst_cos = min(worst_cos, float(np.dot(a, b)))
        ra, _ = rank(idx, q.question, 50, qvec=a)
        rb, _ = rank(idx, q.question, 50, qvec=b)
        ids_a, ids_b = [r[0] for r in ra[:depth]], [r[0] for r in rb[:depth]]
        same_top += ids_a == ids_b
        ans_a = answer_with_index(idx, q.question, history=list(q.history))
        with swapped_embedder(idx, other):
            ans_b = answer_with_index(idx, q.question, history=list(q.history))
        same = ans_a.found == ans_b.found and [x.text for x in ans_a.quotes] == [
            x.text for x in ans_b.quotes
        ]
        same_answer += same
        if ids_a != ids_b or not same:
            diffs.append(q.id)
    return {
        "questions": len(questions),
        f"identical_top{depth}": same_top,
        "identical_answers": same_answer,
        "min_cosine_to_torch": worst_cos,
        "differing": diffs,
    }

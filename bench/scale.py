"""Scale: build, size, memory and search cost of synthetic corpora of 10k to 1M chunks.

Each step runs in its own child process so that its memory is its own:

- ``build``: writes a seeded synthetic corpus and runs ``qa.build_index`` on it with seeded
  vectors in place of the model (exact index); reports time, peak memory and size on disk;
- ``load``: ``qa.load_index`` in a fresh process, then ``LoadedIndex.ranked`` with precomputed
  query vectors (the search cost beyond encoding the question), split into dense and BM25;
- ``faiss``: exact (IndexFlatIP), HNSW (``make_faiss_index(v, "hnsw")``) and IVF over
  the build's vectors: build time, size, single-query latency and recall@10 against exact;
- ``mmap``: ``faiss.read_index`` with and without ``IO_FLAG_MMAP`` / ``IO_FLAG_MMAP_IFC``: load
  time and private (anonymous) versus file-backed resident memory.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import time
from pathlib import Path

import numpy as np

from .util import (
    anon_rss_mb,
    busy_neighbour,
    dir_bytes,
    emit,
    log,
    peak_rss_mb,
    percentiles,
    proc_status_kb,
    reset_peak_rss,
    run_child,
)

SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
N_QUERIES = 200
HNSW_EF = (32, 64, 128, 256)
IVF_NPROBE = (8, 16, 32, 64, 128)
TARGET_RECALL = 0.95


def _queries(seed: int, kind: str, n: int = N_QUERIES):
    from .synth import VectorModel, WordModel

    rng = np.random.default_rng(seed + 7)
    vecs = VectorModel(kind, seed).sample(rng, n)
    words = WordModel(seed)
    texts = [words.question(rng) for _ in range(n)]
    return vecs, texts


# ------------------------------------------------------------------------------ children


def child_build(n: int, seed: int, kind: str, work: Path) -> dict:
    from qa.index.build import build_index

    from .synth import SyntheticEmbedder, write_corpus

    corpus, index = work / "corpus", work / "index"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    gen = write_corpus(corpus, n, seed)
    gen_s = time.perf_counter() - t0
    reset_peak_rss()
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    report = build_index(
        corpus,
        index,
        embedder=SyntheticEmbedder(kind, seed),
        index_kind="flat",
        show_progress=False,
    )
    build_s = time.perf_counter() - t0
    files = {p.name: p.stat().st_size for p in sorted(index.iterdir())}
    return {
        "generate_s": gen_s,
        "corpus_bytes": gen["bytes"],
        "documents": report.documents,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "build_s": build_s,
        "build_peak_rss_mb": peak_rss_mb(),
        "rss_before_build_mb": rss0,
        "index_bytes": dir_bytes(index),
        "files": files,
    }


def bm25_scores_unique(bm25, query_tokens: list[str]) -> np.ndarray:
    """BM25 scores as qa.index.bm25.BM25.scores computes them, with a plain fancy-index add.

    A term's posting list names each document once, so ``out[docs] += w`` is exact there and
    avoids ``np.add.at``'s slow unbuffered path (a candidate change for qa/bm25.py).
    """
    from collections import Counter

    out = np.zeros(bm25.n_docs, dtype=np.float32)
    for term, count in Counter(query_tokens).items():
        j = bm25.vocab.get(term)
        if j is None:
            continue
        a, b = int(bm25.indptr[j]), int(bm25.indptr[j + 1])
        out[bm25.docs[a:b]] += bm25.weights[a:b] * count
    return out


def _time_queries(idx, vecs, texts, tokenize, with_bm25: bool) -> dict[str, list[float]]:
    from qa.answering.retrieval import rank

    """Per query: FAISS search, BM25 (qa's and the variant) and the whole ranked() call."""
    t: dict[str, list[float]] = {"dense": [], "bm25": [], "bm25_unique": [], "ranked": []}
    for i in range(min(20, len(texts))):  # warm-up
        rank(idx, texts[i], 50, qvec=vecs[i])
    for v, q in zip(vecs, texts, strict=True):
        t0 = time.perf_counter()
        idx.faiss_index.search(v[None, :], 50)
        t1 = time.perf_counter()
        rank(idx, q, 50, qvec=v)
        t2 = time.perf_counter()
        t["dense"].append(t1 - t0)
        t["ranked"].append(t2 - t1)
        if with_bm25:
            tokens = tokenize(q)
            t2 = time.perf_counter()
            a = idx.bm25.scores(tokens)
            t3 = time.perf_counter()
            b = bm25_scores_unique(idx.bm25, tokens)
            t4 = time.perf_counter()
            if not np.allclose(a, b, rtol=1e-5, atol=1e-6):
                raise AssertionError("BM25 variant disagrees with qa.index.bm25")
            t["bm25"].append(t3 - t2)
            t["bm25_unique"].append(t4 - t3)
    return t


def child_load(index: Path, seed: int, kind: str) -> dict:
    import faiss

    from qa.api import load_index
    from qa.index.text import tokenize

    from .synth import SyntheticEmbedder

    vecs, texts = _queries(seed, kind)
    before = anon_rss_mb()
    t0 = time.perf_counter()
    idx = load_index(index, embedder=SyntheticEmbedder(kind, seed))
    load_s = time.perf_counter() - t0
    status_loaded = proc_status_kb()
    out = {
        "load_s": load_s,
        "anon_rss_before_mb": before,
        "anon_rss_loaded_mb": status_loaded.get("RssAnon", 0) / 1024,
        "file_rss_loaded_mb": status_loaded.get("RssFile", 0) / 1024,
    }
    # FAISS's default (one OpenMP thread per core) is what qa uses today; 1 thread is the
    # candidate setting, checked idle and with a second process keeping one core busy. The BM25
    # variant must give the same scores.
    for load in ("idle", "busy"):
        ctx = busy_neighbour(limit_s=900) if load == "busy" else contextlib.nullcontext()
        with ctx:
            for threads in (2, 1):
                faiss.omp_set_num_threads(threads)
                t = _time_queries(idx, vecs, texts, tokenize, with_bm25=load == "idle")
                suffix = f"{threads}t" + ("_busy" if load == "busy" else "")
                out[f"dense_search_ms_{suffix}"] = percentiles(t["dense"])
                out[f"ranked_ms_{suffix}"] = percentiles(t["ranked"])
                if threads == 1 and load == "idle":
                    out["bm25_ms"] = percentiles(t["bm25"])
                    out["bm25_unique_add_ms"] = percentiles(t["bm25_unique"])
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _search_latency(index, queries: np.ndarray, k: int = 10):
    times, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, i = index.search(q[None, :], k)
        times.append(time.perf_counter() - t0)
        ids.append(i[0])
    return percentiles(times), np.array(ids)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth, strict=True)]))


def ivf_nlist(n: int) -> int:
    """Lists for an IVF index: about 2·√n, rounded to a power of two.

    (4·√n, the usual advice, makes k-means training at 1M vectors take many minutes on 2 cores.)
    """
    return int(2 ** round(math.log2(max(16, 2 * math.sqrt(n)))))


def child_faiss(index: Path, seed: int, kind: str, kinds: list[str], work: Path) -> dict:
    import faiss

    from qa.index.format import make_faiss_index

    vectors = np.load(index / "chunk_vectors.npy")
    n, dim = vectors.shape
    queries, _ = _queries(seed, kind)
    out: dict[str, dict] = {}
    faiss.omp_set_num_threads(2)
    t0 = time.perf_counter()
    flat, _ = make_faiss_index(vectors, "flat")
    flat_build = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    lat1, truth = _search_latency(flat, queries)
    faiss.omp_set_num_threads(2)
    lat2, _ = _search_latency(flat, queries)
    path = work / "flat.faiss"
    faiss.write_index(flat, str(path))
    out["flat"] = {
        "build_s": flat_build,
        "bytes": path.stat().st_size,
        "search_ms_1t": lat1,
        "search_ms_2t": lat2,
        "recall_at_10": 1.0,
    }
    del flat

    if "hnsw" in kinds:
        log(f"scale {n}: HNSW build …")
        faiss.omp_set_num_threads(2)
        t0 = time.perf_counter()
        hnsw, _ = make_faiss_index(vectors, "hnsw")
        build = time.perf_counter() - t0
        path = work / "hnsw.faiss"
        faiss.write_index(hnsw, str(path))
        default_ef = hnsw.hnsw.efSearch
        sweep = {}
        faiss.omp_set_num_threads(1)
        for ef in HNSW_EF:
            hnsw.hnsw.efSearch = ef
            lat, ids = _search_latency(hnsw, queries)
            sweep[str(ef)] = {"search_ms_1t": lat, "recall_at_10": _recall(ids, truth)}
        out["hnsw"] = {
            "build_s": build,
            "bytes": path.stat().st_size,
            "param": "efSearch",
            "default": default_ef,
            "sweep": sweep,
        }
        del hnsw

    if "ivf" in kinds:
        log(f"scale {n}: IVF build …")
        nlist = ivf_nlist(n)
        faiss.omp_set_num_threads(2)
        t0 = time.perf_counter()
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = vectors[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
        ivf.train(sample)
        ivf.add(vectors)
        build = time.perf_counter() - t0
        path = work / "ivf.faiss"
        faiss.write_index(ivf, str(path))
        sweep = {}
        faiss.omp_set_num_threads(1)
        for nprobe in IVF_NPROBE:
            if nprobe > nlist:
                continue
            ivf.nprobe = nprobe
            lat, ids = _search_latency(ivf, queries)
            sweep[str(nprobe)] = {"search_ms_1t": lat, "recall_at_10": _recall(ids, truth)}
        out["ivf"] = {
            "build_s": build,
            "bytes": path.stat().st_size,
            "param": "nprobe",
            "nlist": nlist,
            "sweep": sweep,
        }
        del ivf
    for name in ("hnsw", "ivf"):
        if name in out:
            out[name]["chosen"] = choose(out[name]["sweep"])
    return out


def choose(sweep: dict) -> dict | None:
    """The cheapest setting of a sweep with recall@10 ≥ TARGET_RECALL (else the best recall)."""
    rows = [(int(p), r) for p, r in sweep.items()]
    ok = [(p, r) for p, r in rows if r["recall_at_10"] >= TARGET_RECALL]
    p, r = min(ok, key=lambda x: x[0]) if ok else max(rows, key=lambda x: x[1]["recall_at_10"])
    return {"value": p, "meets_target": bool(ok), **r}


def child_mmap(path: Path, flag: str, seed: int, kind: str) -> dict:
    import faiss

    faiss.omp_set_num_threads(1)
    queries, _ = _queries(seed, kind, 100)
    before = proc_status_kb()
    t0 = time.perf_counter()
    try:
        index = faiss.read_index(str(path), getattr(faiss, flag) if flag != "none" else 0)
    except Exception as e:  # reported: which flags a type supports is what is measured
        return {"ok": False, "error": str(e).strip().splitlines()[0][:200]}
    load_s = time.perf_counter() - t0
    loaded = proc_status_kb()
    if hasattr(index, "nprobe"):
        index.nprobe = 32
    lat, _ = _search_latency(index, queries)
    searched = proc_status_kb()

    def mb(st, key):
        return (st.get(key, 0) - before.get(key, 0)) / 1024

    return {
        "ok": True,
        "load_s": load_s,
        "anon_mb_loaded": mb(loaded, "RssAnon"),
        "file_mb_loaded": mb(loaded, "RssFile"),
        "anon_mb_searched": mb(searched, "RssAnon"),
        "file_mb_searched": mb(searched, "RssFile"),
        "search_ms_1t": lat,
    }


# -------------------------------------------------------------------------------- parent


def run_size(
    label: str, seed: int, kind: str, work: Path, kinds: list[str], embed_rates: dict | None
) -> dict:
    n = SIZES[label]
    work = work / label
    work.mkdir(parents=True, exist_ok=True)
    timeout = 7200
    common = ["--seed", str(seed), "--vectors", kind, "--work", str(work)]
    log(f"scale {label}: corpus and build …")
    res = {"size": label, "target_chunks": n, "vectors": kind, "seed": seed}
    res["build"] = run_child(["-m", "bench.scale", "build", str(n), *common], timeout)
    log(f"scale {label}: load and query …")
    res["load"] = run_child(["-m", "bench.scale", "load", str(n), *common], timeout)
    log(f"scale {label}: FAISS index types …")
    res["faiss"] = run_child(
        ["-m", "bench.scale", "faiss", str(n), *common, "--kinds", ",".join(kinds)], timeout
    )
    res["mmap"] = {}
    for name in ("flat", *kinds):
        for flag in ("none", "IO_FLAG_MMAP", "IO_FLAG_MMAP_IFC"):
            res["mmap"][f"{name}/{flag}"] = run_child(
                [
                    "-m",
                    "bench.scale",
                    "mmap",
                    str(n),
                    *common,
                    "--path",
                    str(work / f"{name}.faiss"),
                    "--flag",
                    flag,
                ],
                timeout,
            )
    if embed_rates:
        b = res["build"]
        res["embed_estimate_s"] = {
            dev: b["chunks"] / r["chunks_per_s"] + b["sentences"] / r["sentences_per_s"]
            for dev, r in embed_rates.items()
            if r.get("chunks_per_s") and r.get("sentences_per_s")
        }
    return res


def run(
    labels: list[str],
    seed: int,
    kind: str,
    work: Path,
    kinds: list[str],
    embed_rates: dict | None = None,
    keep: bool = False,
) -> dict:
    out = {}
    for label in labels:
        try:
            out[label] = run_size(label, seed, kind, work, kinds, embed_rates)
        except Exception as e:  # one size failing (e.g. memory) still reports the others
            out[label] = {"size": label, "error": f"{type(e).__name__}: {e}"[:400]}
        if not keep:
            shutil.rmtree(work / label, ignore_errors=True)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scale")
    p.add_argument("step", choices=["build", "load", "faiss", "mmap"])
    p.add_argument("n", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vectors", default="clustered")
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--kinds", default="hnsw,ivf")
    p.add_argument("--path", type=Path)
    p.add_argument("--flag", default="none")
    a = p.parse_args(argv)
    if a.step == "build":
        emit(child_build(a.n, a.seed, a.vectors, a.work))
    elif a.step == "load":
        emit(child_load(a.work / "index", a.seed, a.vectors))
    elif a.step == "faiss":
        emit(child_faiss(a.work / "index", a.seed, a.vectors, a.kinds.split(","), a.work))
    else:
        emit(child_mmap(a.path, a.flag, a.seed, a.vectors))


if __name__ == "__main__":
    main()

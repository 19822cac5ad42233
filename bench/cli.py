"""``python -m bench``: run the benchmark sections, print the tables, write JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
import traceback
from pathlib import Path

from . import report
from .util import ROOT, loadavg, log

SECTIONS = ("ask", "cold", "web", "latency", "onnx", "build", "embed", "scale")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark qa: cold start, query latency, builds, the web API, memory and "
        "scale. Prints tables and writes JSON. The default run takes a few minutes on 2 cores.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "results.json",
        help="JSON output (default: bench/results.json)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repetitions of every measurement (default 3; figures are medians)",
    )
    p.add_argument("--only", help=f"comma-separated sections to run, of: {','.join(SECTIONS)}")
    p.add_argument("--skip", default="", help="comma-separated sections to leave out")
    p.add_argument(
        "--scale",
        action="store_true",
        help="run the scale section at 10k, 100k and 1M chunks (default: 10k only); 1M takes "
        "~25 min on 2 cores and ~20 GB of memory (qa's build holds it all in memory)",
    )
    p.add_argument(
        "--scale-sizes",
        help="comma-separated sizes for the scale section, of "
        "10k,100k,1M (implies the scale section)",
    )
    p.add_argument(
        "--scale-kinds",
        default="hnsw,ivf",
        help="approximate FAISS index types to compare with exact (default hnsw,ivf)",
    )
    p.add_argument(
        "--vectors",
        default="clustered",
        choices=["clustered", "uniform"],
        help="synthetic vectors for the scale section (default clustered)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpora")
    p.add_argument(
        "--device", default="cpu", help="device for the embedding-throughput section: cpu or cuda"
    )
    p.add_argument(
        "--embed-sample",
        type=int,
        default=1000,
        help="synthetic sentences embedded to measure throughput (chunks: half)",
    )
    p.add_argument(
        "--no-busy",
        action="store_true",
        help="skip the latency runs with one core kept busy by a second process",
    )
    p.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    return p.parse_args(argv)


def chosen_sections(args) -> list[str]:
    wanted = args.only.split(",") if args.only else list(SECTIONS)
    skip = set(args.skip.split(",")) - {""}
    bad = (set(wanted) | skip) - set(SECTIONS)
    if bad:
        raise SystemExit(f"bench: unknown section(s) {sorted(bad)}; use {', '.join(SECTIONS)}")
    if args.scale_sizes or args.scale:
        wanted = list(dict.fromkeys([*wanted, "scale"])) if not args.only else wanted
    return [s for s in SECTIONS if s in wanted and s not in skip]


def ensure_index():
    """The project's index, built first if missing or stale (as the app would), loaded with the
    torch embedder: the sections that compare backends swap the ONNX one in themselves."""
    import qa
    from qa.errors import IndexMissingError, StaleIndexError
    from qa.index.embedding import get_embedder

    try:
        return qa.load_index(ROOT / "index", ROOT / "corpus", embedder=get_embedder())
    except (IndexMissingError, StaleIndexError) as e:
        log(f"{e}; building it first")
        qa.build_index(ROOT / "corpus", ROOT / "index", show_progress=False)
        return qa.load_index(ROOT / "index", ROOT / "corpus", embedder=get_embedder())


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def guarded(results: dict, name: str, fn):
    """Run a section; a failure is recorded and reported, and the other sections still run."""
    t0 = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as e:
        log(f"section {name} failed: {type(e).__name__}: {e}")
        traceback.print_exc()
        results[name] = {"error": f"{type(e).__name__}: {e}"[:300], "status": f"n/a: {e}"[:300]}
    results["meta"]["section_seconds"][name] = round(time.perf_counter() - t0, 1)


def recommendations(res: dict) -> list[str]:
    out = []
    lat = res.get("latency") or {}
    t1, t2 = lat.get("torch/1t/busy"), lat.get("torch/2t/busy")
    i1, i2 = lat.get("torch/1t/idle"), lat.get("torch/2t/idle")
    if t1 and t2 and i1 and i2:
        best = 1 if t1["retrieve_p95_ms"]["median"] <= t2["retrieve_p95_ms"]["median"] else 2
        out.append(
            f"query threads: {best} (retrieve p50/p95 idle: 1t "
            f"{i1['retrieve_p50_ms']['median']:.1f}/{i1['retrieve_p95_ms']['median']:.1f} ms, 2t "
            f"{i2['retrieve_p50_ms']['median']:.1f}/{i2['retrieve_p95_ms']['median']:.1f} ms; "
            f"one core busy: 1t {t1['retrieve_p50_ms']['median']:.1f}/"
            f"{t1['retrieve_p95_ms']['median']:.1f} ms, 2t {t2['retrieve_p50_ms']['median']:.1f}/"
            f"{t2['retrieve_p95_ms']['median']:.1f} ms)"
        )
    o1 = lat.get("onnx/1t/idle")
    if o1 and i1:
        out.append(
            f"onnxruntime query encoding: p50 {o1['encode_p50_ms']['median']:.1f} ms vs torch "
            f"{i1['encode_p50_ms']['median']:.1f} ms (1 thread, idle); answer p50 "
            f"{o1['answer_p50_ms']['median']:.1f} vs {i1['answer_p50_ms']['median']:.1f} ms"
        )
    scale = {k: v for k, v in (res.get("scale") or {}).items() if "error" not in v}
    floor = (i1 or {}).get("encode_p50_ms", {}).get("median")
    if scale and floor:
        # Exact search must leave the 1.3× retrieve target room: spend at most 0.15× the floor.
        budget = 0.15 * floor
        per_chunk = max(
            v["faiss"]["flat"]["search_ms_1t"]["p50"] / v["build"]["chunks"] for v in scale.values()
        )
        n_switch = budget / per_chunk
        out.append(
            f"exact → approximate switch: exact search costs ~{per_chunk * 1e6:.1f} ms per 1M "
            f"chunks (1 thread); at ≤ 0.15 × the {floor:.1f} ms encode floor that is ≈ "
            f"{n_switch:,.0f} chunks (qa.index.format.EXACT_MAX_CHUNKS)"
        )
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.chdir(ROOT)
    sections = chosen_sections(args)
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    res: dict = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": machine(),
            "loadavg_start": loadavg(),
            "repeats": args.repeats,
            "sections": sections,
            "section_seconds": {},
        }
    }
    t_start = time.perf_counter()
    try:
        run_sections(args, sections, work, res)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    res["meta"]["total_seconds"] = round(time.perf_counter() - t_start, 1)
    res["meta"]["loadavg_end"] = loadavg()
    res["recommendations"] = recommendations(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1), encoding="utf-8")
    print(report.render(res))
    print(f"\nbench: {res['meta']['total_seconds']:.0f} s; results in {args.out}")
    return 0


def run_sections(args, sections: list[str], work: Path, res: dict) -> None:
    from qa.eval.evaluate import load_questions

    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    texts = [q.question for q in questions]
    idx = ensure_index()
    first_q = "Who runs the long-term shelter for victims?"

    if "ask" in sections:
        from . import ask

        guarded(
            res,
            "ask",
            lambda: ask.run(str(ROOT / "index"), str(ROOT / "corpus"), max(5, args.repeats)),
        )
    if "cold" in sections:
        from . import coldstart

        log("cold start …")
        guarded(res, "cold", lambda: coldstart.run(str(ROOT / "index"), first_q, args.repeats))
    if "web" in sections:
        from . import web

        guarded(res, "web", lambda: web.run(texts, repeats=args.repeats))

    ort_dir = None
    if "onnx" in sections:
        from . import onnxq

        missing = onnxq.missing_packages()
        res["onnx"] = {"st_backend": onnxq.st_backend_status()}
        if missing:
            res["onnx"]["status"] = (
                f"n/a: {', '.join(missing)} not installed (pip install onnx onnxruntime: they "
                "install beside torch 2.13 without pulling another torch)"
            )
        else:
            try:
                log("the model's ONNX export (made now if missing) …")
                res["onnx"].update(onnxq.export(idx.embedder, ROOT / "index"))
                ort_dir = Path(res["onnx"]["dir"])
                res["onnx"]["status"] = "ok"
            except Exception as e:
                res["onnx"]["status"] = f"n/a: export failed: {type(e).__name__}: {e}"[:300]
                ort_dir = None

    def ort_factory(threads: int):
        from .onnxq import ort_embedder

        return ort_embedder(ort_dir, threads=threads)

    if "latency" in sections:
        from . import latency

        guarded(
            res,
            "latency",
            lambda: latency.run(
                idx,
                questions,
                repeats=args.repeats,
                ort=ort_factory if ort_dir else None,
                busy=not args.no_busy,
            ),
        )
    if ort_dir is not None:
        from . import coldstart, latency

        log("onnx: rankings and answers against torch …")
        try:
            res["onnx"]["compare"] = latency.compare_rankings(idx, questions, ort_factory(1))
        except Exception as e:
            res["onnx"]["status"] = f"n/a: comparison failed: {e}"[:300]
        log("cold start with onnxruntime …")
        guarded(
            res,
            "cold_onnx",
            lambda: coldstart.run(str(ROOT / "index"), first_q, args.repeats, mode="onnx"),
        )
    if "build" in sections:
        from . import build

        guarded(res, "build", lambda: build.run(ROOT / "corpus", args.repeats, idx.embedder))
    rates = {}
    if "embed" in sections or "scale" in sections:
        from . import embedrate

        n = args.embed_sample
        guarded(res, "embed", lambda: embedrate.measure("cpu", n, n // 2, args.seed, ort_dir))
        if res["embed"].get("status") == "ok":
            rates["cpu"] = {
                k: res["embed"][k]["median"] for k in ("sentences_per_s", "chunks_per_s")
            }
        if args.device != "cpu":
            guarded(
                res, "embed_cuda", lambda: embedrate.measure(args.device, 10 * n, 5 * n, args.seed)
            )
            if res["embed_cuda"].get("status") == "ok":
                rates[args.device] = {
                    k: res["embed_cuda"][k]["median"] for k in ("sentences_per_s", "chunks_per_s")
                }
    if "scale" in sections:
        from . import scale

        if args.scale_sizes:
            sizes = args.scale_sizes.split(",")
        else:
            sizes = list(scale.SIZES) if args.scale else ["10k"]
        bad = set(sizes) - set(scale.SIZES)
        if bad:
            raise SystemExit(f"bench: unknown scale size(s) {sorted(bad)}; use 10k,100k,1M")
        guarded(
            res,
            "scale",
            lambda: scale.run(
                sizes, args.seed, args.vectors, work / "scale", args.scale_kinds.split(","), rates
            ),
        )

"""Turn the results dict into the printed tables."""

from __future__ import annotations


def _n(x, unit: str = "", digits: int | None = None) -> str:
    if x is None:
        return "n/a"
    if digits is None:
        digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2 if abs(x) >= 1 else 3
    return f"{x:.{digits}f}{unit}"


def stat(s: dict | None, unit: str = "", scale: float = 1.0) -> tuple[str, str]:
    """(median, "min–max") of a summary."""
    if not s:
        return "n/a", ""
    return (
        _n(s["median"] * scale, unit),
        f"{_n(s['min'] * scale, unit)}–{_n(s['max'] * scale, unit)}",
    )


def table(rows: list[tuple], headers=("measure", "median", "min–max", "note")) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _row(name, s, unit="", scale=1.0, note=""):
    return (name, *stat(s, unit, scale), note)


def ask_rows(res: dict) -> list:
    a = res.get("ask")
    if not a:
        return []
    if "error" in a:
        return [("qa ask", "n/a", "", a["error"])]
    met = "meets" if a["meets_targets"] else "MISSES"
    same = "identical output" if a["identical_output"] else "OUTPUT DIFFERS"
    return [
        _row("qa ask, onnxruntime (default)", a["onnx"], " s", note="target ≤ 1.5 s"),
        _row("qa ask, torch (QA_BACKEND=torch)", a["torch"], " s"),
        (
            "qa ask onnx / torch (medians)",
            _n(a["ratio"], "×"),
            "",
            f"target ≤ 0.3×; {met} both targets; {same}",
        ),
    ]


def cold_rows(res: dict) -> list:
    rows = []
    c = res.get("cold")
    if c:
        if "error" in c:
            rows.append(("cold start (torch)", "n/a", "", c["error"]))
        else:
            d = c["durations"]
            rows += [
                _row("cold: process start → index loaded", c["load_index"], " s"),
                _row("cold: process start → first answer", c["first_answer"], " s"),
                _row("  python interpreter up", d.get("python"), " s"),
                _row("  import qa", d.get("import_qa"), " s"),
                _row("  load_index (no model)", d.get("load_index"), " s"),
                _row("  import torch", d.get("import_torch"), " s"),
                _row("  import sentence_transformers", d.get("import_model_runtime"), " s"),
                _row("  load model", d.get("load_model"), " s"),
                _row("  first answer (encode + answer)", d.get("first_answer"), " s"),
                _row("  second answer (warm)", c["warm_answer"], " ms", 1000),
            ]
    o = res.get("cold_onnx")
    if o and "error" not in o:
        rows += [
            _row(
                "cold, onnxruntime: start → index loaded",
                o["load_index"],
                " s",
                note="no torch import",
            ),
            _row("cold, onnxruntime: start → first answer", o["first_answer"], " s"),
        ]
    elif o:
        rows.append(("cold, onnxruntime", "n/a", "", o["error"]))
    w = res.get("web")
    if w:
        if w.get("status") != "ok":
            rows.append(("app.py → page served", "n/a", "", w.get("status", "")))
        else:
            rows += [
                _row("app.py → page served", w["page_served_s"], " s"),
                _row("  of which import gradio (fresh process)", w.get("import_gradio_s"), " s"),
                _row(
                    "app.py → first API answer",
                    w["first_api_answer_s"],
                    " s",
                    note="model loads after the page",
                ),
            ]
    return rows


def latency_rows(res: dict) -> list:
    lat = res.get("latency") or {}
    rows = []
    for name, r in lat.items():
        if not isinstance(r, dict) or "encode_p50_ms" not in r:
            continue
        rows += [
            _row(f"{name}: encode p50 (floor)", r["encode_p50_ms"], " ms"),
            _row(f"{name}: encode p95", r["encode_p95_ms"], " ms"),
            _row(f"{name}: retrieve p50", r["retrieve_p50_ms"], " ms"),
            _row(f"{name}: retrieve p95", r["retrieve_p95_ms"], " ms"),
            _row(f"{name}: answer p50", r["answer_p50_ms"], " ms"),
            _row(f"{name}: answer p95", r["answer_p95_ms"], " ms"),
            _row(
                f"{name}: retrieve/encode p50", r["retrieve_ratio_p50"], "×", note="target ≤ 1.3×"
            ),
            _row(f"{name}: answer/encode p50", r["answer_ratio_p50"], "×", note="target ≤ 1.6×"),
            _row(f"{name}: retrieve/encode p95", r["retrieve_ratio_p95"], "×"),
            _row(f"{name}: answer/encode p95", r["answer_ratio_p95"], "×"),
        ]
    return rows


def onnx_rows(res: dict) -> list:
    o = res.get("onnx")
    if not o:
        return []
    st = o.get("st_backend", "")
    if st.startswith("n/a: "):
        rows = [("sentence-transformers backend='onnx'", "n/a", "", st.removeprefix("n/a: "))]
    else:
        rows = [("sentence-transformers backend='onnx'", "", "", st)]
    if o.get("status") != "ok":
        rows.append(("onnxruntime encoder", "n/a", "", o.get("status", "")))
        return rows
    cmp_ = o["compare"]
    rows += [
        (
            "onnx export (torch.onnx, once, at build)",
            _n(o["export_s"], " s"),
            "",
            f"{o['bytes'] / 1e6:.0f} MB model.onnx; min cosine to torch "
            f"{o['min_cosine_gold']:.7f} on {o['checked']} gold questions",
        ),
        (
            "onnx vs torch: identical top-10 rankings",
            f"{cmp_['identical_top10']}/{cmp_['questions']}",
            "",
            f"min cosine {cmp_['min_cosine_to_torch']:.6f}",
        ),
        (
            "onnx vs torch: identical answers",
            f"{cmp_['identical_answers']}/{cmp_['questions']}",
            "",
            ", ".join(cmp_["differing"][:5]),
        ),
    ]
    return rows


def build_rows(res: dict) -> list:
    b = res.get("build")
    if not b:
        return []
    if "error" in b:
        return [("build", "n/a", "", b["error"])]
    r = b["reports"][0]
    notes = [
        f"{x['incr_chunks_embedded']}/{x['chunks']} chunks, "
        f"{x['incr_sentences_embedded']}/{x['sentences']} sentences"
        for x in b["reports"]
    ]
    incr = "; ".join(dict.fromkeys(notes)) + (" (every run)" if len(set(notes)) == 1 else "")
    return [
        _row(
            "full build (model loaded)",
            b["full_s"],
            " s",
            note=f"{r['chunks']} chunks + {r['sentences']} sentences embedded",
        ),
        _row(
            "rebuild after one-paragraph edit",
            b["incremental_s"],
            " s",
            note="re-embedded: " + incr,
        ),
        _row("rebuild, nothing changed", b["noop_s"], " s"),
    ]


def web_rows(res: dict) -> list:
    w = res.get("web")
    if not w or w.get("status") != "ok":
        return [("web API load", "n/a", "", (w or {}).get("status", "skipped"))]
    rows = []
    for c, r in w["load"].items():
        note = f"completed {r['completed']}, errors {r['errors']}"
        if r.get("first_error"):
            note += f" ({r['first_error'][:60]})"
        rows += [
            _row(f"web /answer, {c} clients: throughput", r["throughput_rps"], " req/s", note=note),
            _row(f"web /answer, {c} clients: p50", r["p50_ms"], " ms"),
            _row(f"web /answer, {c} clients: p95", r["p95_ms"], " ms"),
        ]
    rows += [
        _row("app RSS at page served", w["rss_at_page_mb"], " MB"),
        _row("app RSS after first answer", w["rss_after_first_answer_mb"], " MB"),
        ("app peak RSS (VmHWM, after load tests)", _n(w["peak_rss_mb"], " MB"), "", ""),
    ]
    return rows


def embed_rows(res: dict) -> list:
    rows = []
    for key in ("embed", "embed_cuda"):
        e = res.get(key)
        if not e:
            continue
        if e.get("status") != "ok":
            rows.append((f"embedding throughput ({key})", "n/a", "", e.get("status", "")))
            continue
        dev = e["device"] + (f" {e['gpu']}" if e.get("gpu") else "")
        rows += [
            _row(
                f"embed {dev}: sentences/s",
                e["sentences_per_s"],
                "",
                note=f"batch {e['batch_size']}, {e['torch_threads']} torch threads",
            ),
            _row(f"embed {dev}: chunks/s", e["chunks_per_s"], ""),
        ]
        if "onnx_chunks_per_s" in e:
            rows += [
                _row(f"embed {dev} onnxruntime: sentences/s", e["onnx_sentences_per_s"], ""),
                _row(f"embed {dev} onnxruntime: chunks/s", e["onnx_chunks_per_s"], ""),
            ]
    return rows


def _mb(b):
    return f"{b / 1e6:,.0f} MB" if b is not None else "n/a"


def scale_table(scale: dict) -> str:
    """One column per corpus size, one row per measure."""
    labels = list(scale)
    rows: list[list[str]] = []

    def add(name, fn):
        cells = []
        for label in labels:
            r = scale[label]
            try:
                cells.append(fn(r))
            except (KeyError, TypeError):
                cells.append(r.get("error", "n/a")[:40] if "error" in r else "n/a")
        rows.append([name, *cells])

    def ms(x):
        return f"{x['p50']:.2f} / {x['p95']:.2f} ms"

    def est(r, dev):
        s = r["embed_estimate_s"][dev]
        return f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"

    def chosen(x):
        c = x["chosen"]
        mark = "" if c["meets_target"] else " (below 0.95)"
        return (
            f"{x['param']} {c['value']}: recall {c['recall_at_10']:.3f}{mark}, "
            f"{c['search_ms_1t']['p50']:.2f} ms"
        )

    add("chunks / sentences", lambda r: f"{r['build']['chunks']:,} / {r['build']['sentences']:,}")
    add("corpus text", lambda r: _mb(r["build"]["corpus_bytes"]))
    add("build, exact index, no model (s)", lambda r: f"{r['build']['build_s']:.1f} s")
    add("build peak RSS", lambda r: f"{r['build']['build_peak_rss_mb']:,.0f} MB")
    for dev in sorted({d for r in scale.values() for d in r.get("embed_estimate_s", {})}):
        add(f"embedding estimate ({dev}, extrapolated)", lambda r, d=dev: est(r, d))
    add("index on disk", lambda r: _mb(r["build"]["index_bytes"]))
    add("load_index (fresh process)", lambda r: f"{r['load']['load_s']:.2f} s")
    add(
        "RSS after load: private / file-backed",
        lambda r: (
            f"{r['load']['anon_rss_loaded_mb']:,.0f} / {r['load']['file_rss_loaded_mb']:,.0f} MB"
        ),
    )
    add("ranked() p50/p95, FAISS 2 threads (today)", lambda r: ms(r["load"]["ranked_ms_2t"]))
    add("ranked() p50/p95, FAISS 1 thread", lambda r: ms(r["load"]["ranked_ms_1t"]))
    add("ranked() p50/p95, 2 threads, core busy", lambda r: ms(r["load"]["ranked_ms_2t_busy"]))
    add("ranked() p50/p95, 1 thread, core busy", lambda r: ms(r["load"]["ranked_ms_1t_busy"]))
    add("  of which BM25 (np.add.at)", lambda r: ms(r["load"]["bm25_ms"]))
    add("  BM25 with out[docs] += w", lambda r: ms(r["load"]["bm25_unique_add_ms"]))
    add("exact search p50/p95, 1 thread", lambda r: ms(r["faiss"]["flat"]["search_ms_1t"]))
    add("exact search p50/p95, 2 threads", lambda r: ms(r["faiss"]["flat"]["search_ms_2t"]))
    add("HNSW build (M=32, efC=80)", lambda r: f"{r['faiss']['hnsw']['build_s']:.1f} s")
    add("HNSW size", lambda r: _mb(r["faiss"]["hnsw"]["bytes"]))
    add("HNSW cheapest ≥0.95 recall@10", lambda r: chosen(r["faiss"]["hnsw"]))
    add(
        "HNSW efSearch=128 (qa default)",
        lambda r: (
            f"recall {r['faiss']['hnsw']['sweep']['128']['recall_at_10']:.3f}, "
            f"{r['faiss']['hnsw']['sweep']['128']['search_ms_1t']['p50']:.2f} ms"
        ),
    )
    add(
        "IVF build (train + add)",
        lambda r: f"{r['faiss']['ivf']['build_s']:.1f} s (nlist {r['faiss']['ivf']['nlist']})",
    )
    add("IVF cheapest ≥0.95 recall@10", lambda r: chosen(r["faiss"]["ivf"]))
    return table([tuple(r) for r in rows], ("measure", *labels))


def mmap_table(scale: dict) -> str:
    headers = (
        "size",
        "index/flag",
        "ok",
        "load",
        "anon MB loaded",
        "anon MB after search",
        "file MB after search",
        "search p50",
    )
    rows = []
    for label, r in scale.items():
        for key, m in (r.get("mmap") or {}).items():
            if not m.get("ok"):
                rows.append((label, key, "no", m.get("error", "")[:50], "", "", "", ""))
                continue
            rows.append(
                (
                    label,
                    key,
                    "yes",
                    f"{m['load_s'] * 1000:.1f} ms",
                    f"{m['anon_mb_loaded']:.0f}",
                    f"{m['anon_mb_searched']:.0f}",
                    f"{m['file_mb_searched']:.0f}",
                    f"{m['search_ms_1t']['p50']:.2f} ms",
                )
            )
    return table(rows, headers)


def render(res: dict) -> str:
    parts = [f"qa bench — {res['meta']['date']} — {res['meta']['machine']}"]
    sections = [
        ("qa ask end to end (a fresh process per question)", ask_rows(res)),
        ("Cold start", cold_rows(res)),
        ("Query latency (one request at a time, gold questions)", latency_rows(res)),
        ("ONNX backend", onnx_rows(res)),
        ("Build", build_rows(res)),
        ("Web API and memory", web_rows(res) if "web" in res else []),
        ("Embedding throughput", embed_rows(res)),
    ]
    for title, rows in sections:
        if rows:
            parts += ["", f"## {title}", table(rows)]
    if res.get("scale"):
        parts += [
            "",
            "## Scale (synthetic corpora; seeded vectors in place of the model)",
            scale_table(res["scale"]),
            "",
            "## FAISS memory-mapped loading",
            mmap_table(res["scale"]),
        ]
    if res.get("recommendations"):
        parts += ["", "## Recommendations", *[f"- {x}" for x in res["recommendations"]]]
    return "\n".join(parts)

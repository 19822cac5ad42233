"""Build times: a full build, a rebuild after a one-paragraph edit, and a no-change rebuild.

Runs on a temporary copy of the corpus, with the model already loaded in this process (model
load is part of cold start, measured there).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from .util import loadavg, log, summary

ADDED = " The benchmark added this sentence to one paragraph."


def edit_one_paragraph(corpus: Path, which: int) -> str:
    """Append a sentence to the ``which``-th long paragraph of the first corpus file."""
    path = sorted(p for p in corpus.iterdir() if p.suffix in (".txt", ".md"))[0]
    text = path.read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    cut = next((i for i, b in enumerate(blocks) if b.strip().lower() == "references"), len(blocks))
    long_ones = [i for i, b in enumerate(blocks[:cut]) if len(b) > 200]
    i = long_ones[which % len(long_ones)]
    blocks[i] = blocks[i].rstrip() + ADDED
    path.write_text("\n\n".join(blocks), encoding="utf-8")
    return f"{path.name} paragraph block {i}"


def run(corpus_dir: Path, repeats: int = 3, embedder=None) -> dict:
    from qa.index.build import build_index

    full, incr, noop, reports = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="qa-bench-build-") as tmp:
        for r in range(repeats):
            corpus = Path(tmp) / f"corpus{r}"
            index = Path(tmp) / f"index{r}"
            shutil.copytree(corpus_dir, corpus)
            log(f"build {r + 1}/{repeats} …")
            t0 = time.perf_counter()
            rep_full = build_index(corpus, index, show_progress=False, embedder=embedder)
            full.append(time.perf_counter() - t0)
            where = edit_one_paragraph(corpus, r)
            t0 = time.perf_counter()
            rep_incr = build_index(corpus, index, show_progress=False, embedder=embedder)
            incr.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            build_index(corpus, index, show_progress=False, embedder=embedder)
            noop.append(time.perf_counter() - t0)
            reports.append(
                {
                    "edited": where,
                    "chunks": rep_full.chunks,
                    "sentences": rep_full.sentences,
                    "full_chunks_embedded": rep_full.chunks_embedded,
                    "full_sentences_embedded": rep_full.sentences_embedded,
                    "incr_chunks_embedded": rep_incr.chunks_embedded,
                    "incr_sentences_embedded": rep_incr.sentences_embedded,
                    "incr_chunks_added": rep_incr.chunks_added,
                    "incr_chunks_removed": rep_incr.chunks_removed,
                }
            )
            shutil.rmtree(index)
    return {
        "loadavg": loadavg(),
        "full_s": summary(full),
        "incremental_s": summary(incr),
        "noop_s": summary(noop),
        "reports": reports,
    }

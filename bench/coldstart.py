"""Cold start: a fresh process from start to index loaded to first answer.

Run as a child (``python -m bench.coldstart torch|onnx INDEX QUESTION``), it prints the
wall-clock time of each stage on one JSON line; the parent subtracts the moment it started the
process. The backend is qa's own choice, forced with ``QA_BACKEND`` by the parent. Imports here
are kept to the standard library so that the stages are the project's.
"""

from __future__ import annotations

import json
import sys
import time


def child(mode: str, index_dir: str, question: str) -> dict:
    stamps = {"python": time.time()}
    import qa
    from qa.answering.answer import answer_with_index

    stamps["import_qa"] = time.time()
    idx = qa.load_index(index_dir)  # QA_BACKEND (set by the parent) picks the embedder
    stamps["load_index"] = time.time()
    if mode == "torch":
        import torch  # noqa: F401  (timed here; the first answer would import it anyway)

        stamps["import_torch"] = time.time()
        import sentence_transformers  # noqa: F401

        stamps["import_model_runtime"] = time.time()
    else:
        import onnxruntime  # noqa: F401

        stamps["import_model_runtime"] = time.time()
    _ = idx.embedder.encode_query("warm up")  # loads the model
    stamps["load_model"] = time.time()
    first = answer_with_index(idx, question)
    stamps["first_answer"] = time.time()
    answer_with_index(idx, question)
    stamps["second_answer"] = time.time()
    stamps["found"] = bool(first.found)
    stamps["embedder"] = type(idx.embedder).__name__
    return stamps


def run(index_dir: str, question: str, repeats: int, mode: str = "torch") -> dict:
    """Start ``repeats`` fresh processes; stage times from process start, and stage durations."""
    import subprocess

    from .util import PYTHON, ROOT, child_env, summary

    runs = []
    for _ in range(repeats):
        args = [PYTHON, "-m", "bench.coldstart", mode, index_dir, question]
        env = child_env(QA_BACKEND=mode)
        t0 = time.time()
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-3:]
            raise RuntimeError(f"cold-start child failed: {' | '.join(tail)}")
        stamps = json.loads(proc.stdout.strip().splitlines()[-1])
        found = stamps.pop("found")
        embedder = stamps.pop("embedder")
        rel = {k: v - t0 for k, v in stamps.items()}
        rel["warm_answer"] = stamps["second_answer"] - stamps["first_answer"]
        rel["found"] = found
        runs.append(rel)
    out = {"mode": mode, "embedder": embedder, "runs": runs}
    # Time since process start at each stage (cumulative), and what each stage itself cost.
    for key in ("python", "import_qa", "load_index", "first_answer", "warm_answer"):
        out[key] = summary(r[key] for r in runs)
    order = [k for k in runs[0] if k not in ("found", "second_answer", "warm_answer")]
    out["durations"] = {}
    for prev, cur in zip(order, order[1:], strict=False):
        out["durations"][cur] = summary(r[cur] - r[prev] for r in runs)
    out["durations"]["python"] = summary(r["python"] for r in runs)
    return out


if __name__ == "__main__":
    print(json.dumps(child(*sys.argv[1:])))

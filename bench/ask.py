"""``qa ask`` end to end: a fresh ``python -m qa.cli ask`` per question, per backend.

What a person waits for at the command line: interpreter start, imports, index load, model
load, one answer, exit. The two backends alternate run by run (onnx, torch, onnx, …) so that a
noisy neighbour hits both alike, and their outputs are compared: the answer must not change.
"""

from __future__ import annotations

import subprocess
import time

from .util import PYTHON, ROOT, child_env, log, summary

QUESTION = "When did Laos ratify the UN TIP Protocol?"
#: Targets from the issue: ≤ 1.5 s median on this machine and ≤ 0.3× the torch path.
TARGET_S, TARGET_RATIO = 1.5, 0.3


def once(backend: str, index_dir: str, corpus_dir: str, question: str) -> tuple[float, str]:
    """Wall seconds of one ``qa ask`` with ``QA_BACKEND=backend``, and what it printed."""
    args = [PYTHON, "-m", "qa.cli", "ask", question, "--index", index_dir, "--corpus", corpus_dir]
    t0 = time.perf_counter()
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env=child_env(QA_BACKEND=backend),
        cwd=ROOT,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"qa ask ({backend}) failed: {proc.stderr.strip()[-300:]}")
    return seconds, proc.stdout


def run(index_dir: str, corpus_dir: str, repeats: int = 5, question: str = QUESTION) -> dict:
    """Median wall time of ``qa ask`` with onnxruntime and with torch, measured in one run."""
    times: dict[str, list[float]] = {"onnx": [], "torch": []}
    outputs: dict[str, set[str]] = {"onnx": set(), "torch": set()}
    log(f"qa ask end to end, {repeats}× each backend …")
    once("onnx", index_dir, corpus_dir, question)  # warm the page cache for both alike
    for _ in range(repeats):
        for backend in ("onnx", "torch"):
            seconds, out = once(backend, index_dir, corpus_dir, question)
            times[backend].append(seconds)
            outputs[backend].add(out)
    onnx, torch = summary(times["onnx"]), summary(times["torch"])
    assert onnx is not None and torch is not None
    ratio = onnx["median"] / torch["median"]
    return {
        "question": question,
        "onnx": onnx,
        "torch": torch,
        "ratio": ratio,
        "identical_output": outputs["onnx"] == outputs["torch"] and len(outputs["onnx"]) == 1,
        "meets_targets": onnx["median"] <= TARGET_S and ratio <= TARGET_RATIO,
    }

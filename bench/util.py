"""Shared helpers: summaries of repeated runs, a busy neighbour, memory, ports, child processes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def child_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: offline, no telemetry, bench importable."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    env.update(extra)
    return env


def summary(values) -> dict | None:
    """Median, min and max of repeated measurements (None when there are none)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    return {
        "median": float(np.median(vals)),
        "min": min(vals),
        "max": max(vals),
        "n": len(vals),
        "values": [round(v, 6) for v in vals],
    }


def percentiles(seconds) -> dict:
    """p50 and p95 of one run's latencies, in milliseconds."""
    a = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "n": len(a)}


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


@contextlib.contextmanager
def busy_neighbour(limit_s: float = 300.0):
    """Keep one core busy with a second process (a bounded spin loop) while inside the block."""
    code = (
        "import time\n"
        f"end = time.monotonic() + {float(limit_s)}\n"
        "while time.monotonic() < end:\n"
        "    pass\n"
    )
    proc = subprocess.Popen([PYTHON, "-c", code])
    try:
        time.sleep(0.3)  # let it reach the loop
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Terminate a child we started, then kill it if it does not go."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


def proc_status_kb(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS), RssAnon and RssFile of a process from /proc, in kB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


def rss_mb(pid: int | str = "self") -> float | None:
    kb = proc_status_kb(pid).get("VmRSS")
    return None if kb is None else kb / 1024


def anon_rss_mb(pid: int | str = "self") -> float | None:
    """Private resident memory: RSS less file-backed (memory-mapped, shareable) pages."""
    kb = proc_status_kb(pid).get("RssAnon")
    return None if kb is None else kb / 1024


def peak_rss_mb(pid: int | str = "self") -> float | None:
    kb = proc_status_kb(pid).get("VmHWM")
    return None if kb is None else kb / 1024


def reset_peak_rss() -> bool:
    """Reset VmHWM of this process (Linux ≥ 4.0: write 5 to clear_refs); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def run_child(args: list[str], timeout: float, env: dict | None = None, cwd=None) -> dict:
    """Run ``python ARGS`` and parse the last stdout line as JSON; raises with stderr's tail."""
    proc = subprocess.run(
        [PYTHON, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or child_env(),
        cwd=cwd or ROOT,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"child {' '.join(args)} exited {proc.returncode}: {' | '.join(tail)}")
    return json.loads(lines[-1])


def emit(obj) -> None:
    """A child's result: one JSON line on stdout."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)

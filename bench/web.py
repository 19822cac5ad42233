"""The web app: ``python app.py`` to page served, its API under concurrent clients, its memory.

Everything talks to 127.0.0.1 only, and every loop is bounded in count and time.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .util import (
    PYTHON,
    ROOT,
    child_env,
    free_port,
    loadavg,
    log,
    peak_rss_mb,
    rss_mb,
    stop,
    summary,
)

APP = ROOT / "app.py"


class AppProcess:
    """``python app.py --port PORT`` in a child process, with its output in a temporary file."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="qa-bench-app-", suffix=".log", delete=False)
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            [PYTHON, str(APP), "--port", str(self.port)],
            cwd=ROOT,
            env=child_env(QA_PORT=str(self.port)),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_page(self, timeout: float = 180.0) -> float:
        """Seconds from process start until ``/`` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                    if r.status == 200:
                        return time.time() - self.t0
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"app.py served no page within {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        try:
            lines = Path(self.log.name).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-3:])

    def close(self) -> None:
        stop(self.proc)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def call(url: str, api: str, data: list, timeout: float = 60.0):
    """One call of a Gradio API endpoint over raw HTTP: POST the data, read the event stream."""
    body = json.dumps({"data": data}).encode()
    req = urllib.request.Request(
        f"{url}/gradio_api/call/{api}", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/{api}/{event_id}", timeout=timeout) as r:
        event = None
        for raw in r:
            line = raw.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(f"API error: {line[5:].strip()[:200]}")
                return json.loads(line[5:])
    raise RuntimeError("event stream ended without a result")


def load_test(
    url: str, questions: list[str], clients: int, max_requests: int, max_seconds: float
) -> dict:
    """``clients`` threads asking questions back to back until either bound is reached."""
    lock = threading.Lock()
    issued = [0]
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + max_seconds

    def worker():
        while True:
            with lock:
                if issued[0] >= max_requests or time.monotonic() >= deadline:
                    return
                n = issued[0]
                issued[0] += 1
            q = questions[n % len(questions)]
            t0 = time.perf_counter()
            try:
                call(url, "answer", [q, 5, []], timeout=max_seconds)
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as e:  # counted and reported, the run goes on
                with lock:
                    errors.append(f"{type(e).__name__}: {e}"[:200])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + 30)
    wall = time.perf_counter() - t0
    ms = np.asarray(latencies) * 1000
    return {
        "clients": clients,
        "completed": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": wall,
        "throughput_rps": len(latencies) / wall if wall else 0.0,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
        "p95_ms": float(np.percentile(ms, 95)) if len(ms) else None,
    }


IMPORT_GRADIO = (
    "import time; t = time.perf_counter(); import gradio; print(time.perf_counter() - t)"
)


def import_gradio_s(repeats: int) -> list[float]:
    """What importing gradio alone costs in a fresh process (the bulk of page-served time)."""
    out = []
    for _ in range(repeats):
        proc = subprocess.run(
            [PYTHON, "-c", IMPORT_GRADIO],
            capture_output=True,
            text=True,
            check=True,
            env=child_env(),
            cwd=ROOT,
            timeout=120,
        )
        out.append(float(proc.stdout.split()[-1]))
    return out


def run(
    questions: list[str],
    repeats: int = 3,
    clients=(8, 32),
    max_requests: int = 200,
    max_seconds: float = 60.0,
) -> dict:
    """Cold starts of the app (``repeats``), then the load test and memory on the last one."""
    if not APP.exists():
        return {"status": "n/a: app.py does not exist"}
    page, first, rss_page, rss_ready = [], [], [], []
    load: dict[str, list[dict]] = {str(c): [] for c in clients}
    peak = None
    for r in range(repeats):
        log(f"app cold start {r + 1}/{repeats} …")
        app = AppProcess()
        try:
            page.append(app.wait_page())
            rss_page.append(rss_mb(app.proc.pid))
            call(app.url, "answer", [questions[0], 5, []], timeout=180)
            first.append(time.time() - app.t0)
            rss_ready.append(rss_mb(app.proc.pid))
            if r == repeats - 1:
                for _ in range(3):
                    for c in clients:
                        log(f"web load: {c} clients …")
                        load[str(c)].append(
                            load_test(app.url, questions, c, max_requests, max_seconds)
                        )
                peak = peak_rss_mb(app.proc.pid)
        except Exception as e:  # a missing or broken app is reported, not fatal
            return {"status": f"n/a: {type(e).__name__}: {e}"[:300]}
        finally:
            app.close()
    out = {
        "status": "ok",
        "loadavg": loadavg(),
        "page_served_s": summary(page),
        "import_gradio_s": summary(import_gradio_s(repeats)),
        "first_api_answer_s": summary(first),
        "rss_at_page_mb": summary(rss_page),
        "rss_after_first_answer_mb": summary(rss_ready),
        "peak_rss_mb": peak,
        "load": {},
    }
    for c, runs in load.items():
        out["load"][c] = {
            "throughput_rps": summary(x["throughput_rps"] for x in runs),
            "p50_ms": summary(x["p50_ms"] for x in runs),
            "p95_ms": summary(x["p95_ms"] for x in runs),
            "completed": [x["completed"] for x in runs],
            "errors": [x["errors"] for x in runs],
            "first_error": next((x["first_error"] for x in runs if x["first_error"]), None),
        }
    return out

"""The ONNX query encoder qa uses (``qa.index.onnx_embedding``), as the benchmark sections need it.

sentence-transformers' own ``backend="onnx"`` needs ``optimum-onnx``, whose releases require
transformers < 4.58 while sentence-transformers 6 requires transformers ≥ 5, so pip cannot
install it beside this project's pins; qa exports the model with ``torch.onnx.export`` itself
(``qa.index.backend.prepare_export``) and runs it with onnxruntime. This module reports whether that
is possible here, makes (or finds) the export beside the project's index, and builds encoders
over it with a given number of threads.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

ST_ONNX_NOTE = (
    "it needs optimum-onnx, whose releases all require transformers<4.58 while "
    "sentence-transformers 6 requires transformers>=5; not installable together"
)


def missing_packages() -> list[str]:
    """Packages the onnxruntime encoder needs that are not importable here."""
    return [m for m in ("onnx", "onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None]


def st_backend_status() -> str:
    """Whether sentence-transformers' own ONNX backend could be used here, and if not why."""
    if importlib.util.find_spec("optimum") is None:
        return "n/a: " + ST_ONNX_NOTE
    return "optimum importable (not measured: qa exports the model itself)"


def export(torch_embedder, index_dir: Path) -> dict:
    """qa's checked export of the model beside ``index_dir`` (made now if missing).

    Returns its directory, how long exporting took, its size and how it compared with torch.
    """
    from qa.index.backend import prepare_export
    from qa.index.onnx_embedding import cache_dir_for

    t0 = time.perf_counter()
    e = prepare_export(torch_embedder, cache_dir_for(index_dir))
    return {
        "dir": str(e.directory),
        "export_s": e.export_seconds,
        "found_s": time.perf_counter() - t0,
        "bytes": (e.directory / "model.onnx").stat().st_size,
        "min_cosine_gold": e.min_cosine,
        "checked": e.checked,
        "ok": e.ok,
    }


def ort_embedder(directory: str | Path, threads: int = 1):
    """qa's ONNX embedder over the export in ``directory``, with ``threads`` onnxruntime threads."""
    from qa.index.onnx_embedding import OnnxEmbedder, OnnxExport

    export = OnnxExport.read(Path(directory))
    if export is None:
        raise RuntimeError(f"no ONNX export in {directory}")
    return OnnxEmbedder(export, threads)

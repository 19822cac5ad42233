"""Which embedder answers questions — a checked ONNX export or torch — and making the export.

``query_embedder`` is what ``load_index`` uses when it is given no embedder. ``QA_BACKEND``
(``auto`` by default) chooses: ``torch`` always uses sentence-transformers; ``onnx`` always uses
the export, making it first if need be; ``auto`` uses a checked export on the CPU and torch
otherwise. ``prepare_export`` exports the model with ``torch.onnx.export`` (the build calls it
through ``export_or_note`` while the model is loaded) and checks it on the gold questions: the
export is used only when every query vector has cosine ≥ ``MIN_COSINE`` with torch's.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelError
from .embedding import (
    QUERY_THREADS,
    Embedder,
    SentenceTransformerEmbedder,
    get_embedder,
    model_location,
    resolve_backend,
    resolve_model,
)
from .onnx_embedding import (
    INPUTS,
    POOLINGS,
    OnnxEmbedder,
    OnnxExport,
    cache_dir_for,
    find_export,
    missing_runtime,
    model_key,
)
from .records import jsonl_objects

log = logging.getLogger(__name__)

_GOLD = Path(__file__).resolve().parents[2] / "eval" / "questions.jsonl"
#: Checked when the gold questions are not available (an installed package without eval/).
FALLBACK_TEXTS = (
    "When did Laos ratify the UN TIP Protocol?",
    "Who runs the long-term shelter for victims?",
    "How many trafficking cases were investigated in 2007?",
    "What tier was Laos placed in in 2023?",
    "and in 2018?",
    "A question with numbers 1, 22 and 333 and a name: Thailand.",
)


def check_texts(path: Path = _GOLD) -> list[str]:
    """The texts an export is checked on: the gold questions, else a few built-in ones."""
    try:
        rows = [r for _, r in jsonl_objects(path)]
        texts = [str(r["question"]) for r in rows if r.get("question")]
    except (OSError, ValueError):  # JsonLineError and UnicodeDecodeError are ValueErrors
        texts = []
    return texts or list(FALLBACK_TEXTS)


def compare(reference: Embedder, candidate: Embedder, texts: list[str]) -> float:
    """The lowest cosine between two embedders' query vectors over ``texts``."""
    worst = 1.0
    for t in texts:
        a, b = reference.encode_query(t), candidate.encode_query(t)
        cos = float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
        worst = min(worst, cos)
    return worst


def _export_onnx(st_model: Any, out_dir: Path) -> tuple[int, int, str, tuple[str, ...]]:
    """Write ``model.onnx`` and ``tokenizer.json``; returns (dim, max_seq_length, pooling, inputs).

    ``st_model`` is a loaded SentenceTransformer: Transformer, Pooling, optionally Normalize.
    """
    import inspect  # with torch below: only the export needs them

    import torch  # deferred: only exporting needs torch, never the query path

    kinds = [type(m).__name__ for m in st_model]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ModelError(f"cannot export modules {kinds} to ONNX (needs Transformer, Pooling)")
    pooling = str(getattr(st_model[1], "pooling_mode", "") or "")
    if pooling not in POOLINGS:
        raise ModelError(f"cannot export pooling {pooling!r} to ONNX (supported: {POOLINGS})")
    transformer = st_model[0].auto_model.eval()
    accepted = inspect.signature(transformer.forward).parameters
    wanted = set(getattr(st_model.tokenizer, "model_input_names", INPUTS))
    inputs = tuple(n for n in INPUTS if n in accepted and (n in wanted or n == "attention_mask"))

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(inputs, args, strict=True))).last_hidden_state

    sample = st_model.tokenizer(["a sample sentence, for the export"], return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in (*inputs, "last_hidden_state")}
    # The tracer warns that Python-side shape checks become constants; for a BERT-style encoder
    # they are (the export is checked against torch on real questions before use).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapped(transformer),
            tuple(sample[n] for n in inputs),
            str(out_dir / "model.onnx"),
            input_names=list(inputs),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    st_model.tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    dim = int(st_model[1].get_embedding_dimension())
    return dim, int(st_model.max_seq_length), pooling, inputs


def prepare_export(
    torch_embedder: Any, cache_dir: Path, texts: list[str] | None = None
) -> OnnxExport:
    """Export ``torch_embedder``'s model to ONNX (unless done already) and check it.

    ``torch_embedder`` is a ``SentenceTransformerEmbedder``. The export is written to a
    temporary directory and renamed into place, so a reader never sees half of one. Raises
    ModelError when the model cannot be exported; a mismatch is not an error (see ``ok``).
    """
    name = torch_embedder.name
    key = model_key(name, model_location(name))
    target = Path(cache_dir) / key
    done = OnnxExport.read(target)
    if done is not None:
        return done
    missing = [m for m in ("onnx", "onnxruntime", "tokenizers") if not importlib.util.find_spec(m)]
    if missing:
        raise ModelError(f"cannot export {name} to ONNX: {', '.join(missing)} not installed")
    target.parent.mkdir(parents=True, exist_ok=True)
    # the pid in the name lets a later build tell a dead export's leftover from a live one
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        t0 = time.perf_counter()
        try:
            dim, max_len, pooling, inputs = _export_onnx(torch_embedder._load(), tmp)
        except ModelError:
            raise
        except Exception as e:  # torch.onnx raises many types for unsupported graphs
            raise ModelError(
                f"cannot export {name} to ONNX ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); queries use torch"
            ) from e
        seconds = time.perf_counter() - t0
        export = OnnxExport(tmp, name, key, dim, max_len, pooling, inputs, 0.0, 0, seconds)
        texts = check_texts() if texts is None else texts
        worst = compare(torch_embedder, OnnxEmbedder(export), texts)
        export = OnnxExport(target, name, key, dim, max_len, pooling, inputs, worst, len(texts),
                            round(seconds, 3))  # fmt: skip
        (tmp / "export.json").write_text(json.dumps(export.to_json(), indent=2), "utf-8")
        try:
            os.replace(tmp, target)
        except OSError:  # another process put one there first: keep theirs
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    found = OnnxExport.read(target)
    if found is None:
        raise ModelError(f"the ONNX export in {target} could not be written; check permissions")
    return found


def _failed_marker(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"{key}.failed"


def export_or_note(torch_embedder: Any, cache_dir: Path) -> str | None:
    """Build-time hook: make sure a checked export exists; None, or one line saying what failed.

    A model that cannot be exported is remembered (``<key>.failed``), so it is not retried on
    every build or start; queries then use torch.
    """
    if not wants_export(torch_embedder, cache_dir):
        return None
    key = model_key(torch_embedder.name, model_location(torch_embedder.name))
    marker = _failed_marker(cache_dir, key)
    try:
        export = prepare_export(torch_embedder, cache_dir)
    except ModelError as e:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(e), encoding="utf-8")
        return f"{e}; queries use torch"
    return None if export.ok else f"{export.note()}; queries use torch"


def wants_export(embedder: Any, cache_dir: Path, backend: str | None = None) -> bool:
    """True when ``embedder`` is a torch model on the CPU that ONNX could serve but no export of
    it (nor a failed attempt) is in ``cache_dir`` yet, and QA_BACKEND is not ``torch``."""
    if resolve_backend(backend) == "torch" or not isinstance(embedder, SentenceTransformerEmbedder):
        return False
    if embedder.device != "cpu" or missing_runtime() or importlib.util.find_spec("onnx") is None:
        return False
    key = model_key(embedder.name, model_location(embedder.name))
    if _failed_marker(cache_dir, key).is_file():
        return False
    return OnnxExport.read(Path(cache_dir) / key) is None


_QUERY_EMBEDDERS: dict[tuple[Path, int], OnnxEmbedder] = {}
_QUERY_LOCK = threading.Lock()


def query_embedder(
    model: str | None,
    index_dir: str | Path,
    backend: str | None = None,
    device: str | None = None,
    threads: int | None = None,
) -> Embedder:
    """The embedder for questions on the index in ``index_dir``: a checked ONNX export of
    ``model`` when there is one (in ``cache_dir_for(index_dir)``), else torch.

    ``backend`` (default ``QA_BACKEND``, else ``auto``): ``torch`` always uses torch; ``onnx``
    always uses ONNX, exporting first if need be (raises ConfigError when onnxruntime is not
    installed); ``auto`` uses a checked export on the CPU and torch otherwise, with a one-line
    note when the export does not match torch. ``threads`` (default ``QA_QUERY_THREADS``, 1)
    are onnxruntime's threads for one query.
    """
    backend = resolve_backend(backend)
    name = resolve_model(model)
    cache_dir = cache_dir_for(index_dir)
    on_cpu = (device or "cpu") == "cpu"
    if backend == "torch" or (backend == "auto" and not on_cpu):
        return get_embedder(name, device, threads)
    missing = missing_runtime()
    if missing:
        if backend == "onnx":
            raise ConfigError(
                f"QA_BACKEND=onnx needs {' and '.join(missing)}; `pip install onnxruntime "
                "tokenizers`, or set QA_BACKEND=torch"
            )
        return get_embedder(name, device, threads)
    export = find_export(name, cache_dir)
    if export is None and backend == "onnx":
        export = prepare_export(get_embedder(name, "cpu"), cache_dir)
    if export is None:
        log.info("no ONNX export of %s in %s yet; queries use torch", name, cache_dir)
        return get_embedder(name, device, threads)
    if not export.ok:
        if backend == "auto":
            log.warning("%s; queries use torch", export.note())
            return get_embedder(name, device, threads)
        log.warning("%s; using it anyway (QA_BACKEND=onnx)", export.note())
    with _QUERY_LOCK:
        key = (export.directory, QUERY_THREADS if threads is None else threads)
        if key not in _QUERY_EMBEDDERS:
            _QUERY_EMBEDDERS[key] = OnnxEmbedder(export, key[1])
        return _QUERY_EMBEDDERS[key]

"""An onnxruntime query encoder for the bundled model, to compare with the torch one.

sentence-transformers' own ``backend="onnx"`` needs ``optimum-onnx``, whose releases require
transformers < 4.58 while sentence-transformers 6 requires transformers ≥ 5, so pip cannot
install it beside this project's pins. ``onnx`` and ``onnxruntime`` alone do install beside
torch 2.13 (no other torch is pulled), so this module exports the model's transformer once with
``torch.onnx.export`` into a local directory (nothing from a hub) and runs it with onnxruntime:
tokenizer (``tokenizers``), transformer (ONNX), mean pooling and L2 normalization (numpy), the
same pipeline as the model's sentence-transformers modules.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np

ST_ONNX_NOTE = (
    "it needs optimum-onnx, whose releases all require transformers<4.58 while "
    "sentence-transformers 6 requires transformers>=5; not installable together"
)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def missing_packages() -> list[str]:
    """Packages the onnxruntime encoder needs that are not importable here."""
    return [m for m in ("onnx", "onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None]


def st_backend_status() -> str:
    """Whether sentence-transformers' own ONNX backend could be used here, and if not why."""
    if importlib.util.find_spec("optimum") is None:
        return "n/a: " + ST_ONNX_NOTE
    return "optimum importable (not measured: would need an ONNX export in the model directory)"


def export(model, out_dir: Path) -> dict:
    """Export a loaded SentenceTransformer's transformer to ``out_dir/model.onnx``.

    Returns the export time and file size. ``model`` is the SentenceTransformer itself.
    """
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    transformer = model[0].auto_model.eval()

    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    sample = model.tokenizer(["a sample sentence for export"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    t0 = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            Wrapped(transformer),
            tuple(sample[k] for k in INPUTS),
            str(out_dir / "model.onnx"),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    seconds = time.perf_counter() - t0
    model.tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    (out_dir / "config.json").write_text(
        json.dumps({"max_seq_length": int(model.max_seq_length), "dim": 384}), encoding="utf-8"
    )
    return {"export_s": seconds, "bytes": (out_dir / "model.onnx").stat().st_size}


class OrtEmbedder:
    """Query encoder over an exported model directory (qa's Embedder protocol).

    Example:
        >>> e = OrtEmbedder(Path("/tmp/minilm-onnx"), "sentence-transformers/all-MiniLM-L6-v2")
        >>> e.encode_query("a question").shape  # doctest: +SKIP
        (384,)
    """

    def __init__(self, directory: Path, name: str, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.name = name
        self._dim = int(config["dim"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(config["max_seq_length"]))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(directory / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )

    @property
    def dim(self) -> int:
        return self._dim

    def _run(self, texts: list[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encs)
        feeds = {name: np.zeros((len(encs), width), dtype=np.int64) for name in INPUTS}
        for i, e in enumerate(encs):
            n = len(e.ids)
            feeds["input_ids"][i, :n] = e.ids
            feeds["attention_mask"][i, :n] = e.attention_mask
            feeds["token_type_ids"][i, :n] = e.type_ids
        hidden = self.session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([self._run(texts[i : i + 32]) for i in range(0, len(texts), 32)])

    def encode_query(self, text: str) -> np.ndarray:
        return self._run([text])[0]

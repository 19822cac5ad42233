"""Query embedding with onnxruntime: the model exported to ONNX once, then run without torch.

Why by hand: sentence-transformers' own ``backend="onnx"`` needs optimum-onnx, whose releases
require transformers < 4.58 while sentence-transformers 6 requires transformers ≥ 5, so it
cannot be installed beside this project. Instead ``backend`` exports the model's transformer
with ``torch.onnx.export`` when an index is built, into ``.qa-cache/onnx/<model key>/`` beside
the index directory, with the model's own tokenizer. Queries then run tokenizer
(``tokenizers``), transformer (onnxruntime), pooling and L2 normalisation (numpy) — the same
pipeline as the model's sentence-transformers modules — and this module imports neither torch
nor transformers: ``qa ask`` starts in about a second instead of seven (docs/speed.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .embedding import model_location

log = logging.getLogger(__name__)

#: Bump when the export's files or their meaning change: old exports are then ignored.
EXPORT_VERSION = 1
#: An export is used only if every checked query vector is at least this close to torch's.
MIN_COSINE = 0.9999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
POOLINGS = ("mean", "cls", "max")
#: Files of a local model directory whose size and mtime make up the export's key.
_KEY_FILES = (
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tokenizer.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)


def missing_runtime() -> list[str]:
    """The packages the ONNX query path needs that are not installed (none: it can run)."""
    return [m for m in ("onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None]


def cache_dir_for(index_dir: str | Path) -> Path:
    """Where exports live for an index: ``.qa-cache/onnx`` beside the index directory."""
    return Path(index_dir).resolve().parent / ".qa-cache" / "onnx"


def model_key(name: str, location: str) -> str:
    """A short hash of the model: its name, where it loads from, and its files' sizes and times.

    A model whose files change gets a new key, so a stale export is never used.
    """
    parts: list[Any] = [EXPORT_VERSION, name, location]
    root = Path(location)
    if root.is_dir():
        for rel in _KEY_FILES:
            p = root / rel
            if p.is_file():
                st = p.stat()
                parts.append([rel, st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class OnnxExport:
    """An exported model directory and how it was checked against torch.

    Attributes:
        directory: holds ``model.onnx``, ``tokenizer.json`` and ``export.json``.
        model: the sentence-transformers model name it was exported from.
        min_cosine: the lowest cosine between its and torch's vectors over ``checked`` texts.
    """

    directory: Path
    model: str
    key: str
    dim: int
    max_seq_length: int
    pooling: str
    inputs: tuple[str, ...]
    min_cosine: float
    checked: int
    export_seconds: float

    @property
    def ok(self) -> bool:
        """The export gives the same query vectors as torch (cosine ≥ MIN_COSINE on all)."""
        return self.checked > 0 and self.min_cosine >= MIN_COSINE

    def note(self) -> str:
        """One line on how the export compared with torch."""
        return (
            f"ONNX export of {self.model} vs torch: min cosine {self.min_cosine:.6f} over "
            f"{self.checked} question(s) (needs ≥ {MIN_COSINE})"
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        del d["directory"]  # the directory is where the file is: moving the cache keeps it valid
        d["export_version"] = EXPORT_VERSION
        return d

    @classmethod
    def read(cls, directory: Path) -> OnnxExport | None:
        """The export in ``directory``, or None if there is none or it is incomplete/old."""
        try:
            raw = json.loads((directory / "export.json").read_text(encoding="utf-8"))
            if raw.get("export_version") != EXPORT_VERSION:
                return None
            if not (directory / "model.onnx").is_file():
                return None
            if not (directory / "tokenizer.json").is_file():
                return None
            return cls(
                directory=directory,
                model=str(raw["model"]),
                key=str(raw["key"]),
                dim=int(raw["dim"]),
                max_seq_length=int(raw["max_seq_length"]),
                pooling=str(raw["pooling"]),
                inputs=tuple(str(x) for x in raw["inputs"]),
                min_cosine=float(raw["min_cosine"]),
                checked=int(raw["checked"]),
                export_seconds=float(raw["export_seconds"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


class OnnxEmbedder:
    """qa's Embedder over an ONNX export: tokenizers + onnxruntime + numpy, no torch.

    Example:
        >>> e = OnnxEmbedder(find_export("sentence-transformers/all-MiniLM-L6-v2", cache))
        ... # doctest: +SKIP
        >>> e.encode_query("a question").shape  # doctest: +SKIP
        (384,)
    """

    def __init__(self, export: OnnxExport, threads: int = 1):
        self.export = export
        self.name = export.model
        self.threads = max(1, threads)
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.export.dim

    def _load(self) -> tuple[Any, Any]:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._tokenizer, self._session = self._open()
        return self._tokenizer, self._session

    def _open(self) -> tuple[Any, Any]:
        # deferred: onnxruntime takes ~0.1 s to import, which `qa build --help` should not pay
        import onnxruntime as ort
        from tokenizers import Tokenizer  # deferred with onnxruntime

        d = self.export.directory
        try:
            tokenizer = Tokenizer.from_file(str(d / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(self.export.max_seq_length)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3  # errors only: ORT warns about harmless graph details
            session = ort.InferenceSession(
                str(d / "model.onnx"), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime and tokenizers raise their own types
            raise ModelError(
                f"cannot load the ONNX export in {d} ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); delete that directory to "
                "re-export it, or set QA_BACKEND=torch"
            ) from e
        log.info("loaded ONNX export of %s from %s", self.name, d)
        return tokenizer, session

    def _run(self, texts: list[str]) -> np.ndarray:
        tokenizer, session = self._load()
        encs = tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros((len(encs), width), dtype=np.int64)
        types = np.zeros((len(encs), width), dtype=np.int64)
        for i, e in enumerate(encs):
            n = len(e.ids)
            ids[i, :n], mask[i, :n], types[i, :n] = e.ids, e.attention_mask, e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = session.run(None, {k: feeds[k] for k in self.export.inputs})[0]
        return pool(hidden, mask, self.export.pooling)

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Encode a batch (32 texts per run, padded to the longest of each run)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([self._run(texts[i : i + 32]) for i in range(0, len(texts), 32)])

    def encode_query(self, text: str) -> np.ndarray:
        return self._run([text])[0]

    def encode_query_words(self, text: str) -> TokenVectors:
        """One question's vector and its token vectors, from one run (``qa.index.wordvec``)."""
        tokenizer, session = self._load()
        e = tokenizer.encode(text)
        ids = np.asarray([e.ids], dtype=np.int64)
        mask = np.asarray([e.attention_mask], dtype=np.int64)
        types = np.asarray([e.type_ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = session.run(None, {k: feeds[k] for k in self.export.inputs})[0]
        vec = pool(hidden, mask, self.export.pooling)[0]
        return TokenVectors(
            vec, np.asarray(hidden[0], np.float32), list(e.word_ids), list(e.offsets)
        )


@dataclass(frozen=True)
class TokenVectors:
    """A text's pooled vector, its token vectors, and each token's word index and offsets
    (None and (0, 0) for the special tokens), as a fast tokenizer gives them."""

    vector: np.ndarray
    tokens: np.ndarray
    word_ids: list[int | None]
    offsets: list[tuple[int, int]]


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Token vectors → one L2-normalised float32 vector per text, as sentence-transformers."""
    m = mask[..., None].astype(np.float32)
    if mode == "cls":
        pooled = hidden[:, 0, :]
    elif mode == "max":
        pooled = np.where(m > 0, hidden, -1e9).max(axis=1)
    else:
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(pooled, dtype=np.float32)


def find_export(name: str, cache_dir: Path) -> OnnxExport | None:
    """The export of model ``name`` in ``cache_dir``, or None when there is none yet."""
    return OnnxExport.read(Path(cache_dir) / model_key(name, model_location(name)))

"""Does this sentence answer this question? Our own cross-encoder, run with onnxruntime.

The model (``qa/models/answerhood.onnx``) is MiniLM-L6 (all-MiniLM-L6-v2's weights, Apache-2.0)
fine-tuned by ``qa train`` as a cross-encoder on questions written blind about real Wikipedia
articles (``eval/articles``): it reads the question (with the question it follows, for a
follow-up) and a candidate sentence with its section and the sentence before it, and gives a
logit that the sentence answers. It is exported to ONNX and quantised to int8, so answering
needs onnxruntime and tokenizers only, no torch.

Its logit is one more feature of the fitted scorer and of the abstention model
(``ANSWERHOOD`` in ``features`` and ``abstention``); only the scorer's best few candidates are
read by it (``TOP``), which keeps a warm answer fast. Without the model file (or with
``QA_ANSWERHOOD=off``) the answerer uses the models fitted without that feature.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..index.loaded import LoadedIndex
from ..readers.document import strip_markers

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
MODEL_FILE = MODELS_DIR / "answerhood.onnx"
META_FILE = MODELS_DIR / "answerhood.json"
TOKENIZER_FILE = MODELS_DIR / "answerhood-tokenizer.json"
#: How many of the scorer's best candidates the cross-encoder reads for one question.
TOP = 8
MAX_TOKENS = 128


def pair_text(index: LoadedIndex, si: int) -> str:
    """What the cross-encoder reads of candidate ``si``: the sentence first (so that truncation
    cuts context, never the sentence), then its title, section and the sentence before it."""
    s = index.sentences[si]
    text = strip_markers(index.sentence_text(si))
    title = index.docs[s.doc].title
    prev = ""
    para = index.paragraph_sentences(si)
    if para and para[0] < si:
        prev = strip_markers(index.sentence_text(si - 1))
    context = f"{title}, {s.section}" if s.section and s.section != title else title
    return f"{text} | {context}. {prev}".strip()


@dataclass(frozen=True)
class Meta:
    """What the model file was trained for (``answerhood.json`` beside it)."""

    base: str
    max_tokens: int
    trained_on: dict[str, Any]

    @classmethod
    def read(cls, path: Path = META_FILE) -> Meta:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(str(raw["base"]), int(raw["max_tokens"]), dict(raw.get("trained_on", {})))


class Answerhood:
    """The cross-encoder: ``logits(question, texts)`` → one logit per text (numpy)."""

    def __init__(
        self, model: Path = MODEL_FILE, tokenizer: Path = TOKENIZER_FILE, threads: int = 1
    ) -> None:
        self.model_path, self.tokenizer_path, self.threads = model, tokenizer, threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self.max_tokens = MAX_TOKENS

    def _open(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort  # deferred: only when a question is answered
                from tokenizers import Tokenizer

                try:
                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = self.threads
                    opts.inter_op_num_threads = 1
                    session = ort.InferenceSession(
                        str(self.model_path), opts, providers=["CPUExecutionProvider"]
                    )
                    tok = Tokenizer.from_file(str(self.tokenizer_path))
                except Exception as e:  # onnxruntime raises its own exception types
                    raise ModelError(
                        f"cannot load the answerhood model {self.model_path.name} ({e}); "
                        "reinstall the package or set QA_ANSWERHOOD=off"
                    ) from e
                tok.enable_truncation(self.max_tokens, strategy="only_second")
                tok.enable_padding()
                self._tokenizer, self._session = tok, session
            return self._session, self._tokenizer

    def logits(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit per text that it answers ``question`` (higher: more likely)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        session, tok = self._open()
        enc = tok.encode_batch([(question, t) for t in texts])
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        names = {i.name for i in session.get_inputs()}
        out = session.run(None, {k: v for k, v in feeds.items() if k in names})[0]
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)[:, -1]


@functools.lru_cache(maxsize=1)
def shipped() -> Answerhood | None:
    """The shipped model, or None when the package holds none."""
    if not (MODEL_FILE.is_file() and TOKENIZER_FILE.is_file()):
        return None
    return Answerhood()


#: Candidate features the cross-encoder adds (scorer), and evidence features (abstention).
FEATURES = ("answerhood", "answerhood_gap")
EVIDENCE = ("answerhood", "answerhood_margin")
#: Below the lowest logit it gave: the logit of a candidate the cross-encoder did not read.
UNREAD_GAP = 2.0


def column(logits_of_all: np.ndarray, first_stage: np.ndarray, top: int = TOP) -> np.ndarray:
    """The answerhood column of a candidate pool: the cross-encoder's logit for the ``top``
    candidates of the first-stage scorer, and for the others a floor below the lowest given.

    ``logits_of_all`` may hold logits for every candidate (fitting computes them once); only
    those of the top ``top`` are used, exactly as when answering (``score``).
    """
    order = np.argsort(-first_stage, kind="stable")[:top]
    read = logits_of_all[order]
    col = np.full(len(first_stage), float(read.min()) - UNREAD_GAP if len(read) else 0.0)
    col[order] = read
    return col


def extend(X: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Candidate features with the cross-encoder's two columns appended (``FEATURES``)."""
    gap = col - (col.max() if len(col) else 0.0)
    return np.hstack([X, col[:, None], gap[:, None]])


def evidence_of(col: np.ndarray, best: int) -> tuple[float, float]:
    """The abstention's answerhood evidence of candidate ``best``: its logit and its lead."""
    others = np.delete(col, best)
    return float(col[best]), float(col[best] - (others.max() if len(others) else col[best] - 5))


def score(
    model: Answerhood, index: LoadedIndex, query: str, rows: list[int], first_stage: np.ndarray
) -> np.ndarray:
    """The answerhood column for candidate ``rows``: one model call over the top ``TOP``."""
    order = np.argsort(-first_stage, kind="stable")[:TOP]
    full = np.zeros(len(rows), dtype=np.float32)
    full[order] = model.logits(query, [pair_text(index, rows[i]) for i in order])
    return column(full, first_stage)

"""Training data, fine-tuning and export of the answerhood cross-encoder (``qa train``).

Pairs come from the questions of the *train* articles (``eval/splits.json``), through the same
retrieval and candidate pool that answering uses (``fitting.collect``):

- positives: candidate sentences that hold an acceptable answer;
- retrieval negatives: the other candidates of an answerable question (the near misses that
  retrieval brings, ranked high by the fitted scorer first);
- unanswerable negatives: the best candidates of an unanswerable question;
- perturbed negatives: a copy of an answerable question with one of its years, numbers or
  names replaced by one its answering sentence's paragraph does not hold, paired with that
  sentence ("the same kind of fact for another year").

The model starts from the bundled MiniLM's weights (a new classification head), is trained
with binary cross-entropy on CPU (torch, deferred imports: fitting only), exported to ONNX and
quantised to int8 with onnxruntime. The loop is written here rather than with
sentence-transformers' CrossEncoderTrainer because that trainer pulls in ``datasets`` and
``accelerate``, which nothing else here needs, for forty lines of torch.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..answering.answerhood import MAX_TOKENS, pair_text
from ..answering.question import resolve_query
from .fitting import Item

log = logging.getLogger(__name__)

Pair = tuple[str, str, float]
#: Learning rate of the new linear head (the encoder's layers take ``lr``).
HEAD_LR = 1e-3
#: How many of the encoder's top layers are trained (the rest stay as the bundled model's).
TRAINABLE = 3
_YEAR_RE = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER_RE = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_NAME_RE = re.compile(r"(?<!^)(?<![.?!] )\b([A-Z][a-z]{2,}(?: [A-Z][a-z]+)*)")


def perturbed(question: str, paragraph: str, names: list[str], rng: random.Random) -> str | None:
    """``question`` with one year, number or name swapped for one ``paragraph`` lacks."""
    years = [m for m in _YEAR_RE.finditer(question)]
    if years:
        m = rng.choice(years)
        for _ in range(10):
            y = str(int(m.group()) + rng.choice([-1, 1]) * rng.randint(1, 40))
            if y not in paragraph:
                return question[: m.start()] + y + question[m.end() :]
    nums = [m for m in _NUMBER_RE.finditer(question) if not _YEAR_RE.fullmatch(m.group())]
    if nums:
        m = rng.choice(nums)
        n = m.group().replace(",", "")
        try:
            v = float(n)
        except ValueError:
            return None
        new = str(int(v * rng.choice([2, 3, 10]) + rng.randint(1, 9)))
        if new not in paragraph:
            return question[: m.start()] + new + question[m.end() :]
    found = [m for m in _NAME_RE.finditer(question) if m.group(1) in paragraph]
    if found and names:
        m = rng.choice(found)
        other = rng.choice(names)
        if other not in paragraph and other != m.group(1):
            return question[: m.start(1)] + other + question[m.end(1) :]
    return None


def pairs_for(items: list[Item], seed: int = 0, negatives: int = 5) -> list[Pair]:
    """Training pairs (query, candidate text, label) from ``items`` (see the module docstring)."""
    rng = random.Random(seed)
    names = sorted({it.index.docs[0].title for it in items if it.index.docs})
    out: list[Pair] = []
    for it in items:
        if not it.rows or it.junk:
            continue
        query = resolve_query(it.question.question, list(it.question.history))
        texts = [pair_text(it.index, si) for si in it.rows]
        order = np.argsort(-it.X[:, 0], kind="stable")  # dense similarity: hardest first
        if it.question.answerable:
            pos = [i for i in range(len(it.rows)) if it.labels[i] > 0]
            neg = [int(i) for i in order if it.labels[i] == 0][:negatives]
            out += [(query, texts[i], 1.0) for i in pos]
            out += [(query, texts[i], 0.0) for i in neg]
            for i in pos[:1]:
                para = " ".join(
                    it.index.sentence_text(o) for o in it.index.paragraph_sentences(it.rows[i])
                )
                q2 = perturbed(it.question.question, para, names, rng)
                if q2 is not None:
                    out.append((resolve_query(q2, list(it.question.history)), texts[i], 0.0))
        else:
            out += [(query, texts[int(i)], 0.0) for i in order[:3]]
    rng.shuffle(out)
    return out


@functools.lru_cache(maxsize=1)
def _mean_pooled() -> Any:
    """The cross-encoder: the sentence model's encoder over the pair, mean-pooled as the
    sentence model pools (so that training starts from a meaningful pair vector), and a
    linear head to one logit. Built on first use: torch is imported for fitting only."""
    import torch
    from transformers import AutoModel

    class MeanPooledModel(torch.nn.Module):
        def __init__(self, encoder: Any):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)

        @classmethod
        def from_base(cls, base: str) -> MeanPooledModel:
            return cls(AutoModel.from_pretrained(base))

        @classmethod
        def load(cls, path: Path) -> MeanPooledModel:
            model = cls(AutoModel.from_pretrained(path))
            model.head.load_state_dict(torch.load(Path(path) / "head.pt"))
            return model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.head(pooled).squeeze(-1)

    return MeanPooledModel


def train(
    pairs: list[Pair],
    base: str,
    out_dir: Path,
    epochs: float = 1.0,
    batch: int = 16,
    lr: float = 1e-4,
    threads: int = 2,
    progress: Callable[[str], None] = lambda m: print(m, flush=True),
    seed: int = 0,
) -> Path:
    """Fine-tune a cross-encoder from the sentence model at ``base``; save it to ``out_dir``."""
    import torch  # deferred: training only
    from transformers import AutoTokenizer

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(base)
    model = _mean_pooled().from_base(base)
    # On two shared CPU cores, only the top TRAINABLE layers learn: the embeddings and the
    # lower layers run without gradients, which makes a step about three times cheaper.
    layers = model.encoder.encoder.layer
    for p in model.encoder.embeddings.parameters():
        p.requires_grad = False
    for layer in layers[: len(layers) - TRAINABLE]:
        for p in layer.parameters():
            p.requires_grad = False
    opt = torch.optim.AdamW([
        {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": lr},
        {"params": model.head.parameters(), "lr": HEAD_LR},
    ])  # fmt: skip
    # batches of pairs of similar length: little padding (shuffled within length buckets)
    lengths = [len(tok(a, b, truncation="only_second", max_length=MAX_TOKENS)["input_ids"])
               for a, b, _ in pairs]  # fmt: skip
    rng = np.random.default_rng(seed)
    steps = max(1, int(len(pairs) * epochs / batch))
    batches: list[list[int]] = []
    while len(batches) < steps:
        noisy = np.array(lengths) + rng.uniform(0, 8, len(pairs))
        order = list(np.argsort(noisy))
        epoch = [order[i : i + batch] for i in range(0, len(order), batch)]
        rng.shuffle(epoch)
        batches += epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    start, seen = time.time(), 0.0
    for step in range(steps):
        chunk = [pairs[i] for i in batches[step]]
        enc = tok([c[0] for c in chunk], [c[1] for c in chunk], truncation="only_second",
                  max_length=MAX_TOKENS, padding=True, return_tensors="pt")  # fmt: skip
        logits = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        loss = loss_fn(logits, torch.tensor([c[2] for c in chunk]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        seen = 0.98 * seen + 0.02 * float(loss.detach()) if step else float(loss.detach())
        if step % 25 == 0 or step == steps - 1:
            progress(f"step {step + 1}/{steps}  loss {seen:.3f}  {time.time() - start:.0f}s")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(out_dir)
    torch.save(model.head.state_dict(), out_dir / "head.pt")
    tok.save_pretrained(out_dir)
    return out_dir


def export_int8(model_dir: Path, onnx_out: Path, tokenizer_out: Path) -> int:
    """Export the trained model to ONNX, quantise it to int8; returns the file's size."""
    import torch  # deferred: training only
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoTokenizer

    model = _mean_pooled().load(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    enc = tok(["a question"], ["a sentence"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names}

    fp32 = onnx_out.with_suffix(".fp32.onnx")
    with torch.no_grad():
        torch.onnx.export(
            model, tuple(enc[n] for n in names), str(fp32), input_names=names,
            output_names=["logits"], dynamic_axes={**axes, "logits": {0: "batch"}},
            opset_version=17, dynamo=False,
        )  # fmt: skip
    quantize_dynamic(str(fp32), str(onnx_out), weight_type=QuantType.QInt8)
    fp32.unlink()
    shutil.copy2(Path(model_dir) / "tokenizer.json", tokenizer_out)
    return onnx_out.stat().st_size


def write_meta(path: Path, base: str, trained_on: dict[str, Any]) -> None:
    meta = {"base": base, "max_tokens": MAX_TOKENS, "trained_on": trained_on}
    path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

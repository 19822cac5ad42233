"""``qa train``: data preparation, the answerhood cross-encoder, its export, and the refit.

Stages, each reproducible from the files in the repository (``eval/``) and the bundled model:

1. ``pairs``: every train and dev article's index (built once into ``.qa-cache/``), its
   questions through the answering pipeline's retrieval (``fitting.collect``), and the
   cross-encoder's training pairs from the *encoder* articles (``crossencoder.pairs_for``);
2. ``ce``: fine-tune the cross-encoder (torch, CPU) into ``.qa-cache/train/answerhood``;
3. ``export``: ONNX, int8, into ``qa/models/answerhood.onnx`` with its tokenizer and notes;
4. ``fit``: the scorer and abstention models refitted with the cross-encoder's logit as a
   feature, on the train articles the cross-encoder never saw, calibrated and thresholded on
   the dev articles (``qa/models/calibration.json``);
5. ``span``: the short-answer span model from the train articles' answer substrings
   (``qa/models/span.json``).

Splits (``eval/splits.json``): test articles are never read here. The train articles are
divided once, by name, into the encoder's and the fitted models': stacking a model on scores
of questions it was trained on would trust it more than it deserves.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import load_with_settings
from ..errors import QAError
from ..index.embedding import DEFAULT_MODEL
from ..settings import Settings
from . import evalsets
from .evaluate import load_questions

if TYPE_CHECKING:  # fitting needs scikit-learn: imported where it is used
    from .fitting import Item

WORK = Path(".qa-cache/train")
PAIRS = WORK / "pairs.jsonl"
CE_DIR = WORK / "answerhood"


def encoder_share(name: str) -> bool:
    """Whether a train article's questions train the cross-encoder (about 60% of them, chosen
    by a hash of the name) rather than the fitted models. The bundled article and the three
    written for this project always go to the fitted models."""
    if name in (evalsets.BUNDLED, "riverton", "glacier_lake", "harbor_cooperative"):
        return False
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10 < 6


def collect_items(
    settings: Settings, names: set[str] | None = None, log: Callable[[str], None] = print
) -> dict[str, list[Item]]:
    """Items (``fitting.Item``) per article group, for the train and dev splits."""
    from .fitting import collect  # deferred: needs scikit-learn's fitting module's imports

    splits = evalsets.read_splits()
    groups: dict = {}
    if names is None or evalsets.BUNDLED in names:
        idx = load_with_settings(settings)
        groups[evalsets.BUNDLED] = collect(
            idx, evalsets.BUNDLED, load_questions("eval/questions.jsonl")
        )
        groups["junk"] = collect(
            idx, evalsets.BUNDLED, load_questions("eval/calibration_negatives.jsonl"), junk=True
        )
    for s in evalsets.article_sets():
        if s.name in splits.test or (names is not None and s.name not in names):
            continue
        assert s.corpus is not None
        t = time.time()
        article = evalsets.cached_index(s.corpus, settings.model)
        groups[s.name] = collect(article, s.name, load_questions(s.questions))
        log(f"  {s.name}: {len(groups[s.name])} questions ({time.time() - t:.0f}s)")
    return groups


def _model(settings: Settings) -> str:
    return settings.model or DEFAULT_MODEL


def stage_pairs(settings: Settings) -> None:
    from .crossencoder import pairs_for  # deferred: fitting only

    splits = evalsets.read_splits()
    names = {
        s.name
        for s in evalsets.article_sets()
        if s.name not in splits.test and s.name not in splits.dev and encoder_share(s.name)
    }
    groups = collect_items(settings, names)
    items = [it for g in groups.values() for it in g]
    pairs = pairs_for(items)
    WORK.mkdir(parents=True, exist_ok=True)
    with PAIRS.open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    pos = sum(1 for p in pairs if p[2] > 0.5)
    print(f"{len(pairs)} pairs ({pos} positive) from {len(items)} questions of {sorted(names)}")


def stage_ce(settings: Settings, epochs: float, threads: int) -> None:
    from ..index.embedding import model_location
    from .crossencoder import train

    pairs = [tuple(json.loads(line)) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    base = model_location(_model(settings))
    train(pairs, base, CE_DIR, epochs=epochs, threads=threads)


def stage_export(settings: Settings) -> None:
    from ..answering import answerhood
    from .crossencoder import export_int8, write_meta

    size = export_int8(CE_DIR, answerhood.MODEL_FILE, answerhood.TOKENIZER_FILE)
    n = sum(1 for _ in PAIRS.open(encoding="utf-8"))
    write_meta(answerhood.META_FILE, _model(settings), {"pairs": n})
    print(f"wrote {answerhood.MODEL_FILE} ({size / 2**20:.1f} MiB)")


def fit_span(items: list) -> dict:
    """The short-answer span model (``qa.answering.span``) from the items' answer substrings:
    in each answering candidate sentence, the spans equal to an answer are the positives."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # deferred: fitting only

    from ..answering.span import candidates, interactions

    Xs, ys = [], []
    for it in items:
        if it.junk or not it.question.answerable:
            continue
        for si, label in zip(it.rows, it.labels, strict=True):
            if label <= 0:
                continue
            s = it.index.sentences[si]
            text = it.index.document_text(it.index.docs[s.doc].doc_id)
            spans, X = candidates(it.question.question, text, s.start, s.end)
            hit = [float(text[a:b] in it.question.answers) for a, b in spans]
            if len(spans) and any(hit):
                Xs.append(interactions(X))
                ys.append(np.array(hit))
            break
    X_all, y_all = np.vstack(Xs), np.concatenate(ys)
    model = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(X_all, y_all)
    return {"coef": [round(float(v), 6) for v in model.coef_[0]],
            "intercept": round(float(model.intercept_[0]), 6), "sentences": len(Xs)}  # fmt: skip


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    stages = args.stage or ["pairs", "ce", "export", "fit", "span"]
    for stage in stages:
        t = time.time()
        print(f"== {stage}")
        if stage == "pairs":
            stage_pairs(settings)
        elif stage == "ce":
            stage_ce(settings, args.epochs, args.threads)
        elif stage == "export":
            stage_export(settings)
        elif stage == "span":
            from ..answering import span

            groups = collect_items(settings)
            splits = evalsets.read_splits()
            train_items = [it for n, g in groups.items() if n not in splits.dev for it in g]
            result = fit_span(train_items)
            span.MODEL_FILE.write_text(json.dumps(result) + "\n", encoding="utf-8")
            print(f"span model from {result['sentences']} sentences; wrote {span.MODEL_FILE}")
        elif stage == "fit":
            from ..answering import answerhood
            from .fitting import add_answerhood, fit_all, write_model  # deferred: scikit-learn

            groups = collect_items(settings)
            splits = evalsets.read_splits()
            items = [
                it for name, g in groups.items()
                if name in splits.dev or name == "junk" or not encoder_share(name)
                for it in g
            ]  # fmt: skip
            model = answerhood.shipped() if settings.answerhood else None
            if model is not None:
                t2 = time.time()
                add_answerhood(items, model)
                print(
                    f"   cross-encoder logits for {len(items)} questions ({time.time() - t2:.0f}s)"
                )
            result = fit_all(items, _model(settings), dev=splits.dev)
            path = write_model(result)
            th = result["thresholds"]
            print(f"answer from {th['answer']:.2f}, tentative from {th['tentative']:.2f}; "
                  f"wrote {path}")  # fmt: skip
        else:
            raise QAError(f"unknown stage {stage!r}; use pairs, ce, export, fit or span")
        print(f"   {stage} took {time.time() - t:.0f}s")
    return 0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The ``train`` subcommand's options."""
    t = sub.add_parser(
        "train",
        parents=[common],
        help="prepare data, train the answerhood model, export it, refit (needs .[fit])",
    )
    t.add_argument(
        "--stage", action="append", choices=["pairs", "ce", "export", "fit", "span"],
        help="run only this stage (repeatable); default: all, in order",
    )  # fmt: skip
    t.add_argument("--epochs", type=float, default=3.0, help="cross-encoder epochs (3)")
    t.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for training (1: two collapse when another process keeps a core busy)",
    )
    t.set_defaults(func=cmd_train)

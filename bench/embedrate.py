"""Embedding throughput on a sample of synthetic sentences and chunks, to extrapolate builds."""

from __future__ import annotations

import time

import numpy as np

from .util import log, summary


def sample_texts(n_sentences: int, n_chunks: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts shaped like what qa embeds: "title — section: body" for sentences and chunks."""
    from .synth import WordModel

    words = WordModel(seed)
    rng = np.random.default_rng(seed + 11)
    prefix = "Synthetic report 00042 — Border Protection 3: "
    sentences = [prefix + words.sentence(rng) for _ in range(n_sentences)]
    chunks = [
        prefix + " ".join(words.sentence(rng) for _ in range(int(rng.integers(2, 4))))
        for _ in range(n_chunks)
    ]
    return sentences, chunks


def _rate(encode, texts: list[str], parts: int = 3) -> dict:
    """Texts per second, measured on ``parts`` equal slices (median, min, max)."""
    encode(texts[:64])  # warm-up
    size = len(texts) // parts
    rates = []
    for i in range(parts):
        part = texts[i * size : (i + 1) * size]
        t0 = time.perf_counter()
        encode(part)
        rates.append(len(part) / (time.perf_counter() - t0))
    return summary(rates)


def measure(
    device: str = "cpu", n_sentences: int = 2000, n_chunks: int = 1000, seed: int = 0, ort_dir=None
) -> dict:
    """Throughput of ``SentenceTransformerEmbedder.encode`` (what ``build_index`` calls)."""
    import torch

    from qa.index.embedding import SentenceTransformerEmbedder

    if device.startswith("cuda") and not torch.cuda.is_available():
        return {"status": f"n/a: CUDA not available (torch {torch.__version__})"}
    sentences, chunks = sample_texts(n_sentences, n_chunks, seed)
    embedder = SentenceTransformerEmbedder(device=device)
    log(f"embedding throughput on {device}: {n_sentences} sentences, {n_chunks} chunks …")
    out = {
        "status": "ok",
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "batch_size": 64,
    }
    if device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(0)
    out["sentences_per_s"] = _rate(embedder.encode, sentences)
    out["chunks_per_s"] = _rate(embedder.encode, chunks)
    if ort_dir is not None and device == "cpu":
        from .onnxq import ort_embedder

        ort = ort_embedder(ort_dir, threads=torch.get_num_threads())
        out["onnx_sentences_per_s"] = _rate(ort.encode, sentences)
        out["onnx_chunks_per_s"] = _rate(ort.encode, chunks)
    return out

"""Seeded synthetic corpora and vectors for the scale benchmark.

Text: Wikipedia-like plain-text documents (title, section headings, paragraphs of 2–6 sentences
with ``[n]`` markers, a References list) whose words follow a Zipf-like mix of common English
words and invented names, so that BM25 posting lists and tokenizer lengths look like real text.

Vectors: embedding 1M chunks on 2 CPU cores takes hours, so the scale runs use seeded vectors of
the model's dimension instead (the embedding cost is measured on a sample and extrapolated).
``clustered`` vectors come from a mixture of topics in a low-dimensional subspace plus noise,
which is how sentence embeddings are distributed (they cluster by topic, and their intrinsic
dimension is far below 384); ``uniform`` vectors are isotropic, the worst case for approximate
search. Same seed, same corpus and same vectors.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

DIM = 384
WORDS = """government report trafficking victims police court law border country province
women children men workers labor migrant shelter support training officials cases year
investigation prosecution arrests convictions protection prevention program agency ministry
national international organization union village city district region market factory farm
fishing construction domestic service export import trade money debt loan contract wage job
school health hospital family community leader committee council policy plan strategy budget
data survey study evidence number percent increase decrease record office centre network
hotline campaign awareness education media radio television newspaper website partner donor
project fund grant assistance return repatriation recruitment broker agent document passport
visa permit crossing checkpoint river road highway railway airport port ship boat truck bus
forced sexual exploitation servitude bonded prostitution abuse violence threat fraud coercion
tier standard minimum effort significant increased reported identified referred provided
received trained established adopted signed ratified implemented continued remained""".split()
STOP = """the of and to in a was for on by with that as were from at an their which it this
not or had its also be been has have more than other some into after""".split()
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "sa",
    "vong",
    "phon",
    "thi",
    "na",
    "khe",
    "ou",
    "bou",
    "an",
    "chan",
    "sy",
    "day",
    "ram",
    "pha",
    "xai",
    "leu",
    "tha",
    "kham",
    "vie",
    "ne",
    "ri",
]


class WordModel:
    """Seeded word sampler: Zipf weights over English words, stopwords and invented names."""

    def __init__(self, seed: int = 0, names: int = 20000):
        rng = np.random.default_rng(seed)
        invented = set()
        while len(invented) < names:
            n = int(rng.integers(2, 5))
            invented.add("".join(rng.choice(SYLLABLES, n)))
        self.names = sorted(invented)
        rng.shuffle(self.names)  # so that the frequent names are not the alphabetically first
        self.vocab = np.array(STOP + WORDS + [w.capitalize() for w in self.names], dtype=object)
        n_stop, n_words, n_names = len(STOP), len(WORDS), len(self.names)
        zipf = [1.0 / (np.arange(n) + 1.0) ** 1.05 for n in (n_stop, n_words, n_names)]
        parts = [
            zipf[0] / zipf[0].sum() * 0.35,
            zipf[1] / zipf[1].sum() * 0.52,
            zipf[2] / zipf[2].sum() * 0.13,
        ]
        self.p = np.concatenate(parts)
        self.cdf = np.cumsum(self.p)
        self.cdf[-1] = 1.0

    def words(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.vocab[np.searchsorted(self.cdf, rng.random(n), side="right")]

    def sentence(self, rng: np.random.Generator) -> str:
        n = int(rng.integers(8, 18))
        ws = list(self.words(rng, n))
        if rng.random() < 0.3:
            ws.insert(int(rng.integers(0, n)), str(int(rng.integers(1990, 2025))))
        if rng.random() < 0.2:
            ws.insert(int(rng.integers(0, n)), str(int(rng.integers(2, 5000))))
        text = " ".join(ws)
        return text[0].upper() + text[1:] + "."

    def question(self, rng: np.random.Generator) -> str:
        return "What " + " ".join(self.words(rng, int(rng.integers(5, 10)))) + "?"


def chunks_in_paragraph(sentences: int, max_sentences: int = 3, overlap: int = 1) -> int:
    """How many chunks qa's default chunker makes of a paragraph of short sentences."""
    if sentences <= max_sentences:
        return 1
    step = max_sentences - overlap
    return 1 + math.ceil((sentences - max_sentences) / step)


def write_corpus(out: Path, chunks: int, seed: int = 0, chunks_per_doc: int = 1000) -> dict:
    """Write documents into ``out`` until they hold about ``chunks`` chunks."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    words = WordModel(seed)
    total, n_doc, n_sent, n_bytes = 0, 0, 0, 0
    while total < chunks:
        title = f"Synthetic report {n_doc:05d}"
        lines = [title, ""]
        doc_chunks, ref = 0, 0
        while doc_chunks < min(chunks_per_doc, chunks - total):
            if doc_chunks % 40 == 0:
                heading = " ".join(w.capitalize() for w in words.words(rng, 3) if w)
                lines += [f"{heading} {doc_chunks // 40 + 1}", ""]
            s = int(rng.integers(2, 7))
            para = []
            for _ in range(s):
                sent = words.sentence(rng)
                if rng.random() < 0.4:
                    ref += 1
                    sent += f"[{ref}]"
                para.append(sent)
            lines += [" ".join(para), ""]
            doc_chunks += chunks_in_paragraph(s)
            n_sent += s
        lines += ["References", ""]
        lines += [f"{i}. ^ Synthetic source {i}, {2000 + i % 25}." for i in range(1, ref + 1)]
        text = "\n".join(lines) + "\n"
        (out / f"doc{n_doc:05d}.txt").write_text(text, encoding="utf-8")
        n_bytes += len(text.encode())
        total += doc_chunks
        n_doc += 1
    return {"documents": n_doc, "chunks_planned": total, "sentences": n_sent, "bytes": n_bytes}


class VectorModel:
    """Seeded unit vectors: ``clustered`` (topics in a subspace, plus noise) or ``uniform``."""

    def __init__(
        self,
        kind: str = "clustered",
        seed: int = 0,
        dim: int = DIM,
        topics: int = 2000,
        latent: int = 64,
        spread: float = 1.0,
        noise: float = 0.5,
    ):
        if kind not in ("clustered", "uniform"):
            raise ValueError(f"unknown vector kind {kind!r}; use 'clustered' or 'uniform'")
        self.kind, self.dim = kind, dim
        rng = np.random.default_rng(seed + 1_000_003)
        self.basis = rng.standard_normal((latent, dim)).astype(np.float32) / math.sqrt(latent)
        self.centers = rng.standard_normal((topics, latent)).astype(np.float32)
        self.spread, self.noise = spread, noise

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "uniform":
            v = rng.standard_normal((n, self.dim), dtype=np.float32)
        else:
            topic = rng.integers(0, len(self.centers), size=n)
            z = self.centers[topic] + self.spread * rng.standard_normal(
                (n, self.centers.shape[1]), dtype=np.float32
            )
            v = z @ self.basis + self.noise * rng.standard_normal((n, self.dim), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return np.ascontiguousarray(v, dtype=np.float32)


class SyntheticEmbedder:
    """qa's Embedder protocol over ``VectorModel``: vectors in call order from one seeded stream."""

    def __init__(self, kind: str = "clustered", seed: int = 0):
        self.name = f"synthetic-{kind}-{DIM}"
        self.model = VectorModel(kind, seed)
        self.rng = np.random.default_rng(seed)

    @property
    def dim(self) -> int:
        return DIM

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self.model.sample(self.rng, len(texts))

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.sample(self.rng, 1)[0]

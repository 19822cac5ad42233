"""The short answer: which words of the quoted sentence answer the question.

Every run of one to ``MAX_WORDS`` words of the sentence is a candidate span, described by a few
numbers (its kind of value against the kind asked for, how much of it the question already
says, how near it stands to the words the question shares with the sentence, its length and
its edges), and a logistic model fitted on the answer substrings of the train articles' questions
(``qa train --stage span``; coefficients in ``qa/models/span.json``, numpy at run time) picks
the best. The quote stays verbatim; the span is only a mark on it (``Quote.answer_start`` /
``answer_end``, offsets into the document's text). "reason" and yes/no questions get none.

Written here rather than taken from a library: no installable extractive-QA model exists
offline, and the spans must be offsets into our own rendered text.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np

from ..index.text import STOPWORDS, stem, words
from ..readers.document import MARK_RUN_RE
from .answertype import MONTHS, NUMBER_WORDS, question_type

MODEL_FILE = Path(__file__).resolve().parent.parent / "models" / "span.json"
MAX_WORDS = 8
_WORD_RE = re.compile(r"[\w’'][\w’'.,%-]*[\w%]|[\w%]")
_YEAR_RE = re.compile(r"^(?:1\d{3}|20\d\d)s?$")
FEATURES = (
    "date", "count", "capital", "capital_share", "in_question", "new_content", "near",
    "len1", "len2", "len3", "len4plus", "stop_edge", "after_prep", "before_punct",
    "kind_date", "kind_quantity", "kind_name",
)  # fmt: skip
_PREPS = frozenset("in on at by of from to as than about around nearly over under".split())


def words_of(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(start, end, word) of the words of ``text[start:end]``, markers left out."""
    blocked = [(m.start(), m.end()) for m in MARK_RUN_RE.finditer(text, start, end)]
    out = []
    for m in _WORD_RE.finditer(text, start, end):
        if not any(a <= m.start() < b for a, b in blocked):
            out.append((m.start(), m.end(), m.group()))
    return out


def _is_date(w: str) -> bool:
    return bool(_YEAR_RE.match(w)) or w.lower() in MONTHS


def _is_count(w: str) -> bool:
    return (w[:1].isdigit() and not _YEAR_RE.match(w)) or w.lower() in NUMBER_WORDS


def candidates(
    question: str, text: str, start: int, end: int
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Candidate spans (document offsets) of ``text[start:end]`` and their ``FEATURES``."""
    ws = words_of(text, start, end)
    asked = {stem(w) for w in words(question)}
    kind = question_type(question)
    shared = [i for i, (_, _, w) in enumerate(ws) if stem(w.lower()) in asked
              and w.lower() not in STOPWORDS]  # fmt: skip
    spans, rows = [], []
    for i in range(len(ws)):
        for n in range(1, MAX_WORDS + 1):
            j = i + n
            if j > len(ws):
                break
            toks = [w for _, _, w in ws[i:j]]
            low = [t.lower() for t in toks]
            inq = sum(stem(t) in asked for t in low) / n
            content = [t for t in low if t not in STOPWORDS]
            new = sum(stem(t) not in asked for t in content) / n
            dist = min((min(abs(k - i), abs(k - (j - 1))) for k in shared if not i <= k < j),
                       default=20)  # fmt: skip
            caps = [t[:1].isupper() for t in toks]
            after = text[ws[j - 1][1] : ws[j - 1][1] + 1]
            rows.append((
                float(any(_is_date(t) for t in toks)),
                float(any(_is_count(t) for t in toks)),
                float(caps[0]),
                sum(caps) / n,
                inq,
                new,
                1.0 / (1.0 + dist),
                float(n == 1), float(n == 2), float(n == 3), float(n >= 4),
                float(low[0] in STOPWORDS or low[-1] in STOPWORDS),
                float(i > 0 and ws[i - 1][2].lower() in _PREPS),
                float(after in ",.;:)" or j == len(ws)),
                float(kind == "date"), float(kind == "quantity"),
                float(kind in ("agent", "place")),
            ))  # fmt: skip
            spans.append((ws[i][0], ws[j - 1][1]))
    return spans, np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


def interactions(X: np.ndarray) -> np.ndarray:
    """The features with their products with the asked-for kind (a date wanted and held …)."""
    kinds = X[:, -3:]
    cross = np.hstack([X[:, :-3] * kinds[:, [k]] for k in range(3)])
    return np.hstack([X, cross])


@functools.lru_cache(maxsize=1)
def _model(path: Path = MODEL_FILE) -> tuple[np.ndarray, float] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return np.asarray(raw["coef"], dtype=np.float64), float(raw["intercept"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def answer_span(question: str, text: str, start: int, end: int) -> tuple[int, int] | None:
    """The offsets of the words of ``text[start:end]`` that answer ``question``, or None."""
    model = _model()
    if model is None or question_type(question) in ("reason", "yesno"):
        return None
    spans, X = candidates(question, text, start, end)
    if not spans:
        return None
    coef, intercept = model
    z = interactions(X) @ coef + intercept
    best = int(np.argmax(z))
    return spans[best] if z[best] > 0 else None

"""Decide whether the source answers a question: evidence features and their calibration.

The features look at the best candidate sentence; a logistic model fitted on the gold set
(``qa eval --calibrate``, stored in ``calibration.json`` next to this file) turns them into a
probability. See README, "Evaluation".
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from pathlib import Path

from .bm25 import STOPWORDS, tokenize

log = logging.getLogger(__name__)
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
_YEAR_RE = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_NUMBER_RE = re.compile(r"\b\d[\d,.]*\b")
_COUNT_Q_RE = re.compile(r"\bhow (?:many|much)\b|\bnumber of\b|\bhow large\b", re.I)
_WHEN_Q_RE = re.compile(r"^\s*(?:when|in what year|in which year|what year)\b", re.I)
NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
    "hundred thousand million dozen"
).split()


_FOCUS_PATTERNS = [
    # "What is the population of Laos?" / "What was the maximum sentence under ..."
    re.compile(
        r"^(?:what|which)\s+(?:is|was|are|were)\s+(?:the\s+|a\s+|an\s+)?"
        r"((?:[\w'’-]+\s+){0,2}[\w'’-]+)\s+(?:of|in|for|under|on|at|that|who|which)\b",
        re.I,
    ),
    # "What currency is used ..." / "Which tier did ..."
    re.compile(
        r"^(?:what|which)\s+((?:[\w-]+\s+){0,1}[\w-]+)\s+"
        r"(?:is|was|are|were|did|does|do|has|have|had)\b",
        re.I,
    ),
    # "How many convictions resulted ..." / "How many taxi drivers were trained ..."
    re.compile(
        r"^how (?:many|much)\s+((?:[\w-]+\s+){0,2}[\w-]+)\s+"
        r"(?:is|was|are|were|did|does|do|has|have|had|resulted|came|went)\b",
        re.I,
    ),
]
#: Words that name the kind of answer wanted, not what it is about ("which organisation").
ANSWER_TYPE_WORDS = frozenset(
    """organisation organization body agency group ministry department country countries
    year years month date day time people person persons kind type sort way ways event
    place places thing things step steps measure measures services service role name names
    number amount share part purpose reason result results effect provision one ones
    happen happened""".split()
)


#: Heads of "what is the X of ..." questions whose answer is a quantity: the answer holds a number.
QUANTITY_NOUNS = frozenset(
    """population number size area total count percentage percent rate share budget cost
    price gdp income revenue salary age height length width depth distance weight amount
    sum figure proportion ratio""".split()
)


def _focus_head(question: str) -> str | None:
    q = question.strip()
    for pattern in _FOCUS_PATTERNS:
        m = pattern.match(q)
        if m:
            return m.group(1).split()[-1].lower()
    return None


def asks_quantity(question: str) -> bool:
    """ "How many …", "What is the population of …": the answer must contain a number."""
    return bool(_COUNT_Q_RE.search(question)) or _focus_head(question) in QUANTITY_NOUNS


def focus_tokens(question: str) -> set[str]:
    """The head noun of what a what/which/how-many question asks about, if it has one.

    "What is the population of Laos?" → {"population"}; "Which organisation runs ...?" → {}
    (the word names the answer's type, not its topic).
    """
    head = _focus_head(question)
    if head is None or head in ANSWER_TYPE_WORDS or head in STOPWORDS:
        return set()
    return set(tokenize(head))


def _idf(index, token: str) -> float:
    bm = index.bm25
    j = bm.vocab.get(token)
    df = int(bm.indptr[j + 1] - bm.indptr[j]) if j is not None else 0
    return math.log(1.0 + (bm.n_docs - df + 0.5) / (df + 0.5))


def _sentence_text(index, s) -> str:
    return index.docs[s.doc].text[s.start : s.end]


def _numbers(text: str) -> set[str]:
    return {n.strip(".,") for n in _NUMBER_RE.findall(text)}


@functools.lru_cache(maxsize=1)
def _load_calibration() -> dict:
    try:
        cal = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("no usable %s; abstaining on similarity alone", CALIBRATION_FILE)
        return {}
    return cal if isinstance(cal, dict) else {}


def calibration_for(model: str) -> dict:
    """The abstention model fitted for ``model``; {} (similarity fallback) for another model."""
    cal = _load_calibration()
    if cal and cal.get("model") != model:
        log.warning(
            "abstention was calibrated for %s, not %s; run `qa eval --calibrate` to refit it",
            cal.get("model"),
            model,
        )
        return {}
    return cal


def evidence_features(
    index, question: str, query: str, best, followup: bool = False
) -> list[float]:
    """Features that say whether the best sentence answers the question.

    ``best`` is the top-scored candidate (``.sentence``, ``.dense``, ``.coverage``), or None.

    dense similarity, IDF-weighted coverage of the question's words, and two mismatch flags:
    the question names a year (or number) that the sentence's paragraph never mentions, or it
    asks "how many"/"when" and the sentence holds no number or date.
    """
    if best is None:
        return [0.0, 0.0, 1.0, 1.0, 1.0]
    s = index.sentences[best.sentence]
    text = _sentence_text(index, s)
    para = " ".join(
        [s.section]
        + [
            _sentence_text(index, index.sentences[o])
            for o in _paragraph_sentences(index, best.sentence)
        ]
    )
    own_numbers = _numbers(question) or _numbers(query)
    missing_number = float(bool(own_numbers - _numbers(para)))
    type_missing = 0.0
    if asks_quantity(question) and not (
        _numbers(text) or any(w in text.lower().split() for w in NUMBER_WORDS)
    ):
        type_missing = 1.0
    if _WHEN_Q_RE.search(question) and not _YEAR_RE.search(text):
        type_missing = 1.0
    focus = focus_tokens(question) if not followup else set()
    para_tokens = set(tokenize(para))
    focus_missing = (
        sum(_idf(index, t) for t in focus if t not in para_tokens)
        / sum(_idf(index, t) for t in focus)
        if focus
        else 0.0
    )
    return [best.dense, best.coverage, missing_number, type_missing, focus_missing]


def confidence(features: list[float], calibration: dict | None = None) -> float:
    """Calibrated probability that the text answers the question (logistic model)."""
    cal = calibration if calibration is not None else _load_calibration()
    weights = cal.get("weights")
    if not weights:  # uncalibrated fallback: similarity alone, centred where it separated best
        return 1.0 / (1.0 + math.exp(-12.0 * (features[0] - 0.45)))
    z = cal["bias"] + sum(w * f for w, f in zip(weights, features, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def _paragraph_sentences(index, si: int) -> list[int]:
    s = index.sentences[si]
    out = [si]
    j = si - 1
    while (
        j >= 0 and index.sentences[j].doc == s.doc and index.sentences[j].paragraph == s.paragraph
    ):
        out.insert(0, j)
        j -= 1
    j = si + 1
    n = len(index.sentences)
    while j < n and index.sentences[j].doc == s.doc and index.sentences[j].paragraph == s.paragraph:
        out.append(j)
        j += 1
    return out

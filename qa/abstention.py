"""Decide whether the source answers a question: evidence features and their calibration.

The features look at the best candidate sentence. One is graded evidence (dense
similarity); four are mismatch flags: the question needs something the sentence's paragraph
lacks (a year or number it names, a number or date for "how many"/"when", the thing a "what
is the X of" question asks about, a name). A question with a mismatch gets the share of such
questions in the gold set that were answerable anyway; any other gets a logistic model of
the similarity. Both are fitted on the gold set (``qa eval --calibrate``, stored
in ``calibration.json`` next to this file). See README, "Evaluation".
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from .bm25 import STOPWORDS, tokenize
from .loaded import LoadedIndex
from .results import Evidence

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


_NAME_RUN_RE = re.compile(r"[A-Z][\w’'-]*(?:\s+(?:(?:of|for|and|the|on|de)\s+)?[A-Z][\w’'-]*)*")
_ACRONYM_DOTS_RE = re.compile(r"\b(?:[A-Z]\.){2,}")


def _name_runs(question: str) -> list[tuple[str, str, list[str]]]:
    """(as written, initials, tokens) for each run of capitalised words (see named_terms)."""
    first = re.match(r"\s*\S+", question)
    body = question[first.end() :] if first else question
    body = _ACRONYM_DOTS_RE.sub(lambda m: m.group(0).replace(".", ""), body)
    out = []
    for m in _NAME_RUN_RE.finditer(body):
        words = [w for w in m.group(0).split() if w[:1].isupper()]
        toks = [t for w in words for t in re.findall(r"\w+", w.lower()) if t not in STOPWORDS]
        if toks:
            out.append((m.group(0), "".join(w[0] for w in words).lower(), toks))
    return out


def named_terms(question: str) -> list[tuple[str, list[str]]]:
    """Capitalised names in a question, as (initials, tokens) per run of capitalised words.

    The question's first word is skipped (it is capitalised because it comes first), and so are
    stopwords ("The", "In"). "the International Organization for Migration" gives
    ("IOM", ["international", "organization", "migration"]).
    """
    return [(initials, toks) for _, initials, toks in _name_runs(question)]


def known_token(token: str, vocab: set[str]) -> bool:
    """``token`` is in ``vocab``, or a prefix of a word there or the reverse ("Thai"/"Thailand").

    Prefixes count from three letters on ("us" is no prefix of "used").
    """
    if token in vocab:
        return True
    if len(token) < 3:
        return False
    return any(len(v) >= 3 and (v.startswith(token) or token.startswith(v)) for v in vocab)


def missing_names(question: str, context: str) -> list[str]:
    """The question's names (runs of capitalised words, as written) ``context`` never mentions.

    A question about Thailand's tier, or about a town the text never names, is not answered by
    a passage about Laos's tier, however similar the two look to the model. A name counts as
    mentioned when each of its words is, give or take an ending ("Thai"/"Thailand"), or when
    its acronym is ("International Organization for Migration" / "IOM").
    """
    runs = _name_runs(question)
    if not runs:
        return []
    context = _ACRONYM_DOTS_RE.sub(lambda m: m.group(0).replace(".", ""), context)
    vocab = set(re.findall(r"\w+", context.lower()))
    # a short name may open an acronym: "UN agency" / "UNICEF"
    acronyms = {a.lower() for a in re.findall(r"\b[A-Z]{2,}\w*", context)}

    def known(t: str) -> bool:
        return known_token(t, vocab) or (len(t) < 3 and any(a.startswith(t) for a in acronyms))

    return [
        written
        for written, initials, toks in runs
        if not (len(toks) > 1 and initials in vocab) and any(not known(t) for t in toks)
    ]


def names_missing(question: str, context: str) -> float:
    """The share of the question's names that ``context`` never mentions (``missing_names``)."""
    runs = _name_runs(question)
    return len(missing_names(question, context)) / len(runs) if runs else 0.0


_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_DATE_RE = re.compile(r"\b(?:1[89]\d\d|20\d\d|" + "|".join(_MONTHS) + r")\b", re.I)
_NUMBER_WORD_RE = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.I)


def answer_type(question: str) -> str | None:
    """The kind of value the answer must hold: "quantity", "date", or None (no constraint)."""
    if asks_quantity(question):
        return "quantity"
    if _WHEN_Q_RE.search(question):
        return "date"
    return None


def _values(kind: str, text: str) -> set[str]:
    if kind == "date":
        return {m.lower() for m in _DATE_RE.findall(text)}
    # a count: numbers and number words, but not years ("in 2007" is no answer to "how many")
    numbers = {n for n in _numbers(text) if not _YEAR_RE.fullmatch(n)}
    return numbers | {m.lower() for m in _NUMBER_WORD_RE.findall(text)}


def has_new_value(kind: str | None, question: str, text: str) -> bool:
    """``text`` holds a value of the wanted kind that the question does not already give.

    "How many bars were shut down in late 2007?" is not answered by "In October and November
    2007, police shut down bars ...": its only number is the question's own year.
    """
    if kind is None:
        return True
    return bool(_values(kind, text) - _values(kind, question))


def focus_tokens(question: str) -> set[str]:
    """The head noun of what a what/which/how-many question asks about, if it has one.

    "What is the population of Laos?" → {"population"}; "Which organisation runs ...?" → {}
    (the word names the answer's type, not its topic).
    """
    head = _focus_head(question)
    if head is None or head in ANSWER_TYPE_WORDS or head in STOPWORDS:
        return set()
    return set(tokenize(head))


def _numbers(text: str) -> set[str]:
    return {n.strip(".,") for n in _NUMBER_RE.findall(text)}


@functools.lru_cache(maxsize=1)
def load_calibration() -> dict:
    try:
        cal = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("no usable %s; abstaining on similarity alone", CALIBRATION_FILE)
        return {}
    return cal if isinstance(cal, dict) else {}


def calibration_for(model: str) -> dict:
    """The abstention model fitted for ``model``; {} (similarity fallback) for another model."""
    cal = load_calibration()
    if cal and cal.get("model") != model:
        log.warning(
            "abstention was calibrated for %s, not %s; run `qa eval --calibrate` to refit it",
            cal.get("model"),
            model,
        )
        return {}
    return cal


FEATURES = (
    "dense_similarity",
    "missing_number",
    "answer_type_missing",
    "focus_missing",
    "names_missing",
)
#: The features when there is no candidate sentence at all (an empty index).
NO_EVIDENCE = (0.0, 1.0, 1.0, 1.0, 1.0)
#: The first feature is graded evidence; the rest are mismatch flags (0 when none). Word
#: coverage was tried as a second graded feature: given the flags it added nothing in
#: cross-validation (its weight came out slightly negative), so it is left out.
GRADED = 1


class Candidate(Protocol):
    """What ``assess`` needs of a candidate sentence (``qa.answer`` scores them)."""

    sentence: int
    dense: float


def assess(
    index: LoadedIndex, question: str, query: str, best: Candidate | None, followup: bool = False
) -> Evidence:
    """Evidence features of the best sentence, and a reason for each mismatch found.

    ``best`` is the top-scored candidate sentence (``.sentence``, ``.dense``), or None.

    Features, in the order of ``FEATURES``: dense similarity, then the mismatch flags: the
    question names a year (or number) that the sentence's paragraph never mentions; it asks
    "how many"/"when" and the sentence holds no count or date beyond the question's own; the
    paragraph never mentions what a "what is the X of …" question asks about; or it never
    mentions a name the question gives. Reasons are short phrases about the closest passage
    ("never mentions Thailand"), for telling a user why the text was judged not to answer.
    """
    if best is None:
        return Evidence(NO_EVIDENCE)
    s = index.sentences[best.sentence]
    text = index.sentence_text(best.sentence)
    para = " ".join(
        [s.section] + [index.sentence_text(o) for o in index.paragraph_sentences(best.sentence)]
    )
    reasons: list[str] = []
    own_numbers = _numbers(question) or _numbers(query)
    absent_numbers = sorted(own_numbers - _numbers(para))
    if absent_numbers:
        reasons.append(f"never mentions {', '.join(absent_numbers)}")
    kind = answer_type(question)
    type_missing = not has_new_value(kind, question, text)
    if type_missing:
        what = "number" if kind == "quantity" else "date"
        own = " beyond the question's own" if kind and _values(kind, question) else ""
        reasons.append(f"gives no {what}{own}")
    focus = focus_tokens(question) if not followup else set()
    para_tokens = set(tokenize(para))
    absent_focus = [t for t in focus if t not in para_tokens]
    focus_missing = (
        sum(index.bm25.idf(t) for t in absent_focus) / sum(index.bm25.idf(t) for t in focus)
        if focus
        else 0.0
    )
    if absent_focus:
        reasons.append(f"never mentions “{_focus_head(question)}”")
    context = f"{index.docs[s.doc].title} {para}"
    names = missing_names(question, context)
    if names:
        reasons.append(f"never mentions {', '.join(names)}")
    runs = _name_runs(question)
    features = [
        best.dense,
        float(bool(absent_numbers)),
        float(type_missing),
        focus_missing,
        len(names) / len(runs) if runs else 0.0,
    ]
    return Evidence(tuple(features), tuple(reasons))


def mismatches(features: Sequence[float]) -> list[str]:
    """The mismatch flags that are set, by name."""
    return [name for name, f in zip(FEATURES[GRADED:], features[GRADED:], strict=True) if f > 0]


#: Without a calibration for the model in use: the share of mismatched questions assumed answerable.
UNCALIBRATED_MISMATCH_RATE = 0.1


def confidence(features: Sequence[float], calibration: dict | None = None) -> float:
    """Calibrated probability that the text answers the question.

    With a mismatch flag set: the answerable share of such gold questions. Otherwise a logistic
    model of the graded evidence.
    """
    cal = calibration if calibration is not None else load_calibration()
    weights = cal.get("weights")
    if not weights:  # uncalibrated fallback: similarity alone, centred where it separated best
        p = 1.0 / (1.0 + math.exp(-12.0 * (features[0] - 0.45)))
        return min(p, UNCALIBRATED_MISMATCH_RATE) if mismatches(features) else p
    if mismatches(features):
        return float(cal["mismatch_answerable_rate"])
    z = cal["bias"] + sum(w * f for w, f in zip(weights, features[:GRADED], strict=True))
    return 1.0 / (1.0 + math.exp(-z))

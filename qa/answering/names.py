"""Names in a question (runs of capitalised words) and whether a text mentions them.

A question about Thailand's tier, or about a town the text never names, is not answered by a
passage about Laos's tier, however similar the two look to the model. A name counts as
mentioned when each of its words is, give or take an ending ("Thai"/"Thailand"), or when its
acronym is ("International Organization for Migration"/"IOM").
"""

from __future__ import annotations

import re

from ..index.bm25 import STOPWORDS

_NAME_RUN_RE = re.compile(r"[A-Z][\w’'-]*(?:\s+(?:(?:of|for|and|the|on|de)\s+)?[A-Z][\w’'-]*)*")
_ACRONYM_DOTS_RE = re.compile(r"\b(?:[A-Z]\.){2,}")


def name_runs(question: str) -> list[tuple[str, str, list[str]]]:
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
    return [(initials, toks) for _, initials, toks in name_runs(question)]


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
    """The question's names (runs of capitalised words, as written) ``context`` never mentions."""
    runs = name_runs(question)
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
    runs = name_runs(question)
    return len(missing_names(question, context)) / len(runs) if runs else 0.0

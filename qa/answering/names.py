"""Whether a text mentions a question's names (``Question.names``: runs of capitalised words).

A question about Thailand's tier, or about a town the text never names, is not answered by a
passage about Laos's tier, however similar the two look to the model. A name counts as
mentioned when each of its words is, give or take an ending ("Thai"/"Thailand"), or when its
acronym is ("International Organization for Migration"/"IOM").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..index.text import words
from .question import Name, undot_acronyms


def known_token(token: str, vocab: set[str]) -> bool:
    """``token`` is in ``vocab``, or a prefix of a word there or the reverse ("Thai"/"Thailand").

    Prefixes count from three letters on ("us" is no prefix of "used").
    """
    if token in vocab:
        return True
    if len(token) < 3:
        return False
    return any(len(v) >= 3 and (v.startswith(token) or token.startswith(v)) for v in vocab)


def missing_names(names: Sequence[Name], context: str) -> list[str]:
    """The ``names`` (as written) that ``context`` never mentions."""
    if not names:
        return []
    context = undot_acronyms(context)
    vocab = set(words(context))
    # a short name may open an acronym: "UN agency" / "UNICEF"
    acronyms = {a.lower() for a in re.findall(r"\b[A-Z]{2,}\w*", context)}

    def known(t: str) -> bool:
        return known_token(t, vocab) or (len(t) < 3 and any(a.startswith(t) for a in acronyms))

    return [
        written
        for written, initials, toks in names
        if not (len(toks) > 1 and initials in vocab) and any(not known(t) for t in toks)
    ]


def names_missing(names: Sequence[Name], context: str) -> float:
    """The share of ``names`` that ``context`` never mentions (``missing_names``)."""
    return len(missing_names(names, context)) / len(names) if names else 0.0

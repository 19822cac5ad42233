"""Citation templates (``{{cite web}}``, ``{{cite news}}`` …) rendered as a reader sees them.

Hand-written: there is no Python port of Wikipedia's Lua CS1 module. This follows its order
for the parameters that matter to a reader (author (date). "title". work. publisher. date.
archived, retrieved); anything else is left out. Also the inline maintenance templates
(``{{citation needed}}`` → ``[citation needed]``).
"""

from __future__ import annotations

#: Template names (lower case) that are citations; books and reports have unquoted titles.
CITATION_TEMPLATES = {
    "cite web", "cite news", "cite book", "cite journal", "cite magazine", "cite report",
    "cite press release", "citation", "cite encyclopedia", "cite conference", "cite thesis",
    "cite av media", "cite interview", "cite document", "cite episode", "cite map", "cite tweet",
    "cite speech", "cite podcast", "cite arxiv", "vcite web", "vcite news", "vcite book",
}  # fmt: skip
_BOOKS = {"cite book", "cite report", "cite thesis", "cite encyclopedia", "vcite book"}
_WORK = ("website", "work", "newspaper", "journal", "magazine", "periodical", "encyclopedia",
         "agency", "series")  # fmt: skip

#: Inline maintenance templates → the tag the rendered page shows, without brackets.
MAINTENANCE = {
    "citation needed": "citation needed", "cn": "citation needed", "fact": "citation needed",
    "citation-needed": "citation needed", "cite needed": "citation needed",
    "clarify": "clarification needed", "clarification needed": "clarification needed",
    "when": "when?", "who": "who?", "which": "which?", "where": "where?", "why": "why?",
    "by whom": "by whom?", "according to whom": "according to whom?",
    "dubious": "dubious – discuss", "failed verification": "failed verification",
    "fv": "failed verification", "verification failed": "failed verification",
    "better source needed": "better source needed", "better source": "better source needed",
    "bsn": "better source needed", "verification needed": "verification needed",
    "page needed": "page needed", "full citation needed": "full citation needed",
    "unreliable source?": "unreliable source?", "unreliable source": "unreliable source?",
    "original research inline": "original research?", "or": "original research?",
    "dead link": "dead link", "vague": "vague", "specify": "specify",
    "self-published inline": "self-published source?", "year needed": "year needed",
}  # fmt: skip


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _authors(p: dict[str, str]) -> str:
    names = []
    for i in ["", *map(str, range(1, 10))]:
        last = p.get(f"last{i}") or p.get(f"surname{i}")
        first = p.get(f"first{i}") or p.get(f"given{i}")
        author = p.get(f"author{i}")
        if last:
            names.append(f"{last}, {first}" if first else last)
        elif author:
            names.append(author)
    return "; ".join(names) or p.get("authors", "") or p.get("vauthors", "")


def render_citation(name: str, p: dict[str, str]) -> str:
    """A citation template's parameters (already plain text) as one readable entry.

    Example:
        >>> render_citation("cite news", {"title": "Racket Smashed", "work": "RFA",
        ...                               "date": "October 14, 2010"})
        '"Racket Smashed". RFA. October 14, 2010.'
    """
    p = {k.strip().lower().replace("_", "-"): " ".join(v.split()) for k, v in p.items()}
    p = {k: v for k, v in p.items() if v}
    parts: list[str] = []
    authors = _authors(p)
    date = p.get("date") or p.get("year", "")
    if authors:
        parts.append(_sentence(f"{authors} ({date})" if date else authors))
    title = p.get("title") or p.get("script-title", "")
    if title:
        chapter = p.get("chapter") or p.get("contribution")
        if chapter:
            parts.append(f'"{chapter}".')
        book = name in _BOOKS
        shown = title if book else f'"{title}"'
        if p.get("format"):
            shown += f" ({p['format']})"
        url = p.get("url", "")
        if url.lower().startswith(("http://", "https://")) and " " not in url:
            shown += f" ({url})"  # the page links the title to it: the app links it too
        parts.append(_sentence(shown) if book else shown + ".")
    work = next((p[k] for k in _WORK if p.get(k)), "")
    if work:
        detail = work
        if p.get("volume"):
            detail += f". {p['volume']}"
            if p.get("issue"):
                detail += f" ({p['issue']})"
        elif p.get("issue"):
            detail += f" ({p['issue']})"
        if p.get("pages") or p.get("page"):
            detail += f": {p.get('pages') or p.get('page')}"
        parts.append(_sentence(detail))
    elif p.get("pages") or p.get("page"):
        pages = p.get("pages") or p.get("page", "")
        parts.append(_sentence(("pp. " if p.get("pages") else "p. ") + pages))
    if p.get("edition"):
        parts.append(_sentence(f"{p['edition']} ed"))
    publisher = p.get("publisher", "")
    if publisher:
        location = p.get("location") or p.get("place")
        parts.append(_sentence(f"{location}: {publisher}" if location else publisher))
    if date and not authors:
        parts.append(_sentence(date))
    for key, label in (("isbn", "ISBN "), ("doi", "doi:"), ("issn", "ISSN ")):
        if p.get(key):
            parts.append(_sentence(label + p[key]))
    if p.get("archive-date"):
        parts.append(f"Archived from the original on {p['archive-date']}.")
    if p.get("access-date") or p.get("accessdate"):
        parts.append(f"Retrieved {p.get('access-date') or p.get('accessdate')}.")
    return " ".join(parts)

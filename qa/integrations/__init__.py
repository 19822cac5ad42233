"""Adapters for other frameworks, each an optional extra: ``langchain`` (``pip install
'qa[langchain]'``) and ``llama_index`` (``pip install 'qa[llamaindex]'``).

Both wrap ``qa.retrieve``: passages are verbatim spans of the source, with the source's
reference numbers and full reference entries in their metadata.
"""

from __future__ import annotations

from ..index.loaded import LoadedIndex
from ..results import Passage


def passage_metadata(index: LoadedIndex, p: Passage) -> dict:
    """What a framework's document carries besides the text: where it is, its refs, its score.

    ``references`` maps each of the passage's reference numbers to its entry in the source.
    """
    entries = index.references(p.doc_id)
    return {
        "doc_id": p.doc_id,
        "title": p.title,
        "section": p.section,
        "refs": list(p.refs),
        "references": {n: entries[n] for n in p.refs if n in entries},
        "start": p.start,
        "end": p.end,
        "score": p.score,
        "dense_score": p.dense_score,
        "lexical_score": p.lexical_score,
    }

"""A LlamaIndex retriever over qa: ``QARetriever().retrieve(question)`` → NodeWithScore list.

Example:
    >>> from qa.integrations.llama_index import QARetriever
    >>> nodes = QARetriever(k=3).retrieve("Who runs the long-term shelter?")  # doctest: +SKIP
    >>> nodes[0].node.metadata["refs"], nodes[0].score > 0  # doctest: +SKIP
    ([2], True)
"""

from __future__ import annotations

from typing import Any

try:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
except ImportError as e:  # an optional extra: say how to get it
    raise ImportError(
        f"qa.integrations.llama_index needs llama-index-core ({e}); pip install 'qa[llamaindex]'"
    ) from e

from ..answering.retrieval import retrieve_with_index
from ..api import default_index
from ..index.loaded import LoadedIndex
from . import passage_metadata


class QARetriever(BaseRetriever):
    """Retrieves verbatim passages of the source, best first, as LlamaIndex nodes.

    Each node's text is the passage exactly as in the source; ``start_char_idx`` and
    ``end_char_idx`` are its offsets in the document; ``metadata`` holds doc_id, title,
    section, refs (the source's reference numbers), references (number → entry) and scores.
    The node id is ``doc_id:start-end``, stable across queries and rebuilds of the same text.

    Args:
        k: passages per query (1-50).
        index: a ``qa.LoadedIndex``; None uses the default index (``index/`` from ``corpus/``,
            built first if missing).
    """

    def __init__(self, k: int = 5, index: LoadedIndex | None = None, **kwargs: Any) -> None:
        self.k = k
        self.index = index
        super().__init__(**kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        idx = self.index or default_index()
        out = []
        for p in retrieve_with_index(idx, query_bundle.query_str, self.k):
            node = TextNode(
                id_=f"{p.doc_id}:{p.start}-{p.end}",
                text=p.text,
                metadata=passage_metadata(idx, p),
                start_char_idx=p.start,
                end_char_idx=p.end,
            )
            out.append(NodeWithScore(node=node, score=p.score))
        return out

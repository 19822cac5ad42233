"""A LlamaIndex retriever over qa: ``QARetriever().retrieve(question)`` → NodeWithScore list.

Example:
    >>> from qa.integrations.llama_index import QARetriever
    >>> retriever = QARetriever(similarity_top_k=3)  # doctest: +SKIP
    >>> nodes = retriever.retrieve("Who runs the long-term shelter?")  # doctest: +SKIP
    >>> top = nodes[0]  # doctest: +SKIP
    >>> top.node.metadata["refs"], top.score > 0, top.node.ref_doc_id  # doctest: +SKIP
    ([2], True, 'human_trafficking_in_laos')
"""

from __future__ import annotations

from typing import Any

try:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import (
        NodeRelationship,
        NodeWithScore,
        QueryBundle,
        RelatedNodeInfo,
        TextNode,
    )
except ImportError as e:  # an optional extra: say how to get it
    raise ImportError(
        f"qa.integrations.llama_index needs llama-index-core ({e}); pip install 'qa[llamaindex]'"
    ) from e

from ..answering.retrieval import retrieve_with_index
from ..api import default_index
from ..index.loaded import LoadedIndex
from . import passage_metadata

#: Metadata a node carries for programs, not for the text an LLM or embedder sees: offsets,
#: scores and the full reference entries (which would swamp a prompt).
_NOT_FOR_MODELS = ("references", "start", "end", "score", "dense_score", "lexical_score")


class QARetriever(BaseRetriever):
    """Retrieves verbatim passages of the source, best first, as LlamaIndex nodes.

    Each node's text is the passage exactly as in the source; ``start_char_idx`` and
    ``end_char_idx`` are its offsets in the document; ``metadata`` holds doc_id, title,
    section, refs (the source's reference numbers), references (number → entry) and scores.
    The node id is ``doc_id:start-end``, stable across queries and rebuilds of the same text;
    its SOURCE relationship (``node.ref_doc_id``) is the document's id. The full reference
    entries stay out of the text an LLM or embedder is given (they are metadata only).

    Args:
        similarity_top_k: passages per query (1-50), as LlamaIndex's own retrievers name it.
        index: a ``qa.LoadedIndex``; None uses the default index (``index/`` from ``corpus/``,
            built first if missing).
        k: the same as ``similarity_top_k`` (the name qa's other interfaces use).
    """

    def __init__(
        self,
        similarity_top_k: int = 5,
        index: LoadedIndex | None = None,
        k: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.similarity_top_k = similarity_top_k if k is None else k
        self.index = index
        super().__init__(**kwargs)

    @property
    def k(self) -> int:
        """``similarity_top_k`` under qa's name for it."""
        return self.similarity_top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        idx = self.index or default_index()
        out = []
        for p in retrieve_with_index(idx, query_bundle.query_str, self.similarity_top_k):
            node = TextNode(
                id_=f"{p.doc_id}:{p.start}-{p.end}",
                text=p.text,
                metadata=passage_metadata(idx, p),
                start_char_idx=p.start,
                end_char_idx=p.end,
                excluded_llm_metadata_keys=list(_NOT_FOR_MODELS),
                excluded_embed_metadata_keys=list(_NOT_FOR_MODELS),
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=p.doc_id)},
            )
            out.append(NodeWithScore(node=node, score=p.score))
        return out

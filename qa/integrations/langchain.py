"""A LangChain retriever over qa: ``QARetriever().invoke(question)`` → Documents.

Example:
    >>> from qa.integrations.langchain import QARetriever
    >>> docs = QARetriever(k=3).invoke("Who runs the long-term shelter?")  # doctest: +SKIP
    >>> len(QARetriever().invoke("Who runs the long-term shelter?", k=1))  # doctest: +SKIP
    1
    >>> docs[0].metadata["refs"], docs[0].metadata["section"]  # doctest: +SKIP
    ([2], 'Protection (2008)')
"""

from __future__ import annotations

from typing import Any

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict
except ImportError as e:  # an optional extra: say how to get it
    raise ImportError(
        f"qa.integrations.langchain needs langchain-core ({e}); pip install 'qa[langchain]'"
    ) from e

from ..answering.retrieval import retrieve_with_index
from ..api import default_index
from ..index.loaded import LoadedIndex
from . import passage_metadata


class QARetriever(BaseRetriever):
    """Retrieves verbatim passages of the source, best first, as LangChain Documents.

    ``page_content`` is the passage exactly as in the source (its [n] markers included);
    ``metadata`` holds doc_id, title, section, refs (the source's reference numbers),
    references (number → entry), start/end (character offsets in the document) and score.

    Attributes:
        k: passages per query (1-50); ``invoke(query, k=…)`` overrides it for one call.
        index: a ``qa.LoadedIndex``; None uses the default index (``index/`` from
            ``corpus/``, built first if missing).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = 5
    index: Any = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """The passages for ``query``; ``k`` given to ``invoke(query, k=1)`` wins over ``self.k``
        for this call (LangChain's convention, checked by its standard retriever tests)."""
        idx: LoadedIndex = self.index or default_index()
        return [
            Document(page_content=p.text, metadata=passage_metadata(idx, p))
            for p in retrieve_with_index(idx, query, self.k if k is None else k)
        ]

"""LangChain and LlamaIndex retrievers (optional extras; CI installs them with the dev extra)."""

from __future__ import annotations

import pytest
from helpers import FakeEmbedder

from qa.answering.retrieval import retrieve_with_index
from qa.api import load_index

SHELTER = "Who runs the long-term shelter for victims?"


@pytest.fixture
def idx(fake_index):
    index_dir, corpus, _ = fake_index
    return load_index(index_dir, corpus, embedder=FakeEmbedder())


def check_metadata(idx, text: str, meta: dict, passage) -> None:
    doc = idx.document_text(meta["doc_id"])
    assert doc[meta["start"] : meta["end"]] == text == passage.text
    assert meta["refs"] == list(passage.refs) and meta["section"] == passage.section
    assert meta["title"] == "Human trafficking in Laos" and meta["score"] == passage.score
    entries = idx.references(meta["doc_id"])
    assert meta["references"] == {n: entries[n] for n in passage.refs}


def test_langchain_retriever_returns_documents_with_refs(idx):
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document

    from qa.integrations.langchain import QARetriever

    docs = QARetriever(k=3, index=idx).invoke(SHELTER)
    expected = retrieve_with_index(idx, SHELTER, 3)
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    for d, p in zip(docs, expected, strict=True):
        check_metadata(idx, d.page_content, d.metadata, p)
    assert any(d.metadata["refs"] for d in docs)


def test_llama_index_retriever_returns_scored_nodes_with_refs(idx):
    pytest.importorskip("llama_index.core")
    from llama_index.core.schema import NodeWithScore

    from qa.integrations.llama_index import QARetriever

    nodes = QARetriever(k=4, index=idx).retrieve(SHELTER)
    expected = retrieve_with_index(idx, SHELTER, 4)
    assert len(nodes) == 4 and all(isinstance(n, NodeWithScore) for n in nodes)
    for n, p in zip(nodes, expected, strict=True):
        check_metadata(idx, n.node.get_content(), n.node.metadata, p)
        assert (n.node.start_char_idx, n.node.end_char_idx) == (p.start, p.end)
        assert n.node.node_id == f"{p.doc_id}:{p.start}-{p.end}" and n.score == p.score
    scores = [n.score for n in nodes]
    assert scores == sorted(scores, reverse=True)


def test_bad_k_is_the_usual_question_error(idx):
    pytest.importorskip("langchain_core")
    from qa.errors import QuestionError
    from qa.integrations.langchain import QARetriever

    with pytest.raises(QuestionError, match="k must be"):
        QARetriever(k=0, index=idx).invoke(SHELTER)


# ------------------------------------------------- the frameworks' own conventions (issue 21)


def test_langchain_per_call_k_wins_over_the_constructor(idx):
    pytest.importorskip("langchain_core")
    from qa.integrations.langchain import QARetriever

    retriever = QARetriever(k=3, index=idx)
    assert len(retriever.invoke(SHELTER, k=1)) == 1
    assert len(retriever.invoke(SHELTER)) == 3  # the call's k did not stick


def test_llama_index_similarity_top_k_source_relationship_and_prompt_metadata(idx):
    pytest.importorskip("llama_index.core")
    from llama_index.core.schema import MetadataMode

    from qa.integrations.llama_index import QARetriever

    nodes = QARetriever(similarity_top_k=2, index=idx).retrieve(SHELTER)
    assert len(nodes) == 2 and QARetriever(k=1, index=idx).similarity_top_k == 1
    node = nodes[0].node
    assert node.ref_doc_id == node.metadata["doc_id"]
    shown = node.get_content(metadata_mode=MetadataMode.LLM)
    assert "section:" in shown and "references:" not in shown and node.text in shown


try:
    from langchain_tests.integration_tests import RetrieversIntegrationTests
except ImportError:  # the dev extra brings it; without it these tests are not collected
    RetrieversIntegrationTests = None


if RetrieversIntegrationTests is not None:

    class TestLangChainStandard(RetrieversIntegrationTests):
        """LangChain's own standard retriever tests, over an index built with the fake embedder."""

        @pytest.fixture(autouse=True)
        def _index(self, idx):
            self._idx = idx

        @property
        def retriever_constructor(self):
            from qa.integrations.langchain import QARetriever

            return QARetriever

        @property
        def retriever_constructor_params(self) -> dict:
            return {"index": self._idx}

        @property
        def retriever_query_example(self) -> str:
            return SHELTER

"""Cited question answering over a source text: verbatim quotes with the source's references."""

import logging

from ._version import __version__
from .api import answer, retrieve
from .build import BuildReport, build_index
from .corpus import Document, span_refs
from .errors import (
    BuildInProgressError,
    CorpusError,
    CorruptIndexError,
    IndexMissingError,
    ModelError,
    QAError,
    QuestionError,
    StaleIndexError,
)
from .index import LoadedIndex, load_index
from .results import Answer, Evidence, Passage, Quote, Reference

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Answer",
    "BuildInProgressError",
    "BuildReport",
    "CorpusError",
    "CorruptIndexError",
    "Document",
    "Evidence",
    "IndexMissingError",
    "LoadedIndex",
    "ModelError",
    "Passage",
    "QAError",
    "Quote",
    "QuestionError",
    "Reference",
    "StaleIndexError",
    "__version__",
    "answer",
    "build_index",
    "load_index",
    "retrieve",
    "span_refs",
]

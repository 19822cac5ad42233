"""Cited question answering over a source text: verbatim quotes with the source's references."""

import logging

from ._version import __version__
from .api import answer, retrieve
from .build import BuildReport, build_index
from .corpus import Document, span_refs
from .errors import (
    BuildInProgressError,
    ConfigError,
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
from .settings import Settings

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Answer",
    "BuildInProgressError",
    "BuildReport",
    "ConfigError",
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
    "Settings",
    "StaleIndexError",
    "__version__",
    "answer",
    "build_index",
    "load_index",
    "retrieve",
    "span_refs",
]

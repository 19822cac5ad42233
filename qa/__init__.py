"""Cited question answering over a source text: verbatim quotes with the source's references."""

import logging

__version__ = "0.1.0"

from .answer import Answer, Quote, Reference, answer  # noqa: E402
from .errors import (  # noqa: E402
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
from .index import BuildReport, build_index, load_index  # noqa: E402
from .retrieval import LoadedIndex, Passage, retrieve  # noqa: E402
from .settings import Settings  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Answer",
    "Quote",
    "Reference",
    "answer",
    "BuildInProgressError",
    "BuildReport",
    "ConfigError",
    "CorpusError",
    "CorruptIndexError",
    "IndexMissingError",
    "LoadedIndex",
    "ModelError",
    "Passage",
    "QAError",
    "QuestionError",
    "Settings",
    "StaleIndexError",
    "__version__",
    "build_index",
    "load_index",
    "retrieve",
]

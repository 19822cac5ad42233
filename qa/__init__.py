"""Cited question answering over a source text: verbatim quotes with the source's references."""

import logging

from ._version import __version__
from .api import answer, retrieve, verify
from .build import BuildReport, build_index
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
from .results import Answer, DiffOp, Evidence, Passage, Quote, RefCheck, Reference, Verification

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Answer",
    "BuildInProgressError",
    "BuildReport",
    "CorpusError",
    "ConfigError",
    "CorruptIndexError",
    "DiffOp",
    "Evidence",
    "IndexMissingError",
    "LoadedIndex",
    "ModelError",
    "Passage",
    "QAError",
    "Quote",
    "QuestionError",
    "RefCheck",
    "Reference",
    "StaleIndexError",
    "Verification",
    "__version__",
    "answer",
    "build_index",
    "load_index",
    "retrieve",
    "verify",
]

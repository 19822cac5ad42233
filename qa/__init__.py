"""Cited question answering over a source text: verbatim quotes with the source's references."""

import logging

from ._version import __version__
from .api import answer, load_index, retrieve, verify
from .errors import (
    BuildInProgressError,
    ConfigError,
    CorpusError,
    CorruptIndexError,
    EvalDataError,
    IndexBusyError,
    IndexMissingError,
    ModelError,
    QAError,
    QuestionError,
    RerankerError,
    StaleIndexError,
)
from .index.build import BuildReport, build_index
from .index.loaded import LoadedIndex
from .readers.document import Document, span_refs
from .results import Answer, DiffOp, Evidence, Passage, Quote, RefCheck, Reference, Verification
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
    "DiffOp",
    "EvalDataError",
    "Evidence",
    "IndexBusyError",
    "IndexMissingError",
    "LoadedIndex",
    "ModelError",
    "Passage",
    "QAError",
    "Quote",
    "QuestionError",
    "RefCheck",
    "Reference",
    "RerankerError",
    "Settings",
    "StaleIndexError",
    "Verification",
    "__version__",
    "answer",
    "build_index",
    "load_index",
    "retrieve",
    "span_refs",
    "verify",
]

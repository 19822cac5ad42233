"""Exceptions raised by the qa package.

Every message names the offending path or value and says what to do, so the CLI and the web
app can show it as one line.
"""


class QAError(Exception):
    """Base class for every error this package raises on purpose."""


class CorpusError(QAError):
    """The corpus directory or a file in it cannot be used."""


class IndexError_(QAError):
    """Base class for problems with the built index (name avoids the builtin IndexError)."""


class IndexMissingError(IndexError_):
    """No index has been built at the given path."""


class StaleIndexError(IndexError_):
    """The index was built from another corpus or model than the one asked for."""


class CorruptIndexError(IndexError_):
    """A file of the index is missing, truncated, unreadable or from an unknown format."""


class ConfigError(QAError):
    """A setting (a ``QA_*`` environment variable) has a value that cannot be used."""


class ModelError(QAError):
    """The embedding model cannot be loaded."""


class QuestionError(QAError, ValueError):
    """The question or a search parameter is not acceptable (empty, too long, bad k)."""


class BuildInProgressError(QAError):
    """Another process is already building this index."""


class IndexBusyError(IndexError_):
    """The index is loaded but not usable yet (its large files are still being verified)."""


class EvalDataError(QAError):
    """An evaluation file (such as the gold questions) cannot be read or has a bad line."""


class RerankerError(ModelError):
    """The cross-encoder named by QA_RERANKER or --reranker cannot be used."""

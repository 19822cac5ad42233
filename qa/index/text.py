"""The one tokeniser: words, stopwords, stems, lemmas and numbers of a text.

The BM25 index (built over chunks, read over sentences), question analysis
(``qa.answering.question``) and the answerer's features all split text here, so that a
question's terms and a sentence's terms are made the same way. It lives in ``qa.index`` because
the index is built with it and ``qa.answering`` sits above the index: both import it downward.

Why by hand: a word is a ``\\w+`` run, lowercased; the stopword list is short and ours (the
trained models were fitted with it); stemming, where a hand-written rule is easy to get wrong,
is the Snowball English stemmer from PyStemmer.
"""

from __future__ import annotations

import re
import threading

import Stemmer

from ..readers.document import strip_markers

_WORD_RE = re.compile(r"\w+", re.UNICODE)
#: Digit runs with inner separators as written ("1,000", "3.5"): the scorer's numbers.
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
#: A number from a word boundary, trailing separators dropped: the evidence's numbers.
_FIGURE_RE = re.compile(r"\b\d[\d,.]*\b")

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into than then that this these
    those is are was were be been being am do does did doing have has had having it its it's they
    them their there here what which who whom whose when where why how i you he she we me my your
    our his her not no nor so such too very can could would should will shall may might must
    about above after again against all any both each few more most other some own same only
    over under up down out off once further s t just don also""".split()
)
#: Saved with the BM25 arrays: an index whose terms were made by another tokenizer is stale,
#: since its vocabulary would silently miss the query's terms. Change it with the tokenizer.
TOKENIZER = "snowball-english-1"

# A PyStemmer Stemmer keeps per-call state and a cache, so each thread gets its own.
_local = threading.local()


def words(text: str) -> list[str]:
    """The lowercased ``\\w+`` words of ``text``, stopwords included.

    Example:
        >>> words("The U.N. said: 3 cases")
        ['the', 'u', 'n', 'said', '3', 'cases']
    """
    return _WORD_RE.findall(text.lower())


def words_as_written(text: str) -> list[str]:
    """The ``\\w+`` words of ``text`` in their own case."""
    return _WORD_RE.findall(text)


def content_words(text: str) -> list[str]:
    """``words`` without stopwords (numbers are kept)."""
    return [w for w in words(text) if w not in STOPWORDS]


def stem(token: str) -> str:
    """The Snowball (Porter 2) English stem of a lowercase token.

    Example:
        >>> [stem(w) for w in ("cases", "case", "centres", "centre", "trafficked")]
        ['case', 'case', 'centr', 'centr', 'traffick']
    """
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return str(stemmer.stemWord(token))


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed word tokens without stopwords (numbers are kept): BM25's terms.

    Example:
        >>> tokenize("The victims were trafficked to 3 centres")
        ['victim', 'traffick', '3', 'centr']
    """
    return [stem(w) for w in content_words(text)]


def lemma(word: str) -> str:
    """A light lemma for phrase matching: "carries"/"carried"/"carrying" → "carry"."""
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ying", "y"), ("ing", ""), ("ed", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)] + repl
    if w.endswith("es") and len(w) > 4 and w[-3] in "sxz":
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def lemmas(text: str) -> list[str]:
    """The lemmas of ``text``'s words, citation markers left out."""
    return [lemma(w) for w in words(strip_markers(text))]


def numbers(text: str) -> set[str]:
    """Digit runs as written ("1,000", "3.5"): what the scorer compares.

    Example:
        >>> sorted(numbers("In 2018, 1,000 of 3.5 million"))
        ['1,000', '2018', '3.5']
    """
    return set(_NUMBER_RE.findall(text))


def figures(text: str) -> set[str]:
    """Numbers from a word boundary, trailing separators dropped: what the evidence compares.

    Not ``numbers``: the abstention model was fitted with this reading ("2018a" is no figure).
    """
    return {n.strip(".,") for n in _FIGURE_RE.findall(text)}

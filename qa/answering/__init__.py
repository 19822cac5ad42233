"""Answering: a question analysed once, candidates ranked, sentences scored, the answer judged.

``question`` (validation, follow-ups, parts) → ``retrieval`` (ranking only) → ``features`` and
``scorer`` (the fitted sentence scorer) → ``abstention`` (answered / tentative / not found) →
``answer``; ``verify`` checks a quote against the source; ``render`` is the one Markdown / plain
rendering of an ``Answer``.
"""

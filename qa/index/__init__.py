"""The index: corpus files → chunks → vectors and BM25 → a directory on disk → a loaded index.

``sources`` (finds and reads corpus files safely) → ``chunking`` → ``embedding`` /
``onnx_embedding`` / ``backend`` (torch or ONNX) and ``bm25`` and ``wordvec`` → ``records`` and
``format`` (the one module that writes and reads the index directory) with ``storage`` (lock,
atomic swap) → ``build`` (orchestration) → ``loaded`` (the query-time ``LoadedIndex``).
"""

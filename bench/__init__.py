"""Benchmarks for qa: ``python -m bench`` prints tables and writes bench/results.json.

Sections (``--only`` / ``--skip``): cold start, the web app (page served, API under 8 and 32
concurrent clients, memory), query latency against the query-encoding floor (idle and with one
core busy, 1 vs 2 threads, torch vs onnxruntime), builds, embedding throughput and scale
(synthetic corpora of 10k–1M chunks; 10k by default, ``--scale`` for all). See ``--help``.
"""

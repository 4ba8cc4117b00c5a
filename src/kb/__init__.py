"""kb: search engine and knowledge base for Russian-language NGO and legal documents.

Flow, one direction: extract -> segment -> enrich -> analysis -> index -> search -> cli / web.
"""

import os as _os

# One BLAS thread, set before numpy is first imported (OpenBLAS reads it once). kb's matrix
# products are small (a query against a few hundred passages), and OpenBLAS's idle threads
# spin on the other core after each one: there they slowed the query's embedding, which runs
# beside the lexical search, by a third (ranked() p50 41.7 -> 34.6 ms, docs/ranking.md), and
# in `kb serve` they take the core another worker needs. A user's own setting is kept.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

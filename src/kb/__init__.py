"""kb: search engine and knowledge base for Russian-language NGO and legal documents.

Flow, one direction: extract -> segment -> enrich -> analysis -> index -> search -> cli / web.
"""

__version__ = "0.1.0"

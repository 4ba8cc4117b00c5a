"""The web layer: Flask pages and a JSON API over kb.search. Thin: no engine, no file paths from URLs.

    create_app(corpus, index_dir) -> Flask app
    serve(corpus, index_dir, host=..., port=...)   (`kb serve`)
"""

from kb.web.app import create_app
from kb.web.serve import serve

__all__ = ["create_app", "serve"]

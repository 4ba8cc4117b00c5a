"""One shape for every error the web layer reports: status, Russian message, English message."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import request
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from kb.errors import KbError, QueryError
from kb.index import access
from kb.search.results import split_message
from kb.web.params import ParamError

_HTTP_RU = {
    400: ("Неверный запрос", "Bad request"),
    401: ("Неверный или отозванный токен (заголовок Authorization: Bearer)", "invalid or revoked token"),
    403: ("Недостаточно прав для этой страницы", "Forbidden"),
    404: ("Страница не найдена", "Not found"),
    405: ("Метод не поддерживается", "Method not allowed"),
    413: ("Слишком большой запрос", "Request too large"),
    414: ("Слишком длинный адрес", "URI too long"),
    429: ("Слишком много одновременных запросов с вашего адреса: подождите несколько секунд и повторите",
          "too many requests in flight from your address: retry in a few seconds"),
    500: ("Внутренняя ошибка сервера", "Internal server error"),
    503: ("Поиск временно недоступен", "Search unavailable"),
}


def wants_json() -> bool:
    """The answer is JSON: an /api/ route, or a client that asks for JSON before HTML (the
    upload page's script, a script with Accept: application/json)."""
    return request.path.startswith("/api/") or \
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


class NotFoundHere(NotFound):
    """A 404 that says what is missing (an article of a stable link)."""

    def __init__(self, message_ru: str, message_en: str):
        super().__init__(message_en)
        self.message_ru, self.message_en = message_ru, message_en


# An absolute file path in a message: two or more /parts (a lone "/" or "ч./ст." is no path).
_ABS_PATH = re.compile(r"(?<![\w.~:/])/(?:[^\s/:'\"«»()<>]+/)+[^\s/:'\"«»()<>]*")


def hide_paths(text: str) -> str:
    """`text` without the server's file paths, for a visitor who is not staff: a message of the
    index or the corpus ("индекс повреждён: /srv/kb/index/g000012/...") tells an outsider how
    the server is laid out; staff and the command line see them whole."""
    if not access.restricted():
        return text
    return _ABS_PATH.sub("…", text)


@dataclass
class WebError:
    status: int
    message_ru: str
    message_en: str

    def to_json(self) -> dict:
        return {"error": {"status": self.status, "message_ru": self.message_ru, "message_en": self.message_en}}


def too_large() -> WebError:
    """The 413, with the limit of the route that refused it (kb.web.upload's for uploads)."""
    limit = request.max_content_length or 0
    if limit >= 1024 * 1024:
        mb = limit // (1024 * 1024)
        return WebError(413, f"Слишком большой запрос: за одну отправку не больше {mb} МБ; "
                             "отправьте файлы по нескольку или по одному",
                        f"request too large: at most {mb} MB in one request")
    kb = max(1, limit // 1024)
    return WebError(413, f"Слишком большой запрос: не больше {kb} КБ для этой страницы",
                    f"request too large: at most {kb} KB here")


def from_exception(e: Exception) -> WebError:
    if isinstance(e, ParamError):
        return WebError(400, e.message_ru, e.message_en)
    if isinstance(e, QueryError):
        return WebError(400, *split_message(str(e)))
    if isinstance(e, KbError):
        # No index (or it cannot be read): the server is up but cannot search yet.
        return WebError(503, *(hide_paths(m) for m in split_message(str(e))))
    if isinstance(e, NotFoundHere):
        return WebError(404, e.message_ru, e.message_en)
    if isinstance(e, RequestEntityTooLarge):
        return too_large()
    if isinstance(e, HTTPException):
        code = e.code or 500
        ru, en = _HTTP_RU.get(code, (e.name, e.name))
        return WebError(code, ru, en)
    return WebError(500, *_HTTP_RU[500])

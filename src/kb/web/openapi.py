"""The HTTP API described as data (OpenAPI 3.1), served at /api/openapi.json.

tests/test_openapi.py checks that every Flask route under /api is described here and that the
real answers have exactly the fields described (docs/api.md says the same in prose).
"""

from __future__ import annotations

import copy

STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(props: dict, required: list[str] | None = None, extra: bool = False) -> dict:
    """An object with these properties, all present unless `required` says otherwise."""
    return {"type": "object", "properties": props, "required": list(props) if required is None else required,
            "additionalProperties": extra}


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def param(name: str, desc: str, schema: dict = STR, required: bool = False, many: bool = False,
          where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required, "description": desc,
            "schema": arr(schema) if many else schema, **({"style": "form", "explode": True} if many else {})}


NOTICE = nullable(obj({"message_ru": STR, "message_en": STR}))
# Offsets count characters (Unicode code points, as Python's str): the same as JavaScript's
# UTF-16 indices for every Cyrillic and Latin letter, not for characters beyond U+FFFF.
HIGHLIGHTS = {**arr({"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}),
              "description": "совпадения с запросом: пары [начало, конец) — номера символов (code points) в "
                             "тексте, по порядку, без пересечений"}
ARTICLE_REF = obj({"number": STR, "ordinal": nullable(INT)})

SCHEMAS = {
    "Error": obj({"error": obj({"status": INT, "message_ru": STR, "message_en": STR})}),
    "Notice": NOTICE,
    "FacetValue": obj({"value": STR, "count": INT, "selected": BOOL, "label": STR}),
    "Hit": obj({
        "path": STR, "title": STR, "doc_type": STR, "score": NUM,
        "snippet": {"type": "string", "description": "фрагмент в HTML: текст экранирован, совпадения в <mark>"},
        "snippet_text": {"type": "string", "description": "тот же фрагмент простым текстом, без разметки и "
                         "HTML-сущностей; «… » / « …» там, где текст пропущен"},
        "highlights": HIGHLIGHTS,
        "doc_id": STR,
        "passage": INT, "part": INT, "year": nullable(INT), "heading": STR, "citation": STR, "citation_short": STR,
        "anchor": nullable(STR), "page": INT, "article": STR, "point": STR, "table": STR,
    }, required=["path", "title", "doc_type", "score", "snippet", "snippet_text", "highlights", "doc_id", "passage",
                 "part", "year", "heading", "citation", "citation_short", "anchor"]),
    "DocumentGroup": obj({"doc_id": STR, "path": STR, "title": STR, "doc_type": STR, "year": nullable(INT),
                          "score": NUM, "total_hits": INT, "hits": arr(ref("Hit")),
                          "also": arr(obj({"doc_id": STR, "path": STR, "format": STR, "title": STR}))}),
    "SearchResult": obj({
        "query": STR, "total_docs": INT, "total_hits": INT, "page": INT, "per_page": INT, "pages": INT,
        "sort": {"type": "string", "enum": ["relevance", "date"]}, "took_ms": NUM, "suggestion": nullable(STR),
        "corrected": nullable(STR), "latin": nullable(arr(STR)), "copies_joined": INT, "docs_more": INT,
        "meaning_lang": nullable(STR), "meaning_terms": arr(STR),
        "meaning": nullable(obj({"ready": BOOL, "passages_with_vectors": INT, "passages": INT,
                                 "minutes_left": nullable(NUM), "scored_now": INT})),
        "relaxed": BOOL, "cut": BOOL, "notice": NOTICE,
        "facets": {"type": "object", "description": "doc_type, year (documents per year under the other "
                   "filters), cites, category, region, lang", "additionalProperties": arr(ref("FacetValue"))},
        "hits": arr(ref("Hit")), "documents": arr(ref("DocumentGroup")),
    }),
    "DocumentInfo": obj({"doc_id": STR, "path": STR, "title": STR, "doc_type": STR, "year": nullable(INT),
                         "format": STR, "pages": INT, "passages": INT, "size": INT, "sha256": STR,
                         "added": nullable(STR)}),
    "DocumentList": obj({"total": INT, "offset": INT, "limit": INT, "next_offset": nullable(INT),
                         "documents": arr(ref("DocumentInfo")), "notice": NOTICE}),
    "Passage": obj({"ordinal": INT, "page": nullable(INT), "page_end": nullable(INT), "article": nullable(STR),
                    "heading": STR, "text": STR, "highlights": HIGHLIGHTS, "citation": STR, "citation_short": STR,
                    "anchor": STR, "point": nullable(STR), "table": nullable(STR)}),
    "OutlineEntry": obj({"level": INT, "label": STR, "ordinal": INT, "article": nullable(STR)}),
    "CitedAct": obj({"key": STR, "label": STR, "doc_id": nullable(STR), "articles": arr(ARTICLE_REF),
                     "passages": arr(INT)}),
    "CitingDocument": obj({"doc_id": STR, "title": STR, "doc_type": STR, "year": nullable(INT),
                           "articles": arr(ARTICLE_REF), "passages": arr(INT)}),
    "DocumentView": obj({
        "doc_id": STR, "path": STR, "title": STR, "doc_type": STR, "year": nullable(INT), "format": STR,
        "pages": INT, "passages": arr(ref("Passage")), "size": INT, "sha256": STR, "added": nullable(STR),
        "meta": {"type": "object", "description": "enrich metadata: requisites, citations, sidecar, consultation"},
        "outline": arr(ref("OutlineEntry")), "passages_total": INT, "offset": INT, "limit": INT,
        "next_offset": nullable(INT), "cites": arr(ref("CitedAct")), "cited_by": arr(ref("CitingDocument")),
        "copies": arr(ref("DocumentInfo")),
    }),
    "SimilarDocument": obj({"doc_id": STR, "title": STR, "path": STR, "doc_type": STR, "year": nullable(INT),
                            "score": NUM, "passage": INT, "article": nullable(STR), "excerpt": STR}),
    "SimilarList": obj({"doc_id": STR, "similar": arr(ref("SimilarDocument"))}),
    "LawArticle": obj({"doc_id": STR, "passage": INT, "article": nullable(STR), "label": STR, "heading": STR,
                       "citation_short": STR, "anchor": STR, "excerpt": STR, "score": NUM}),
    "LawAct": obj({"doc_id": STR, "title": STR, "citation_short": STR, "score": NUM, "copies": arr(STR),
                   "articles": arr(ref("LawArticle"))}),
    "ConsultResult": obj({
        "notice": NOTICE,
        "articles": arr(ref("LawAct")),
        "staff_records_hidden": BOOL,
        "consultations": arr({"allOf": [ref("SimilarDocument")], "type": "object", "properties": {
            "consultation": {"type": "object", "description": "the record: id, date, category, region, lawyer, acts"},
            "cites": arr(ref("CitedAct"))}}),
        "acts": arr({"allOf": [ref("CitedAct")], "type": "object", "properties": {"count": INT}}),
    }),
    "ExportRow": obj({"title": STR, "doc_type": STR, "year": nullable(INT), "article": nullable(STR),
                      "page": nullable(INT), "heading": STR, "citation": STR, "citation_short": STR,
                      "snippet": STR, "url": STR, "doc_id": STR, "passage": INT}),
    "Export": obj({"query": STR, "total_docs": INT, "total_hits": INT, "rows_max": INT, "truncated": BOOL,
                   "cut": BOOL, "rows": arr(ref("ExportRow"))}),
}

FILTERS = [
    param("type", "тип документа (отчёт, нормативный акт, исследование, консультация, другое)", many=True),
    param("year", "год документа, четыре цифры", {"type": "string", "pattern": r"^\d{4}$"}, many=True),
    param("cites", "ключ акта (фасет «Ссылается на»): документы, которые его цитируют", many=True),
    param("category", "категория консультации", many=True),
    param("region", "регион консультации", many=True),
    param("lang", "язык документа: ky (кыргызский), ru (русский)", many=True),
    param("since", "только документы, добавленные в коллекцию с этой даты (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ, UTC)"),
]
Q = param("q", "запрос (синтаксис: docs/query-syntax.md), до 500 символов", required=True)
SORT = param("sort", "порядок документов", {"type": "string", "enum": ["relevance", "date"], "default": "relevance"})
DOC_ID = param("doc_id", "id документа (12 шестнадцатеричных знаков)", where="path", required=True)
ERRORS = {"400": {"description": "неверный параметр или запрос", "content": {"application/json": {"schema": ref("Error")}}},
          "401": {"description": "неверный или отозванный токен (Authorization: Bearer)",
                  "content": {"application/json": {"schema": ref("Error")}}},
          "429": {"description": "слишком много запросов одновременно с одного адреса (Retry-After)"},
          "503": {"description": "индекс не читается", "content": {"application/json": {"schema": ref("Error")}}}}
NOT_FOUND = {"404": {"description": "нет такого документа",
                     "content": {"application/json": {"schema": ref("Error")}}}}


def ok(schema: str, desc: str = "ответ") -> dict:
    return {"200": {"description": desc, "content": {"application/json": {"schema": ref(schema)}}}}


PATHS = {
    "/api/search": {"get": {
        "summary": "Поиск: фрагменты, сгруппированные по документам, фасеты, страницы",
        "parameters": [Q, param("page", "страница результатов", {"type": "integer", "minimum": 1, "maximum": 1000}),
                       param("per_page", "документов на странице",
                             {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}), SORT, *FILTERS,
                       param("exact", "1: слова как набраны, без исправления опечаток", {"type": "string", "enum": ["0", "1"]}),
                       param("copies", "1: копии одного документа показать отдельно", {"type": "string", "enum": ["0", "1"]})],
        "responses": {**ok("SearchResult"), **ERRORS}}},
    "/api/documents": {"get": {
        "summary": "Все документы, с фильтрами и сортировкой, страницами",
        "parameters": [param("type", "тип документа", many=True), FILTERS[1], FILTERS[3], FILTERS[4],
                       param("sort", "порядок", {"type": "string", "enum": ["title", "date"], "default": "title"}),
                       param("offset", "с какого документа", {"type": "integer", "minimum": 0, "default": 0}),
                       param("limit", "сколько документов", {"type": "integer", "minimum": 1, "maximum": 1000,
                                                             "default": 100})],
        "responses": {**ok("DocumentList"), **ERRORS}}},
    "/api/documents/{doc_id}": {"get": {
        "summary": "Документ: метаданные, оглавление, цитирования и страница его фрагментов",
        "parameters": [DOC_ID, param("q", "выделить совпадения с этим запросом"),
                       param("offset", "первый фрагмент", {"type": "integer", "minimum": 0, "default": 0}),
                       param("limit", "фрагментов в ответе", {"type": "integer", "minimum": 1, "maximum": 200,
                                                              "default": 100})],
        "responses": {**ok("DocumentView"), **NOT_FOUND, **ERRORS}}},
    "/api/documents/{doc_id}/similar": {"get": {
        "summary": "Похожие документы",
        "parameters": [DOC_ID, param("limit", "сколько", {"type": "integer", "minimum": 1, "maximum": 20,
                                                          "default": 5})],
        "responses": {**ok("SimilarList"), **NOT_FOUND, **ERRORS}}},
    "/api/consult": {"get": {
        "summary": "Статьи законов для описания проблемы (по актам собрания), похожие консультации и нормы, "
                   "на которые они ссылались",
        "parameters": [param("text", "описание проблемы, до 5000 символов", required=True),
                       param("limit", "сколько консультаций", {"type": "integer", "minimum": 1, "maximum": 20,
                                                               "default": 5})],
        "responses": {**ok("ConsultResult"), **ERRORS}}},
    "/api/openapi.json": {"get": {"summary": "Это описание", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    "/export": {"get": {
        "summary": "Выгрузка результатов: строка на найденный фрагмент (до 10 000 лучших), потоком",
        "parameters": [Q, param("format", "формат файла", {"type": "string", "enum": ["csv", "xlsx", "json"],
                                                           "default": "csv"}), SORT, *FILTERS],
        "responses": {"200": {"description": "файл (Content-Disposition: attachment); заголовки X-KB-Total-Hits, "
                              "X-KB-Rows, X-KB-Truncated",
                              "content": {"text/csv": {"schema": STR},
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                                              {"schema": STR},
                                          "application/json": {"schema": ref("Export")}}}, **ERRORS}}},
    "/feed": {"get": {
        "summary": "Atom-лента новых документов по запросу (по дате добавления в коллекцию)",
        "parameters": [param("q", "запрос; без него — новые документы всей коллекции"), *FILTERS],
        "responses": {"200": {"description": "Atom 1.0 (ETag; 304 при If-None-Match)",
                              "content": {"application/atom+xml": {"schema": STR}}},
                      "304": {"description": "лента не изменилась"}, **ERRORS}}},
}


def spec(server_url: str = "/") -> dict:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "kb", "version": "1",
                 "description": "Поиск по документам НКО и юристов. Без токена — только открытые документы; "
                                "токен сотрудника (Authorization: Bearer) видит и документы для сотрудников. "
                                "Ошибки — JSON Error с кодом 400/401/404/405/429/503. "
                                "Подробно: docs/api.md."},
        "servers": [{"url": server_url.rstrip("/") or "/"}],
        "paths": copy.deepcopy(PATHS),
        "components": {"schemas": copy.deepcopy(SCHEMAS),
                       "securitySchemes": {"token": {
                           "type": "http", "scheme": "bearer",
                           "description": "kb token create ИМЯ; без токена видны только открытые документы"}}},
        # Anonymous access is allowed (public documents only); a staff token sees everything.
        "security": [{}, {"token": []}],
    }

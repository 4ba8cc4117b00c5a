"""The API as a documented surface: /api/openapi.json describes every /api route, the real answers
have exactly the described fields, /api/documents pages its results, docs/api.md lists every route."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from kb.index import update_index
from kb.web import create_app

from conftest import ROOT

_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict,
          "null": type(None)}


def check(value, schema: dict, spec: dict, where: str = "$") -> None:
    """A small validator for the parts of JSON Schema that kb's description uses."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return check(value, spec["components"]["schemas"][name], spec, where)
    if "anyOf" in schema:
        errors = []
        for alt in schema["anyOf"]:
            try:
                return check(value, alt, spec, where)
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(f"{where}: none of anyOf: {errors}")
    if "allOf" in schema:
        merged = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"] + [{k: v for k, v in schema.items() if k != "allOf"}]:
            part = spec["components"]["schemas"][part["$ref"].rsplit("/", 1)[1]] if "$ref" in part else part
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        merged["additionalProperties"] = False
        return check(value, merged, spec, where)
    t = schema.get("type")
    if t:
        ok = isinstance(value, _TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
        assert ok, f"{where}: {value!r} is not {t}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{where}: {value!r} < {schema['minimum']}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if t == "object":
        props = schema.get("properties", {})
        missing = set(schema.get("required", [])) - set(value)
        assert not missing, f"{where}: missing {sorted(missing)}"
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                check(v, props[k], spec, f"{where}.{k}")
            elif extra is False:
                raise AssertionError(f"{where}: field {k!r} is not described")
            elif isinstance(extra, dict):
                check(v, extra, spec, f"{where}.{k}")
    if t == "array":
        assert len(value) >= schema.get("minItems", 0), f"{where}: fewer than {schema['minItems']} items"
        assert len(value) <= schema.get("maxItems", len(value)), f"{where}: more than {schema['maxItems']} items"
        for i, item in enumerate(value[:50]):
            check(item, schema["items"], spec, f"{where}[{i}]")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    base = tmp_path_factory.mktemp("openapi")
    shutil.copytree(ROOT / "corpus", base / "c")
    update_index(base / "c", base / "i", show_progress=False)
    app = create_app(base / "c", base / "i")
    app.testing = True
    return app.test_client()


@pytest.fixture(scope="module")
def spec(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.json["openapi"].startswith("3.1")
    return r.json


def _path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_api_route_is_described(client, spec):
    app = client.application
    routes = {_path(r.rule) for r in app.url_map.iter_rules() if r.rule.startswith("/api")}
    assert routes <= set(spec["paths"]), routes - set(spec["paths"])
    assert {"/export", "/feed"} <= set(spec["paths"])
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert op["summary"] and "200" in op["responses"], path
            named = {p["name"] for p in op.get("parameters", [])}
            assert set(re.findall(r"{(\w+)}", path)) <= named, path


def _doc_id(client, name):
    return next(d["doc_id"] for d in client.get("/api/documents").json["documents"] if name in d["path"])


@pytest.mark.parametrize("url, schema", [
    ("/api/search?q=жилье", "SearchResult"),
    ("/api/search?q=выселение&type=отчёт&year=2023&sort=date&per_page=2", "SearchResult"),
    ("/api/search?q=ст. 84 ЖК РФ", "SearchResult"),
    ("/api/documents", "DocumentList"),
    ("/api/documents?limit=2&offset=1&sort=date", "DocumentList"),
    ("/api/documents/{law}?q=жилье&limit=5", "DocumentView"),
    ("/api/documents/{report}", "DocumentView"),
    ("/api/documents/{law}/similar", "SimilarList"),
    ("/api/consult?text=выселяют из общежития без суда", "ConsultResult"),
    ("/export?q=жилье&format=json", "Export"),
    ("/api/search?q=", "Error"),
    ("/api/documents/ffffffffffff", "Error"),
])
def test_real_answers_match_the_description(client, spec, url, schema):
    url = url.format(law=_doc_id(client, "model-law"), report=_doc_id(client, "godovoy-otchet-2023"))
    r = client.get(url)
    data = json.loads(r.data)
    check(data, {"$ref": f"#/components/schemas/{schema}"}, spec)
    if schema == "SearchResult":
        assert data["hits"], url


def test_documents_are_paged(client):
    every = client.get("/api/documents?limit=1000").json
    assert every["next_offset"] is None and every["total"] == len(every["documents"]) > 3
    first = client.get("/api/documents?limit=2").json
    assert first["next_offset"] == 2 and len(first["documents"]) == 2 and first["total"] == every["total"]
    seen, offset = [], 0
    while offset is not None:
        page = client.get(f"/api/documents?limit=3&offset={offset}").json
        seen += [d["doc_id"] for d in page["documents"]]
        offset = page["next_offset"]
    assert seen == [d["doc_id"] for d in every["documents"]]
    assert client.get("/api/documents?limit=0").status_code == 400
    assert client.get("/api/documents?limit=1001").status_code == 400


def test_docs_api_md_lists_every_route_and_parameter(spec):
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for path, ops in spec["paths"].items():
        shown = re.sub(r"{(\w+)}", r"<\1>", path)          # docs write Flask's <doc_id>
        assert f"`GET {shown}`" in text, path
        for p in ops["get"].get("parameters", []):
            assert f"`{p['name']}`" in text, (path, p["name"])
    for name, schema in spec["components"]["schemas"].items():
        for field in schema.get("properties", {}):
            assert f"`{field}`" in text, (name, field)

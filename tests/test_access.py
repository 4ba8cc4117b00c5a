"""Public and staff documents: anonymous visitors never learn of staff documents by any route.

Staff documents carry canary words found nowhere else (in their text, titles and file names).
The same corpus without them is indexed apart (the reference). For every route, an anonymous
request to the full server must answer as the reference does: the same counts, and no more
occurrences of any canary than the reference shows (a canary typed in the query is echoed by
both). A property test (hypothesis) draws queries from public words, canaries and misspelled
canaries (did-you-mean must not reveal the vocabulary of staff documents).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.index import access, update_index
from kb.search import catalog, search
from kb.web import create_app

from conftest import signed_in

CANARIES = ["зюмбрикованный", "квакозябрия", "шмырдякова", "canaryzeta", "kvakozyabra", "фырчиглот"]
# Misspellings of canaries (one letter dropped or changed): a correction would name the canary.
TYPOS = ["зюмбрикованый", "квакозябри", "шмырдяковa", "canaryzetx", "фырчиглод"]
PUBLIC_WORDS = ["выселение", "общежитие", "суд", "жилье", "отчет", "мониторинг", "договор", "найма",
                "ст. 84 ЖК РФ", "граждан", "помещений", "алименты", "консультация", "2021", "тип:отчет"]

CODE = """ЖИЛИЩНЫЙ КОДЕКС РОССИЙСКОЙ ФЕДЕРАЦИИ

Статья 83. Расторжение договора социального найма

Договор социального найма может быть расторгнут по соглашению сторон.

Статья 84. Выселение граждан из жилых помещений

Выселение граждан производится в судебном порядке.
"""

REPORT = """Отчет о мониторинге общежитий за 2021 год

В общежитиях Бишкека нет горячей воды. Выселение жильцов без суда незаконно (ст. 84 ЖК РФ).
Договор найма часто не заключается.
"""

SIDE_STAFF = """Служебная записка о зюмбрикованный проверке 2019 года

Выселение из общежития, суд, договор найма: зюмбрикованный порядок по ст. 84 ЖК РФ.
Граждане жилых помещений фырчиглот.
"""

INTERNAL = """Внутренний план canaryzeta на 2018 год

Мониторинг общежитий квакозябрия: отчет о выселении граждан, договор найма, суд.
"""

CONSULT_CSV = """id,date,category,region,lawyer,question,answer,acts
1,2017-05-16,шмырдякова-категория,Шмырдякова-регион,А. Шмырдякова,"Шмырдякова выселяют из общежития без суда","Выселение только по решению суда, ст. 84 ЖК РФ. Шмырдякова.",ст. 84 ЖК РФ
2,2017-06-01,жильё,Ош,,"Договор найма общежития шмырдякова","Договор найма шмырдякова заключается письменно.",
"""

PUBLIC_CSV = """id,date,category,region,lawyer,question,answer,acts
1,2021-02-02,семья,Нарын,,"Муж не платит алименты","Взыскание алиментов через суд.",
"""


def write_corpus(root, with_staff: bool):
    root.mkdir(parents=True)
    (root / "zhk.txt").write_text(CODE, encoding="utf-8")
    (root / "otchet-monitoring-2021.txt").write_text(REPORT, encoding="utf-8")
    (root / "open").mkdir()
    (root / "open" / "alimenty.csv").write_text(PUBLIC_CSV, encoding="utf-8")
    (root / "open" / "alimenty.csv.meta.yml").write_text("access: public\n", encoding="utf-8")
    if with_staff:
        (root / "zapiska-zyumbrik.txt").write_text(SIDE_STAFF, encoding="utf-8")
        (root / "zapiska-zyumbrik.txt.meta.yml").write_text("access: staff\n", encoding="utf-8")
        (root / "internal").mkdir()
        (root / "internal" / "kvakozyabra-plan.txt").write_text(INTERNAL, encoding="utf-8")
        (root / "consultations.csv").write_text(CONSULT_CSV, encoding="utf-8")
        (root / ".kbaccess").write_text("# staff only\nstaff: internal/\n", encoding="utf-8")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    base = tmp_path_factory.mktemp("access")
    full, ref = base / "full", base / "ref"
    write_corpus(full / "corpus", True)
    write_corpus(ref / "corpus", False)
    for b in (full, ref):
        report = update_index(b / "corpus", b / "index", show_progress=False)
        assert not report.failed, report.lines()
    apps = []
    for b in (full, ref):
        app = create_app(b / "corpus", b / "index")
        app.testing = True
        apps.append(app)
    return apps[0], apps[1]


def canaries_in(body: str) -> dict[str, int]:
    low = body.lower()
    return {c: low.count(c) for c in CANARIES}


def same_view(full, ref, url: str, **kw) -> str:
    """GET `url` anonymously on both servers: same status, no canary beyond the reference's."""
    # Each body is read before the next request: a streamed body holds its request context.
    a = full.test_client().get(url, **kw)
    body = a.get_data(as_text=True)
    b = ref.test_client().get(url, **kw)
    b.get_data()
    assert a.status_code == b.status_code, (url, a.status_code, b.status_code)
    assert canaries_in(body) == canaries_in(b.get_data(as_text=True)), (url, canaries_in(body))
    return body, b.get_data(as_text=True), a, b


def ids_by_path(app) -> dict[str, str]:
    return {d.path: d.doc_id for d in catalog(app.config["KB_INDEX"]).all()}


def test_rules_decide_access(servers):
    full, _ = servers
    staff = access.staff_ids(full.config["KB_INDEX"])
    paths = ids_by_path(full)
    assert paths["zapiska-zyumbrik.txt"] in staff            # sidecar access: staff
    assert paths["internal/kvakozyabra-plan.txt"] in staff   # folder rule in .kbaccess
    assert paths["zhk.txt"] not in staff and paths["otchet-monitoring-2021.txt"] not in staff
    cons = [d for d in catalog(full.config["KB_INDEX"]).all() if d.doc_type == "консультация"]
    assert {d.path for d in cons if d.doc_id in staff} == {"consultations.csv"}     # records: staff
    assert {d.path for d in cons if d.doc_id not in staff} == {"open/alimenty.csv"}  # file says public
    rules = access.Rules("default: staff\npublic: reports/\nstaff: reports/draft-*\n")
    assert rules.folder_rule("a.txt") == "staff" and rules.folder_rule("reports/x.pdf") == "public"
    assert rules.folder_rule("reports/draft-1.pdf") == "staff"
    assert access.access_of("x.txt", {"sidecar": {"access": "стафф-опечатка"}}, access.Rules()) == "staff"


def test_staff_documents_pages_files_and_api_are_404_for_the_public(servers):
    full, _ = servers
    anon = full.test_client()
    staff = access.staff_ids(full.config["KB_INDEX"])
    assert len(staff) == 4
    for d in staff:
        for url in (f"/doc/{d}", f"/file/{d}", f"/api/documents/{d}", f"/api/documents/{d}/similar",
                    f"/doc/{d}?st=84"):
            r = anon.get(url)
            assert r.status_code == 404, url
            assert not any(canaries_in(r.get_data(as_text=True)).values()), url
    # The same for a staff member: everything is there.
    c = signed_in(full)
    for d in staff:
        assert c.get(f"/doc/{d}").status_code == 200
        assert c.get(f"/api/documents/{d}").status_code == 200


def test_every_route_without_a_query(servers):
    full, ref = servers
    for url in ("/", "/docs", "/docs?sort=date", "/api/documents", "/feed", "/consult", "/api/openapi.json",
                "/docs?year=2019", "/docs?year=2017"):
        a, b, *_ = same_view(full, ref, url)
        if url.startswith("/api/documents"):
            assert json.loads(a)["total"] == json.loads(b)["total"]
    # The pages of public documents: backlinks, similar documents, copies, outline.
    for path, d in ids_by_path(ref).items():
        for url in (f"/doc/{d}", f"/api/documents/{d}", f"/api/documents/{d}/similar", f"/file/{d}",
                    f"/doc/{d}?q=выселение"):
            same_view(full, ref, url)
        a = full.test_client().get(f"/api/documents/{d}").json
        b = ref.test_client().get(f"/api/documents/{d}").json
        assert a.get("cited_by") == b.get("cited_by"), path


def check_query(full, ref, q: str) -> None:
    a, b, ra, rb = same_view(full, ref, "/api/search", query_string={"q": q})
    if ra.status_code == 200:
        ja, jb = ra.json, rb.json
        for key in ("total_docs", "total_hits", "facets", "corrected", "suggestion"):
            assert ja.get(key) == jb.get(key), (q, key, ja.get(key), jb.get(key))
        assert {h["doc_id"] for h in ja["hits"]} == {h["doc_id"] for h in jb["hits"]}, q
    same_view(full, ref, "/search", query_string={"q": q})
    same_view(full, ref, "/search", query_string={"q": q, "year": "2017"})
    same_view(full, ref, "/feed", query_string={"q": q})
    for fmt in ("json", "csv"):
        a, b, ra, rb = same_view(full, ref, "/export", query_string={"q": q, "format": fmt})
        if fmt == "json" and ra.status_code == 200:
            assert len(json.loads(a)["rows"] if isinstance(json.loads(a), dict) else json.loads(a)) == \
                len(json.loads(b)["rows"] if isinstance(json.loads(b), dict) else json.loads(b))
    same_view(full, ref, "/consult", query_string={"text": q})
    same_view(full, ref, "/api/consult", query_string={"text": q})


@pytest.mark.parametrize("q", ["выселение общежитие", "ст. 84 ЖК РФ", *CANARIES, *TYPOS, "шмырдяк*",
                               "тип:консультация", "год:2019", "год:2017", "title:план"])
def test_known_queries(servers, q):
    full, ref = servers
    check_query(full, ref, q)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(PUBLIC_WORDS + CANARIES + TYPOS), min_size=1, max_size=4),
       st.sampled_from(["", "\"", "-", "!"]))
def test_no_route_reveals_staff_documents(servers, words, op):
    full, ref = servers
    q = " ".join(words)
    if op == "\"":
        q = f'"{q}"'
    elif op and len(words) > 1:
        q = " ".join(words[:-1]) + f" {op}{words[-1]}"
    check_query(full, ref, q)


def test_staff_see_staff_documents_and_the_cli_sees_all(servers):
    full, _ = servers
    c = signed_in(full)
    data = c.get("/api/search", query_string={"q": "зюмбрикованный"}).json
    assert data["total_docs"] == 1
    assert "Шмырдякова" in c.get("/search", query_string={"q": "шмырдякова"}).get_data(as_text=True)
    assert c.get("/search", query_string={"q": "зюмбрикованый"}).get_data(as_text=True).count("зюмбрикованный") >= 1
    # Trusted local callers (kb search) see everything; the web's audience does not leak to them.
    assert search(full.config["KB_INDEX"], "квакозябрия").total_docs == 1
    anon = full.test_client()
    assert anon.get("/api/search", query_string={"q": "квакозябрия"}).json["total_docs"] == 0
    assert access.audience() == "all"
    assert search(full.config["KB_INDEX"], "квакозябрия").total_docs == 1


def test_bearer_tokens_on_the_api(servers):
    from kb.accounts import Accounts

    full, _ = servers
    acc = Accounts(full.config["KB_INDEX"])
    if acc.get("api-staff") is None:
        acc.add("api-staff", "пароль-для-api", "staff")
    token = acc.create_token("api-staff")
    c = full.test_client()
    q = {"q": "квакозябрия"}
    assert c.get("/api/search", query_string=q, headers={"Authorization": f"Bearer {token}"}).json["total_docs"] == 1
    assert c.get("/api/search", query_string=q).json["total_docs"] == 0
    bad = c.get("/api/search", query_string=q, headers={"Authorization": "Bearer kb_wrong"})
    assert bad.status_code == 401 and "токен" in bad.json["error"]["message_ru"]
    acc.revoke_token(token)
    assert c.get("/api/search", query_string=q, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # A reader account (not staff) sees what the public sees.
    if acc.get("reader1") is None:
        acc.add("reader1", "пароль-читателя", "reader")
    rt = acc.create_token("reader1")
    assert c.get("/api/search", query_string=q, headers={"Authorization": f"Bearer {rt}"}).json["total_docs"] == 0


def test_openapi_describes_the_token(servers):
    full, _ = servers
    spec = full.test_client().get("/api/openapi.json").json
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert "401" in spec["paths"]["/api/search"]["get"]["responses"]


def test_editing_the_rules_takes_effect_without_reindexing(tmp_path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, True)
    update_index(corpus, tmp_path / "index", show_progress=False)
    app = create_app(corpus, tmp_path / "index")
    app.testing = True
    c = app.test_client()
    assert c.get("/api/search", query_string={"q": "квакозябрия"}).json["total_docs"] == 0
    (corpus / ".kbaccess").write_text("# internal/ opened\n", encoding="utf-8")
    assert c.get("/api/search", query_string={"q": "квакозябрия"}).json["total_docs"] == 1
    (corpus / ".kbaccess").write_text("default: staff\n", encoding="utf-8")
    assert c.get("/api/documents").json["total"] == 1      # only the file whose sidecar says public
    # A rule kb does not know: every document no sidecar opens is hidden, and the pages go on.
    (corpus / ".kbaccess").write_text("staff: internal/\neverything: public\n", encoding="utf-8")
    r = c.get("/api/search", query_string={"q": "квакозябрия"})
    assert r.status_code == 200 and r.json["total_docs"] == 0
    assert c.get("/api/documents").json["total"] == 1
    assert c.get("/api/search", query_string={"q": "жилищный"}).json["total_docs"] == 0
    problems = access.problems(tmp_path / "index")
    assert [(p, why) for p, why in problems if p.endswith(".kbaccess") and "строка 2" in why], problems


def test_counts_say_the_same_in_kb_index_kb_check_and_the_home_page(servers, capsys):
    import re

    from kb.cli import main

    full, _ = servers
    index, corpus = full.config["KB_INDEX"], full.config["KB_CORPUS"]
    staff = len(access.staff_ids(index))
    total = len(catalog(index).all())
    assert main(["index", "--corpus", str(corpus), "--index", str(index), "--no-vectors"]) == 0
    said = capsys.readouterr().out
    assert f"В индексе: документов {total} (из них только для сотрудников: {staff})" in said
    assert main(["check", "--corpus", str(corpus), "--index", str(index)]) == 0
    assert f"В индексе: документов {total} (из них только для сотрудников: {staff})" in capsys.readouterr().out

    def page(client):
        return " ".join(re.sub(r"<[^>]+>", "", client.get("/").get_data(as_text=True)).split())

    anon = page(full.test_client())
    assert f"Документов: {total - staff}," in anon and f"Ещё документов: {staff}" in anon
    mine = page(signed_in(full))
    assert f"Документов: {total} (из них только для сотрудников: {staff})" in mine and "Ещё документов" not in mine

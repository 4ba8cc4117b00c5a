"""Fail closed (issue 26): a sidecar or rules file kb cannot read hides its documents.

The cases the issue found (an unclosed quote, an unclosed list, JSON with a trailing comma, an
unknown type, an unknown key or value, an unreadable file), each beside a document meant for
staff, through `kb index` as users run it (all workers) and every anonymous route; then a
property test that writes random malformed, truncated and odd sidecars and rules files and
checks through a real index that a document is shown to the public only when what decides its
audience was read cleanly and says so.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kb.enrich.sidecar import SidecarError, access_word, read_sidecar
from kb.index import access, update_index
from kb.index.records import doc_id_for
from kb.search import search
from kb.web import create_app

from conftest import signed_in

ROOT = Path(__file__).resolve().parents[1]

# Marker words no Russian text holds, one per document, so a hit can only be that document.
BROKEN = {
    "quote": ("q.txt.meta.yml", 'title: "Записка о выселении\naccess: staff\n', "шмыгозавр"),
    "list": ("l.txt.meta.yml", "access: staff\ntags: [жильё, выселение\n", "бармаглотище"),
    "json": ("j.txt.meta.json", '{"access": "staff", "title": "Записка",}', "кузявочный"),
    "type": ("t.txt.meta.yml", "access: staff\ntype: меморандумчик\n", "бокрёнок"),
    "key": ("k.txt.meta.yml", "acess: staff\n", "глокуздра"),
    "value": ("v.txt.meta.yml", "access: стафф\n", "курдячить"),
    "bool": ("b.txt.meta.yml", "access: yes\n", "будланул"),
    "twice": ("w.txt.meta.yml", "access: staff\naccess: public\n", "хливкий"),
    "bytes": ("x.txt.meta.yml", b"access: staff\ntitle: \xff\xfe\n", "зелюк"),
    "dangling": ("d.txt.meta.yml", None, "мюмзик"),
}
PUBLIC_MARKER = "пуськабумчик"


def _write_case(corpus: Path, name: str, content, marker: str) -> str:
    doc = corpus / name.split(".meta.")[0]
    doc.write_text(f"Служебная записка. {marker.capitalize()} {marker} упоминается здесь, "
                   f"{secret(marker)} тоже.\n", encoding="utf-8")
    side = corpus / name
    if content is None:
        side.symlink_to(corpus / "nowhere.yml")
    elif isinstance(content, bytes):
        side.write_bytes(content)
    else:
        side.write_text(content, encoding="utf-8")
    return doc.name


def secret(marker: str) -> str:
    """A second word of the document, never queried: an answer holding it shows the text (the
    marker itself is echoed by every page that was asked for it)."""
    return marker[::-1]


def anonymous_sightings(app, marker: str, doc_id: str) -> list[str]:
    """The anonymous routes that reveal the document `doc_id` (its id or its text) when asked
    for `marker` (empty: none)."""
    c = app.test_client()
    seen = []
    typo = marker[:-2] + marker[-1] + marker[-2]       # spelling suggestions come from the index's words
    for url, qs in (("/api/search", {"q": marker}), ("/api/search", {"q": typo}), ("/search", {"q": marker}),
                    ("/search", {"q": typo}), ("/export", {"q": marker, "format": "csv"}),
                    ("/export", {"q": marker, "format": "json"}), ("/feed", {"q": marker}),
                    ("/consult", {"text": marker}), ("/api/consult", {"text": marker}), ("/api/documents", {}),
                    ("/", {}), ("/docs", {}), (f"/doc/{doc_id}", {}), (f"/file/{doc_id}", {}),
                    (f"/api/documents/{doc_id}", {}), (f"/api/documents/{doc_id}/similar", {})):
        r = c.get(url, query_string=qs)
        body = r.get_data(as_text=True).lower()
        if (url.endswith(doc_id) or url.endswith("/similar")) and r.status_code != 404:
            seen.append(f"{url} -> {r.status_code}")
        elif secret(marker) in body or doc_id in body:
            seen.append(f"{url}?{qs}")
    return seen


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    base = tmp_path_factory.mktemp("failclosed")
    corpus, index = base / "corpus", base / "index"
    corpus.mkdir()
    names = {case: _write_case(corpus, *spec) for case, spec in BROKEN.items()}
    (corpus / "open.txt").write_text(f"Открытый отчёт. {PUBLIC_MARKER} для всех.\n", encoding="utf-8")
    (corpus / "open.txt.meta.yml").write_text("title: Открытый отчёт\naccess: public\n", encoding="utf-8")
    # `kb index` as users run it: the console entry, default workers, JSON summary.
    env = {**os.environ, "KB_EMBEDDER": "off"}
    done = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--json", "--corpus", str(corpus),
                           "--index", str(index)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    app = create_app(corpus, index)
    app.testing = True
    return {"corpus": corpus, "index": index, "names": names, "report": report, "app": app, "env": env}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_unreadable_sidecar_hides_its_document(broken, case):
    name = broken["names"][case]
    marker = BROKEN[case][2]
    doc_id = doc_id_for(name)
    # Indexed (staff and the command line find it), never shown to the public.
    assert search(broken["index"], marker).total_docs == 1, case
    assert anonymous_sightings(broken["app"], marker, doc_id) == [], case
    staff = signed_in(broken["app"])
    assert staff.get(f"/doc/{doc_id}").status_code == 200
    assert staff.get("/api/search", query_string={"q": marker}).json["total_docs"] == 1


def test_index_check_and_admin_page_report_each_doubt(broken):
    report = broken["report"]
    reported = {e["path"]: e["reason"] for e in report["access_errors"]}
    assert set(reported) == set(broken["names"].values()), reported
    assert report["errors"] == len(BROKEN) and report["failed"] == []
    assert "acess" in reported["k.txt"] and "YAML" in reported["q.txt"] and "JSON" in reported["j.txt"]
    # Reasons name the sidecar inside the collection, never the server's folders.
    assert not any(str(broken["corpus"]) in r for r in reported.values())
    # The summary line counts them; kb check lists them and exits non-zero.
    done = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--corpus", str(broken["corpus"]),
                           "--index", str(broken["index"])], capture_output=True, text=True, env=broken["env"])
    assert f"ошибок {len(BROKEN)}" in done.stdout + done.stderr
    assert (done.stdout + done.stderr).count("ошибка доступа:") == len(BROKEN)
    chk = subprocess.run([sys.executable, "-m", "kb.cli", "check", "--json", "--corpus", str(broken["corpus"]),
                          "--index", str(broken["index"])], capture_output=True, text=True, env=broken["env"])
    assert chk.returncode == 1
    assert {e["path"] for e in json.loads(chk.stdout)["access_errors"]} == set(broken["names"].values())
    admin = signed_in(broken["app"], name="admin-fc", role="admin")
    page = admin.get("/admin/access").get_data(as_text=True)
    assert all(n in page for n in broken["names"].values()) and "acess" in page
    assert f"Доступ ({len(BROKEN)})" in admin.get("/").get_data(as_text=True)      # the menu says how many
    assert signed_in(broken["app"]).get("/admin/access").status_code == 403
    assert broken["app"].test_client().get("/admin/access").status_code in (302, 401)


def test_public_documents_show_no_server_path(broken):
    app = broken["app"]
    c = app.test_client()
    assert c.get("/api/search", query_string={"q": PUBLIC_MARKER}).json["total_docs"] == 1
    doc_id = doc_id_for("open.txt")
    folders = [str(broken["corpus"]), str(broken["index"]), str(broken["corpus"].resolve())]
    for url in (f"/api/documents/{doc_id}", f"/doc/{doc_id}", "/api/documents", "/api/openapi.json",
                f"/api/search?q={PUBLIC_MARKER}", "/admin/access"):
        body = c.get(url).get_data(as_text=True)
        assert not any(f in body for f in folders), url


def test_legacy_index_with_sidecar_warnings_hides_too():
    # An index written before `access_error` kept the sidecar's error among meta["warnings"].
    rules = access.Rules()
    assert access.access_of("a.txt", {"warnings": ["/srv/a.txt.meta.yml: неверный YAML"]}, rules) == "staff"
    assert access.access_of("a.txt", {"access_error": "x"}, rules) == "staff"
    assert access.access_of("a.txt", {}, rules) == "public"
    # Records of a consultations file whose sidecar could not be read stay staff-only.
    assert access.access_of("c.csv", {}, rules, record=True, file_meta={"access": "public", "access_error": "x"}) \
        == "staff"


@pytest.mark.parametrize("text", ["everything: public\n", "staff: internal/\nstaf: x/\n", "default: open\n",
                                  "staff internal/\n", "default:\n"])
def test_rules_that_do_not_parse_hide_everything_no_sidecar_opens(text):
    rules = access.Rules(text)
    assert rules.error and rules.folder_rule("any/file.txt") == "staff"
    assert access.access_of("a.txt", {"sidecar": {"access": "public"}}, rules) == "public"


def test_rules_file_that_cannot_be_read(tmp_path, monkeypatch):
    (tmp_path / ".kbaccess").write_bytes(b"staff: \xff\n")
    assert access.rules_problem(tmp_path)
    assert access.load_rules(tmp_path / ".kbaccess")[1].folder_rule("a.txt") == "staff"
    monkeypatch.setenv("KB_ACCESS", str(tmp_path / "missing.rules"))
    assert access.load_rules(access.rules_path(tmp_path))[1].folder_rule("a.txt") == "staff"
    monkeypatch.delenv("KB_ACCESS")
    assert access.rules_problem(tmp_path / "nothing-here") is None      # no rules file: no doubt


# --- property: random malformed sidecars and rules through a real index ----------------------

BASES = [
    'title: "Записка"\naccess: staff\ntags: [жильё, суд]\n',
    "access: staff\ntitle: Записка о выселении\ndate: 2021-03-04\ntype: отчёт\n",
    "access: staff\ntags:\n  - жильё\n  - суд\n",
    '{"access": "staff", "title": "Записка", "tags": ["a", "b"]}',
    "access: public\ntitle: Открытая записка\n",
]
RULES = ["staff: internal/\n", "default: staff\npublic: open/\n", "# правила\nstaff: internal/**\ndefault: public\n"]
ODD = list("\"'[]{}:#-,&*!|>%@`\\\t\r\n \u2028\u2029\u0085\u202e\ufeff\x00") + ["access", "public", "staff", ": "]


@st.composite
def mangled(draw, bases):
    """A base text damaged by a few edits: truncation, odd characters inserted, a line doubled."""
    text = draw(st.sampled_from(bases))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["cut", "insert", "delete", "dup"]))
        pos = draw(st.integers(0, len(text)))
        if op == "cut":
            text = text[:pos]
        elif op == "insert":
            text = text[:pos] + draw(st.sampled_from(ODD)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + 1:]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                text = "".join(lines[:i + 1] + lines[i:])
    return text


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    corpus, index = base / "corpus", base / "index"
    (corpus / "internal").mkdir(parents=True)
    # A: in a staff folder, with a sidecar; B: top level, with a sidecar meant for staff;
    # C: in the staff folder, no sidecar (the rules alone decide).
    (corpus / "internal" / "a.txt").write_text("Записка сотрудникам: трямзабулька, акьлубазмярт.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Записка сотрудникам: фырчапундель, ьледнупачрыф.\n", encoding="utf-8")
    (corpus / "internal" / "c.txt").write_text("Записка сотрудникам: квырлимонка, акномилрывк.\n", encoding="utf-8")
    (corpus / "open.txt").write_text("Открытый документ для всех.\n", encoding="utf-8")
    update_index(corpus, index, show_progress=False)
    app = create_app(corpus, index)
    app.testing = True
    return corpus, index, app


SUFFIXES = [".meta.yml", ".meta.yaml", ".meta.json"]
EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "120"))


def _clean_access(doc: Path) -> str | None:
    """What a cleanly read sidecar says ("public", "staff", "" when silent); None when unreadable."""
    try:
        return access_word(read_sidecar(doc).get("access")) or ""
    except SidecarError:
        return None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
@given(side_a=mangled(BASES), side_b=mangled(BASES), rules=mangled(RULES),
       suffix_a=st.sampled_from(SUFFIXES), suffix_b=st.sampled_from(SUFFIXES), raw=st.booleans())
def test_random_sidecars_and_rules_never_open_staff_documents(fuzz_site, side_a, side_b, rules, suffix_a,
                                                              suffix_b, raw):
    corpus, index, app = fuzz_site
    for old in corpus.rglob("*.meta.*"):
        old.unlink()
    a, b, c = corpus / "internal" / "a.txt", corpus / "b.txt", corpus / "internal" / "c.txt"
    for doc, text, suffix in ((a, side_a, suffix_a), (b, side_b, suffix_b)):
        data = text.encode("utf-8", "surrogatepass")
        if raw and doc is b:
            data = data[: max(0, len(data) - 1)]        # cut inside a character now and then
        (doc.parent / (doc.name + suffix)).write_bytes(data)
    (corpus / ".kbaccess").write_text(rules, encoding="utf-8", errors="surrogatepass")
    # Hypothesis seeds `random` alike for every example, and whoosh names new segments with
    # it: the same name twice in one index trips whoosh's own assertion.
    random.seed(os.urandom(16))
    report = update_index(corpus, index, show_progress=False)
    assert not report.failed, report.failed
    # The rules as the file reads back (universal newlines turn a lone CR into a line break).
    parsed = access.load_rules(corpus / ".kbaccess")[1]
    rules_ok = parsed.error is None
    # Which documents the public may see: only by what was read cleanly.
    folder = parsed.folder_rule("internal/x.txt")
    may = {
        "трямзабулька": _clean_access(a) == "public" or (_clean_access(a) == "" and folder == "public"),
        "фырчапундель": _clean_access(b) == "public" or (_clean_access(b) == "" and rules_ok
                                                          and parsed.folder_rule("b.txt") == "public"),
        "квырлимонка": folder == "public",
    }
    for (marker, allowed), rel in zip(may.items(), ("internal/a.txt", "b.txt", "internal/c.txt")):
        seen = anonymous_sightings(app, marker, doc_id_for(rel))
        if not allowed:
            assert seen == [], (marker, seen, side_a, side_b, rules)
    for name, ok in may.items():
        event(f"{name}: {'public' if ok else 'hidden'}")     # --hypothesis-show-statistics
    # Every doubt is reported.
    doubts = {p for p, _ in report.access_errors}
    for doc, rel in ((a, "internal/a.txt"), (b, "b.txt")):
        assert (rel in doubts) == (_clean_access(doc) is None), (rel, doubts)
    assert any(p.endswith(".kbaccess") for p in doubts) == (not rules_ok)


def test_messages_to_visitors_name_no_server_folder(tmp_path):
    from kb.web.errors import hide_paths

    corpus = tmp_path / "srv-corpus"
    corpus.mkdir()
    app = create_app(corpus, tmp_path / "no-index-yet")
    app.testing = True
    # An empty index: the notice tells staff where to add files, the public only that it is empty.
    update_index(corpus, tmp_path / "no-index-yet", show_progress=False)
    for url in ("/", "/search?q=жильё", "/api/search?q=жильё", "/api/documents"):
        assert str(corpus) not in app.test_client().get(url).get_data(as_text=True), url
    assert str(corpus) in signed_in(app).get("/").get_data(as_text=True)
    token = access.set_audience(access.PUBLIC)
    try:
        assert hide_paths(f"индекс повреждён: {tmp_path}/index/g000003/x.seg (damaged)") == \
            "индекс повреждён: … (damaged)"
        assert hide_paths("ст. 84 ч./п. 2 и/или 1/2") == "ст. 84 ч./п. 2 и/или 1/2"
    finally:
        access.reset_audience(token)
    assert hide_paths(f"{tmp_path}/x") == f"{tmp_path}/x"           # trusted callers see it whole

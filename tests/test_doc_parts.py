"""A long document is read a part at a time: the index reads a slice of passages by ordinal,
the page shows one part with links to the others, every link to a passage or a page opens the
part that holds it, and the API pages through passages with offset and limit."""

from __future__ import annotations

import random
import re
from urllib.parse import quote

import pytest

import pdf_fixtures
from kb.index import edit, forget_readers, reader, update_index, write_passages
from kb.search import PART_PASSAGES, part_of
from kb.search.reading import MAX_LIMIT
from kb.web import create_app

ARTICLES = 1000
PDF_PAGES = 120
RARE = {10: "квазиморфизм", 260: "квазиморфизм", 990: "квазиморфизм", 750: "эпистолярный"}


def _act() -> str:
    lines = ["ЗАКОН О ДЛИННЫХ ДОКУМЕНТАХ", ""]
    for n in range(1, ARTICLES + 1):
        if n % 100 == 1:
            lines += [f"Глава {n // 100 + 1}. Раздел о статьях с {n}", ""]
        extra = f" Здесь встречается слово {RARE[n]}." if n in RARE else ""
        lines += [f"Статья {n}. О предмете номер {n}",
                  f"Граждане вправе обращаться в орган местного самоуправления по вопросу {n}.{extra}", ""]
    return "\n".join(lines)


WORDS = ("общежитие комната вода отопление крыша окно дверь лестница подвал двор кухня душ проводка "
         "стена пол потолок лифт мусор свет газ").split()


def _report_pdf() -> bytes:
    """A report of PDF_PAGES pages, each with its own sentence (lines that repeat on every page,
    numbers aside, are running headers to kb.extract and would be dropped)."""
    assert pdf_fixtures.fonts_available(), "DejaVu fonts are needed (scripts/setup --test installs them)"

    def draw(c):
        rnd = random.Random(7)
        for n in range(1, PDF_PAGES + 1):
            words = " ".join(rnd.sample(WORDS, 6)) + (" палимпсест" if n == 75 else "")
            pdf_fixtures._lines(c, [f"Наблюдатели осмотрели: {words}."])
            c.showPage()

    return pdf_fixtures._pdf(draw)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("parts")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "long-act.txt").write_text(_act(), encoding="utf-8")
    (corpus / "report.pdf").write_bytes(_report_pdf())
    (corpus / "short.txt").write_text("Короткая заметка о жилье.\n", encoding="utf-8")
    report = update_index(corpus, base / "index", show_progress=False)
    assert not report.failed, report.lines()
    app = create_app(corpus, base / "index")
    app.testing = True
    c = app.test_client()
    ids = {d["path"]: d["doc_id"] for d in c.get("/api/documents").json["documents"]}
    return app, ids, base / "index"


@pytest.fixture()
def client(site):
    return site[0].test_client()


def html(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def ordinals(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<section class="passage" id="p-(\d+)"', page)]


# --- the index ------------------------------------------------------------------------------------

def test_slice_by_ordinal_across_segments_and_updates(tmp_path):
    """Passages written shuffled by the multi-process writer: docnum order is not ordinal order."""
    recs = [{"doc_id": "big", "ordinal": n, "pid": f"big:{n}", "path": "big.txt", "title": "Большой",
             "body": f"Фрагмент номер {n} о жилье"} for n in range(600)]
    recs += [{"doc_id": "small", "ordinal": n, "pid": f"small:{n}", "path": "s.txt", "title": "Малый",
              "body": f"Малый фрагмент {n}"} for n in range(3)]
    random.Random(3).shuffle(recs)
    write_passages(tmp_path / "i", recs)
    rd = reader(tmp_path / "i")
    by_docnum = [f["ordinal"] for f in (rd.stored(n) for n in sorted(rd.searcher().document_numbers(doc_id="big")))]
    assert by_docnum != sorted(by_docnum)            # docnum order is not reading order
    every = rd.doc_passages("big")
    assert [f["ordinal"] for f in every] == list(range(600))
    assert [f["ordinal"] for f in rd.doc_passages("big", 250, 300)] == list(range(250, 300))
    assert rd.doc_passages("big", 250, 300) == every[250:300]
    assert [f["ordinal"] for f in rd.doc_passages("big", 590, 700)] == list(range(590, 600))
    assert rd.doc_passages("big", 700, 750) == [] and rd.doc_passage_count("big") == 600
    assert [f["ordinal"] for f in rd.doc_passages("small", 0, 50)] == [0, 1, 2]

    # Re-written passages (deleted, then added again): the live ones are read.
    with edit(tmp_path / "i") as w:
        w.delete_doc("small")
        for n in range(2):
            w.add_passage({"doc_id": "small", "ordinal": n, "pid": f"small:{n}", "path": "s.txt", "title": "Малый",
                           "body": f"Новый текст {n}", "exact": f"Новый текст {n}"})
    got = rd.doc_passages("small", 0, 50)
    assert [f["body"] for f in got] == ["Новый текст 0", "Новый текст 1"]
    forget_readers()


def test_slice_reads_only_the_slice(tmp_path, monkeypatch):
    recs = [{"doc_id": "big", "ordinal": n, "pid": f"big:{n}", "path": "big.txt", "body": f"Текст {n}"}
            for n in range(300)]
    write_passages(tmp_path / "i", recs)
    rd = reader(tmp_path / "i")
    reads = []
    real = rd.stored
    monkeypatch.setattr(rd, "stored", lambda n, s=None: reads.append(n) or real(n, s))
    rd.doc_passages("big", 100, 150)
    assert len(reads) == 50
    forget_readers()


def test_slice_of_an_index_with_other_pids(tmp_path):
    """Records whose pid is not "<doc_id>:<ordinal>" are still read right (the slow way)."""
    recs = [{"doc_id": "d", "ordinal": n, "pid": f"other-{n}", "path": "d.txt", "body": f"Текст {n}"}
            for n in range(120)]
    random.Random(5).shuffle(recs)
    write_passages(tmp_path / "i", recs)
    rd = reader(tmp_path / "i")
    assert [f["ordinal"] for f in rd.doc_passages("d", 60, 70)] == list(range(60, 70))
    forget_readers()


# --- the page -------------------------------------------------------------------------------------

def test_document_shows_one_part_with_navigation(client, site):
    doc_id = site[1]["long-act.txt"]
    page = html(client.get(f"/doc/{doc_id}"))
    assert ordinals(page) == list(range(PART_PASSAGES))
    parts = -(-(ARTICLES + 1) // PART_PASSAGES)        # a preamble passage, then one passage per article
    assert f"Часть 1 из {parts}" in page
    assert f'rel="next" href="/doc/{doc_id}?part=2"' in page and 'rel="prev"' not in page
    assert "по вопросу 999." not in page                # the end of the document is not on this page

    page3 = html(client.get(f"/doc/{doc_id}?part=3"))
    assert ordinals(page3) == list(range(100, 150))
    assert f"Часть 3 из {parts}" in page3
    assert f'rel="prev" href="/doc/{doc_id}?part=2"' in page3 and f'rel="next" href="/doc/{doc_id}?part=4"' in page3
    last = html(client.get(f"/doc/{doc_id}?part={parts}"))
    assert ordinals(last)[-1] == ARTICLES and 'rel="next"' not in last


def test_outline_links_open_the_part_that_holds_the_article(client, site):
    doc_id = site[1]["long-act.txt"]
    page = html(client.get(f"/doc/{doc_id}"))
    # 1,010 entries: beside part 1, its own articles and every chapter (the contents stay small).
    assert 'href="#p-3">Статья 3.' in page                                     # on this page: the anchor
    assert "Статья 250." not in page
    assert len(re.findall(r'<li class="level-', page)) <= 10 + PART_PASSAGES
    # Chapter 3 begins at article 201, passage 201 (passage 0 is the title): part 5.
    link = re.search(r'<a href="([^"]+)">Глава 3\. Раздел о статьях с 201</a>', page).group(1)
    assert link == f"/doc/{doc_id}?part={part_of(201)}#p-201" and part_of(201) == 5
    target = html(client.get(link.split("#")[0]))
    assert 'id="p-201"' in target and ordinals(target)[0] == 200
    # From part 6: its articles are anchors, chapter 1 is in part 1.
    part6 = html(client.get(f"/doc/{doc_id}?part=6"))
    assert 'href="#p-250">Статья 250.' in part6 and 'id="p-250"' in part6
    assert f'href="/doc/{doc_id}#p-1">Глава 1.' in part6


def test_search_results_link_into_the_right_part(client, site):
    doc_id = site[1]["long-act.txt"]
    page = html(client.get("/search?q=эпистолярный"))
    link = re.search(r'<a class="where" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert link == f"/doc/{doc_id}?q={quote('эпистолярный')}&part=16#p-750"
    target = html(client.get(link.split("#")[0]))
    assert 'id="p-750"' in target and "<mark>эпистолярный</mark>" in target
    assert client.get("/api/search?q=эпистолярный").json["hits"][0]["part"] == 16


def test_matches_list_covers_the_whole_document(client, site):
    doc_id = site[1]["long-act.txt"]
    page = html(client.get(f"/doc/{doc_id}?q=квазиморфизм"))
    assert "Совпадения «квазиморфизм» в 3 фрагм." in page
    q = quote("квазиморфизм")
    assert 'href="#p-10">ст. 10</a>' in page                                    # this part
    assert f'href="/doc/{doc_id}?q={q}&amp;part=6#p-260">ст. 260</a>' in page
    assert f'href="/doc/{doc_id}?q={q}&amp;part=20#p-990">ст. 990</a>' in page
    assert "нет совпадений" in html(client.get(f"/doc/{doc_id}?q=палимпсест"))


def test_page_list_points_into_parts(client, site):
    doc_id = site[1]["report.pdf"]
    page = html(client.get(f"/doc/{doc_id}"))
    assert ordinals(page) == list(range(PART_PASSAGES))
    assert 'href="#page-3">Стр. 3</a>' in page
    assert f'href="/doc/{doc_id}?part=2#page-75">Стр. 75</a>' in page
    assert f'href="/doc/{doc_id}?part=3#page-120">Стр. 120</a>' in page
    part2 = html(client.get(f"/doc/{doc_id}?part=2"))
    assert 'id="page-75"' in part2 and "палимпсест" in part2 and 'id="page-3"' not in part2
    assert f'href="/file/{doc_id}#page=75"' in part2


def test_bad_or_past_the_end_parts(client, site):
    doc_id = site[1]["long-act.txt"]
    for bad in ("0", "-1", "x", "1.5"):
        assert client.get(f"/doc/{doc_id}?part={bad}").status_code == 400
    r = client.get(f"/doc/{doc_id}?part=999&q=жилье")
    assert r.status_code == 302 and r.headers["Location"].endswith("part=21") and "q=" in r.headers["Location"]
    short = site[1]["short.txt"]
    page = html(client.get(f"/doc/{short}"))
    assert "Часть 1" not in page and ordinals(page) == [0]


def test_page_size_is_bounded(client, site):
    doc_id = site[1]["long-act.txt"]
    assert len(client.get(f"/doc/{doc_id}?part=7").data) < 200_000


# --- the API --------------------------------------------------------------------------------------

def test_api_pages_through_passages(client, site):
    doc_id = site[1]["long-act.txt"]
    j = client.get(f"/api/documents/{doc_id}").json
    assert j["passages_total"] == ARTICLES + 1 and j["offset"] == 0 and j["limit"] == 100
    assert [p["ordinal"] for p in j["passages"]] == list(range(100)) and j["next_offset"] == 100
    j = client.get(f"/api/documents/{doc_id}?offset=950&limit=100").json
    assert [p["ordinal"] for p in j["passages"]] == list(range(950, ARTICLES + 1)) and j["next_offset"] is None
    j = client.get(f"/api/documents/{doc_id}?offset=5000").json
    assert j["passages"] == [] and j["next_offset"] is None and j["passages_total"] == ARTICLES + 1
    # Following next_offset reads every passage exactly once.
    seen, offset = [], 0
    while offset is not None:
        j = client.get(f"/api/documents/{doc_id}?offset={offset}&limit={MAX_LIMIT}").json
        assert len(j["passages"]) <= MAX_LIMIT
        seen += [p["ordinal"] for p in j["passages"]]
        offset = j["next_offset"]
    assert seen == list(range(ARTICLES + 1))


def test_api_answer_size_is_bounded(client, site):
    doc_id = site[1]["long-act.txt"]
    whole = sum(len(p["text"]) for p in client.get(f"/api/documents/{doc_id}?limit={MAX_LIMIT}").json["passages"])
    r = client.get(f"/api/documents/{doc_id}")
    assert len(r.data) < 100_000 and "по вопросу 999." not in r.get_data(as_text=True)
    assert whole < 200 * 200                    # 200 passages of these short articles
    # The outline comes in pages too: the entries of these passages.
    assert {e["ordinal"] for e in r.json["outline"]} <= set(range(100)) and len(r.json["outline"]) >= 99
    assert [e["ordinal"] for e in client.get(f"/api/documents/{doc_id}?offset=100&limit=10").json["outline"]][:1] == [100]


@pytest.mark.parametrize("qs", ["limit=0", f"limit={MAX_LIMIT + 1}", "limit=x", "offset=-1", "offset=x"])
def test_api_bad_paging_is_400(client, site, qs):
    r = client.get(f"/api/documents/{site[1]['long-act.txt']}?{qs}")
    assert r.status_code == 400 and r.is_json

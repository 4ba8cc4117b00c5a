"""Accounts in a real browser (Playwright + Debian's chromium, as tests/test_browser.py):
anonymous search hides staff documents, a staff member signs in and finds them, five wrong
passwords lock the account, a form posted without its CSRF token is refused."""

from __future__ import annotations

import re
import shutil
import threading

import pytest

from conftest import ROOT
from test_browser import browser, page  # noqa: F401  (fixtures)

PASSWORD = "пароль-сотрудника"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from waitress.server import create_server

    from kb.accounts import Accounts
    from kb.index import update_index
    from kb.web import create_app

    tmp = tmp_path_factory.mktemp("browser-accounts")
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    update_index(corpus, tmp / "index", show_progress=False)
    acc = Accounts(tmp / "index")
    acc.add("anna", PASSWORD, "staff")
    acc.add("boris", PASSWORD, "staff")
    server = create_server(create_app(corpus, tmp / "index"), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def sign_in(pg, site: str, name: str, password: str) -> None:
    pg.goto(site + "/login")
    pg.get_by_label("Имя").fill(name)
    pg.get_by_label("Пароль").fill(password)
    pg.get_by_role("button", name="Войти").click()


def test_anonymous_search_hides_staff_documents_until_staff_signs_in(page, site):  # noqa: F811
    page.goto(site + "/search?q=" + "комендант общежития")
    body = page.locator("main").inner_text()
    assert "Комендант говорит" not in body and "Консультация" not in page.locator("aside, main").first.inner_text()
    page.get_by_role("link", name="Войти").click()
    page.wait_for_url(re.compile(r"/login"))
    page.get_by_label("Имя").fill("anna")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(site + "/")
    assert "anna" in page.locator("header").inner_text()
    page.goto(site + "/search?q=" + "комендант общежития")
    assert "Комендант говорит" in page.locator("main").inner_text()
    page.get_by_role("button", name="Выйти").click()
    page.goto(site + "/search?q=" + "комендант общежития")
    assert "Комендант говорит" not in page.locator("main").inner_text()


def test_five_wrong_passwords_lock_the_account(page, site):  # noqa: F811
    for _ in range(5):
        sign_in(page, site, "boris", "неверный-пароль")
        assert "Неверное имя или пароль" in page.locator("main").inner_text()
    sign_in(page, site, "boris", PASSWORD)
    text = page.locator("main").inner_text()
    assert "заблокирован" in text and re.search(r"попробуйте снова после \d\d:\d\d", text)
    page.goto(site + "/")
    assert "boris" not in page.locator("header").inner_text()


def test_a_form_without_its_csrf_token_is_refused(page, site):  # noqa: F811
    page.goto(site + "/login")
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.get_by_label("Имя").fill("anna")
    page.get_by_label("Пароль").fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as resp:
        page.get_by_role("button", name="Войти").click()
    assert resp.value.status == 400
    assert "CSRF" in page.locator("main").inner_text()
    page.goto(site + "/")
    assert "anna" not in page.locator("header").inner_text()


def _pdf_and_docx(tmp_path):
    import docx

    from pdf_fixtures import _lines, _pdf, fonts_available

    if not fonts_available():
        pytest.skip("needs DejaVuSans for the PDF (scripts/setup --test)")

    def draw(c):
        _lines(c, ["Отчет о мониторинге водопровода", "Жильцы жалуются на ржавчину в трубах водопровода."])
        c.showPage()

    pdf = tmp_path / "vodoprovod.pdf"
    pdf.write_bytes(_pdf(draw))
    d = docx.Document()
    d.add_paragraph("Памятка о лифтах")
    d.add_paragraph("Неисправный лифт ремонтирует управляющая компания за свой счет.")
    path = tmp_path / "lifty.docx"
    d.save(path)
    d2 = docx.Document()
    d2.add_paragraph("Памятка о лифтах, вторая редакция")
    d2.add_paragraph("Эскалаторы и подъемники проверяются раз в год.")
    path2 = tmp_path / "lifty-2.docx"
    d2.save(path2)
    return pdf, path, path2


def _wait_states(pg, n: int, timeout: float = 120_000) -> list[str]:
    pg.wait_for_function(
        "n => { const s = [...document.querySelectorAll('#statuses td.state')].map(x => x.textContent);"
        " return s.length >= n && s.every(t => t === 'в поиске' || t.startsWith('ошибка')); }",
        arg=n, timeout=timeout)
    return pg.locator("#statuses td.state").all_inner_texts()


def test_staff_uploads_pdf_and_docx_sees_them_found_replaces_and_deletes(page, site, tmp_path):  # noqa: F811
    pdf, docx_path, docx2 = _pdf_and_docx(tmp_path)
    sign_in(page, site, "anna", PASSWORD)
    page.get_by_role("link", name="Добавить").click()
    page.wait_for_url(re.compile(r"/upload"))
    assert "До 50 МБ" in page.locator("main").inner_text()
    page.set_input_files("#files", [str(pdf), str(docx_path)])
    page.fill("#folder_new", "uploads")
    page.get_by_role("button", name="Загрузить").click()
    assert _wait_states(page, 2) == ["в поиске", "в поиске"]
    assert page.locator("#progress").get_attribute("value") == "100"
    page.goto(site + "/search?q=ржавчина водопровода")
    assert "Отчет о мониторинге водопровода" in page.locator("main").inner_text()
    page.goto(site + "/search?q=неисправный лифт")
    page.locator("main a[href^='/doc/']").first.click()
    page.get_by_text("Заменить или удалить документ").click()
    page.set_input_files("#replace-file", str(docx2))
    page.get_by_label("Да, заменить").check()
    page.get_by_role("button", name="Заменить").click()
    page.wait_for_url(re.compile(r"/upload"))
    page.wait_for_function("document.body.innerText.includes('в очереди') || document.body.innerText.includes('в поиске')")
    # The replacement is a plain form post: its page lists the file, then the index catches up.
    for _ in range(120):
        page.goto(site + "/api/search?q=эскалаторы")
        if '"total_docs": 1' in page.content() or '"total_docs":1' in page.content():
            break
        page.wait_for_timeout(1000)
    page.goto(site + "/search?q=эскалаторы подъемники")
    page.locator("main a[href^='/doc/']").first.click()
    page.get_by_text("Заменить или удалить документ").click()
    page.get_by_label("Да, удалить").check()
    page.get_by_role("button", name="Удалить").click()
    page.wait_for_url(re.compile(r"/upload\?deleted="))
    for _ in range(120):
        page.goto(site + "/api/search?q=эскалаторы")
        if '"total_docs": 0' in page.content() or '"total_docs":0' in page.content():
            break
        page.wait_for_timeout(1000)
    else:
        raise AssertionError("the deleted document is still found")

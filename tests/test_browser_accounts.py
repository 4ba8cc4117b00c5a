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


def sign_in(page, site: str, name: str, password: str) -> None:
    page.goto(site + "/login")
    page.get_by_label("Имя").fill(name)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


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

"""The attacks of issue 26 against a real `kb serve`: one row per attack (attack, expected, got, OK/FAIL).

    .venv/bin/python bench/security.py [--work /tmp/kb-bench-security] [--json]

Writes its own small collection (TXT, HTML and DOCX documents, each with a marker word of
its own; staff documents marked by sidecars), makes accounts with `kb user add`, indexes it
with `kb index --json`, and starts `kb serve --workers 2` as a child process on a free
loopback port (the semantic layer off, KB_MAX_UPLOAD_MB=1 so that an oversized upload is
cheap to send). A second server, `kb serve --proxy`, with its own folder, takes the
attacks that come through a reverse proxy: they lock logins and fill the audit log, which
must not spill onto the other rows. The client is the standard library's http.client with
its own cookie handling: a cookie can be copied from one client to another, as an attacker
who read it would, and the Secure cookies of `--proxy` are still sent over plain HTTP, as
nginx would pass them on. Exports are read back with openpyxl.

Each row says what issue 26 wants ("expected"), what the server did ("got") and OK or FAIL;
exit 0 only when every row is OK. `--json`: the rows as a JSON list instead of the table.
tests/test_bench_security.py runs it. Under a minute on two cores.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ROWS: list[dict] = []
QUIET = False           # --json: the rows only, at the end

STAFF, STAFF_PW = "staff1", "пароль-сотрудника-1"
ADMIN, ADMIN_PW = "admin1", "пароль-админа-1"
SESSION, SESSION_PW = "sess1", "пароль-сессии-1"
PROXY_USER, PROXY_PW = "proxy1", "пароль-за-прокси-1"
PUBLIC_HOST = "kb.example.org"


# --- the table -------------------------------------------------------------------------

def row(attack: str, expected: str, got: str, ok: bool) -> None:
    ROWS.append({"attack": attack, "expected": expected, "got": got, "pass": bool(ok)})
    if not QUIET:
        print(f"{attack:<36} {expected:<44} {got[:72]:<72} {'OK' if ok else 'FAIL'}", flush=True)


def attempt(attack: str, expected: str, fn) -> None:
    """One row from `fn() -> (got, ok)`; an exception in the bench or an answer it cannot read
    (a 500 page where JSON was due) is that row's FAIL, and the other rows still run."""
    try:
        got, ok = fn()
    except Exception as e:      # noqa: BLE001 - reported in the row
        got, ok = f"error: {type(e).__name__}: {e}"[:200], False
    row(attack, expected, got, ok)


# --- a client ----------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    error: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


@dataclass
class Client:
    """One browser or script: its loopback source address, headers sent with every request
    (a proxy's X-Forwarded-*), and its cookies. Redirects are not followed: a 302 is an answer."""
    port: int
    source: str = "127.0.0.1"
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 120) -> Answer:
        h = {"Host": f"127.0.0.1:{self.port}", **self.headers, **(headers or {})}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(self.source, 0))
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
        except OSError as e:            # a server that hangs up on a large body, say
            return Answer(0, {}, b"", error=f"{type(e).__name__}: {e}")
        finally:
            c.close()
        got: dict[str, str] = {}
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                self._set_cookie(v)
            got[k.lower()] = got[k.lower()] + ", " + v if k.lower() in got else v
        return Answer(r.status, got, data)

    def _set_cookie(self, header: str) -> None:
        first, *attrs = header.split(";")
        name, _, value = first.strip().partition("=")
        attrs = [a.strip().lower() for a in attrs]
        if not value or "max-age=0" in attrs or any(a.startswith("expires=") and "1970" in a for a in attrs):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)

    def post_form(self, path: str, fields: dict, headers: dict | None = None) -> Answer:
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                 **(headers or {})})

    def post_multipart(self, path: str, fields: list[tuple[str, str]], files: list[tuple[str, bytes]],
                       headers: dict | None = None) -> Answer:
        """A form as a browser sends it: field values and file names as raw UTF-8."""
        boundary = "kbbench" + uuid.uuid4().hex
        out = io.BytesIO()
        for name, value in fields:
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            out.write(value.encode("utf-8") + b"\r\n")
        for filename, content in files:
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
                      "Content-Type: application/octet-stream\r\n\r\n".encode("utf-8"))
            out.write(content + b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, out.getvalue(),
                            {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})

    def copy(self) -> Client:
        return Client(self.port, self.source, dict(self.headers), dict(self.cookies))


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not m:
        raise ValueError("no csrf_token in the page")
    return m.group(1)


def sign_in(c: Client, name: str, password: str, headers: dict | None = None) -> Answer:
    token = csrf_of(c.get("/login").text)
    return c.post_form("/login", {"username": name, "password": password, "csrf_token": token}, headers)


def q(text: str) -> str:
    return urllib.parse.quote(text)


def search_docs(c: Client, word: str) -> tuple[int, list[str]]:
    """(status, doc ids) of /api/search for one word, as typed (no spelling correction)."""
    r = c.get(f"/api/search?q={q(word)}&exact=1&per_page=50")
    if r.status != 200:
        return r.status, []
    return 200, [h["doc_id"] for h in r.json().get("hits", [])]


def doc_id_of(staff: Client, word: str) -> str | None:
    return next(iter(search_docs(staff, word)[1]), None)


def anonymous_view(anon: Client, word: str, doc_id: str | None) -> tuple[str, bool]:
    """What an anonymous visitor gets of the document holding `word`: its search, page, original."""
    status, ids = search_docs(anon, word)
    parts = [f"search {status}: {len(ids)} doc" if status == 200 else f"search {status}"]
    ok = status == 200 and not ids
    if doc_id:
        for route in (f"/doc/{doc_id}", f"/file/{doc_id}"):
            s = anon.get(route).status
            parts.append(f"{route.split('/')[1]} {s}")
            ok = ok and s != 200
    else:
        parts.append("no id (not indexed)")
    return ", ".join(parts), ok


def wait_indexed(staff: Client, paths: list[str], timeout: float = 180) -> dict:
    query = "&".join(f"path={q(p)}" for p in paths)
    end = time.monotonic() + timeout
    got: dict = {}
    while time.monotonic() < end:
        r = staff.get(f"/upload/status?{query}")
        if r.status == 200:
            got = r.json()["files"]
            if all(got.get(p, {}).get("status") in ("indexed", "failed", "removed") for p in paths):
                return got
        time.sleep(0.5)
    return got


# --- documents ---------------------------------------------------------------------------

def docx(text: str) -> bytes:
    """A minimal Word document holding `text` (one paragraph)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                   'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
                   '"/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
                   'document.main+xml"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                   'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>' + text + '</w:t></w:r></w:p></w:body>'
                   '</w:document>')
    return buf.getvalue()


def body(marker: str, what: str) -> str:
    # No words of a consultation record: those are staff documents whatever their sidecar says.
    return (f"{what}. Документ о жилищном праве и ремонте многоквартирного дома. "
            f"Проверочное слово {marker}. Текст для проверки доступа.\n")


# The staff documents whose sidecars cannot be read (issue 26, item 1): file -> (sidecar name, text).
BROKEN_SIDECARS = {
    "unclosed quote in title": ("quote.txt", "quote.txt.meta.yml",
                                'access: staff\ntitle: "Записка о выселении\n', "qzleakquote"),
    "unclosed [ list": ("list.txt", "list.txt.meta.yml",
                        "access: staff\ntitle: Записка о списке\ntags: [жильё, суд\n", "qzleaklist"),
    ".meta.json trailing comma": ("comma.txt", "comma.txt.meta.json",
                                  '{"access": "staff", "title": "Записка с запятой",}\n', "qzleakcomma"),
    "unknown type: value": ("type.txt", "type.txt.meta.yml",
                            "access: staff\ntype: меморандумище\n", "qzleaktype"),
}
# Public documents whose titles a spreadsheet would take for a formula (issue 26, item 8).
# Each ends with a word of its own: its cell is found by it, however the export escapes the rest.
FORMULA_TITLES = ["-2+3 Отчёт о расходах", "=cmd|' /C calc'!A0 Отчёт о вызове", "+7 996 Отчёт о звонках",
                  "@SUM(1+1) Отчёт о суммах", "＝1+1 Отчёт полноширинный", "\tТабуляция Отчёт о пробелах",
                  "\rВозврат Отчёт о каретке"]
FORMULA_MARKER = "qzformula"


def write_corpus(corpus: Path, outside: Path) -> None:
    (corpus / "open").mkdir(parents=True)
    (corpus / "open" / "report.txt").write_text(body("qzpublictxt", "Открытый отчёт о работе"), encoding="utf-8")
    (corpus / "open" / "guide.html").write_text(
        "<html><head><title>Памятка жильцу</title></head><body><h1>Памятка жильцу</h1><p>"
        + body("qzpublichtml", "Памятка") + "</p></body></html>", encoding="utf-8")
    (corpus / "open" / "law.docx").write_bytes(docx(body("qzpublicdocx", "Обзор закона")))
    memos = corpus / "memos"
    memos.mkdir()
    # A staff document marked as it should be: the control for sessions and Cache-Control.
    (memos / "good.txt").write_text(body("qzstaffgood", "Служебная записка"), encoding="utf-8")
    (memos / "good.txt.meta.yml").write_text("access: staff\ntitle: Записка для сотрудников\n", encoding="utf-8")
    for name, side, text, marker in BROKEN_SIDECARS.values():
        (memos / name).write_text(body(marker, "Служебная записка"), encoding="utf-8")
        (memos / side).write_text(text, encoding="utf-8")
    sheets = corpus / "sheets"
    sheets.mkdir()
    for i, title in enumerate(FORMULA_TITLES):
        # The text starts with the title too: the snippet and citation cells start as it does.
        (sheets / f"f{i}.txt").write_text(title + "\n\n" + body(FORMULA_MARKER, f"Отчёт номер {i}"),
                                          encoding="utf-8")
        (sheets / f"f{i}.txt.meta.json").write_text(json.dumps({"access": "public", "title": title}),
                                                     encoding="utf-8")
    # A folder of the corpus that is a link to a folder outside it (issue 26, item 6).
    outside.mkdir()
    (corpus / "link").symlink_to(outside, target_is_directory=True)


# --- kb on the command line ----------------------------------------------------------------

def kb_env() -> dict:
    # The children run this checkout's kb, whatever is installed; no vectors (minutes of embedding).
    src = str(ROOT / "src")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": src + (os.pathsep + path if path else ""), "KB_EMBEDDER": "off",
            "KB_MAX_UPLOAD_MB": "1", "PYTHONUNBUFFERED": "1"}


def kb(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=kb_env())


def user_add(index: Path, name: str, password: str, role: str = "staff") -> subprocess.CompletedProcess:
    return kb("user", "add", name, "--role", role, "--index", str(index), stdin=f"{password}\n{password}\n")


def index_report(corpus: Path, index: Path) -> dict:
    r = kb("index", "--corpus", str(corpus), "--index", str(index), "--json", "--quiet", "--no-vectors")
    try:
        return json.loads(r.stdout)
    except ValueError:
        # Not under a key that reported() reads: a crash of kb index is not a report.
        return {"failed": [], "bench_no_json": (r.stderr.strip().splitlines() or ["?"])[-1]}


def reported(report: dict, names: list[str]) -> str | None:
    """How `kb index --json` reports one of `names` as an error: an entry of `failed`, or of any
    list under a key that speaks of errors or access (the shape the fixes give it is theirs)."""
    def walk(node, key: str = ""):
        k = key.lower()
        if k == "failed" or "error" in k or "access" in k:
            for item in (node if isinstance(node, list) else [node]):
                text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
                if any(n in text for n in names):
                    yield f"{key}: {text}"
        elif isinstance(node, dict):
            for sub, v in node.items():
                yield from walk(v, str(sub))
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, key)
    return next(walk(report), None)


# --- the server --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(corpus: Path, index: Path, log: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "kb.cli", "serve", "--corpus", str(corpus), "--index", str(index),
           "--port", str(port), "--workers", "2", "--rescan", "0", *extra]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=kb_env())
    end = time.monotonic() + 180
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"kb serve exited ({proc.returncode}): {log.read_text()[-2000:]}")
        if Client(port).get("/", timeout=5).status == 200:
            return proc, port
        time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"kb serve did not answer in 180 s: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


# --- the attacks on the main server --------------------------------------------------------

def broken_sidecars(anon: Client, staff: Client, report: dict) -> None:
    for attack, (name, side, _, marker) in BROKEN_SIDECARS.items():
        def one(name=name, side=side, marker=marker):
            seen, hidden = anonymous_view(anon, marker, doc_id_of(staff, marker))
            said = reported(report, [f"memos/{name}", side])
            return f"{seen}; index: {said[:60] if said else 'no error reported'}", hidden and bool(said)
        attempt(f"sidecar: {attack}", "hidden from anonymous; kb index: error", one)


def unreadable_uploads(anon: Client, staff: Client) -> None:
    """A staff user's upload whose title the old sidecar writer could not write readably."""
    cases = {"U+2028": "Записка\u2028о выселении", "U+0085": "Записка\u0085о выселении",
             "CR": "Записка\rо выселении"}
    placed = {}
    for i, (what, title) in enumerate(cases.items()):
        marker = f"qzupload{'abc'[i]}"
        token = csrf_of(staff.get("/upload").text)      # the page is there: set-up checked it
        r = staff.post_multipart("/upload", [("csrf_token", token), ("folder_new", "uploads"), ("access", "staff"),
                                             ("title", title)],
                                 [(f"upload-{i}.txt", body(marker, "Загруженная записка").encode())],
                                 headers={"Accept": "application/json"})
        placed[what] = (marker, r)
    paths = [f["path"] for _, r in placed.values() if r.status == 200 and r.headers.get("content-type", "")
             .startswith("application/json") for f in r.json()["files"] if f.get("path")]
    statuses = wait_indexed(staff, paths) if paths else {}
    for what, (marker, r) in placed.items():
        def one(marker=marker, r=r):
            if r.status != 200:
                # Refused at the door is as good as hidden: nothing was written.
                return f"upload refused ({r.status})", r.status in (400, 422)
            path = r.json()["files"][0].get("path", "")
            st = statuses.get(path, {}).get("status", "?")
            seen, hidden = anonymous_view(anon, marker, doc_id_of(staff, marker))
            return f"{st}; {seen}", hidden
        attempt(f"upload title with {what}", "hidden from anonymous", one)


def no_server_paths(anon: Client, corpus: Path, index: Path) -> None:
    def one():
        r = anon.get("/api/documents?limit=1000")
        docs = r.json()["documents"]
        folders = {str(p) for p in (corpus, index, corpus.resolve(), index.resolve(), corpus.parent.resolve())}
        leaking = []
        for d in docs:
            text = anon.get(f"/api/documents/{d['doc_id']}").text
            if any(f in text for f in folders):
                leaking.append(d["path"])
        return (f"{len(leaking)} of {len(docs)} public docs show a path"
                + (f": {', '.join(leaking)[:40]}" if leaking else "")), bool(docs) and not leaking
    attempt("server path in /api/documents/<id>", "no absolute path in any anonymous answer", one)


def replace_keeps_title(staff: Client, index: Path) -> None:
    title = "Записка до замены"
    setup = ""
    try:
        token = csrf_of(staff.get("/upload").text)
        r = staff.post_multipart("/upload", [("csrf_token", token), ("folder_new", "replaced"), ("access", "staff"),
                                             ("title", title)],
                                 [("replace-me.txt", body("qzoldversion", "Первая версия").encode())],
                                 headers={"Accept": "application/json"})
        path = r.json()["files"][0]["path"]
        wait_indexed(staff, [path])
        doc_id = doc_id_of(staff, "qzoldversion")
        # The replace form of the document's page, with an access choice (as the upload form offers it).
        token = csrf_of(staff.get(f"/doc/{doc_id}").text)
        r = staff.post_multipart("/upload", [("csrf_token", token), ("replace_doc", doc_id), ("confirm", "1"),
                                             ("access", "staff")],
                                 [("new-version.txt", body("qznewversion", "Вторая версия").encode())],
                                 headers={"Accept": "application/json"})
        got = r.json()["files"][0]
        wait_indexed(staff, [got.get("path", path)])
    except Exception as e:          # noqa: BLE001 - both rows say it
        setup = f"the upload or the replace failed: {type(e).__name__}: {e}"

    def title_kept():
        if setup:
            return setup, False
        new = doc_id_of(staff, "qznewversion")
        shown = staff.get(f"/api/documents/{new}").json()["title"] if new else "(not found)"
        return f"title «{shown}»", shown == title

    def in_trash():
        if setup:
            return setup, False
        trash = index / "trash"
        old = [p for p in trash.rglob("*") if p.is_file() and "qzoldversion" in p.read_text("utf-8", "replace")] \
            if trash.is_dir() else []
        return (f"old version in trash: {old[0].relative_to(index)}" if old else "old version not in the trash"), \
            bool(old)

    attempt("replace: title kept", f"title «{title}»", title_kept)
    attempt("replace: old version to trash", "old file in INDEX/trash", in_trash)


def cache_control(staff: Client, staff_doc: str) -> None:
    routes = {"/doc/<id>": f"/doc/{staff_doc}", "/api/documents/<id>": f"/api/documents/{staff_doc}",
              "/export?q=": "/export?q=qzstaffgood&format=csv", "/search?q=": "/search?q=qzstaffgood",
              "/me": "/me", "/upload": "/upload", "/file/<id>": f"/file/{staff_doc}"}
    for label, route in routes.items():
        def one(route=route):
            r = staff.get(route)
            cc = r.headers.get("cache-control", "")
            words = {w.strip().lower() for w in cc.split(",")}
            return f"{r.status}, Cache-Control: {cc or '(none)'}", r.status == 200 and {"private", "no-store"} <= words
        attempt(f"Cache-Control {label}", "private, no-store (signed-in staff)", one)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def title_cell(cells, title: str):
    return next((c for c in cells if title.split()[-1] in str(c.value if hasattr(c, "value") else c)), None)


def exports(anon: Client) -> None:
    r = anon.get(f"/export?q={FORMULA_MARKER}&format=csv&exact=1")
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig", "replace"), newline=""))) if r.status == 200 else []
    head = rows[0] if rows else []
    cells = [c for rw in rows[1:] for c in rw]
    titles = [rw[head.index("Документ")] for rw in rows[1:]] if "Документ" in head else []
    for title in FORMULA_TITLES:
        if title[0].isspace():
            continue
        def one(title=title):
            if r.status != 200:
                return f"export {r.status}", False
            cell = title_cell(titles, title)
            if cell is None:
                return "title not in the export", False
            return f"cell {cell!r}", cell[:2] == "'" + title[0]
        attempt(f"CSV cell {title[:10]!r}", "starts with ' (neutralised)", one)

    def blank_led():
        # kb tidies the white space of titles and passages when it indexes them: a tab or CR
        # that leads a title (sidecar) or a text does not reach a cell. Said, and checked.
        led = [t for t in FORMULA_TITLES if t[0].isspace()]
        arrived = [c for c in (title_cell(titles, t) for t in led) if c is not None]
        bad = [c for c in cells if c.startswith(("\t", "\r"))]
        return (f"titles arrive as {', '.join(repr(t) for t in arrived)[:44]}; {len(bad)} cells start with tab/CR"), \
            r.status == 200 and len(arrived) == len(led) and not bad
    attempt("CSV: tab/CR-led titles", "no cell starts with tab or CR", blank_led)

    def every_cell():
        bad = [c for c in cells if c.startswith(_FORMULA_START)]
        return (f"{len(cells)} cells, {len(bad)} formula-like" + (f": {bad[0][:30]!r}" if bad else "")), \
            r.status == 200 and bool(cells) and not bad
    attempt("CSV: every cell", "no cell starts with = + - @ tab CR", every_cell)

    def xlsx():
        from openpyxl import load_workbook

        x = anon.get(f"/export?q={FORMULA_MARKER}&format=xlsx&exact=1")
        if x.status != 200:
            return f"export {x.status}", False
        ws = load_workbook(io.BytesIO(x.body)).worksheets[0]
        head = [c.value for c in next(ws.iter_rows(max_row=1))]
        col = head.index("Документ")
        got = [cells[col] for cells in ws.iter_rows(min_row=2)]
        bad = []
        for title in FORMULA_TITLES:
            c = title_cell(got, title)
            # A string cell that shows what the title says: its first character, no apostrophe before it
            # (a tab or CR that leads a title does not survive indexing: the next character then).
            if c is None or c.data_type != "s" or str(c.value)[:1] != title.strip()[:1]:
                bad.append(repr(c.value) if c is not None else f"{title[:8]!r} missing")
        return (f"{len(got)} title cells, {len(bad)} wrong" + (f": {', '.join(bad)[:50]}" if bad else "")), not bad
    attempt("XLSX formula-like titles", "text cells, no visible '", xlsx)


def oversized(staff: Client, public_doc: str) -> None:
    def post():
        token = csrf_of(staff.get("/").text)
        r = staff.post_form(f"/doc/{public_doc}/delete", {"csrf_token": token, "note": "x" * 80_000})
        return f"{r.status or r.error}", r.status == 413

    def upload():
        token = csrf_of(staff.get("/upload").text)
        r = staff.post_multipart("/upload", [("csrf_token", token), ("folder_new", "big")],
                                 [("big.txt", b"x" * (6 * 1024 * 1024))], headers={"Accept": "application/json"})
        return f"{r.status or r.error}", r.status == 413

    attempt("signed in: POST of 80 KB", "413", post)
    attempt("upload body of 6 MB (limit 1 MB)", "413", upload)


def upload_refusals(anon: Client, staff: Client, corpus: Path, outside: Path) -> None:
    def send(folder: str, name: str, marker: str) -> Answer:
        token = csrf_of(staff.get("/upload").text)
        return staff.post_multipart("/upload", [("csrf_token", token), ("folder_new", folder)],
                                    [(name, body(marker, "Файл").encode())], headers={"Accept": "application/json"})

    def long_folder():
        folder = "№" * 100          # 100 characters, 300 bytes: past the 255 bytes a file system allows
        r = send(folder, "long.txt", "qzlongfolder")
        return f"{r.status}", r.status == 400

    def symlink():
        before = sorted(p.name for p in outside.rglob("*"))
        r = send("link/внутри", "out.txt", "qzoutside")
        after = sorted(p.name for p in outside.rglob("*"))
        made = [n for n in after if n not in before]
        return f"{r.status}; created outside: {', '.join(made) or 'nothing'}", r.status == 400 and not made

    def rtl():
        name = "счёт\u202efdp.txt"        # shown as «счётtxt.pdf»
        r = send("rtl", name, "qzrtlname")
        written = (corpus / "rtl" / name).exists()
        return f"{r.status}; file {'written' if written else 'not written'}", r.status == 400 and not written

    def anonymous_json():
        c = anon.copy()
        token = csrf_of(c.get("/login").text)      # an anonymous session has a CSRF token too
        r = c.post_multipart("/upload", [("csrf_token", token)], [("anon.txt", b"text")],
                             headers={"Accept": "application/json"})
        kind = r.headers.get("content-type", "").split(";")[0]
        return f"{r.status} {kind}", r.status == 401 and kind == "application/json"

    attempt("upload folder name of 300 bytes", "400", long_folder)
    attempt("upload through a symlinked folder", "400, nothing created outside", symlink)
    attempt("RTL override in a file name", "400, not written", rtl)
    attempt("anonymous upload, Accept: JSON", "401 application/json", anonymous_json)


def sessions(port: int, index: Path, staff_doc: str) -> None:
    password = [SESSION_PW]         # the account's password now (kb user passwd changes it)

    def after(action) -> tuple[str, bool]:
        c = Client(port)
        if sign_in(c, SESSION, password[0]).status != 302:
            return "could not sign in", False
        copied = c.copy()
        action(c)
        me, doc = copied.get("/me").status, copied.get(f"/doc/{staff_doc}").status
        return f"old cookie: /me {me}, staff /doc {doc}", me != 200 and doc != 200

    def logout(c: Client) -> None:
        c.post_form("/logout", {"csrf_token": csrf_of(c.get("/me").text)})

    def passwd(c: Client) -> None:
        new = SESSION_PW + "-new"
        r = kb("user", "passwd", SESSION, "--index", str(index), stdin=f"{new}\n{new}\n")
        if r.returncode == 0:
            password[0] = new

    attempt("session cookie after logout", "refused (not 200)", lambda: after(logout))
    attempt("session cookie after kb user passwd", "refused (not 200)", lambda: after(passwd))


def look_alikes(index: Path) -> None:
    for attack, name in (("account аdmin1 (Cyrillic а)", "\u0430dmin1"), ("account ＡＤＭＩＮ1 (full width)", "ＡＤＭＩＮ1"),
                         ("account Staff1 beside staff1", "Staff1")):
        def one(name=name):
            r = user_add(index, name, "пароль-двойника-1")
            names = [u["name"] for u in json.loads(kb("user", "list", "--json", "--index", str(index)).stdout)]
            said = (r.stderr.strip().splitlines() or [""])[-1].removeprefix("kb: ошибка: ")
            made = name in names
            return (f"exit {r.returncode}, " + ("account created" if made else f"refused: {said[:50]}")), \
                r.returncode != 0 and not made
        attempt(attack, "refused, no account", one)


def bad_rules(anon: Client, staff: Client, corpus: Path, index: Path) -> None:
    """Last on this server: a rules file that does not parse is read at every request, and on
    today's kb it breaks more than the folder it was about."""
    closed = corpus / "закрытое"
    closed.mkdir()
    (closed / "rules.txt").write_text(body("qzleakrules", "Записка закрытой папки"), encoding="utf-8")
    (corpus / ".kbaccess").write_text("staff: закрытое/\nсотрудникам: черновики/\n", encoding="utf-8")
    report = index_report(corpus, index)

    def one():
        seen, hidden = anonymous_view(anon, "qzleakrules", doc_id_of(staff, "qzleakrules"))
        said = reported(report, [".kbaccess", "закрытое/rules.txt"])
        return f"{seen}; index: {said[:60] if said else 'no error reported'}", hidden and bool(said)
    attempt(".kbaccess: unknown rule line", "hidden from anonymous; kb index: error", one)


def main_server(work: Path) -> None:
    corpus, index, outside = work / "corpus", work / "index", work / "outside"
    write_corpus(corpus, outside)
    for name, pw, role in ((STAFF, STAFF_PW, "staff"), (ADMIN, ADMIN_PW, "admin"), (SESSION, SESSION_PW, "staff")):
        r = user_add(index, name, pw, role)
        if r.returncode:
            raise SystemExit(f"kb user add {name}: {r.stderr}")
    # The first build's report: it is the one that must name the unreadable sidecars.
    report = index_report(corpus, index)
    proc, port = start_server(corpus, index, work / "serve.log")
    try:
        anon, staff = Client(port), Client(port)
        if sign_in(staff, STAFF, STAFF_PW).status != 302:
            raise SystemExit("staff1 could not sign in")
        staff_doc, public_doc = doc_id_of(staff, "qzstaffgood"), doc_id_of(anon, "qzpublictxt")
        if not staff_doc or not public_doc:
            raise SystemExit(f"the control documents are not indexed: {report}")
        groups = [(broken_sidecars, anon, staff, report), (unreadable_uploads, anon, staff),
                  (no_server_paths, anon, corpus, index), (replace_keeps_title, staff, index),
                  (cache_control, staff, staff_doc), (exports, anon), (oversized, staff, public_doc),
                  (upload_refusals, anon, staff, corpus, outside), (sessions, port, index, staff_doc),
                  (look_alikes, index), (bad_rules, anon, staff, corpus, index)]
        for fn, *args in groups:
            # A group whose set-up breaks is one FAIL row; the groups after it still run.
            try:
                fn(*args)
            except Exception as e:      # noqa: BLE001 - reported in the row
                row(f"{fn.__name__}: set-up", "runs", f"{type(e).__name__}: {e}"[:300], False)
    finally:
        stop(proc)


# --- the attacks through a reverse proxy -----------------------------------------------------

def forwarded(address: str) -> dict:
    # What nginx sends (docs/usage.md): the client, the scheme and the public name. The Host it
    # passes on is the upstream's (127.0.0.1:PORT); a browser's Referer names the public site.
    return {"X-Forwarded-For": address, "X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC_HOST,
            "Referer": f"https://{PUBLIC_HOST}/login"}


def proxy_server(work: Path) -> None:
    corpus, index = work / "proxy-corpus", work / "proxy-index"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"doc{i}.txt").write_text(body(f"qzproxy{'abc'[i]}", f"Открытый отчёт {i}") + "Жилищное право.\n",
                                             encoding="utf-8")
    if user_add(index, PROXY_USER, PROXY_PW).returncode:
        raise SystemExit("kb user add proxy1 failed")
    proc, port = start_server(corpus, index, work / "serve-proxy.log", "--proxy", "--allowed-host", PUBLIC_HOST)
    # Forwarded client addresses are only header values: all traffic stays on 127.0.0.1.
    addr = lambda group, n: f"127.77.{group}.{n}"  # noqa: E731
    try:
        def feed():
            r = Client(port, headers=forwarded(addr(3, 1))).get("/feed?q=" + q("жилищное"))
            links = re.findall(r'(?:href="|<id>)([^"<]+)', r.text)
            wrong = [u for u in links if not u.startswith(f"https://{PUBLIC_HOST}/")]
            return (f"{r.status}, {len(links)} links" + (f", e.g. {wrong[0][:45]}" if wrong else ", all public")), \
                r.status == 200 and bool(links) and not wrong
        attempt("proxy: /feed links", f"https://{PUBLIC_HOST}/...", feed)

        def crowd():
            clients, per = 16, 3
            barrier = threading.Barrier(clients * per, timeout=60)     # all at once, never stuck
            statuses: dict[int, list[int]] = {i: [] for i in range(clients)}
            lock = threading.Lock()

            def one(i: int) -> None:
                c = Client(port, headers=forwarded(addr(2, i + 1)))
                barrier.wait()
                s = c.get("/api/search?q=" + q("за* пе* по* жилищное")).status
                with lock:
                    statuses[i].append(s)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(clients) for _ in range(per)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            refused = [sum(s == 429 for s in v) for v in statuses.values()]
            other = sorted({s for v in statuses.values() for s in v} - {200, 429})
            return (f"{sum(refused)} of {clients * per} refused (most for one client: {max(refused)})"
                    + (f", other: {other}" if other else "")), max(refused) <= per - 2 and not other
        attempt("proxy: 16 clients x 3 searches", "at most 1 refused per client (limit 2)", crowd)

        failed = [addr(1, i + 1) for i in range(21)]

        def lockout():
            codes = []
            for i, a in enumerate(failed):
                codes.append(sign_in(Client(port, headers=forwarded(a)), f"nobody{i}", "неверный-пароль").status)
            ok = sign_in(Client(port, headers=forwarded(addr(1, 100))), PROXY_USER, PROXY_PW).status
            seen = ", ".join(f"{n}x{s}" for s, n in sorted({s: codes.count(s) for s in codes}.items()))
            return f"failed: {seen}; correct from a 22nd address: {ok}", ok == 302
        attempt("proxy: 21 addresses fail to log in", "a correct login from a 22nd: 302", lockout)

        def audit():
            r = kb("audit", "--index", str(index), "--json", "--limit", "1000")
            events = json.loads(r.stdout)
            addresses = {e["address"] for e in events if e["action"] == "login.failed"}
            signed = {e["address"] for e in events if e["action"] == "login"}
            missing = [a for a in failed if a not in addresses]
            return (f"login.failed from {len(addresses)} address(es) {sorted(addresses)[:2]}, login from "
                    f"{sorted(signed)}"), not missing and addr(1, 100) in signed
        attempt("proxy: audit log address", "the forwarded addresses", audit)
    finally:
        stop(proc)


def main() -> int:
    global QUIET
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-bench-security"))
    ap.add_argument("--json", action="store_true", help="the rows as JSON (attack, expected, got, pass)")
    args = ap.parse_args()
    QUIET = args.json
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    work = args.work.resolve()
    t = time.monotonic()
    if not QUIET:
        print(f"{'attack':<36} {'expected':<44} {'got':<72} pass", flush=True)
    for phase, what in ((main_server, "kb serve"), (proxy_server, "kb serve --proxy")):
        # A server that does not start, or a step the other rows need, is one FAIL row: the
        # other phase still runs and the table (or the JSON) is still printed.
        try:
            phase(work)
        except (SystemExit, Exception) as e:      # noqa: BLE001 - reported in the row
            row(f"{what}: set-up", "starts, signs in, indexes", f"{type(e).__name__}: {e}"[:300], False)
    failed = [r for r in ROWS if not r["pass"]]
    if QUIET:
        json.dump(ROWS, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        print(f"\n{len(ROWS) - len(failed)} of {len(ROWS)} attacks held ({time.monotonic() - t:.0f} s)")
    return 1 if failed or not ROWS else 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of authentication per request: the same cheap request anonymous, with a signed-in
session, and with an API token; and the cost of hiding staff documents in a search.

On the demo corpus (corpus/, its consultation records are staff documents) indexed into
--work, through the WSGI app in this process (no network, so the differences are kb's own):

    .venv/bin/python bench/auth.py [--work /tmp/kb-bench-auth] [--n 400]

Prints p50/p95 in ms of GET /api/documents/<unknown id> (a 404 that reads nothing: what is
left is routing, the session or token, the audience) for each kind of caller, the p50 cost
over anonymous, and p50 of /api/search for the public (staff passages masked) and for staff.
Target (issue 13): authentication under 2 ms at p50.

Then 8 clients at once on a real waitress server (each from its own loopback address): 4 upload
files with a staff token while 4 search; prints requests, errors and p50/p95, and checks that
every uploaded file is found once indexing has finished. Target: 0 errors.
"""

from __future__ import annotations

import argparse
import http.client
import re
import threading
import urllib.parse
import uuid
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timed(client, url: str, n: int, **kw) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url, **kw)
        r.get_data()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-bench-auth"))
    ap.add_argument("--n", type=int, default=400)
    args = ap.parse_args()

    from kb.accounts import Accounts
    from kb.index import update_index
    from kb.web import create_app

    corpus, index = args.work / "corpus", args.work / "index"
    if not corpus.exists():
        shutil.copytree(ROOT / "corpus", corpus)
    update_index(corpus, index, show_progress=False)
    acc = Accounts(index)
    if acc.get("bench") is None:
        acc.add("bench", "пароль-для-замера", "staff")
    token = acc.create_token("bench")
    app = create_app(corpus, index, max_per_client=0)

    anon = app.test_client()
    session = app.test_client()
    page = session.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert session.post("/login", data={"username": "bench", "password": "пароль-для-замера",
                                        "csrf_token": csrf}).status_code == 302
    url = "/api/documents/no-such-document"
    bearer = {"headers": {"Authorization": f"Bearer {token}"}}
    rows = {}
    for _ in range(2):           # the first round warms up
        rows = {"anonymous": timed(anon, url, args.n), "session": timed(session, url, args.n),
                "token": timed(anon, url, args.n, **bearer)}
    base = statistics.median(rows["anonymous"])
    print(f"GET {url} x {args.n} (Flask test client, in process)")
    print(f"{'caller':<10} {'p50 ms':>7} {'p95 ms':>7} {'p50 cost':>9}")
    for name, xs in rows.items():
        print(f"{name:<10} {pct(xs, 50):7.2f} {pct(xs, 95):7.2f} {statistics.median(xs) - base:9.2f}")

    # The work itself, without Flask around it: what a token or a session adds to a request.
    uid = acc.get("bench").id
    for name, fn in (("token check (sha256 + SQLite)", lambda: acc.check_token(token)),
                     ("session user (SQLite by id)", lambda: acc.by_id(uid))):
        xs = []
        for _ in range(args.n * 5):
            t0 = time.perf_counter()
            fn()
            xs.append((time.perf_counter() - t0) * 1000)
        print(f"{name:<32} p50 {pct(xs, 50) * 1000:.0f} us, p95 {pct(xs, 95) * 1000:.0f} us")

    q = "/api/search?q=выселение%20из%20общежития"
    for _ in range(2):
        pub, staff = timed(anon, q, args.n // 4), timed(anon, q, args.n // 4, **bearer)
    print(f"\n{q} x {args.n // 4}")
    print(f"public (staff passages masked) p50 {pct(pub, 50):.2f} ms, p95 {pct(pub, 95):.2f}")
    print(f"staff token                    p50 {pct(staff, 50):.2f} ms, p95 {pct(staff, 95):.2f}")
    concurrent(corpus, index, token)
    return 0


def request(port: int, source: str, method: str, path: str, body: bytes = b"", headers=None) -> tuple[float, int, bytes]:
    t0 = time.perf_counter()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        c.request(method, path, body=body or None, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        status = r.status
        c.close()
    except OSError:
        status, data = 0, b""
    return (time.perf_counter() - t0) * 1000, status, data


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"folder\"\r\n\r\nbench\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def concurrent(corpus: Path, index: Path, token: str, uploads_each: int = 5, searches_each: int = 25) -> None:
    from waitress.server import create_server

    from kb.web import create_app

    server = create_server(create_app(corpus, index), host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    port = server.effective_port
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    times, statuses, words = [], [], []
    lock = threading.Lock()

    def uploader(n: int) -> None:
        for i in range(uploads_each):
            word = f"benchword{n}q{i}z"          # Latin: no Russian stemming joins two of them
            body, ctype = multipart(f"bench-{n}-{i}-{uuid.uuid4().hex[:6]}.txt",
                                    f"Проверка загрузки {word}.\n".encode())
            ms, status, _ = request(port, f"127.0.0.{10 + n}", "POST", "/upload", body,
                                    {**auth, "Content-Type": ctype})
            with lock:
                times.append(ms)
                statuses.append(status)
                words.append(word)

    def searcher(n: int) -> None:
        for i in range(searches_each):
            q = urllib.parse.quote(["выселение", "общежитие суд", "жилье", "договор найма"][i % 4])
            ms, status, _ = request(port, f"127.0.0.{20 + n}", "GET", f"/api/search?q={q}")
            with lock:
                times.append(ms)
                statuses.append(status)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=uploader, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=searcher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    errors = sum(1 for s in statuses if s != 200)
    print(f"\n8 clients (4 uploading {uploads_each} files, 4 searching {searches_each} times): "
          f"{len(statuses)} requests in {wall:.1f} s, errors {errors}, p50 {pct(times, 50):.0f} ms, "
          f"p95 {pct(times, 95):.0f} ms")
    found, deadline = 0, time.time() + 300
    while time.time() < deadline:
        found = 0
        for w in words:
            _, status, data = request(port, "127.0.0.2", "GET", f"/api/search?q={urllib.parse.quote(w)}",
                                      headers={"Authorization": f"Bearer {token}"})
            found += status == 200 and b'"total_docs":0' not in data.replace(b" ", b"")
        if found == len(words):
            break
        time.sleep(2)
    print(f"uploaded files found after indexing: {found} of {len(words)} ({time.perf_counter() - t0:.0f} s)")
    server.close()


if __name__ == "__main__":
    sys.exit(main())

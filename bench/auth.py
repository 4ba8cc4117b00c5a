"""Cost of authentication per request: the same cheap request anonymous, with a signed-in
session, and with an API token; and the cost of hiding staff documents in a search.

On the demo corpus (corpus/, its consultation records are staff documents) indexed into
--work, through the WSGI app in this process (no network, so the differences are kb's own):

    .venv/bin/python bench/auth.py [--work /tmp/kb-bench-auth] [--n 400]

Prints p50/p95 in ms of GET /api/documents/<unknown id> (a 404 that reads nothing: what is
left is routing, the session or token, the audience) for each kind of caller, the p50 cost
over anonymous, and p50 of /api/search for the public (staff passages masked) and for staff.
Target (issue 13): authentication under 2 ms at p50.
"""

from __future__ import annotations

import argparse
import re
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
    return 0


if __name__ == "__main__":
    sys.exit(main())

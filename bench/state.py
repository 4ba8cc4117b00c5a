"""What keeping a team server's state in PostgreSQL costs per request, against the SQLite files.

    .venv/bin/python bench/state.py [--requests 400] [--url postgresql://...]

Without --url it starts a throwaway cluster (tests/pgcluster.py: Debian's initdb and pg_ctl,
a Unix socket in a temporary folder). For each backend, over a tiny index:
- the state operations a request makes: the session's account (Accounts.by_id, every request
  of a signed-in person), an API token (check_token, every API request with one), a login
  counter (CounterStorage.incr, every failed login), an audit event (AuditLog.add);
- whole requests through Flask's test client: the home page and a search of the API,
  anonymous (no state touched), signed in (session checked), and with a token.
Prints the median microseconds of each, and the difference a backend makes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
os.environ.setdefault("KB_EMBEDDER", "off")

PW = "пароль-для-замера"


def timed(fn, n: int) -> float:
    """Median microseconds of `fn()` over `n` calls (after 20 to warm up)."""
    for _ in range(20):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def measure(base: Path, n: int) -> dict[str, float]:
    from kb.accounts import Accounts
    from kb.audit import AuditLog
    from kb.index import update_index
    from kb.web import create_app, limitstore

    corpus, index = base / "corpus", base / "index"
    corpus.mkdir(parents=True)
    for i in range(20):
        (corpus / f"d{i}.txt").write_text(f"Отчёт {i} о выселении из общежития и праве на жильё.\n", encoding="utf-8")
    update_index(corpus, index, show_progress=False, workers=1)
    acc = Accounts(index)
    user = acc.add("bench", PW, "staff")
    token = acc.create_token("bench")
    counters = limitstore.CounterStorage(limitstore.uri(index))
    log = AuditLog(index)
    out = {
        "Accounts.by_id (session)": timed(lambda: acc.by_id(user.id), n),
        "Accounts.check_token": timed(lambda: acc.check_token(token), n),
        "CounterStorage.incr (login limit)": timed(lambda: counters.incr("bench", 900), n),
        "AuditLog.add": timed(lambda: log.add("bench", actor="bench"), n),
    }
    app = create_app(corpus, index)
    app.testing = True
    anon = app.test_client()
    signed = app.test_client()
    import re

    tok = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', signed.get("/login").get_data(as_text=True))[1]
    assert signed.post("/login", data={"username": "bench", "password": PW, "csrf_token": tok}).status_code == 302
    bearer = {"Authorization": f"Bearer {token}"}
    for label, client, headers in (("anonymous", anon, {}), ("signed in", signed, {}), ("token", anon, bearer)):
        out[f"GET / ({label})"] = timed(lambda: client.get("/", headers=headers).close(), n)
        out[f"GET /api/search ({label})"] = timed(
            lambda: client.get("/api/search?q=выселение", headers=headers).close(), n)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400, help="calls of each kind (default 400)")
    ap.add_argument("--url", help="an empty PostgreSQL database to use (default: a throwaway cluster)")
    args = ap.parse_args()
    cluster = None
    url = args.url
    if url is None:
        from pgcluster import Cluster, bindir

        if bindir() is None:
            sys.exit("PostgreSQL's server is not installed: apt-get install postgresql (or give --url)")
        cluster = Cluster(bindir())
        url = cluster.new_database()
    try:
        results = {}
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.pop("KB_DATABASE_URL", None)
            results["sqlite"] = measure(Path(tmp) / "sqlite", args.requests)
            os.environ["KB_DATABASE_URL"] = url
            results["postgresql"] = measure(Path(tmp) / "pg", args.requests)
        print(f"median µs per call, {args.requests} calls each (PostgreSQL over a Unix socket, pool of "
              f"{os.environ.get('KB_DATABASE_POOL', '10')})")
        print(f"{'':38} {'SQLite':>9} {'PostgreSQL':>11} {'difference':>11}")
        for k in results["sqlite"]:
            a, b = results["sqlite"][k], results["postgresql"][k]
            print(f"{k:38} {a:9.0f} {b:11.0f} {b - a:+11.0f}")
    finally:
        if cluster is not None:
            cluster.destroy()


if __name__ == "__main__":
    main()

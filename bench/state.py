"""What keeping a team server's state in PostgreSQL costs per request, against the SQLite files.

    .venv/bin/python bench/state.py [--requests 400] [--url postgresql://...]

Without --url it starts a throwaway cluster (tests/pgcluster.py: Debian's initdb and pg_ctl,
a Unix socket in a temporary folder). For each backend, over a tiny index:
- the state operations a request makes: the session's account (Accounts.by_id, every request
  of a signed-in person), an API token (check_token, every API request with one), a login
  counter (CounterStorage.incr, every failed login), an audit event (AuditLog.add);
- whole requests through Flask's test client: the home page and a search of the API,
  anonymous (no state touched), signed in (session checked), and with a token.
Prints the median and 10th percentile microseconds of each, and the difference a backend makes. The cluster
writes durably (fsync on, as SQLite's commits are), unlike the tests' cluster.
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


def timed(fn, n: int) -> tuple[float, float]:
    """(median, 10th percentile) microseconds of `fn()` over `n` calls (after 10 to warm up).
    The 10th percentile is the cost with the least interference from the machine's other load."""
    for _ in range(10):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1e6, times[len(times) // 10] * 1e6


def prepare(base: Path) -> dict:
    """The calls to time over a new server folder, each store already opened on this
    process's backend (they keep it: the other backend's calls can be timed in turn)."""
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
    counters.incr("bench", 900)
    log.add("bench", actor="bench")
    out = {
        "Accounts.by_id (session)": lambda: acc.by_id(user.id),
        "Accounts.check_token": lambda: acc.check_token(token),
        "CounterStorage.incr (login limit)": lambda: counters.incr("bench", 900),
        "AuditLog.add": lambda: log.add("bench", actor="bench"),
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
        out[f"GET /docs ({label})"] = lambda c=client, h=headers: c.get("/docs", headers=h).close()
        out[f"GET /api/search ({label})"] = \
            lambda c=client, h=headers: c.get("/api/search?q=выселение", headers=h).close()
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
        cluster = Cluster(bindir(), durable=True)
        url = cluster.new_database()
    try:
        results: dict[str, dict[str, float]] = {"sqlite": {}, "postgresql": {}}
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.pop("KB_DATABASE_URL", None)
            calls = {"sqlite": prepare(Path(tmp) / "sqlite")}
            os.environ["KB_DATABASE_URL"] = url
            calls["postgresql"] = prepare(Path(tmp) / "pg")
            # Each kind timed on both backends in turn, three rounds, the best median kept: the
            # machine's other load falls on both alike.
            for key in calls["sqlite"]:
                for _ in range(3):
                    for backend in ("sqlite", "postgresql"):
                        t = timed(calls[backend][key], args.requests // 3)
                        old = results[backend].get(key, t)
                        results[backend][key] = (min(old[0], t[0]), min(old[1], t[1]))
        print(f"µs per call, {args.requests} calls each (PostgreSQL over a Unix socket, pool of "
              f"{os.environ.get('KB_DATABASE_POOL', '10')}; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores)")
        print(f"{'':38} {'SQLite':>15} {'PostgreSQL':>15} {'difference':>15}")
        print(f"{'':38} {'median':>7} {'p10':>7} {'median':>7} {'p10':>7} {'median':>7} {'p10':>7}")
        for k in results["sqlite"]:
            (a, a10), (b, b10) = results["sqlite"][k], results["postgresql"][k]
            print(f"{k:38} {a:7.0f} {a10:7.0f} {b:7.0f} {b10:7.0f} {b - a:+7.0f} {b10 - a10:+7.0f}")
    finally:
        if cluster is not None:
            cluster.destroy()


if __name__ == "__main__":
    main()

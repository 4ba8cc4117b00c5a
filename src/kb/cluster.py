"""Several `kb serve` nodes: one indexer, followers that copy its published index over HTTP.

    cluster_key()                  -> the shared secret of the nodes (KB_CLUSTER_SECRET[_FILE]) or None
    Source(url)                    -> the indexer as kb.index.replica.sync reads it
    follow_forever(index_dir, url) -> the follower's loop (a thread of `kb serve --follow URL`)
    forward(url, method, path, ...)-> a request passed on to the indexer (uploads made on a follower)

Between nodes every request carries the secret in `X-KB-Cluster-Key`: the index holds staff-only
documents, so the endpoints that describe and hand out its files answer only a caller that knows
it, and a server without a secret has no such endpoints (fail closed). HTTP by `requests`: its
streamed downloads, multipart bodies and connection pooling are what a follower needs, and it
is maintained; urllib would need each written by hand.
"""

from __future__ import annotations

import hmac
import os
import sys
import time
from pathlib import Path

from kb.errors import IndexLocked, KbError

HEADER = "X-KB-Cluster-Key"
ON_BEHALF = "X-KB-On-Behalf"           # the account a follower acts for (forwarded uploads)
CLIENT = "X-KB-Client-Address"         # the address the follower saw the person come from
MIN_SECRET = 32
TIMEOUT = (5.0, 60.0)                  # connect, read (a large segment on a slow link)
EVERY = 2.0                            # seconds between rounds of a follower


def cluster_key() -> str | None:
    """The cluster secret: $KB_CLUSTER_SECRET, or the first line of $KB_CLUSTER_SECRET_FILE.
    None when neither is set; a KbError when it is too short to guess-proof or unreadable."""
    raw = os.environ.get("KB_CLUSTER_SECRET", "").strip()
    name = "KB_CLUSTER_SECRET"
    path = os.environ.get("KB_CLUSTER_SECRET_FILE", "").strip()
    if path and not raw:
        name = f"KB_CLUSTER_SECRET_FILE ({path})"
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise KbError(f"{name}: файл ключа кластера не читается: {getattr(e, 'strerror', e)} "
                          "(cluster secret file unreadable)") from None
        raw = text.splitlines()[0].strip() if text else ""
    if not raw:
        return None
    if len(raw) < MIN_SECRET:
        raise KbError(f"{name}: ключ кластера короче {MIN_SECRET} знаков; создайте длинный, например "
                      "`python3 -c 'import secrets; print(secrets.token_hex(32))'` (cluster secret too short)")
    return raw


def key_matches(given: str | None, key: str | None) -> bool:
    """Fail closed: no key configured, or none given, is a refusal."""
    if not key or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), key.encode("utf-8"))


def check_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise KbError(f"--follow {url}: нужен адрес сервера-индексатора вида http://индексатор:5000 "
                      "(expected the indexer's base URL)")
    return url.strip().rstrip("/")


def _session(key: str):
    import requests

    s = requests.Session()
    s.headers[HEADER] = key
    s.trust_env = False             # a proxy of the environment must not see the cluster secret
    return s


def _failure(url: str, e: Exception) -> KbError:
    from kb.index.replica import SyncError

    return SyncError(f"индексатор {url} недоступен: {type(e).__name__} (indexer unreachable)")


def _refused(url: str, status: int) -> KbError:
    from kb.index.replica import SyncError

    if status == 404:
        return SyncError(f"индексатор {url} не отдаёт индекс: на нём не задан KB_CLUSTER_SECRET "
                         "(cluster endpoints off on the indexer)")
    if status in (401, 403):
        return SyncError(f"индексатор {url} отказал: ключ кластера не совпадает с его KB_CLUSTER_SECRET "
                         "(cluster secret refused)")
    return SyncError(f"индексатор {url} ответил {status} (unexpected answer)")


class Source:
    """The indexer as a follower reads it: its description of the published generation and its files."""

    def __init__(self, url: str, key: str):
        self.url = check_url(url)
        self._http = _session(key)

    def descriptor(self) -> dict:
        import requests

        try:
            r = self._http.get(f"{self.url}/cluster/generation", timeout=TIMEOUT)
        except requests.RequestException as e:
            raise _failure(self.url, e) from None
        if r.status_code != 200:
            raise _refused(self.url, r.status_code)
        try:
            return r.json()
        except ValueError:
            from kb.index.replica import SyncError

            raise SyncError(f"индексатор {self.url}: ответ не JSON (bad descriptor)") from None

    def fetch(self, rel: str, dest: Path, size: int) -> None:
        """`rel` of the indexer's index folder into `dest`; never more than `size` bytes are
        kept (a longer answer fails the checksum anyway, and must not fill the disk)."""
        import requests

        try:
            with self._http.get(f"{self.url}/cluster/files/{rel}", stream=True, timeout=TIMEOUT) as r:
                if r.status_code != 200:
                    raise _refused(self.url, r.status_code)
                got = 0
                with open(dest, "wb") as f:
                    for chunk in r.iter_content(1 << 20):
                        got += len(chunk)
                        if got > size:
                            break
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
        except requests.RequestException as e:
            raise _failure(self.url, e) from None


def follow_once(index_dir: Path, source: Source, state: dict, out=None) -> dict:
    """One round, its outcome written to INDEX/follow.json (read by /health/ready and `kb check`)."""
    from kb.index import replica

    out = out or sys.stderr
    now = time.time()
    state = {**state, "source": source.url, "last_attempt": now}
    try:
        done = replica.sync(index_dir, source)
    except IndexLocked:             # a round of another process of this node: not an error
        return state
    except (KbError, OSError) as e:
        msg = str(e) if isinstance(e, KbError) else f"{type(e).__name__}: {getattr(e, 'strerror', '') or e}"
        if msg != state.get("last_error"):
            print(f"kb: не удалось обновить индекс с индексатора: {msg}", file=out, flush=True)
        state["last_error"] = msg[:500]
    else:
        state.update(remote=done.remote, generation=done.generation, last_success=now, last_error=None)
        if done.switched:
            state["last_switch"] = now
            print(f"kb: поколение {done.generation} с индексатора: скачано файлов {done.downloaded} "
                  f"({done.bytes} байт), взято из прежнего {done.linked}, векторов {done.vectors}",
                  file=out, flush=True)
    replica.write_state(index_dir, state)
    return state


def follow_forever(index_dir: Path, url: str, every: float = EVERY, out=None) -> None:
    from kb.index import replica

    key = cluster_key()
    source = Source(url, key or "")
    state = replica.read_state(index_dir) or {}
    state.pop("last_error", None)
    while True:
        state = follow_once(Path(index_dir), source, state, out)
        time.sleep(every)


def forward(url: str, method: str, path: str, *, on_behalf: str, client: str | None, params=None, data=None,
            files=None) -> tuple[int, dict, dict]:
    """A request made on a follower, passed to the indexer as the signed-in person (the indexer
    checks that account's rights itself): its status, JSON body ({} for a redirect) and headers.
    KbError in Russian, naming the indexer, when it cannot be passed on."""
    import requests

    key = cluster_key()
    if not key:
        raise KbError(f"загрузка принимается только индексатором {url}: на этом сервере не задан "
                      "KB_CLUSTER_SECRET (cluster secret not set)")
    http = _session(key)
    headers = {ON_BEHALF: on_behalf, "Accept": "application/json"}
    if client:
        headers[CLIENT] = client
    try:
        r = http.request(method, f"{url}{path}", params=params, data=data, files=files, headers=headers,
                         timeout=(5.0, 120.0), allow_redirects=False)
    except requests.RequestException as e:
        raise KbError(f"индексатор {url} недоступен ({type(e).__name__}): загрузка не принята; повторите "
                      f"позже или загрузите документ прямо на индексаторе (indexer unreachable)") from None
    finally:
        http.close()
    if 300 <= r.status_code < 400:
        return r.status_code, {}, dict(r.headers)
    try:
        body = r.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise KbError(f"индексатор {url} ответил {r.status_code} без данных: загрузка не принята "
                      "(unexpected answer)")
    return r.status_code, body, dict(r.headers)

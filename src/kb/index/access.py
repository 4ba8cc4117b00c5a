"""Who may see which document: `public` documents for everyone, `staff` ones for staff only.

    audience()                 -> "all" (trusted callers: the CLI, tests) | "public" | "staff"
    set_audience("public")     -> a token for reset_audience() (the web sets it on every request)
    hidden_ids(index_dir)      -> doc ids the current audience must never learn of
    access_of(path, meta, rules, record=False) -> "public" | "staff"

Why here, in the index stage: every route (results, counts, facets, snippets, spelling,
similar documents, citations, originals, exports, feeds, the API) reads the collection
through `kb.index.reader()` and the catalog of the manifest. Both ask this module what to
hide, so no page can forget to: a route written tomorrow inherits it. The audience travels
in a context variable rather than as an argument through every function, and the web layer
sets it, from the logged-in account, before any view runs.

Access is decided when the index is read, from the manifest and the rules file, not stored
in the index: changing the rules takes effect at the next request without re-indexing.
The rules, in order (the first that speaks decides):

1. the document's sidecar `access: staff|public` (for consultation records, the sidecar of
   their file);
2. consultation records are `staff` (records of a CSV/JSONL/Markdown file, and any document
   whose type is `консультация`);
3. the rules file, `.kbaccess` at the top of the corpus folder or `$KB_ACCESS`: lines
   `staff: PATTERN`, `public: PATTERN` (gitignore patterns, the last matching line wins),
   and `default: public|staff`;
4. the default: `public`.

Fail closed: whatever kb cannot read with certainty hides. A sidecar that does not parse, has
an unknown key or value, or cannot be opened makes its document staff-only (the indexer
records `meta["access_error"]`, kb.index.build); a rules file that does not parse or cannot
be read makes every document staff-only that no sidecar opens. `problems()` lists each
doubt for `kb index`, `kb check` and the admin page.
"""

from __future__ import annotations

import os
import threading
from contextvars import ContextVar
from pathlib import Path

import pathspec

from kb.enrich.sidecar import access_word
from kb.errors import KbError

PUBLIC, STAFF = "public", "staff"
RULES_FILE = ".kbaccess"

_audience: ContextVar[str] = ContextVar("kb_audience", default="all")


def audience() -> str:
    return _audience.get()


def set_audience(value: str):
    if value not in ("all", PUBLIC, STAFF):
        raise ValueError(value)
    return _audience.set(value)


def reset_audience(token) -> None:
    _audience.reset(token)


def restricted() -> bool:
    """True when staff documents must be hidden from the current caller."""
    return _audience.get() == PUBLIC


def word(value) -> str | None:
    """`public` or `staff` for a sidecar or rule value; None when empty."""
    if value is None or str(value).strip() == "":
        return None
    return access_word(value) or STAFF


class Rules:
    """The parsed rules file: (access, pattern) lines and the default.

    `error`: why the file could not be read or parsed; such rules hide every document that no
    sidecar opens (default staff, no lines): a rule kb does not understand might have hidden it."""

    def __init__(self, text: str = "", where: str = RULES_FILE, error: str | None = None):
        self.default = PUBLIC
        self.lines: list[tuple[str, pathspec.GitIgnoreSpec]] = []
        self.where = where
        self.error = error
        if error is None:
            try:
                self._parse(text, where)
            except KbError as e:
                self.error = str(e)
        if self.error is not None:
            self.default, self.lines = STAFF, []

    def _parse(self, text: str, where: str) -> None:
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition(":")
            key, value = key.strip().lower(), value.strip()
            if not sep or key not in ("default", PUBLIC, STAFF) or not value:
                raise KbError(f"строка {n}: ожидалось «staff: ПАПКА/», «public: ШАБЛОН» или "
                              "«default: public|staff» (bad access rule)")
            if key == "default":
                if value.lower() not in (PUBLIC, STAFF):
                    raise KbError(f"строка {n}: default — public или staff (bad default)")
                self.default = value.lower()
            else:
                try:
                    spec = pathspec.GitIgnoreSpec.from_lines([value])
                except Exception as e:      # noqa: BLE001 - pathspec's own errors vary by version
                    raise KbError(f"строка {n}: шаблон не читается: {e} (bad pattern)") from None
                self.lines.append((key, spec))

    def folder_rule(self, path: str) -> str:
        found = self.default
        for access, spec in self.lines:
            if spec.match_file(path):
                found = access
        return found


CONSULTATION = "консультация"


def doubt_of(meta: dict) -> str:
    """Why the indexer could not read what decides this document's audience ("" when it
    could): its sidecar's `access_error`, or, in an index written before that key, the sidecar
    error it kept among `warnings`."""
    return meta.get("access_error") or "; ".join(meta.get("warnings") or [])


def doubted(meta: dict) -> bool:
    return bool(doubt_of(meta))


def access_of(path: str, meta: dict, rules: Rules, record: bool = False, file_meta: dict | None = None,
              doc_type: str = "") -> str:
    """The access of one document (`record`: a consultation record of the file at `path`;
    `doc_type`: a document recognised as a consultation record is one too)."""
    if doubted(meta) or doubted(file_meta or {}):
        return STAFF
    own = word((meta.get("sidecar") or {}).get("access")) or word((file_meta or {}).get("access"))
    if own:
        return own
    if record or meta.get("consultation") or doc_type == CONSULTATION:
        return STAFF
    return rules.folder_rule(path)


_rules_cache: dict[str, tuple[object, Rules]] = {}
_hidden_cache: dict[str, tuple[object, frozenset[str]]] = {}
_problems_cache: dict[tuple, tuple[object, tuple]] = {}
_lock = threading.Lock()


def rules_path(corpus: str | Path | None) -> Path | None:
    env = os.environ.get("KB_ACCESS", "").strip()
    if env:
        return Path(env)
    return Path(corpus) / RULES_FILE if corpus else None


def load_rules(path: Path | None) -> tuple[object, Rules]:
    """(a stamp that changes with the file, its rules); no file: the default rules. A file
    that cannot be read gives rules with an `error`, which hide (never an exception: every
    request asks this, and a broken file must not open documents nor break the pages).
    `$KB_ACCESS` naming a file that is not there is such a doubt too; a corpus without
    `.kbaccess` is not."""
    if path is None:
        return None, Rules()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.environ.get("KB_ACCESS", "").strip() and not os.path.lexists(path):
            return ("missing", str(path)), Rules(where=str(path), error="файл правил KB_ACCESS не найден")
        if os.path.lexists(path):
            return ("dangling", str(path)), Rules(where=str(path), error="битая ссылка")
        return None, Rules()
    except OSError as e:
        return ("error", str(path)), Rules(where=str(path), error=f"не прочитать: {e.strerror}")
    stamp = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _rules_cache.get(str(path))
        if hit and hit[0] == stamp:
            return hit
    try:
        got = (stamp, Rules(path.read_text(encoding="utf-8-sig"), str(path)))
    except (OSError, UnicodeDecodeError) as e:
        got = (stamp, Rules(where=str(path), error=f"не прочитать: {getattr(e, 'strerror', None) or e}"))
    with _lock:
        _rules_cache[str(path)] = got
    return got


def rules_problem(corpus: str | Path | None) -> tuple[str, str] | None:
    """(the rules file, why it hides everything) when it cannot be read; else None."""
    path = rules_path(corpus)
    _, rules = load_rules(path)
    if rules.error is None:
        return None
    return str(path), rules.error


def problems(index_dir: Path | None = None, corpus: str | Path | None = None, man=None) -> list[tuple[str, str]]:
    """Every doubt about who may see what, as (file, reason): unreadable sidecars of the
    documents of a manifest (`man`, or the published index's) and an unreadable rules file.
    Each makes documents staff-only."""
    from kb.index.manifest import Manifest, manifest_stamp

    key = None
    if man is None and index_dir is not None:
        # Cached per published manifest and rules file: the admin's pages show the count.
        key = (str(Path(index_dir).resolve()), str(corpus))
        stamp = (manifest_stamp(Path(index_dir)), load_rules(rules_path(corpus))[0] if corpus else None)
        with _lock:
            hit = _problems_cache.get(key)
        if hit and hit[0] == stamp and corpus:
            return list(hit[1])
        try:
            man = Manifest.load(Path(index_dir))
        except KbError:
            man = None
    out = []
    if man is not None:
        corpus = corpus or man.corpus
        for path, e in sorted(man.files.items()):
            why = doubt_of(e.meta)
            if why:
                out.append((path, why))
    rp = rules_problem(corpus)
    if rp:
        out.append(rp)
    if key is not None:
        with _lock:
            _problems_cache[key] = (stamp, tuple(out))
    return out


def staff_of(man, rules: Rules | None = None) -> frozenset[str]:
    """Doc ids of a manifest's documents (consultation records each their own) whose access is
    `staff`; `rules`: the corpus's (read from the manifest's corpus when not given)."""
    if rules is None:
        rules = load_rules(rules_path(man.corpus))[1]
    hidden = set()
    for path, e in man.files.items():
        records = e.meta.get("records")
        if records is None:
            if access_of(path, e.meta, rules, doc_type=e.doc_type) == STAFF:
                hidden.add(e.doc_id)
            continue
        for r in records:
            if access_of(path, r.get("meta") or {}, rules, record=True, file_meta=e.meta) == STAFF:
                hidden.add(r["doc_id"])
    return frozenset(hidden)


def counts(man) -> dict:
    """The collection in one vocabulary (kb index, kb check, the home page): `files` in the
    corpus that were indexed, `documents` (a file of consultation records gives one per
    record), of which `staff` are staff-only, and `passages`."""
    docs = sum(len(e.meta["records"]) if "records" in e.meta else 1 for e in man.files.values())
    return {"files": len(man.files), "documents": docs, "staff": len(staff_of(man)),
            "passages": sum(e.passages for e in man.files.values())}


def staff_ids(index_dir: Path) -> frozenset[str]:
    """Doc ids of the published index whose access is `staff` (cached per manifest and rules)."""
    from kb.index.manifest import Manifest, manifest_stamp

    index_dir = Path(index_dir)
    stamp = manifest_stamp(index_dir)
    key = str(index_dir.resolve())
    with _lock:
        hit = _hidden_cache.get(key)
    man = None
    if hit is None or hit[0][0] != stamp:
        man = Manifest.load(index_dir)
        corpus = man.corpus
    else:
        corpus = hit[0][2]
    rstamp, rules = load_rules(rules_path(corpus))
    if hit is not None and hit[0] == (stamp, rstamp, corpus):
        return hit[1]
    if man is None:
        man = Manifest.load(index_dir)
    got = staff_of(man, rules)
    with _lock:
        _hidden_cache[key] = ((stamp, rstamp, man.corpus), got)
    return got


def hidden_ids(index_dir: Path) -> frozenset[str]:
    """What the current audience must not see: staff documents for the public, else nothing."""
    return staff_ids(index_dir) if restricted() else frozenset()

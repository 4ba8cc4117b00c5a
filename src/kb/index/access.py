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

An `access` value that is neither word (a typo) counts as `staff`: a mistake hides, never shows.
"""

from __future__ import annotations

import os
import threading
from contextvars import ContextVar
from pathlib import Path

import pathspec

from kb.errors import KbError

PUBLIC, STAFF = "public", "staff"
RULES_FILE = ".kbaccess"
_PUBLIC_WORDS = {"public", "open", "все", "всем", "открытый", "открытый доступ", "публичный"}
_STAFF_WORDS = {"staff", "internal", "private", "сотрудники", "закрытый", "внутренний", "для сотрудников"}

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
    v = " ".join(str(value).lower().split())
    return PUBLIC if v in _PUBLIC_WORDS else STAFF


class Rules:
    """The parsed rules file: (access, pattern) lines and the default."""

    def __init__(self, text: str = "", where: str = RULES_FILE):
        self.default = PUBLIC
        self.lines: list[tuple[str, pathspec.GitIgnoreSpec]] = []
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition(":")
            key, value = key.strip().lower(), value.strip()
            if not sep or key not in ("default", PUBLIC, STAFF) or not value:
                raise KbError(f"{where}, строка {n}: ожидалось «staff: ПАПКА/», «public: ШАБЛОН» или "
                              "«default: public|staff» (bad access rule)")
            if key == "default":
                if word(value) is None or value.lower() not in (PUBLIC, STAFF):
                    raise KbError(f"{where}, строка {n}: default — public или staff (bad default)")
                self.default = value.lower()
            else:
                self.lines.append((key, pathspec.GitIgnoreSpec.from_lines([value])))

    def folder_rule(self, path: str) -> str:
        found = self.default
        for access, spec in self.lines:
            if spec.match_file(path):
                found = access
        return found


CONSULTATION = "консультация"


def access_of(path: str, meta: dict, rules: Rules, record: bool = False, file_meta: dict | None = None,
              doc_type: str = "") -> str:
    """The access of one document (`record`: a consultation record of the file at `path`;
    `doc_type`: a document recognised as a consultation record is one too)."""
    own = word((meta.get("sidecar") or {}).get("access")) or word((file_meta or {}).get("access"))
    if own:
        return own
    if record or meta.get("consultation") or doc_type == CONSULTATION:
        return STAFF
    return rules.folder_rule(path)


_rules_cache: dict[str, tuple[object, Rules]] = {}
_hidden_cache: dict[str, tuple[object, frozenset[str]]] = {}
_lock = threading.Lock()


def rules_path(corpus: str | Path | None) -> Path | None:
    env = os.environ.get("KB_ACCESS", "").strip()
    if env:
        return Path(env)
    return Path(corpus) / RULES_FILE if corpus else None


def load_rules(path: Path | None) -> tuple[object, Rules]:
    """(a stamp that changes with the file, its rules); no file: the default rules."""
    if path is None:
        return None, Rules()
    try:
        st = os.stat(path)
    except OSError:
        return None, Rules()
    stamp = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _rules_cache.get(str(path))
        if hit and hit[0] == stamp:
            return hit
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise KbError(f"не прочитать правила доступа {path}: {e} (cannot read access rules)") from None
    got = (stamp, Rules(text, str(path)))
    with _lock:
        _rules_cache[str(path)] = got
    return got


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
    got = frozenset(hidden)
    with _lock:
        _hidden_cache[key] = ((stamp, rstamp, man.corpus), got)
    return got


def hidden_ids(index_dir: Path) -> frozenset[str]:
    """What the current audience must not see: staff documents for the public, else nothing."""
    return staff_ids(index_dir) if restricted() else frozenset()

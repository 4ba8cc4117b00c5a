"""Accounts of a team server: people, their roles and their API tokens, in SQLite.

    Accounts(index_dir)                  -> the database `index_dir/accounts.sqlite3`
    .add(name, password, role), .remove(name), .passwd(name, password), .set_role(name, role), .users()
    .check_password(name, password)      -> User | None
    .end_sessions(user_id)               -> every browser session of the account ends
    .create_token(name) -> secret, .revoke_token(name or prefix), .check_token(secret) -> User | None

Why SQLite under the index folder: the server keeps all its state in one folder an admin
already backs up, and SQLite gives atomic writes from several threads and processes (the CLI
changes accounts while `kb serve` reads them) without a database server. The index
generations are rebuilt and swapped; this file sits beside them and is never touched by
`kb index`.

Passwords are hashed with argon2id (argon2-cffi, its default parameters: memory-hard, so a
stolen file is slow to attack). API tokens are long random secrets: a salted slow hash would
cost every API request ~50 ms, so they are stored as SHA-256 (a 256-bit random secret cannot
be guessed from its hash); the first characters are kept in clear to name a token in
`kb token revoke` and in lists. Neither a password nor a token is ever logged or stored.

Sessions: a browser session is a signed cookie the server does not keep, so a copy of it
would work until the key changes. Each account has a session version, written into the
session at login and compared on every request (kb.web.auth); logout, a new password, a new
role and removal change it, which ends every session of the account, copies included. The
version is random rather than counted, so that an account made later under a reused id
never matches a removed account's sessions. API tokens do not depend on it: they end when revoked.

Names: compared in one normal form, `name_key` (NFKC, case-folded), for uniqueness, lookup
and the login limits, so `Staff1` is `staff1` and full-width `ＡＤＭＩＮ1` is `admin1`. New
names are stored in NFKC (case kept) and refused when they mix scripts (`аdmin1` with a
Cyrillic а looks like `admin1`) or hold bidirectional control characters (which make a name
display unlike what it is). Names stored before this rule keep working: a name is found by
its exact spelling first, then by its normal form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kb.errors import KbError
from kb.sqlitefile import PerThread

FILE = "accounts.sqlite3"
ROLES = ("reader", "staff", "admin")
# Roles that see staff documents and upload.
STAFF_ROLES = ("staff", "admin")
TOKEN_PREFIX = "kb_"
MIN_PASSWORD = 8
_NAME = re.compile(r"^[\w.@-]{1,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password TEXT NOT NULL,
    created REAL NOT NULL,
    session_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
"""

_hasher = PasswordHasher()
# Verified against when a name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("kb-no-such-user")


class AccountError(KbError):
    """A refused account operation, with a one-line Russian message."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    created: float
    session_version: int = 0

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Token:
    prefix: str
    user: str
    created: float


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# Bidirectional controls: invisible, they reorder what is shown around them.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Scripts written together in one name (Japanese mixes three).
_ONE_SCRIPT = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK"}
_SCRIPT_RU = {"LATIN": "латиница", "CYRILLIC": "кириллица", "GREEK": "греческие буквы",
              "ARMENIAN": "армянские буквы", "GEORGIAN": "грузинские буквы", "ARABIC": "арабское письмо",
              "HEBREW": "иврит", "CJK": "иероглифы или кана"}
_COLS = "id, name, role, created, session_version"


def name_key(name: str) -> str:
    """The form account names are compared in: NFKC, case-folded (and NFKC again, since
    folding can leave a form NFKC would change)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _script(ch: str) -> str | None:
    """The script of a letter or digit; None for what belongs to none (ASCII digits, . @ - _)."""
    if ch.isascii() and not ch.isalpha():
        return None
    if unicodedata.category(ch)[0] not in "LN":
        return None
    word = re.split(r"[ -]", unicodedata.name(ch, ""), maxsplit=1)[0]
    return _ONE_SCRIPT.get(word, word) or None


def check_name(name: str) -> str:
    """The name to store (NFKC, case kept); AccountError saying what is wrong with it."""
    name = name or ""
    bidi = sorted({f"U+{ord(c):04X}" for c in name if c in _BIDI})
    if bidi:
        raise AccountError(f"в имени невидимые знаки направления письма ({', '.join(bidi)}): с ними имя "
                           "показывается не так, как записано; наберите имя без них "
                           "(bidirectional control characters in the name)")
    form = unicodedata.normalize("NFKC", name)
    if not _NAME.match(form):
        raise AccountError(f"имя «{name[:70]}»: буквы, цифры, точка, дефис, _ или @, до 64 знаков "
                           "(invalid user name)")
    scripts: dict[str, str] = {}
    for ch in form:
        if (script := _script(ch)) is not None:
            scripts[script] = scripts.get(script, "") + ch
    if len(scripts) > 1:
        parts = ", ".join(f"{_SCRIPT_RU.get(k, k.lower())}: {v}" for k, v in scripts.items())
        raise AccountError(f"имя «{form}» смешивает алфавиты ({parts}): такое имя легко спутать с другим "
                           "(кириллическая «а» выглядит как латинская a); наберите его буквами одного "
                           "алфавита (the name mixes scripts)")
    return form


def _new_version() -> int:
    return secrets.randbits(62)


def _prepare(con: sqlite3.Connection) -> None:
    """Each connection: the name_key function for SQL, and the session column added to a file
    made before it existed (in place; two processes may race to add it)."""
    con.create_function("kb_name_key", 1, name_key, deterministic=True)
    if "session_version" not in {r[1] for r in con.execute("PRAGMA table_info(users)")}:
        try:
            con.execute("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0")
        except sqlite3.OperationalError as e:
            if "duplicate column" not in str(e):
                raise


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"пароль слишком короткий: нужно не меньше {MIN_PASSWORD} знаков (password too short)")
    return password


class Accounts:
    """The accounts database of one index folder; safe to share between threads."""

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / FILE
        self._conns = PerThread(self.path, _SCHEMA, foreign_keys=True, prepare=_prepare)

    def _db(self) -> sqlite3.Connection:
        try:
            return self._conns.get()
        except (OSError, sqlite3.Error) as e:
            raise AccountError(f"не открыть базу учётных записей {self.path}: {e} (cannot open accounts)") from None

    def exists(self) -> bool:
        return self.path.exists()

    # --- users ---------------------------------------------------------------

    def add(self, name: str, password: str, role: str = "staff") -> User:
        name = check_name(name)
        if role not in ROLES:
            raise AccountError(f"роль «{role}»: одна из {', '.join(ROLES)} (unknown role)")
        check_password(password)
        hashed = _hasher.hash(password)
        db = self._db()
        # The check and the insert in one write transaction: two `kb user add` of `Anna` and
        # `anna` at once cannot both pass.
        db.execute("BEGIN IMMEDIATE")
        try:
            same = db.execute("SELECT name FROM users WHERE kb_name_key(name) = ?", (name_key(name),)).fetchone()
            if same is not None:
                raise AccountError(f"пользователь «{same[0]}» уже есть; «{name}» — то же имя: имена сравниваются "
                                   "без учёта регистра и ширины букв (user exists)")
            db.execute("INSERT INTO users (name, role, password, created, session_version) VALUES (?, ?, ?, ?, ?)",
                       (name, role, hashed, time.time(), _new_version()))
            db.execute("COMMIT")
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK")
            raise AccountError(f"пользователь «{name}» уже есть (user exists)") from None
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return self.get(name)

    def _row(self, name: str, cols: str = _COLS, strict: bool = False) -> tuple | None:
        """The account named `name`: by its exact spelling, else by its normal form. Two
        accounts of one normal form (made before names were compared so) are found only by
        their exact spelling; `strict`: say so (AccountError) rather than return None."""
        db = self._db()
        row = db.execute(f"SELECT {cols} FROM users WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return row
        rows = db.execute(f"SELECT {cols} FROM users WHERE kb_name_key(name) = ?", (name_key(name),)).fetchall()
        if len(rows) > 1 and strict:
            names = sorted(r[1] for r in rows)
            raise AccountError(f"имени «{name}» соответствуют несколько учётных записей ({', '.join(names)}): "
                               "укажите имя точно, как в kb user list (ambiguous user name)")
        return rows[0] if len(rows) == 1 else None

    def find(self, name: str) -> User:
        """The account named `name` (as `get`); AccountError when there is none, or several."""
        row = self._row(name, strict=True)
        if row is None:
            raise AccountError(f"нет пользователя «{name}» (no such user)")
        return User(*row)

    def _id(self, name: str) -> int:
        return self.find(name).id

    def get(self, name: str) -> User | None:
        row = self._row(name)
        return User(*row) if row else None

    def by_id(self, user_id: int) -> User | None:
        row = self._db().execute(f"SELECT {_COLS} FROM users WHERE id = ?", (user_id,)).fetchone()
        return User(*row) if row else None

    def users(self) -> list[User]:
        return [User(*r) for r in self._db().execute(f"SELECT {_COLS} FROM users ORDER BY name")]

    def has_admin(self) -> bool:
        if not self.path.exists():
            return False
        return self._db().execute("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1").fetchone() is not None

    def remove(self, name: str) -> None:
        """Removes the user and all their tokens (and so their sessions)."""
        self._db().execute("DELETE FROM users WHERE id = ?", (self._id(name),))

    def passwd(self, name: str, password: str) -> None:
        """A new password; every session of the account ends."""
        check_password(password)
        self._db().execute("UPDATE users SET password = ?, session_version = ? WHERE id = ?",
                           (_hasher.hash(password), _new_version(), self._id(name)))

    def set_role(self, name: str, role: str) -> User:
        """A new role; every session of the account ends (its holder signs in again as what
        they now are)."""
        if role not in ROLES:
            raise AccountError(f"роль «{role}»: одна из {', '.join(ROLES)} (unknown role)")
        user_id = self._id(name)
        self._db().execute("UPDATE users SET role = ?, session_version = ? WHERE id = ?",
                           (role, _new_version(), user_id))
        return self.by_id(user_id)

    def end_sessions(self, user_id: int) -> None:
        """Every browser session of the account ends (at logout: copies of its cookie too)."""
        self._db().execute("UPDATE users SET session_version = ? WHERE id = ?", (_new_version(), user_id))

    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (same cost for an unknown name)."""
        row = self._row(name, _COLS + ", password")
        stored = row[5] if row else _DUMMY
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):
            self._db().execute("UPDATE users SET password = ? WHERE id = ?", (_hasher.hash(password), row[0]))
        return User(*row[:5])

    # --- tokens --------------------------------------------------------------

    def create_token(self, name: str) -> str:
        """A new token for the user: the secret is returned once and stored only as its hash."""
        user = self.get(name)
        if user is None:
            raise AccountError(f"нет пользователя «{name}» (no such user)")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._db().execute("INSERT INTO tokens (user_id, prefix, digest, created) VALUES (?, ?, ?, ?)",
                           (user.id, secret[:10], _digest(secret), time.time()))
        return secret

    def tokens(self, name: str | None = None) -> list[Token]:
        sql = ("SELECT t.prefix, u.name, t.created FROM tokens t JOIN users u ON u.id = t.user_id"
               + (" WHERE u.id = ?" if name else "") + " ORDER BY t.created")
        return [Token(*r) for r in self._db().execute(sql, (self._id(name),) if name else ())]

    def revoke_token(self, what: str) -> int:
        """Revoke a token given whole or by its first characters (as `kb token list` shows them),
        or every token of a user given by name. The number revoked; AccountError when none."""
        db = self._db()
        if what.startswith(TOKEN_PREFIX) and len(what) > 10:
            n = db.execute("DELETE FROM tokens WHERE digest = ?", (_digest(what),)).rowcount
        elif what.startswith(TOKEN_PREFIX):
            n = db.execute("DELETE FROM tokens WHERE prefix = ?", (what,)).rowcount
        else:
            row = self._row(what, "id, name", strict=True)
            n = db.execute("DELETE FROM tokens WHERE user_id = ?", (row[0],)).rowcount if row else 0
        if n == 0:
            raise AccountError(f"нет такого токена или пользователя с токенами: «{what[:12]}» (no such token)")
        return n

    def check_token(self, secret: str) -> User | None:
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        digest = _digest(secret)
        row = self._db().execute(
            "SELECT u.id, u.name, u.role, u.created, u.session_version, t.digest FROM tokens t "
            "JOIN users u ON u.id = t.user_id WHERE t.digest = ?", (digest,)).fetchone()
        if row is None or not hmac.compare_digest(row[5], digest):
            return None
        return User(*row[:5])

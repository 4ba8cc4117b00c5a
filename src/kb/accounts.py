"""Accounts of a team server: people, their roles and their API tokens, in SQLite.

    Accounts(index_dir)                  -> the database `index_dir/accounts.sqlite3`
    .add(name, password, role), .remove(name), .passwd(name, password), .users()
    .check_password(name, password)      -> User | None
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
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
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
    created REAL NOT NULL
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


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise AccountError(f"имя «{name[:70]}»: буквы, цифры, точка, дефис, _ или @, до 64 знаков "
                           "(invalid user name)")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"пароль слишком короткий: нужно не меньше {MIN_PASSWORD} знаков (password too short)")
    return password


class Accounts:
    """The accounts database of one index folder; safe to share between threads."""

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / FILE
        self._conns = PerThread(self.path, _SCHEMA, foreign_keys=True)

    def _db(self) -> sqlite3.Connection:
        try:
            return self._conns.get()
        except (OSError, sqlite3.Error) as e:
            raise AccountError(f"не открыть базу учётных записей {self.path}: {e} (cannot open accounts)") from None

    def exists(self) -> bool:
        return self.path.exists()

    # --- users ---------------------------------------------------------------

    def add(self, name: str, password: str, role: str = "staff") -> User:
        check_name(name)
        if role not in ROLES:
            raise AccountError(f"роль «{role}»: одна из {', '.join(ROLES)} (unknown role)")
        check_password(password)
        try:
            self._db().execute("INSERT INTO users (name, role, password, created) VALUES (?, ?, ?, ?)",
                               (name, role, _hasher.hash(password), time.time()))
        except sqlite3.IntegrityError:
            raise AccountError(f"пользователь «{name}» уже есть (user exists)") from None
        return self.get(name)

    def get(self, name: str) -> User | None:
        row = self._db().execute("SELECT id, name, role, created FROM users WHERE name = ?", (name,)).fetchone()
        return User(*row) if row else None

    def by_id(self, user_id: int) -> User | None:
        row = self._db().execute("SELECT id, name, role, created FROM users WHERE id = ?", (user_id,)).fetchone()
        return User(*row) if row else None

    def users(self) -> list[User]:
        return [User(*r) for r in self._db().execute("SELECT id, name, role, created FROM users ORDER BY name")]

    def has_admin(self) -> bool:
        if not self.path.exists():
            return False
        return self._db().execute("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1").fetchone() is not None

    def remove(self, name: str) -> None:
        """Removes the user and all their tokens."""
        if self._db().execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
            raise AccountError(f"нет пользователя «{name}» (no such user)")

    def passwd(self, name: str, password: str) -> None:
        check_password(password)
        cur = self._db().execute("UPDATE users SET password = ? WHERE name = ?", (_hasher.hash(password), name))
        if cur.rowcount == 0:
            raise AccountError(f"нет пользователя «{name}» (no such user)")

    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (same cost for an unknown name)."""
        row = self._db().execute("SELECT id, name, role, created, password FROM users WHERE name = ?",
                                 (name,)).fetchone()
        stored = row[4] if row else _DUMMY
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):
            self._db().execute("UPDATE users SET password = ? WHERE id = ?", (_hasher.hash(password), row[0]))
        return User(*row[:4])

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
               + (" WHERE u.name = ?" if name else "") + " ORDER BY t.created")
        return [Token(*r) for r in self._db().execute(sql, (name,) if name else ())]

    def revoke_token(self, what: str) -> int:
        """Revoke a token given whole or by its first characters (as `kb token list` shows them),
        or every token of a user given by name. The number revoked; AccountError when none."""
        db = self._db()
        if what.startswith(TOKEN_PREFIX) and len(what) > 10:
            n = db.execute("DELETE FROM tokens WHERE digest = ?", (_digest(what),)).rowcount
        elif what.startswith(TOKEN_PREFIX):
            n = db.execute("DELETE FROM tokens WHERE prefix = ?", (what,)).rowcount
        else:
            n = db.execute("DELETE FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = ?)",
                           (what,)).rowcount
        if n == 0:
            raise AccountError(f"нет такого токена или пользователя с токенами: «{what[:12]}» (no such token)")
        return n

    def check_token(self, secret: str) -> User | None:
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        digest = _digest(secret)
        row = self._db().execute(
            "SELECT u.id, u.name, u.role, u.created, t.digest, t.id FROM tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.digest = ?", (digest,)).fetchone()
        if row is None or not hmac.compare_digest(row[4], digest):
            return None
        return User(*row[:4])

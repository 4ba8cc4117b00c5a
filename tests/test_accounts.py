"""Accounts and tokens: kb.accounts and the `kb user` / `kb token` / `kb audit` commands."""

from __future__ import annotations

import io
import json
import os
import stat
import sqlite3

import pytest

from kb.accounts import AccountError, Accounts
from kb.cli import main


class Stdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def run(monkeypatch, capsys, index, *argv, stdin: str = ""):
    monkeypatch.setattr("sys.stdin", Stdin(stdin))
    code = main([*argv, "--index", str(index)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_add_reads_the_password_twice_from_stdin(tmp_path, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, tmp_path, "user", "add", "anna", "--role", "admin",
                         stdin="секретный-пароль\nсекретный-пароль\n")
    assert code == 0, err
    assert "anna" in out and "admin" in out
    acc = Accounts(tmp_path)
    assert acc.check_password("anna", "секретный-пароль").role == "admin"
    assert acc.check_password("anna", "другой-пароль") is None
    # Stored hashed with argon2id, never in clear; the file is the owner's alone.
    raw = sqlite3.connect(tmp_path / "accounts.sqlite3").execute("SELECT password FROM users").fetchone()[0]
    assert raw.startswith("$argon2id$") and "секретный" not in raw
    assert stat.S_IMODE(os.stat(tmp_path / "accounts.sqlite3").st_mode) == 0o600


def test_user_add_refuses_mismatch_short_password_duplicate_and_bad_names(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "add", "anna", stdin="пароль-один\nпароль-два\n")
    assert code == 1 and "не совпадают" in err and "Traceback" not in err
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "add", "anna", stdin="short\nshort\n")
    assert code == 1 and "короткий" in err
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "add", "anna", stdin="")
    assert code == 1 and "stdin" in err
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "add", "a b/../c", stdin="пароль-один\nпароль-один\n")
    assert code == 1 and "имя" in err
    assert run(monkeypatch, capsys, tmp_path, "user", "add", "anna", stdin="пароль-один\nпароль-один\n")[0] == 0
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "add", "anna", stdin="пароль-один\nпароль-один\n")
    assert code == 1 and "уже есть" in err
    assert [u.name for u in Accounts(tmp_path).users()] == ["anna"]
    assert Accounts(tmp_path).get("anna").role == "staff"


def test_user_list_remove_passwd(tmp_path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, tmp_path, "user", "list")
    assert code == 0 and "kb user add" in out
    for name, role in (("boris", "staff"), ("anna", "admin")):
        assert run(monkeypatch, capsys, tmp_path, "user", "add", name, "--role", role,
                   stdin="пароль-один\nпароль-один\n")[0] == 0
    code, out, _ = run(monkeypatch, capsys, tmp_path, "user", "list", "--json")
    assert code == 0
    assert [(u["name"], u["role"]) for u in json.loads(out)] == [("anna", "admin"), ("boris", "staff")]

    assert run(monkeypatch, capsys, tmp_path, "user", "passwd", "boris", stdin="новый-пароль\nновый-пароль\n")[0] == 0
    acc = Accounts(tmp_path)
    assert acc.check_password("boris", "пароль-один") is None
    assert acc.check_password("boris", "новый-пароль") is not None
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "passwd", "nobody", stdin="новый-пароль\nновый-пароль\n")
    assert code == 1 and "нет пользователя" in err

    token = acc.create_token("boris")
    assert run(monkeypatch, capsys, tmp_path, "user", "remove", "boris")[0] == 0
    assert acc.get("boris") is None
    assert acc.check_token(token) is None          # the tokens went with the account
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "remove", "boris")
    assert code == 1 and "нет пользователя" in err


def test_token_create_prints_it_last_stores_only_a_hash_and_revokes(tmp_path, monkeypatch, capsys):
    run(monkeypatch, capsys, tmp_path, "user", "add", "anna", stdin="пароль-один\nпароль-один\n")
    code, out, _ = run(monkeypatch, capsys, tmp_path, "token", "create", "anna")
    assert code == 0
    token = out.strip().splitlines()[-1]
    acc = Accounts(tmp_path)
    assert acc.check_token(token).name == "anna"
    assert acc.check_token(token + "x") is None and acc.check_token("kb_nothing") is None
    dump = "\n".join(sqlite3.connect(tmp_path / "accounts.sqlite3").iterdump())
    assert token not in dump

    code, out, _ = run(monkeypatch, capsys, tmp_path, "token", "list")
    assert token[:10] in out and token not in out

    second = run(monkeypatch, capsys, tmp_path, "token", "create", "anna")[1].strip().splitlines()[-1]
    assert second != token
    assert run(monkeypatch, capsys, tmp_path, "token", "revoke", token)[0] == 0
    assert acc.check_token(token) is None and acc.check_token(second) is not None
    assert run(monkeypatch, capsys, tmp_path, "token", "revoke", second[:10])[0] == 0
    assert acc.check_token(second) is None
    code, _, err = run(monkeypatch, capsys, tmp_path, "token", "revoke", second)
    assert code == 1 and "нет такого токена" in err
    code, _, err = run(monkeypatch, capsys, tmp_path, "token", "create", "nobody")
    assert code == 1 and "нет пользователя" in err


def test_audit_records_account_changes_without_secrets(tmp_path, monkeypatch, capsys):
    run(monkeypatch, capsys, tmp_path, "user", "add", "anna", stdin="пароль-один\nпароль-один\n")
    token = run(monkeypatch, capsys, tmp_path, "token", "create", "anna")[1].strip().splitlines()[-1]
    code, out, _ = run(monkeypatch, capsys, tmp_path, "audit", "--json")
    assert code == 0
    events = json.loads(out)
    assert [e["action"] for e in events] == ["token.create", "user.add"]
    assert token not in out and "пароль-один" not in out
    code, out, _ = run(monkeypatch, capsys, tmp_path, "audit", "--action", "user.add")
    assert "user.add" in out and "token.create" not in out


def test_password_check_costs_the_same_for_unknown_names(tmp_path):
    acc = Accounts(tmp_path)
    acc.add("anna", "пароль-один", "staff")
    assert acc.check_password("nobody", "пароль-один") is None
    with pytest.raises(AccountError):
        acc.add("anna2", "пароль-один", "root")


# --- names in one normal form ---------------------------------------------------------------------

PW = "пароль-один"


def test_names_are_compared_in_one_normal_form(tmp_path, monkeypatch, capsys):
    acc = Accounts(tmp_path)
    acc.add("staff1", PW, "staff")
    acc.add("admin1", PW, "admin")
    for twin in ("Staff1", "STAFF1", "ｓｔａｆｆ1", "ＡＤＭＩＮ1", "Admin1"):
        with pytest.raises(AccountError, match="уже есть"):
            acc.add(twin, PW, "staff")
    assert [u.name for u in acc.users()] == ["admin1", "staff1"]
    # Login and lookup by any form of the name.
    assert acc.check_password("ＡＤＭＩＮ1", PW).name == "admin1"
    assert acc.check_password("Staff1", PW).name == "staff1"
    assert acc.get("STAFF1").name == "staff1"
    # A new name typed in full-width letters is kept in its ordinary form.
    assert acc.add("Ｂｏｒｉｓ", PW, "staff").name == "Boris"
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "add", "Staff1", stdin=f"{PW}\n{PW}\n")
    assert code == 1 and "«staff1» уже есть" in err and "Traceback" not in err
    code, out, err = run(monkeypatch, capsys, tmp_path, "user", "passwd", "STAFF1",
                         stdin="новый-пароль\nновый-пароль\n")
    assert code == 0 and "staff1" in out, err
    assert acc.check_password("staff1", "новый-пароль") is not None


@pytest.mark.parametrize("name,problem", [
    ("аdmin1", "смешивает алфавиты (кириллица: а, латиница: dmin)"),     # Cyrillic а, then Latin
    ("pаssword", "смешивает алфавиты"),
    ("Αnna", "греческие буквы: Α"),                                         # Greek capital alpha
    ("admin\u202e1", "U+202E"), ("\u202aanna", "U+202A"), ("anna\u200f", "U+200F"), ("an\u200ena", "U+200E"),
    ("anna\u2066", "U+2066"), ("anna\u2069x", "U+2069"), ("anna\u061c", "U+061C"),
])
def test_look_alike_and_bidi_names_are_refused_saying_why(tmp_path, monkeypatch, capsys, name, problem):
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "add", name, stdin=f"{PW}\n{PW}\n")
    assert code == 1 and problem in err and "Traceback" not in err
    assert ("знаки направления письма" in err) == problem.startswith("U+")
    assert Accounts(tmp_path).users() == []


@pytest.mark.parametrize("name", ["анна", "Асель.Жумабекова", "Үмүт_2", "anna.petrova@ngo.kg", "user-1", "Öztürk"])
def test_names_of_one_script_are_fine(tmp_path, name):
    assert Accounts(tmp_path).add(name, PW, "staff").name == name


OLD_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
                    password TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE tokens (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                     prefix TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, created REAL NOT NULL);
"""


def test_accounts_made_before_keep_working(tmp_path, monkeypatch, capsys):
    """A file of the earlier schema (no session column), with names the rules now refuse."""
    from argon2 import PasswordHasher

    con = sqlite3.connect(tmp_path / "accounts.sqlite3")
    con.executescript(OLD_SCHEMA)
    for name in ("Staff1", "staff1", "аdmin1"):
        con.execute("INSERT INTO users (name, role, password, created) VALUES (?, 'staff', ?, 0)",
                    (name, PasswordHasher().hash(PW)))
    con.commit()
    con.close()
    acc = Accounts(tmp_path)
    assert acc.check_password("аdmin1", PW).name == "аdmin1"
    assert acc.check_password("Staff1", PW).name == "Staff1" and acc.check_password("staff1", PW).name == "staff1"
    # Two old names of one form: only their exact spelling finds them.
    assert acc.check_password("STAFF1", PW) is None
    with pytest.raises(AccountError, match="несколько учётных записей"):
        acc.passwd("STAFF1", "новый-пароль")
    with pytest.raises(AccountError, match="уже есть"):
        acc.add("STAFF1", PW, "staff")
    cols = [r[1] for r in sqlite3.connect(tmp_path / "accounts.sqlite3").execute("PRAGMA table_info(users)")]
    assert "session_version" in cols
    code, out, _ = run(monkeypatch, capsys, tmp_path, "user", "list")
    assert code == 0 and "аdmin1" in out


# --- sessions ---------------------------------------------------------------------------------------

def test_logout_password_and_role_change_the_session_version_not_the_tokens(tmp_path, monkeypatch, capsys):
    acc = Accounts(tmp_path)
    user = acc.add("anna", PW, "staff")
    token = acc.create_token("anna")
    seen = {user.session_version}

    def changed() -> None:
        v = acc.get("anna").session_version
        assert v not in seen
        seen.add(v)

    acc.end_sessions(user.id)
    changed()
    acc.passwd("anna", "новый-пароль")
    changed()
    assert run(monkeypatch, capsys, tmp_path, "user", "role", "anna", "--role", "admin")[0] == 0
    changed()
    assert acc.get("anna").role == "admin"
    assert acc.check_token(token).name == "anna"              # tokens last until revoked
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "role", "anna")
    assert code == 1 and "--role" in err and acc.get("anna").role == "admin"
    code, _, err = run(monkeypatch, capsys, tmp_path, "user", "role", "nobody", "--role", "staff")
    assert code == 1 and "нет пользователя" in err
    # An account made later under the removed one's id has another version.
    acc.remove("anna")
    assert acc.add("boris", PW, "staff").session_version not in seen

"""`kb state copy`: the state of a single server (the SQLite files of its index folder) into the
shared PostgreSQL database, so that a server that already has accounts, tokens, an audit log
and saved searches becomes the first node of a cluster without losing them.

Rows are copied as they are, ids included (saved searches and sessions refer to account ids;
a removed account's id must stay unused), into tables that must be empty: merging two
servers' accounts would give two people one id. Login counters and upload statuses are not
copied: they last minutes.
"""

from __future__ import annotations

from kb.state.db import Database, StateUnavailable


def copy_tables(source: Database, target: Database, tables: dict[str, str], lock: str) -> dict[str, int]:
    """Copy `tables` (name -> its columns, in an order that keeps foreign keys valid) from
    `source` into the empty tables of `target`, in one transaction; rows copied per table."""
    counts: dict[str, int] = {}
    with target.transaction(lock):
        for table in tables:
            if target.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
                raise StateUnavailable(f"в базе {target.where()} таблица {table} уже не пуста: копировать можно "
                                       "только в новую базу (target table is not empty)")
        for table, cols in tables.items():
            rows = source.execute(f"SELECT {cols} FROM {table}").fetchall()
            marks = ", ".join("?" * len(cols.split(",")))
            for row in rows:
                target.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", row)
            counts[table] = len(rows)
            if target.kind == "postgresql" and rows:
                # Ids given by the database go on after the copied ones.
                target.execute(f"SELECT setval(seq, (SELECT MAX(id) FROM {table})) FROM "
                               f"(SELECT pg_get_serial_sequence('{table}', 'id') AS seq) AS s WHERE seq IS NOT NULL")
    return counts

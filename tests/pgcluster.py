"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries (initdb, pg_ctl: in
/usr/lib/postgresql/N/bin, often not on PATH), a data folder in a temporary folder, reached
by a Unix socket in that folder only (listen_addresses empty: nothing on the network), on a
port number that is free on this machine. PostgreSQL refuses to run as root: as root the
server runs as Debian's `postgres` user (or `nobody` when there is none)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def bindir() -> Path | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).parent
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                    if p.parent.name.isdigit() else 0, reverse=True):
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root with neither a `postgres` nor a `nobody` user to run PostgreSQL as")


class Cluster:
    def __init__(self, bin_dir: Path, durable: bool = False):
        """`durable`: fsync as a real server does (bench/state.py); the tests' cluster skips it."""
        self.durable = durable
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="kb-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.user = _server_user()
        self.prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        if self.user:
            shutil.chown(self.dir, self.user)
            self.dir.chmod(0o755)
        self._run("initdb", "-D", str(self.data), "-U", "kb", "--auth=trust", "-E", "UTF8", "--locale=C")
        self.start()
        self._n = 0

    def _run(self, prog: str, *args: str) -> None:
        done = subprocess.run([*self.prefix, str(self.bin / prog), *args], capture_output=True, text=True)
        if done.returncode:
            log = (self.dir / "log").read_text(errors="replace")[-2000:] if (self.dir / "log").exists() else ""
            raise RuntimeError(f"{prog} failed: {done.stderr.strip()[-2000:]}\n{log}")

    def _pg_ctl(self, action: str) -> None:
        opts = (f"-k {self.dir} -c listen_addresses='' -c port={self.port} -c max_connections=200"
                + ("" if self.durable else " -c fsync=off"))
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-m", "fast",
                  "-w", "-t", "60", action)

    def start(self) -> None:
        self._pg_ctl("start")

    def stop(self) -> None:
        self._pg_ctl("stop")

    def restart(self) -> None:
        self._pg_ctl("restart")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://kb@/{dbname}?host={self.dir}&port={self.port}"

    def new_database(self) -> str:
        """The URL of a new empty database of this cluster."""
        import psycopg

        self._n += 1
        name = f"kb_test_{self._n}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name}")
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

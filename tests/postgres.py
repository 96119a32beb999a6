"""A throwaway PostgreSQL server on loopback for tests: started, used, stopped, removed.

tests/conftest.py starts one per test session (`postgres_server`, on first use); each test
module or test gets fresh databases on it (`Postgres.fresh("lending")`), so no test sees
another's tables and no test pays for a server start.

Debian's postgresql package provides the binaries (scripts/setup.sh installs it). The
server refuses to run as root, so as root it runs as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    # the names a test uses -> the databases created for it (fresh ones on a shared server)
    names: dict[str, str] = field(default_factory=dict)

    def database(self, name: str) -> str:
        return self.names.get(name, name)

    def url(self, database: str) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database(database)}"

    def fresh(self, *databases: str) -> "Postgres":
        """The same server with a new, empty database for each name: `url("lending")` and
        `sql(..., "lending")` on the result reach the new one."""
        names = {}
        for name in databases:
            real = f"{name}_{next(_numbers)}"
            self.sql(f"CREATE DATABASE {real}")
            names[name] = real
        return replace(self, names=names)

    def sql(self, statement: str, database: str = "postgres") -> str:
        done = subprocess.run(
            ["psql", "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", self.database(database),
             "-v", "ON_ERROR_STOP=1",
             "-qAt", "-c", statement],
            env={**os.environ, "PGPASSWORD": self.password}, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout.strip()


_numbers = itertools.count(1)


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: run `bash scripts/setup.sh` (installs postgresql)")
    return str(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="crosslake-pg-"))
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.pg = Postgres("127.0.0.1", _free_port(), "crosslake", "s3cret-for-tests")

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.as_owner, *cmd], check=True, capture_output=True, timeout=120)

    def start(self) -> Postgres:
        pwfile = self.root / "pw"
        pwfile.write_text(self.pg.password)
        if self.as_owner:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", str(self.root / "data"), "-U", self.pg.user, f"--pwfile={pwfile}",
                  "-A", "scram-sha-256")
        self._run(_bin("pg_ctl"), "-D", str(self.root / "data"), "-l", str(self.root / "log"), "-w", "-o",
                  f"-p {self.pg.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")
        return self.pg

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running(*databases: str) -> Iterator[Postgres]:
    """A started server with `databases` created; stopped and removed afterwards."""
    server = Server()
    pg = server.start()
    try:
        for name in databases:
            pg.sql(f"CREATE DATABASE {name}")
        yield pg
    finally:
        server.stop()

"""A throw-away PostgreSQL cluster, for the tests (`tests/pg_cluster.py`) and the benchmark's
replica simulation: started in a fresh temporary folder, stopped and removed after.

PostgreSQL refuses to run as root: the cluster then belongs to the unprivileged `postgres` user
(the current user when already unprivileged). It listens only on a unix socket in its folder (no
TCP port is taken), runs with fsync off, trusts whoever reaches that socket (the folder is
private) and is stopped at once, without a checkpoint, when done.
"""

from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPERUSER = "postgres"


class ClusterUnavailable(Exception):
    """PostgreSQL cannot be started here (its programs, psycopg or a user to run it as are
    missing); the message says which."""


def bindir() -> Path | None:
    """Where `initdb`, `pg_ctl` and `postgres` are: `pg_config --bindir`, else Debian's place."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            candidates.append(found.stdout.strip())
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for candidate in candidates:
        path = Path(candidate)
        if all((path / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def _free_port() -> int:
    # Only the socket file's name carries the port (no TCP listener): any free one keeps the
    # cluster clear of another on this machine should TCP ever be switched on.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster: `dsn(name)` reaches one of its databases."""

    folder: Path
    port: int
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.folder}&port={self.port}"

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; its DSN."""
        import psycopg  # noqa: PLC0415 (only a PostgreSQL run loads the driver)

        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)


def _owner() -> dict[str, Any]:
    """Run PostgreSQL's programs as `postgres` when root, else as ourselves."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterUnavailable(
            "running as root and there is no `postgres` user to run PostgreSQL as"
        ) from None
    return {"user": "postgres", "group": "postgres"}


def running_cluster(max_connections: int = 200) -> Generator[Cluster]:
    """A cluster for as long as the generator is suspended (use with `contextmanager` or as a
    pytest fixture); stopped and removed after. Raises ClusterUnavailable before starting."""
    if importlib.util.find_spec("psycopg") is None:
        raise ClusterUnavailable("psycopg is not installed (pip install -e '.[dev]')")
    programs = bindir()
    if programs is None:
        raise ClusterUnavailable(
            "PostgreSQL's programs (initdb, pg_ctl) not found: install PostgreSQL 15"
        )
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="altegio-pg-"))
    if owner:
        shutil.chown(folder, owner["user"], owner["group"])
    data = folder / "data"
    port = _free_port()

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, capture_output=True, text=True, check=False, cwd=folder, **owner
        )

    try:
        initdb = ("-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        done = run(programs / "initdb", "-D", data, *initdb)
        assert done.returncode == 0, f"initdb failed: {done.stdout}{done.stderr}"
        options = (
            f"-c listen_addresses='' -c unix_socket_directories={folder} -c port={port} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={max_connections}"
        )
        done = run(
            programs / "pg_ctl", "-D", data, "-l", folder / "log", "-o", options, "-w", "start"
        )
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        assert done.returncode == 0, f"pg_ctl start failed: {done.stdout}{done.stderr}{log}"
        yield Cluster(folder, port)
    finally:
        if (data / "postmaster.pid").exists():
            run(programs / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)

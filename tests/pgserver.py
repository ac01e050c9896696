"""A throwaway PostgreSQL server for the database tests: a cluster made with Debian's initdb in a fresh
temporary folder, listening on a unix socket and on a free local port (password auth there), started once
per test session and stopped at its end; a new database per test.

initdb refuses to run as root: as root, the cluster belongs to the ``postgres`` user (Debian's package
creates it) and its commands run through ``runuser``. Without PostgreSQL's binaries or psycopg the tests
that need the server are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "s3cret-test-password"
_NAMES = itertools.count()


@dataclass
class Server:
    socket_dir: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(_NAMES)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        return name


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    """Start a cluster for the block, then stop it and remove it."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql): PostgreSQL tests skipped")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'gitokens[postgres]'): PostgreSQL tests skipped")
    as_root = os.geteuid() == 0
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to own the cluster")
    root = Path(tempfile.mkdtemp(prefix="gitokens-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if as_root:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    run = {"check": True, "capture_output": True, "cwd": root}
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--no-sync",
         "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
        **run,  # type: ignore[call-overload]
    )  # fmt: skip
    options = f"-k {sockets} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off -c max_connections=50"
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        **run,  # type: ignore[call-overload]
    )
    try:
        yield Server(socket_dir=sockets, port=port)
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], **run)  # type: ignore[call-overload]
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    with running_server() as server:
        yield server

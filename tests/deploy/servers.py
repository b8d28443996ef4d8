"""The private PostgreSQL (metadata database) and Redis (Celery broker) servers, on loopback ports.

PostgreSQL refuses to run as root, so as root its cluster is created and run by the ``postgres``
system user (created by the Debian package); otherwise by the current user. Its data directory
and Unix socket live in the scratch directory; it listens on 127.0.0.1 only. Redis listens on
127.0.0.1 only and persists nothing (``--save ''``, no AOF).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port
from tests.deploy.processes import Child, run

if TYPE_CHECKING:
    from pathlib import Path

    from tests.deploy.install import ServerBinaries

DB_NAME = "airflow"
DB_USER = "airflow"
DB_PASSWORD = "airflow"  # a throwaway cluster on loopback; a real deployment takes it from a secret


def _postgres_user() -> str | None:
    """The user PostgreSQL runs as: ``postgres`` when we are root (created by the Debian package)."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam("postgres")
    return "postgres"


def wait_for_port(port: int, child: Child, timeout: float = 60.0) -> None:
    """Return once something accepts TCP connections on 127.0.0.1:`port`; fail fast if `child` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive:
            raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
        with socket.socket() as sock:
            sock.settimeout(1.0)
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not listen on {port} within {timeout:.0f} s:\n{child.tail()}")


@dataclass
class Postgres:
    """A private cluster in `data_dir`; `child` is the postmaster (restartable)."""

    port: int
    data_dir: Path
    child: Child

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{DB_USER}:{DB_PASSWORD}@{LOOPBACK}:{self.port}/{DB_NAME}"

    @property
    def dsn(self) -> str:
        return f"host={LOOPBACK} port={self.port} dbname={DB_NAME} user={DB_USER} password={DB_PASSWORD}"

    def start(self) -> None:
        self.child.start()
        wait_for_port(self.port, self.child)

    def restart(self) -> None:
        """Fast shutdown (as an operator's restart does: open connections are cut), then start again."""
        self.child.stop()
        self.start()


def create_postgres(binaries: ServerBinaries, scratch: Path) -> Postgres:
    """initdb a fresh cluster, start it, and create the Airflow role and database."""
    data_dir = scratch / "pgdata"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    user = _postgres_user()
    if user:
        owner = pwd.getpwnam(user)
        os.chown(data_dir, owner.pw_uid, owner.pw_gid)
    data_dir.chmod(0o700)
    log = scratch / "logs" / "postgres.log"
    run([str(binaries.pg_bin / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--no-sync"], log, user=user)  # fmt: skip
    port = free_port()
    argv = [
        str(binaries.pg_bin / "postgres"),
        "-D", str(data_dir),
        "-c", f"listen_addresses={LOOPBACK}",
        "-c", f"port={port}",
        "-c", f"unix_socket_directories={data_dir}",
        "-c", "max_connections=300",
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
    ]  # fmt: skip
    # SIGINT is PostgreSQL's fast shutdown: it cuts the open connections instead of waiting for them.
    child = Child("postgres", argv, dict(os.environ), log, user=user, stop_signal=signal.SIGINT)
    server = Postgres(port=port, data_dir=data_dir, child=child)
    server.start()
    psql = [str(binaries.pg_bin / "psql"), "-h", LOOPBACK, "-p", str(port), "-U", "postgres",
            "-v", "ON_ERROR_STOP=1", "-c"]  # fmt: skip
    run([*psql, f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'"], log, user=user)
    run([*psql, f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}"], log, user=user)
    return server


@dataclass
class Redis:
    port: int
    child: Child

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"


def create_redis(binaries: ServerBinaries, scratch: Path) -> Redis:
    """A Redis broker on loopback that keeps nothing on disk."""
    port = free_port()
    argv = [str(binaries.redis_server), "--bind", LOOPBACK, "--port", str(port), "--save", "",
            "--appendonly", "no", "--dir", str(scratch), "--protected-mode", "yes"]  # fmt: skip
    server = Redis(port=port, child=Child("redis", argv, dict(os.environ), scratch / "logs" / "redis.log"))
    server.child.start()
    wait_for_port(port, server.child)
    return server

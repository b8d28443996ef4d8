"""Find the PostgreSQL and Redis server binaries, installing the Debian packages when they are missing.

Running as root on Debian/Ubuntu, a missing server is installed with
``apt-get install -y postgresql redis-server`` (non-interactive). Anywhere else a missing server is
an error that says what to install: the suite never skips silently.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PACKAGES = {"postgres": "postgresql", "redis-server": "redis-server"}


@dataclass(frozen=True)
class ServerBinaries:
    """The directories and files the deployment runs its database and broker from."""

    pg_bin: Path
    redis_server: Path


def _pg_bin() -> Path | None:
    """The newest PostgreSQL bin directory (Debian keeps it off PATH, in /usr/lib/postgresql/<v>/bin)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _redis() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(
            f"missing server packages {packages}: install them "
            f"(Debian: apt-get install -y {' '.join(packages)}), "
            "or run as root on Debian, where the suite installs them itself"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"[deploy] installing {' '.join(packages)} with apt-get", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env, check=True
    )


def ensure_servers() -> ServerBinaries:
    """The server binaries, installed first when missing (root on Debian), else a clear error."""
    missing = []
    if _pg_bin() is None:
        missing.append(PACKAGES["postgres"])
    if _redis() is None:
        missing.append(PACKAGES["redis-server"])
    if missing:
        _apt_install(missing)
    pg_bin, redis = _pg_bin(), _redis()
    if pg_bin is None or redis is None:
        raise RuntimeError("PostgreSQL or Redis still missing after installation")
    return ServerBinaries(pg_bin=pg_bin, redis_server=redis)

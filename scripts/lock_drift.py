"""Which installed packages differ from the versions uv.lock pins (`make latest-check`).

Run by the interpreter of the environment to compare: it reads its own installed distributions,
so the output names exactly what a fresh, unlocked install would test differently from CI.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import tomllib

LOCK = Path(__file__).resolve().parents[1] / "uv.lock"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path = LOCK) -> dict[str, set[str]]:
    """Package name -> the versions uv.lock pins (more than one where the resolution forks by
    Python version); the project itself, being editable, is left out."""
    data = tomllib.loads(lock.read_text(encoding="utf-8"))
    pins: dict[str, set[str]] = {}
    for package in data.get("package", []):
        if "version" in package and package.get("source", {}).get("editable") is None:
            pins.setdefault(normalise(package["name"]), set()).add(package["version"])
    return pins


def installed_versions() -> dict[str, str]:
    return {normalise(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()}


def drift(locked: dict[str, set[str]], installed: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, locked, installed) for every package installed at a version the lock does not pin."""
    return sorted(
        (name, " / ".join(sorted(locked[name])), version)
        for name, version in installed.items()
        if name in locked and version not in locked[name]
    )


def main() -> int:
    rows = drift(locked_versions(), installed_versions())
    if not rows:
        print("Every installed package is at a version uv.lock pins.")
        return 0
    width = max(len(name) for name, _, _ in rows)
    print(f"{len(rows)} package(s) at other versions than uv.lock pins (the tests below run on these):")
    for name, locked, installed in rows:
        print(f"  {name.ljust(width)}  {locked} -> {installed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

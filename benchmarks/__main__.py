"""``python -m benchmarks [--quick] [--only NAME]``: run all, write the results, print a table.

Full runs (``make bench``) refresh the committed ``benchmarks/results/``; ``--quick`` smoke runs
write to the scratch ``.bench/results/`` so they never change tracked files.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from typing import Any

from benchmarks import BENCHMARKS
from benchmarks.common import QUICK_RESULTS, RESULTS, Settings
from benchmarks.report import BenchResult, Row, table, write_result


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), ""
            )
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "ram_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N and few repetitions (a smoke test)")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help="run only NAME (repeatable)",
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions per figure (default 5, quick 2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = Settings(quick=args.quick, reps=args.reps or (2 if args.quick else 5))
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    meta_base = {
        "machine": machine(),
        "command": " ".join(["python -m benchmarks", *sys.argv[1:]]),
        **vars(args),
    }
    rows: list[Row] = []
    failed = False
    for name in names:
        started = time.monotonic()
        load = {"before": os.getloadavg()}
        print(f"== {name} ...", file=sys.stderr, flush=True)
        try:
            result: BenchResult = importlib.import_module(BENCHMARKS[name]).run(settings)
        except Exception as error:
            traceback.print_exc()
            failed = True
            result = BenchResult(
                name, rows=[Row(name, "-", f"FAILED: {type(error).__name__}: {error}", None, "")]
            )
        elapsed = time.monotonic() - started
        load["after"] = os.getloadavg()
        meta = {**meta_base, "reps": settings.reps, "seconds": round(elapsed, 1), "load": load}
        path = write_result(result, QUICK_RESULTS if args.quick else RESULTS, meta)
        print(f"== {name} done in {elapsed:.0f} s -> {path}", file=sys.stderr, flush=True)
        rows.extend(result.rows)
    print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

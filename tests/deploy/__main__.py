"""``python -m tests.deploy [--only NAME ...]``: start the deployment, run the scenarios, print the table.

Exit status 0 only when every scenario passed. The deployment is stopped whatever happens,
Ctrl-C included; logs stay in ``.deploy/logs`` for a look afterwards.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from tests.deploy.deployment import deployment
from tests.deploy.report import Result, summary, table

SCENARIOS = {
    "load": "tests.deploy.scenarios.load",
    "triggerer-sigkill": "tests.deploy.scenarios.triggerer_kill",
    "triggerer-sigstop": "tests.deploy.scenarios.triggerer_pause",
    "worker-kill-submit": "tests.deploy.scenarios.worker_kill_submit",
    "worker-kill-archive": "tests.deploy.scenarios.worker_kill_archive",
    "postgres-restart": "tests.deploy.scenarios.postgres_restart",
    "capacity-faults": "tests.deploy.scenarios.capacity",
}
SCRATCH = Path(__file__).resolve().parents[2] / ".deploy"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.deploy", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these")
    parser.add_argument("--scratch", type=Path, default=SCRATCH, help="data and logs (wiped first)")
    args = parser.parse_args(argv)
    names = args.only or list(SCENARIOS)
    results: list[Result] = []
    started = time.monotonic()
    print(
        f"[deploy] {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, scenarios: {', '.join(names)}", flush=True
    )
    try:
        with deployment(args.scratch) as deploy:
            print(
                f"[deploy] up in {time.monotonic() - started:.0f} s; logs in {args.scratch / 'logs'}",
                flush=True,
            )
            for name in names:
                result = Result(name)
                results.append(result)
                print(f"[deploy] scenario {name} ...", flush=True)
                try:
                    importlib.import_module(SCENARIOS[name]).run(deploy, result)
                    result.passed = True
                except Exception as error:
                    result.error = f"{type(error).__name__}: {error}"
                    traceback.print_exc()
                print(
                    f"[deploy] {name}: {'passed' if result.passed else 'FAILED ' + result.error}", flush=True
                )
                print(f"[deploy]   {result.figures} {result.notes}", flush=True)
    except BaseException as error:  # start-up failure or Ctrl-C: everything is stopped by now
        results.append(Result("deployment", error=f"{type(error).__name__}: {error}"))
        traceback.print_exc()
    print()
    print(table(results))
    for result in results:
        if result.error:
            print(f"- {result.name}: {result.error}")
    print(f"wall time {time.monotonic() - started:.0f} s")
    print(summary(results))
    return 0 if results and all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())

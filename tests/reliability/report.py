"""Render ``benchmarks/results/reliability.json`` as the Markdown tables of docs/reliability.md:
``python -m tests.reliability.report``. ``--publish FILE`` first merges a run's scratch results
(written by the suite's conftest, see ``make reliability-figures``) into that committed file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.reliability.conftest import RESULTS_FILE
from tests.reliability.scenarios import SCENARIOS

COMMANDS = {"test": "make test", "soak": "make test-soak"}


def scenario_table(runs: dict[str, Any]) -> str:
    kinds = [kind for kind in ("test", "soak") if kind in runs]
    header = (
        "| scenario | what is proven | "
        + " | ".join(f"`{COMMANDS[kind]}` passed/failed" for kind in kinds)
        + " |"
    )
    lines = [header, "| --- | --- |" + " ---: |" * len(kinds)]
    for scenario, description in SCENARIOS.items():
        cells = []
        for kind in kinds:
            counts = runs[kind]["scenarios"].get(scenario)
            cells.append("-" if counts is None else f"{counts['passed']}/{counts['failed']}")
        if any(cell != "-" for cell in cells):
            lines.append(f"| `{scenario}` | {description} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figures_table(figures: dict[str, Any]) -> str:
    lines = ["| figure | value |", "| --- | --- |"]
    for name, value in figures.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines)


def publish(scratch: Path) -> None:
    """Copy each run kind found in ``scratch`` over the committed file's entry of that kind."""
    runs = json.loads(RESULTS_FILE.read_text())["runs"] if RESULTS_FILE.exists() else {}
    runs.update(json.loads(scratch.read_text())["runs"])
    RESULTS_FILE.write_text(json.dumps({"runs": runs}, indent=2, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--publish", type=Path, help="scratch results to merge into the committed file")
    args = parser.parse_args()
    if args.publish is not None:
        publish(args.publish)
    runs = json.loads(RESULTS_FILE.read_text())["runs"]
    print(scenario_table(runs))
    for kind, run in runs.items():
        print(
            f"\n`{COMMANDS.get(kind, kind)}` run finished {run['finished_at']} in {run['duration_seconds']} s"
        )
        for name, figures in run["figures"].items():
            print(f"\n{name}:\n")
            print(figures_table(figures))


if __name__ == "__main__":
    main()

"""Scenario results: the figures each one measured, printed as one table, then ``N passed, M failed``."""

from __future__ import annotations

from dataclasses import dataclass, field

COLUMNS = (
    "jobs",
    "purchases/prompt",
    "archived objects",
    "manifests",
    "orphans",
    "refused",
    "takeover s",
    "wall s",
)


@dataclass
class Result:
    name: str
    passed: bool = False
    figures: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str = ""


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def table(results: list[Result]) -> str:
    """A Markdown table: one row per scenario, the common figures as columns, the rest as notes."""
    header = ["scenario", "result", *COLUMNS, "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        cells = [result.name, "passed" if result.passed else "FAILED"]
        cells += [_cell(result.figures.get(column)) for column in COLUMNS]
        cells.append("; ".join(result.notes) or "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: list[Result]) -> str:
    passed = sum(result.passed for result in results)
    return f"{passed} passed, {len(results) - passed} failed"

"""Numbers and presentation: medians, percentiles, ratios, result rows, the JSON files and the table.

Pure functions only (no processes, no network), so the smoke test can check them on given numbers.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that were measured (None = not measured); None when there are none."""
    present = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation, as numpy's default; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(ours: float | None, other: float | None) -> float | None:
    """``ours / other``; None when either is missing or ``other`` is zero."""
    if ours is None or other is None or other == 0:
        return None
    return ours / other


@dataclass(frozen=True)
class Row:
    """One line of the results table: our figure, what it is compared with, and the target.

    :param met: True/False when a target applies, None when the row is informative only.
    """

    benchmark: str
    case: str
    metric: str
    ours: float | None
    unit: str
    comparison: str = ""
    theirs: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.theirs)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class BenchResult:
    """What one benchmark hands back: table rows plus every raw measurement for the JSON file."""

    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def at_most(value: float | None, limit: float) -> bool | None:
    """Target check ``value <= limit``; None (unknown) when the value was not measured."""
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    """Target check ``value >= limit``; None (unknown) when the value was not measured."""
    return None if value is None else value >= limit


def fmt(value: float | None) -> str:
    """A number in at most 4 significant digits, without exponent for the sizes seen here."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.01:
        return f"{value:.3g}" if magnitude < 1 else f"{value:.2f}"
    return f"{value:.2g}"


def _met_text(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: ""}[met]


def table(rows: Iterable[Row]) -> str:
    """A Markdown table of the rows (it reads well in a terminal and pastes into the docs)."""
    header = ("Benchmark", "Case", "Metric", "AIGC", "Comparison", "Theirs", "Ratio", "Target", "Met")
    lines = [header]
    for row in rows:
        unit = f" {row.unit}" if row.unit else ""
        theirs = f"{fmt(row.theirs)}{unit}" if row.theirs is not None else ""
        lines.append(
            (
                row.benchmark,
                row.case,
                row.metric,
                f"{fmt(row.ours)}{unit}",
                row.comparison,
                theirs,
                f"{fmt(row.ratio)}x" if row.ratio is not None else "",
                row.target,
                _met_text(row.met),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"
        for line in lines
    ]
    rendered.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(rendered)


def write_result(result: BenchResult, directory: Path, meta: dict[str, Any]) -> Path:
    """Write ``<directory>/<name>.json`` with the rows, the raw details and how it was run."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{result.name}.json"
    payload = {
        "benchmark": result.name,
        "meta": meta,
        "rows": [row.to_dict() for row in result.rows],
        "details": result.details,
    }
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path


def table_from_results(directory: Path) -> str:
    """The one table of every benchmark's latest results file (what the README quotes)."""
    rows: list[Row] = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        if "rows" not in data:
            continue  # not a benchmark result (e.g. the reliability suite's tally)
        fields = set(Row.__dataclass_fields__)
        rows += [Row(**{key: value for key, value in row.items() if key in fields}) for row in data["rows"]]
    return table(rows)


if __name__ == "__main__":
    print(table_from_results(Path(__file__).resolve().parent / "results"))

"""The benchmark package imports, and its number helpers compute what they should on given numbers.

No timing is asserted here: the benchmarks themselves run with ``make bench``.
"""

from __future__ import annotations

import importlib
import json

import pytest

from benchmarks import BENCHMARKS
from benchmarks.report import (
    BenchResult,
    Row,
    at_least,
    at_most,
    fmt,
    median,
    percentile,
    ratio,
    table,
    write_result,
)

WORKERS = (
    "benchmarks.trigger_worker",
    "benchmarks.archive_worker",
    "benchmarks.poll_worker",
    "benchmarks.bench_dag",
    "benchmarks.airflow_stack",
    "benchmarks.http_checks",
    "benchmarks.memory",
    "benchmarks.video_origin",
)


@pytest.mark.parametrize("module", [*BENCHMARKS.values(), *WORKERS])
def test_modules_import(module: str) -> None:
    imported = importlib.import_module(module)
    if module in BENCHMARKS.values():
        assert callable(imported.run)
        assert imported.NAME in BENCHMARKS


def test_the_video_origin_serves_an_mp4_of_the_asked_size() -> None:
    import urllib.request

    from benchmarks.common import video_origin

    size = 3 * 1024 * 1024 + 5
    with video_origin() as url, urllib.request.urlopen(f"{url}/video.mp4?bytes={size}", timeout=30) as answer:
        body = answer.read()
        assert answer.headers["Content-Type"] == "video/mp4"
    assert len(body) == size
    assert body[4:8] == b"ftyp"
    assert body[28:32] == b"mdat"
    assert int.from_bytes(body[24:28], "big") == size - 24


def test_median_ignores_missing_values() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, None, 3.0, 2.0]) == 2.5
    assert median([None, float("nan")]) is None
    assert median([]) is None


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_ratio_and_target_checks() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 2.0) is None
    assert at_most(1.5, 1.5) is True
    assert at_most(1.6, 1.5) is False
    assert at_least(0.9, 0.9) is True
    assert at_least(None, 0.9) is None


def test_row_ratio_and_table() -> None:
    row = Row("triggers", "N=1,000", "CPU per poll", 0.3, "ms", "lean", 0.25, "<= 1.5x", True)
    assert row.ratio == pytest.approx(1.2)
    assert row.to_dict()["ratio"] == pytest.approx(1.2)
    informative = Row("import", "baseline", "import airflow", 1234.5, "ms")
    lines = table([row, informative]).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| Benchmark")
    assert set(lines[1]) <= {"|", "-", " "}
    assert "| 0.3 ms" in lines[2]
    assert "1.20x" in lines[2]
    assert "| yes |" in lines[2]
    assert "1,234 ms" in lines[3]
    assert all(len(line) == len(lines[0]) for line in lines)


def test_fmt_keeps_four_significant_digits() -> None:
    assert fmt(None) == "-"
    assert fmt(0) == "0"
    assert fmt(12345.6) == "12,346"
    assert fmt(123.4) == "123"
    assert fmt(12.34) == "12.3"
    assert fmt(1.234) == "1.23"
    assert fmt(0.1234) == "0.123"
    assert fmt(0.001234) == "0.0012"


def test_write_result(tmp_path: object) -> None:
    from pathlib import Path

    directory = Path(str(tmp_path))
    result = BenchResult("demo", rows=[Row("demo", "c", "m", 2.0, "s", "other", 4.0)], details={"x": [1]})
    path = write_result(result, directory, {"quick": True})
    payload = json.loads(path.read_text())
    assert path.name == "demo.json"
    assert payload["rows"][0]["ratio"] == 0.5
    assert payload["details"] == {"x": [1]}
    assert payload["meta"] == {"quick": True}

"""Reliability suite plumbing: scenario tallies, fuzzing scale, simulator connections.

Every test here carries ``@pytest.mark.scenario("<id>")``. The hooks below count outcomes per
scenario id, print them as a Markdown table and, when ``AIGC_RELIABILITY_RESULTS`` names a file
(``make test`` and ``make test-soak`` point it into the scratch directory ``.test-results/``), write
them there (one entry per run kind: ``test`` or ``soak``). Tests never touch tracked files:
``make reliability-figures`` publishes a scratch file into ``benchmarks/results/reliability.json``,
which is what ``docs/reliability.md`` shows.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# The real-Airflow harness of the integration suite (``airflow dags test`` per run), re-exported.
from tests.integration.conftest import airflow, airflow_home  # noqa: F401
from tests.reliability.scenarios import SCENARIOS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from _pytest.terminal import TerminalReporter

    from tests.conftest import SimulatorServer

# The committed figures; only ``make reliability-figures`` writes it (tests/reliability/report.py).
RESULTS_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "reliability.json"

_tally: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0})
_figures: dict[str, Any] = {}
_ran_soak = False
_started = time.monotonic()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario(id): the reliability scenario a test proves")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("scenario")
        if marker is None:
            continue
        scenario = str(marker.args[0])
        if scenario not in SCENARIOS:
            raise pytest.UsageError(f"{item.nodeid}: unknown scenario id {scenario!r} (see scenarios.py)")
        item.user_properties.append(("scenario", scenario))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _ran_soak
    scenario = dict(report.user_properties).get("scenario")
    if scenario is None:
        return
    if "soak" in report.keywords:
        _ran_soak = True
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "passed" if report.passed else "skipped" if report.skipped else "failed"
        _tally[str(scenario)][outcome] += 1


def record_figures(name: str, figures: dict[str, Any]) -> None:
    """Keep a test's measured figures (soak counts) for the results file and the summary."""
    _figures[name] = figures


def markdown_table(tally: dict[str, dict[str, int]]) -> str:
    lines = ["| scenario | what is proven | passed | failed |", "| --- | --- | ---: | ---: |"]
    for scenario, description in SCENARIOS.items():
        counts = tally.get(scenario)
        if counts is None:
            continue
        lines.append(f"| `{scenario}` | {description} | {counts['passed']} | {counts['failed']} |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not _tally:
        return
    kind = "soak" if _ran_soak else "test"
    terminalreporter.section(f"reliability scenarios ({kind} run)")
    terminalreporter.write_line(markdown_table(_tally))
    for name, figures in _figures.items():
        terminalreporter.write_line(f"{name}: {json.dumps(figures, sort_keys=True)}")
    target = os.environ.get("AIGC_RELIABILITY_RESULTS")
    if not target:
        return  # only whole-suite runs (make test / make test-soak) record figures
    results_file = Path(target)
    try:
        existing = json.loads(results_file.read_text()) if results_file.exists() else {}
    except ValueError:
        existing = {}
    runs = existing.get("runs", {}) if isinstance(existing, dict) else {}
    runs[kind] = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_seconds": round(time.monotonic() - _started, 1),
        "scenarios": {key: _tally[key] for key in SCENARIOS if key in _tally},
        "figures": _figures,
    }
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps({"runs": runs}, indent=2, sort_keys=True) + "\n")
    terminalreporter.write_line(f"written to {results_file}")


# --- the simulator and its connections -----------------------------------------------------------

# Short latencies (before --speed): jobs finish in a fraction of a second, so tests never advance
# the simulator's clock (its clock stays the real one, which URL-expiry tests rely on).
FAST_LATENCY = {"cogview": 4.0, "news_generate": 1.0, "txt2imgv2": 4.0, "ai_draw": 4.0}
CALL_TIMEOUT = 5.0


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    """A simulator of this suite's own (overrides the shared one): these tests change its faults,
    URL lifetimes and token limits, and need its clock to stay the real one."""
    from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, simulator_argv
    from tests.conftest import SimulatorServer, running_server

    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    with running_server(simulator_argv(LOOPBACK, port, speed=20, seed=7), url, "/_sim/health") as process:
        yield SimulatorServer(url=url, process=process)


def connection_env(base_url: str, **extra: Any) -> dict[str, str]:
    """The simulator's ``AIRFLOW_CONN_*`` variables (demo credentials), every extra applied to all three."""
    from airflow_provider_aigc.simulator import connection_env as simulator_connections

    env = {}
    for name, value in simulator_connections(base_url).items():
        connection = json.loads(value)
        connection["extra"] = {**connection.get("extra", {}), "timeout": CALL_TIMEOUT, **extra}
        env[name] = json.dumps(connection)
    return env


def configure(simulator: SimulatorServer, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into the simulator's configuration (docs/simulator.md, /_sim/config)."""
    return simulator.config(changes)


@pytest.fixture
def sim(simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorServer]:
    """The suite's simulator, quiet and reset, with fast jobs and the three default connections set."""
    from airflow_provider_aigc.hooks.tokens import TOKENS

    simulator.wait_quiet()
    simulator.reset(config=True)
    simulator.config({"latency": FAST_LATENCY})
    TOKENS.clear()
    for name, value in connection_env(simulator.url).items():
        monkeypatch.setenv(name, value)
    yield simulator
    simulator.reset(config=True)
    TOKENS.clear()


def fuzz_examples(default: int) -> int:
    """``max_examples`` for a fuzz target: ``AIGC_FUZZ_EXAMPLES`` overrides the default."""
    return int(os.environ.get("AIGC_FUZZ_EXAMPLES", default))


@pytest.fixture(autouse=True)
async def _close_http_sessions() -> AsyncIterator[None]:
    """Close the aiohttp sessions the async hooks opened on this test's event loop."""
    yield
    from airflow_provider_aigc.hooks.session import close_sessions

    await close_sessions()

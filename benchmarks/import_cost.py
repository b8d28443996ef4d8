"""Benchmark 5: what importing the provider adds to ``import airflow``, and example DAG parse times.

Each repetition starts a fresh interpreter that imports ``airflow`` (timed: the baseline) and then
forks one child per probe, so every probe starts from exactly "airflow imported, nothing else",
the way the dag-processor forks its parsing children, without paying Airflow's start-up again.
A probe times only the module under test and reports which heavy libraries (boto3, aiohttp,
pycryptodome) it dragged in: those should load only when a task uses them, so parsing DAG files
(which imports every operator) stays cheap. The HTTP and Amazon providers' modules are measured
beside ours for scale.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from benchmarks.common import REPO, Worker, serve
from benchmarks.report import BenchResult, Row, at_most, median

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.common import Settings

NAME = "import"
HEAVY = ("boto3", "botocore", "aiohttp", "Crypto")
# (ours, the usual alternative it is compared with)
MODULES: tuple[tuple[str, str | None], ...] = (
    ("airflow_provider_aigc", None),
    ("airflow_provider_aigc.operators.submit", "airflow.providers.http.operators.http"),
    ("airflow_provider_aigc.sensors.job", "airflow.providers.http.sensors.http"),
    ("airflow_provider_aigc.operators.archive", "airflow.providers.amazon.aws.transfers.http_to_s3"),
    ("airflow_provider_aigc.triggers.job", "airflow.providers.http.triggers.http"),
)
# Modules that DAG files import: they must not pull heavy clients in at parse time.
PARSE_TIME_MODULES = frozenset(
    {
        "airflow_provider_aigc",
        "airflow_provider_aigc.operators.submit",
        "airflow_provider_aigc.operators.archive",
        "airflow_provider_aigc.sensors.job",
    }
)
IMPORT_BUDGET_MS = 150.0


def probe_import(module: str) -> dict[str, Any]:
    """Seconds to import ``module`` on top of ``airflow``, and the heavy libraries it loaded."""
    import importlib

    before = {name for name in HEAVY if name in sys.modules}
    count = len(sys.modules)
    start = time.perf_counter()
    importlib.import_module(module)
    elapsed = time.perf_counter() - start
    return {
        "added_s": elapsed,
        "modules_added": len(sys.modules) - count,
        "heavy_loaded": sorted(name for name in HEAVY if name in sys.modules and name not in before),
    }


def probe_parse(path: str) -> dict[str, Any]:
    """Seconds for Airflow's DagBag to parse one DAG file, and the heavy libraries parsing loaded
    (DagBag itself is imported before the clock starts; it loads none of them)."""
    from airflow.dag_processing.dagbag import DagBag

    start = time.perf_counter()
    bag = DagBag(dag_folder=path, safe_mode=False)
    elapsed = time.perf_counter() - start
    return {
        "parse_s": elapsed,
        "dags": sorted(bag.dag_ids),
        "import_errors": {str(k): str(v)[-300:] for k, v in bag.import_errors.items()},
        "heavy_loaded": sorted(name for name in HEAVY if name in sys.modules),
    }


def in_fork(probe: Callable[[str], dict[str, Any]], target: str) -> dict[str, Any]:
    """Run ``probe(target)`` in a forked child and return its answer (the parent stays pristine)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        try:
            answer = probe(target)
        except BaseException as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        with os.fdopen(write_fd, "w") as pipe:
            pipe.write(json.dumps(answer))
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        raw = pipe.read()
    os.waitpid(pid, 0)
    return dict(json.loads(raw))


def _server() -> None:
    start = time.perf_counter()
    import airflow  # noqa: F401  (the baseline every probe builds on)

    airflow_s = time.perf_counter() - start

    def handle(command: dict[str, Any]) -> dict[str, Any]:
        if command["op"] == "baseline":
            return {"airflow_s": airflow_s, "heavy_loaded": sorted(n for n in HEAVY if n in sys.modules)}
        probe = probe_import if command["op"] == "import" else probe_parse
        return in_fork(probe, command["target"])

    serve(handle)


def _module_label(module: str) -> str:
    return module.removeprefix("airflow_provider_aigc.")


def _their_label(module: str) -> str:
    return module.removeprefix("airflow.providers.")


def run(settings: Settings) -> BenchResult:
    result = BenchResult(NAME)
    reps = max(settings.reps, settings.pick(7, 3))
    dag_files = sorted((REPO / "dags").glob("*.py"))
    targets = [name for pair in MODULES for name in pair if name]
    imports: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    parses: dict[str, list[dict[str, Any]]] = {path.name: [] for path in dag_files}
    baselines: list[dict[str, Any]] = []
    # One throwaway interpreter first: after an install it compiles the bytecode caches.
    for rep in range(reps + 1):
        worker = Worker("benchmarks.import_cost")
        try:
            baseline = worker.call({"op": "baseline"})
            for name in targets:
                sample = worker.call({"op": "import", "target": name})
                if rep:
                    imports[name].append(sample)
            for path in dag_files:
                sample = worker.call({"op": "parse", "target": str(path)})
                if rep:
                    parses[path.name].append(sample)
        finally:
            worker.close()
        if rep:
            baselines.append(baseline)
    result.details = {"reps": reps, "baseline": baselines, "imports": imports, "dag_parse": parses}
    airflow_ms = median(b["airflow_s"] * 1000 for b in baselines)
    preloaded = ", ".join(baselines[0]["heavy_loaded"]) or "none"
    result.rows.append(
        Row(NAME, "baseline", f"import airflow (heavy libs it loads: {preloaded})", airflow_ms, "ms")
    )
    for module, other in MODULES:
        ours = median(s["added_s"] * 1000 for s in imports[module])
        theirs = median(s["added_s"] * 1000 for s in imports[other]) if other else None
        result.rows.append(
            Row(
                NAME,
                _module_label(module),
                "import time added to airflow",
                ours,
                "ms",
                comparison=_their_label(other) if other else "",
                theirs=theirs,
                target=f"<= {IMPORT_BUDGET_MS:.0f} ms",
                met=at_most(ours, IMPORT_BUDGET_MS),
            )
        )
        heavy = sorted({name for s in imports[module] for name in s["heavy_loaded"]})
        at_parse = module in PARSE_TIME_MODULES
        result.rows.append(
            Row(
                NAME,
                _module_label(module),
                "heavy libs it imports: " + (", ".join(heavy) or "none"),
                float(len(heavy)),
                "",
                target="none (parse time)" if at_parse else "informative (triggerer only)",
                met=not heavy if at_parse else None,
            )
        )
    for name, runs in parses.items():
        errors = runs[-1].get("import_errors") or runs[-1].get("error")
        heavy = sorted({lib for s in runs for lib in s.get("heavy_loaded", [])})
        result.rows.append(
            Row(
                NAME,
                f"dags/{name}",
                "DAG parse time" + (" (IMPORT ERRORS, see JSON)" if errors else ""),
                median(s["parse_s"] * 1000 if "parse_s" in s else None for s in runs),
                "ms",
                target="heavy libs loaded: " + (", ".join(heavy) or "none"),
                met=not heavy and not errors,
            )
        )
    return result


if __name__ == "__main__":
    _server()

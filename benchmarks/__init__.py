"""Repeatable performance runs of the provider against the usual alternatives (``python -m benchmarks``).

Everything runs on loopback: the vendor simulator and a moto S3 server are started as subprocesses.
Each benchmark module has ``NAME`` and ``run(settings) -> BenchResult``; this package imports none of
them eagerly, so a benchmark's child processes start without the others' dependencies.
"""

from __future__ import annotations

# name -> module, in the order they run and appear in the table.
BENCHMARKS: dict[str, str] = {
    "triggers": "benchmarks.trigger_polling",
    "archive": "benchmarks.archive_copy",
    "airflow": "benchmarks.airflow_deferral",
    "polling": "benchmarks.poll_efficiency",
    "import": "benchmarks.import_cost",
    "one_task": "benchmarks.one_task",
    "deployment": "benchmarks.deployment",
    "batches": "benchmarks.batches",
}

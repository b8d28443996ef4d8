"""Benchmark 6's figures from given measurements: the per-job ratios and the 0.6x target."""

from __future__ import annotations

import os

from benchmarks.one_task import TARGET, cpu_seconds, rows_for


def phase(starts: int, cpu: float, *, runs: int = 4, failed: int = 0) -> dict[str, object]:
    return {
        "runs": runs,
        "failed_runs": failed,
        "jobs_bought": runs,
        "starts_per_job": starts / runs,
        "cpu_s_per_job": cpu / runs,
    }


def test_the_one_task_figures_meet_the_target_at_most_point_six_of_the_chain() -> None:
    rows = rows_for({"chain": phase(16, 40.0), "one-task": phase(8, 22.0)}, speed=8.0)

    starts, cpu, failed = rows
    assert (starts.ours, starts.theirs, starts.ratio, starts.met) == (2.0, 4.0, 0.5, True)
    assert cpu.ratio == 22.0 / 40.0
    assert cpu.met is True
    assert failed.met is True
    assert f"<= {TARGET}x" in starts.target


def test_a_ratio_over_the_target_or_a_failed_run_misses_it() -> None:
    over = rows_for({"chain": phase(16, 40.0), "one-task": phase(12, 30.0)}, speed=8.0)
    failed_run = rows_for({"chain": phase(16, 40.0), "one-task": phase(8, 20.0, failed=1)}, speed=8.0)

    assert [row.met for row in over] == [False, False, True]
    assert [row.met for row in failed_run] == [False, False, False]


def test_cpu_seconds_reads_this_process() -> None:
    assert cpu_seconds(os.getpid()) > 0

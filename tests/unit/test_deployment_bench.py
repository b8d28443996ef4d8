"""Benchmark 7's numbers from given measurements: integrals, per-wait-minute CPU, rows and targets.

The deployment itself runs with ``python -m benchmarks --only deployment``; nothing here is timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import psutil
import pytest

from benchmarks.deployment import (
    SLOT_TARGET,
    TRIGGERER_TARGET,
    Sampler,
    held_per_poll,
    held_rows,
    integrate,
    net_of_idle,
    per_wait_minute,
    reference_cpu_per_poll,
    rows_for,
    steady_window,
    tree_cpu,
)


def test_integrate_holds_each_value_until_the_next_sample() -> None:
    # 2 slots for 2 s, 1 slot for 1 s, then 0: 5 slot-seconds; the samples may come unordered.
    assert integrate([(13.0, 0.0), (10.0, 2.0), (12.0, 1.0), (11.0, 2.0)]) == 5.0
    assert integrate([(5.0, 3.0)]) == 0.0
    assert integrate([]) == 0.0


def test_per_wait_minute_divides_by_minutes_of_waiting() -> None:
    assert per_wait_minute(3.0, 120.0) == 1.5
    assert per_wait_minute(3.0, 0.0) is None
    assert per_wait_minute(None, 60.0) is None


def test_net_of_idle_subtracts_the_idle_rate_and_shows_noise_as_negative() -> None:
    assert net_of_idle(10.0, 0.05, 100.0) == pytest.approx(5.0)
    assert net_of_idle(1.0, 0.05, 100.0) == pytest.approx(-4.0)


def test_steady_window_starts_settle_seconds_after_all_waits_deferred_and_ends_at_the_first_finishing() -> (
    None
):
    # (time, waits deferred, CPU so far): all 3 deferred from t=10 to t=40, the first finishes at t=42
    samples = [(t, 3.0 if 10 <= t <= 40 else 2.0, 0.1 * t) for t in range(0, 50, 2)]

    seconds, cpu = steady_window(samples, 3, settle=15.0) or (None, None)
    assert seconds == 40 - 26
    assert cpu == pytest.approx(0.1 * 14)
    assert steady_window(samples, 4, settle=15.0) is None  # never all 4 deferred
    assert steady_window(samples, 3, settle=40.0) is None  # nothing left after settling


def test_the_reference_is_cpu_per_poll_net_of_the_idle_loop() -> None:
    idle = [{"cpu_s": 0.02, "window_s": 10.0}, {"cpu_s": 0.04, "window_s": 10.0}]  # 3 ms/s
    windows = [
        {"cpu_s": 0.09, "window_s": 10.0, "polls": 60},  # (0.09 - 0.03) / 60 = 1 ms
        {"cpu_s": 0.15, "window_s": 10.0, "polls": 60},  # 2 ms
        {"cpu_s": 0.05, "window_s": 10.0, "polls": 0},  # no polls: not counted
    ]
    assert reference_cpu_per_poll(windows, idle) == pytest.approx(0.0015)


def phase(jobs: int, slot_s: float, starts: int, cpu: float, **extra: Any) -> dict[str, Any]:
    return {
        "jobs": jobs,
        "worker_slot_s": slot_s,
        "worker_process_starts": starts,
        "worker_cpu_s": cpu,
        "seconds": 100.0,
        "triggerer_cpu_s": 2.0,  # sensor-mode phases: a baseline of 0.02 CPU-s/s
        "idle_triggerer_cpu_per_s": 0.01,
        "deferred_wait_s": 4 * 60.0,
        "steady_s": 30.0,
        "steady_triggerer_cpu_s": 0.6 + 0.5,  # 0.5 s beyond the baseline
        "runner_cpu_s": 0.5,  # sensor-mode phases: the runners' baseline of 0.005 CPU-s/s
        "steady_runner_s": 30.0,
        "steady_runner_cpu_s": 0.15 + 0.2,  # 0.2 s of the 0.5 beyond the baseline
        "manifests": jobs,
        "archive_problems": [],
        "max_purchases_per_prompt": 1,
        **extra,
    }


def phases(**deferrable: Any) -> dict[str, dict[str, Any]]:
    return {
        "deferrable": phase(4, 40.0, 12, 20.0, **{"triggerer_cpu_s": 3.0, **deferrable}),
        "reschedule": phase(4, 80.0, 28, 50.0),
        "poke": phase(4, 320.0, 12, 30.0),
    }


def by_metric(rows: list[Any]) -> dict[str, Any]:
    return {row.metric: row for row in rows}


def test_rows_compare_each_mode_per_job_with_poke_and_apply_the_targets() -> None:
    rows = by_metric(rows_for(phases(), {"cpu_s_per_wait_minute": 0.2, "n": 4, "interval_s": 15.0}))

    slot = rows["worker-slot seconds per job, deferrable"]
    assert (slot.ours, slot.theirs, slot.ratio, slot.met) == (10.0, 80.0, 0.125, True)
    assert f"<= {SLOT_TARGET}x" in slot.target
    assert rows["worker-slot seconds per job, reschedule"].ratio == 0.25
    assert rows["worker-slot seconds per job, reschedule"].met is None
    assert rows["worker process starts per job, reschedule"].ours == 7.0
    # steady state: 0.5 CPU-seconds net over 4 waits x 30 s = 2 wait-minutes: 1.25x the reference of 0.2
    steady = rows["triggerer CPU per wait-minute, steady, net of baseline"]
    assert steady.ours == pytest.approx(0.25)
    assert steady.ratio == pytest.approx(1.25)
    assert steady.met is None  # informational: the target is judged on the held phase
    # against the idle window before the phases (0.01/s): 0.8 s over 2 wait-minutes
    assert rows["triggerer CPU per wait-minute, steady, net of idle before"].ours == pytest.approx(0.4)
    # the whole phase: 1 s beyond the baseline, 3 s gross over 4 wait-minutes
    assert rows["triggerer CPU per wait-minute, whole phase, net of baseline"].ours == pytest.approx(0.25)
    assert rows["triggerer CPU per wait-minute, whole phase, gross"].ours == 0.75
    baseline = rows["triggerer CPU per second, no waits held (reschedule, poke)"]
    assert (baseline.ours, baseline.theirs) == (0.02, 0.01)
    assert rows["jobs archived (worst mode)"].ours == 100.0
    assert rows["jobs archived (worst mode)"].met is True


def test_missed_targets_show_as_not_met() -> None:
    slow = phases(worker_slot_s=100.0, steady_triggerer_cpu_s=0.6 + 1.0)
    rows = by_metric(rows_for(slow, {"cpu_s_per_wait_minute": 0.2, "n": 4, "interval_s": 15.0}))

    assert rows["worker-slot seconds per job, deferrable"].met is False  # 0.3125x poke


@pytest.mark.parametrize(
    "archive", [{"manifests": 3}, {"archive_problems": ["x: missing"]}, {"max_purchases_per_prompt": 2}]
)
def test_a_missing_or_broken_archive_or_a_second_purchase_misses_the_archive_target(
    archive: dict[str, Any],
) -> None:
    rows = by_metric(rows_for(phases(**archive), {"cpu_s_per_wait_minute": 0.2, "n": 4, "interval_s": 15.0}))

    assert rows["jobs archived (worst mode)"].met is False


def test_a_steady_figure_below_the_baseline_noise_says_so() -> None:
    in_the_noise = rows_for(phases(steady_triggerer_cpu_s=0.5), {"cpu_s_per_wait_minute": 0.2, "n": 4})

    assert "noise" in by_metric(in_the_noise)["triggerer CPU per wait-minute, steady, net of baseline"].note


def held(before: float, during: float, after: float, polls_per_s: float = 24.0) -> dict[str, Any]:
    """A hold phase whose supervisors stay at 20 ms/s and whose runners go before -> during -> after."""

    def window(runner: float, polls: float) -> dict[str, float]:
        return {
            "seconds": 90.0,
            "supervisor_cpu_per_s": 0.02,
            "runner_cpu_per_s": runner,
            "triggerer_cpu_per_s": 0.02 + runner,
            "polls_per_s": polls,
        }

    return {
        "jobs": 48,
        "poll_interval_s": 2.0,
        "windows": {
            "before": window(before, 0.0),
            "held": window(during, polls_per_s),
            "after": window(after, 0.0),
        },
        "manifests": 48,
        "archive_problems": [],
        "max_purchases_per_prompt": 1,
    }


def test_held_cost_per_poll_is_net_of_the_mean_of_the_windows_holding_none() -> None:
    figures = held(0.005, 0.043, 0.007)["windows"]
    # (0.043 - (0.005 + 0.007) / 2) / 24 polls a second: 1.54 ms a poll, all of it in the runners
    runner = held_per_poll(figures["before"], figures["held"], figures["after"], "runner")
    assert runner == pytest.approx(0.037 / 24)
    assert held_per_poll(figures["before"], figures["held"], figures["after"], "supervisor") == 0.0
    no_polls = held(0.005, 0.043, 0.007, polls_per_s=0.0)["windows"]
    assert held_per_poll(no_polls["before"], no_polls["held"], no_polls["after"], "runner") is None


def test_the_triggerer_target_is_judged_on_the_held_phase_per_poll_at_the_deployments_interval() -> None:
    reference = {"cpu_s_per_wait_minute": 0.0054, "n": 48}  # 1.35 ms a poll x 4 polls a minute
    rows = by_metric(held_rows(held(0.005, 0.043, 0.007), reference))

    whole = rows["triggerer CPU per wait-minute, held steady, whole triggerer"]
    assert whole.ours == pytest.approx(0.037 / 24 * 4)  # per poll x 60 s / 15 s
    assert whole.ratio == pytest.approx(0.037 / 24 * 4 / 0.0054)  # 1.14x
    assert whole.met is True
    assert f"<= {TRIGGERER_TARGET}x" in whole.target
    assert rows["triggerer CPU per wait-minute, held steady, trigger runner"].met is None
    assert rows["triggerer CPU per wait-minute, held steady, supervisor"].ours == 0.0

    costly = by_metric(held_rows(held(0.005, 0.08, 0.007), reference))
    assert costly["triggerer CPU per wait-minute, held steady, whole triggerer"].met is False  # 2.3x
    unknown = by_metric(held_rows(held(0.005, 0.043, 0.007), {"cpu_s_per_wait_minute": None, "n": 48}))
    assert unknown["triggerer CPU per wait-minute, held steady, whole triggerer"].met is None


def test_an_archive_missing_in_the_held_phase_misses_the_archive_target() -> None:
    figures = {**phases(), "hold": {**held(0.005, 0.043, 0.007), "manifests": 47}}
    rows = by_metric(rows_for(figures, {"cpu_s_per_wait_minute": 0.2, "n": 4}))

    assert rows["jobs archived (worst mode)"].met is False


def test_the_sampler_counts_pool_processes_that_hold_a_task_process() -> None:
    # This test process plays the worker: its child a pool process, the grandchild its task process.
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    pool = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert pool.stdout is not None
        task = int(pool.stdout.readline())
        sampler = Sampler((pool.pid,))
        assert sampler.sample() == 0  # the pool process is the root here: its child has no child

        sampler = Sampler((os.getpid(),))
        assert sampler.sample() >= 1
        assert task in sampler.task_pids
    finally:
        for child in psutil.Process(pool.pid).children():
            child.kill()
        pool.kill()
        pool.wait()


def test_tree_cpu_counts_a_reaped_child() -> None:
    before = tree_cpu(os.getpid())
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)

    assert tree_cpu(os.getpid()) > before


def test_the_triggerer_is_split_into_the_trigger_runner_and_airflows_supervisor_loop() -> None:
    rows = by_metric(rows_for(phases(), {"cpu_s_per_wait_minute": 0.2, "n": 4}))
    # 0.2 CPU-s net over 4 waits x 30 s = 2 wait-minutes: 0.1 in the runners, 0.15 in the supervisors
    runner = rows["triggerer CPU per wait-minute, steady, trigger runner, net of baseline"]
    supervisor = rows["triggerer CPU per wait-minute, steady, supervisor, net of baseline"]
    assert runner.ours == pytest.approx(0.1)
    assert runner.ratio == pytest.approx(0.5)
    assert supervisor.ours == pytest.approx(0.15)
    assert runner.met is None  # the target stays on the whole triggerer
    assert supervisor.met is None

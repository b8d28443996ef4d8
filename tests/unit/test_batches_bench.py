"""Benchmark 8's numbers from given phase figures: the ideal makespan, the rows and their targets.

The deployment itself runs with ``python -m benchmarks --only batches``; nothing here is timed.
"""

from __future__ import annotations

from typing import Any

from benchmarks.batch_dag import MODES
from benchmarks.batches import ideal_makespan, rows_for


def test_the_ideal_makespan_is_one_lane_per_allowed_job_each_seen_one_poll_late() -> None:
    assert ideal_makespan(200, 2, 3.0, 5.0) == 800.0
    assert ideal_makespan(5, 2, 3.0, 1.0) == 12.0  # an odd batch: the last lane runs one more


def figures(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "prompts": 20,
        "job_seconds": 3.0,
        "makespan_s": 90.0,
        "seconds": 100.0,
        "refused_submits": 2,
        "worker_slot_s": 100.0,
        "triggerer_cpu_s": 10.0,
        "manifests": 20,
        "archive_problems": [],
        "prompts_bought": 20,
        "jobs_bought": 20,
        "max_purchases_per_prompt": 1,
        "task_instances": 20,
        "failed_tasks": [],
    }
    return {**base, **changes}


def phases(**limited: Any) -> dict[str, dict[str, Any]]:
    return {
        **{f"{mode}-limit": figures(**limited) for mode in MODES},
        **{f"{mode}-free": figures(makespan_s=20.0, refused_submits=0) for mode in MODES},
    }


def by_metric(phase_figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {row.metric: row for row in rows_for(phase_figures) if "one-task" in row.case}


def test_a_batch_within_every_target_meets_them_all() -> None:
    rows = by_metric(phases())

    assert {name: row.met for name, row in rows.items()} == {
        "jobs archived": True,
        "failed task instances": True,
        "makespan": True,  # 90 s against ceil(20/2) x (3 + 5) = 80 s: 1.125x
        "refused submits per job": True,  # 2 / 20
        "worker-slot seconds per job": True,  # the same as without a limit
        "triggerer CPU-seconds per job": None,  # informative
    }
    assert rows["makespan"].theirs == 80.0
    assert rows["jobs archived"].ours == 100.0


def test_each_miss_shows_as_not_met() -> None:
    rows = by_metric(
        phases(makespan_s=93.0, refused_submits=5, worker_slot_s=111.0, failed_tasks=["generate[3]"])
    )

    assert rows["makespan"].met is False
    assert rows["refused submits per job"].met is False
    assert rows["worker-slot seconds per job"].met is False
    assert rows["failed task instances"].met is False


def test_a_missing_archive_or_a_second_purchase_misses_the_archive_target() -> None:
    assert by_metric(phases(manifests=19))["jobs archived"].met is False
    assert by_metric(phases(jobs_bought=21, max_purchases_per_prompt=2))["jobs archived"].met is False
    assert by_metric(phases(prompts_bought=19, jobs_bought=19, manifests=19))["jobs archived"].met is False


def test_both_modes_map_the_prompts_on_the_connection_of_their_phase_without_retries() -> None:
    from benchmarks.batch_dag import build

    for limited, conn_id in ((True, "aigc_baidu_capacity"), (False, "aigc_baidu_default")):
        one_task, chain = (build(mode, limited, jobs=3, poll_interval=5.0) for mode in MODES)

        assert [task.task_id for task in one_task.tasks] == ["generate"]
        assert [task.task_id for task in chain.tasks] == ["prompt.submit", "prompt.wait", "prompt.archive"]
        assert one_task.tasks[0].partial_kwargs["conn_id"] == conn_id
        assert chain.get_task("prompt.submit").conn_id == conn_id
        for task in [*one_task.tasks, *chain.tasks]:
            assert task.retries == 0

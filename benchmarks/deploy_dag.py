"""The DAGs of the deployment benchmark (benchmarks/deployment.py): one batch, three ways to wait
(and a larger deferrable batch whose waits are held, for the triggerers' steady state).

Each DAG is the mapped chain the deployment suite runs (submit >> wait >> archive over ``jobs``
CogView prompts templated with the run's ``tag``), so tests/deploy/checks.py counts its purchases
and checks its archives. Only the sensor differs: deferrable, ``reschedule`` or ``poke`` mode.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

# mode -> (deferrable, sensor mode)
MODES: dict[str, tuple[bool, str]] = {
    "deferrable": (True, "poke"),
    "reschedule": (False, "reschedule"),
    "poke": (False, "poke"),
}
# The steady-state phase (benchmarks/deployment.py ``hold``): deferrable, its waits held deferred
# while both triggerers are measured, polling at the single-process trigger benchmark's interval.
HOLD = "hold"
SENSORS = {**MODES, HOLD: MODES["deferrable"]}
BUCKET = "aigc-deploy"  # tests/deploy/settings.py ARCHIVE_BUCKET: check_archives reads it


def dag_id(mode: str) -> str:
    return f"bench_deploy_{mode}"


def build(mode: str, *, jobs: int, poll_interval: float) -> Any:
    """The chain for ``mode`` (a key of ``SENSORS``): ``jobs`` mapped CogView submits, their waits
    and archives."""
    from airflow.sdk import DAG, Param

    from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
    from airflow_provider_aigc.operators.submit import CogViewSubmitOperator
    from airflow_provider_aigc.sensors.job import AigcJobSensor

    deferrable, sensor_mode = SENSORS[mode]
    with DAG(
        dag_id=dag_id(mode),
        schedule=None,
        default_args={"retries": 2, "retry_delay": timedelta(seconds=2)},
        params={"tag": Param("manual", type="string", maxLength=40)},
        max_active_runs=1,
        tags=["aigc-benchmark"],
    ) as dag:
        prompts = [f"{{{{ params.tag }}}}-cogview-{index:02d}" for index in range(jobs)]
        submit = CogViewSubmitOperator.partial(task_id="submit").expand(query=prompts)
        wait = AigcJobSensor.partial(
            task_id="wait",
            poll_interval=poll_interval,
            timeout=1200,
            deferrable=deferrable,
            mode=sensor_mode,
        ).expand(job=submit.output)
        AigcArchiveToS3Operator.partial(
            task_id="archive", s3_bucket=BUCKET, s3_key_prefix="deploy/{{ params.tag }}"
        ).expand(job=wait.output)
    return dag

"""Failures no retry can fix fail at once although every task has retries left:

moderation at the vendor (Baidu, seen on the job) and at submit (Jumdata), a job the vendor
failed (CogView, with the simulator's job_failure fault) and a wait past its deadline (Jumdata).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_aigc.operators.submit import (
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    JumdataDrawSubmitOperator,
)
from airflow_provider_aigc.sensors.job import AigcJobSensor

BLOCKED = "违禁的画面"  # the simulator's default moderation word

with DAG(
    dag_id="it_fail_fast",
    schedule=None,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=0)},
):
    ernie = ErnieVilgSubmitOperator(task_id="submit_ernie", prompt=BLOCKED)
    ernie >> AigcJobSensor(task_id="wait_ernie", job=ernie.output, poll_interval=0.3)

    JumdataDrawSubmitOperator(task_id="submit_jumdata", text=BLOCKED, style="油画")

    cogview = CogViewSubmitOperator(task_id="submit_cogview", query="a job the vendor fails")
    cogview >> AigcJobSensor(task_id="wait_cogview", job=cogview.output, poll_interval=0.3)

    slow = JumdataDrawSubmitOperator(task_id="submit_slow", text="a slow drawing", style="油画")
    slow >> AigcJobSensor(task_id="wait_slow", job=slow.output, poll_interval=0.3, timeout=2)

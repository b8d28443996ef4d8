"""Transient vendor trouble is ridden out: 503 bursts while polling a CogView job (the trigger
backs off), and a rate-limited ERNIE-ViLG submit (the hook backs off; the job is bought once)."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_aigc.operators.submit import CogViewSubmitOperator, ErnieVilgSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

with DAG(dag_id="it_transient", schedule=None):
    cogview = CogViewSubmitOperator(task_id="submit_cogview", query="a lotus pond in the rain")
    cogview >> AigcJobSensor(task_id="wait_cogview", job=cogview.output, poll_interval=0.3)

    ernie = ErnieVilgSubmitOperator(task_id="submit_ernie", prompt="睡莲")
    ernie >> AigcJobSensor(task_id="wait_ernie", job=ernie.output, poll_interval=0.3)

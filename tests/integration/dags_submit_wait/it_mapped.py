"""One CogView job per prompt with .partial().expand(), each waited for by a mapped sensor."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_aigc.operators.submit import CogViewSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

with DAG(dag_id="it_mapped", schedule=None):
    submit = CogViewSubmitOperator.partial(task_id="submit").expand(query=["春", "夏", "秋"])
    AigcJobSensor.partial(task_id="wait", poll_interval=0.3).expand(job=submit.output)

"""A Wan submit whose answer is lost (the client times out while the vendor creates the task)."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_aigc.operators.dashscope import WanImageSubmitOperator

with DAG(dag_id="it_wan_unconfirmed", schedule=None):
    WanImageSubmitOperator(task_id="submit", prompt="一只狐狸", model="wan2.2-t2i-flash", retries=1)

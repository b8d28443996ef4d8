"""A submit task whose first try hits ``execution_timeout`` while the vendor holds its answer.

``AirflowTaskTimeout`` (a ``BaseException``) fires inside the paid call; the retry finds the intent
without a job and must refuse (``AigcSubmitUnconfirmedError``) rather than buy again.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_aigc.operators.submit import CogViewSubmitOperator

with DAG(dag_id="rel_submit_timeout", schedule=None):
    CogViewSubmitOperator(
        task_id="submit",
        query="{{ params.prompt }}",
        params={"prompt": "荷塘月色"},
        execution_timeout=timedelta(seconds=2),
        retries=3,  # the refusal must not use the two left after it
        retry_delay=timedelta(seconds=0),
    )

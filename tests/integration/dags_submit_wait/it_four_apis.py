"""Each of the four APIs: submit >> wait, the wait deferring to the trigger until the job is done.

The pairs run one after the other: ``dags test`` runs ready tasks in turn, so with parallel
pairs the first wait to defer would outlast the other jobs and their waits would find them done.
"""

from __future__ import annotations

from airflow.sdk import DAG, chain

from airflow_provider_aigc.operators.submit import (
    AigcSubmitOperator,
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    JumdataDrawSubmitOperator,
    NewsGenerateSubmitOperator,
)
from airflow_provider_aigc.sensors.job import AigcJobSensor

PROMPT = "{{ params.prompt }}"

with DAG(dag_id="it_four_apis", schedule=None, params={"prompt": "荷塘月色"}):
    submits: dict[str, AigcSubmitOperator] = {
        "cogview": CogViewSubmitOperator(task_id="submit_cogview", query=PROMPT),
        "news": NewsGenerateSubmitOperator(task_id="submit_news", content=PROMPT, max_length=120),
        "ernie": ErnieVilgSubmitOperator(task_id="submit_ernie", prompt=PROMPT, image_num=2),
        "jumdata": JumdataDrawSubmitOperator(task_id="submit_jumdata", text=PROMPT, style="水彩画", num=2),
    }
    waits = [
        AigcJobSensor(task_id=f"wait_{name}", job=submit.output, poll_interval=0.3)
        for name, submit in submits.items()
    ]
    chain(*(task for pair in zip(submits.values(), waits, strict=True) for task in pair))

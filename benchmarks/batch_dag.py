"""The DAGs of the batches benchmark (benchmarks/batches.py): one Baidu batch, both modes.

``jobs`` ERNIE-ViLG prompts templated with the run's ``tag`` are mapped on ``aigc_baidu_default``,
as one task each (``ErnieVilgToS3Operator``) or as the chain (``ErnieVilgSubmitOperator`` ->
``AigcJobSensor`` -> ``AigcArchiveToS3Operator``) mapped as one task group per prompt. The prompts
and the archive prefix follow tests/deploy's conventions, so tests/deploy/checks.py counts the
purchases and checks the archives.
Retries are 0: a wait for capacity must not need one, so any failure shows.
"""

from __future__ import annotations

from typing import Any

from benchmarks.deploy_dag import BUCKET

MODES = ("one_task", "chain")


def dag_id(mode: str, limited: bool) -> str:
    return f"bench_batch_{mode}_{'limited' if limited else 'free'}"


def build(mode: str, limited: bool, *, jobs: int, poll_interval: float) -> Any:
    """``jobs`` mapped Baidu prompts in ``mode`` (a member of ``MODES``), on the connection that
    declares the account ``limited`` to 2 jobs at a time, else the one that declares no limit."""
    from tests.deploy.settings import CAPACITY_CONN_ID

    conn_id = CAPACITY_CONN_ID if limited else "aigc_baidu_default"
    from airflow.sdk import DAG, Param, task_group

    from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
    from airflow_provider_aigc.operators.generate import ErnieVilgToS3Operator
    from airflow_provider_aigc.operators.submit import ErnieVilgSubmitOperator
    from airflow_provider_aigc.sensors.job import AigcJobSensor

    prefix = "deploy/{{ params.tag }}"
    with DAG(
        dag_id=dag_id(mode, limited),
        schedule=None,
        default_args={"retries": 0},
        params={"tag": Param("manual", type="string", maxLength=40)},
        max_active_runs=1,
        tags=["aigc-benchmark"],
    ) as dag:
        if mode == "one_task":
            prompts = [f"{{{{ params.tag }}}}-baidu-{index:03d}" for index in range(jobs)]
            ErnieVilgToS3Operator.partial(
                task_id="generate",
                conn_id=conn_id,
                s3_bucket=BUCKET,
                s3_key_prefix=prefix,
                poll_interval=poll_interval,
            ).expand(prompt=prompts)
        else:

            @task_group(group_id="prompt")
            def one_prompt(number: int) -> None:
                # Mapped as a group, each prompt's sensor starts once its own submit is done, so
                # the triggerer watches every running job (docs/operators.md, "Batches at capacity").
                # A group's mapped argument is not rendered, so the prompt templates its map index.
                prompt = "{{ params.tag }}-baidu-{{ '%03d' | format(ti.map_index) }}"
                submit = ErnieVilgSubmitOperator(task_id="submit", conn_id=conn_id, prompt=prompt)
                wait = AigcJobSensor(task_id="wait", job=submit.output, poll_interval=poll_interval)
                AigcArchiveToS3Operator(
                    task_id="archive", job=wait.output, s3_bucket=BUCKET, s3_key_prefix=prefix
                )

            one_prompt.expand(number=list(range(jobs)))
    return dag

"""The DAGs the deployment suite runs: mapped batches over six apps, and batches at capacity.

Prompts are templated with the run's ``tag`` param, so every run buys distinct prompts and the
suite can count each prompt's purchases in the simulator's ``/_sim/stats``. ``deploy_load``: 12
jobs per app over five chains (a CogVideoX batch among them) and a one-task DashScope Wan image
batch, 72 in all. ``deploy_waits``: 4 per app of the first four chains. ``deploy_one``: a single
CogView job, for the worker faults. ``deploy_capacity_{chain,one_task}_r{0,2}``: Baidu batches on
an account that runs 2 jobs at a time (``CAPACITY_CONN_ID`` declares it), in both modes and with
retries 0 and 2 (the capacity scenario).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.dashscope import WanImageToS3Operator
from airflow_provider_aigc.operators.generate import ErnieVilgToS3Operator
from airflow_provider_aigc.operators.submit import (
    CogVideoXSubmitOperator,
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    JumdataDrawSubmitOperator,
    NewsGenerateSubmitOperator,
)
from airflow_provider_aigc.sensors.job import AigcJobSensor
from tests.deploy.settings import CAPACITY_CONN_ID

BUCKET = os.environ.get("AIGC_DEPLOY_BUCKET", "aigc-deploy")
DEFAULT_ARGS: dict[str, Any] = {"retries": 2, "retry_delay": timedelta(seconds=2)}
POLL_INTERVAL = 2.0
WAIT_TIMEOUT = 1200.0
PREFIX = "deploy/{{ params.tag }}"
CAPACITY_BATCH = 4  # prompts per capacity DAG: four DAGs, 16 jobs on a 2-job account


def prompts(app: str, count: int) -> list[str]:
    return [f"{{{{ params.tag }}}}-{app}-{index:02d}" for index in range(count)]


def _chain(app: str, submit: Any) -> None:
    wait = AigcJobSensor.partial(
        task_id=f"wait_{app}", poll_interval=POLL_INTERVAL, timeout=WAIT_TIMEOUT
    ).expand(job=submit.output)
    AigcArchiveToS3Operator.partial(
        task_id=f"archive_{app}",
        s3_bucket=BUCKET,
        s3_key_prefix=PREFIX,
        # One download at a time: the worker-kill-archive scenario slows "the next download" after
        # the first image; with parallel copies the rest had already left and the fault never fired.
        max_concurrency=1,
    ).expand(job=wait.output)


def _dag(dag_id: str, default_args: dict[str, Any] = DEFAULT_ARGS) -> DAG:
    return DAG(
        dag_id=dag_id,
        schedule=None,
        default_args=default_args,
        params={"tag": Param("manual", type="string", maxLength=40)},
        max_active_runs=4,
    )


def build(dag_id: str, per_app: int, apps: tuple[str, ...]) -> DAG:
    with _dag(dag_id) as dag:
        if "cogview" in apps:
            cogview = CogViewSubmitOperator.partial(task_id="submit_cogview")
            _chain("cogview", cogview.expand(query=prompts("cogview", per_app)))
        if "news" in apps:
            news = NewsGenerateSubmitOperator.partial(task_id="submit_news", max_length=200)
            _chain("news", news.expand(content=prompts("news", per_app)))
        if "ernie" in apps:
            ernie = ErnieVilgSubmitOperator.partial(task_id="submit_ernie")
            _chain("ernie", ernie.expand(prompt=prompts("ernie", per_app)))
        if "jumdata" in apps:
            jumdata = JumdataDrawSubmitOperator.partial(task_id="submit_jumdata", style="水彩画")
            _chain("jumdata", jumdata.expand(text=prompts("jumdata", per_app)))
        if "cogvideox" in apps:
            cogvideox = CogVideoXSubmitOperator.partial(task_id="submit_cogvideox", duration=5)
            _chain("cogvideox", cogvideox.expand(prompt=prompts("cogvideox", per_app)))
        if "wan" in apps:
            WanImageToS3Operator.partial(
                task_id="generate_wan", s3_bucket=BUCKET, s3_key_prefix=PREFIX, poll_interval=POLL_INTERVAL
            ).expand(prompt=prompts("wan", per_app))
    return dag


def build_capacity(dag_id: str, one_task: bool, retries: int) -> DAG:
    """A Baidu batch larger than the account's 2 concurrent jobs: most prompts wait for capacity."""
    with _dag(dag_id, {**DEFAULT_ARGS, "retries": retries}) as dag:
        batch = prompts("ernie", CAPACITY_BATCH)
        if one_task:
            ErnieVilgToS3Operator.partial(
                task_id="generate_ernie",
                conn_id=CAPACITY_CONN_ID,
                s3_bucket=BUCKET,
                s3_key_prefix=PREFIX,
                poll_interval=POLL_INTERVAL,
            ).expand(prompt=batch)
        else:
            submit = ErnieVilgSubmitOperator.partial(task_id="submit_ernie", conn_id=CAPACITY_CONN_ID)
            _chain("ernie", submit.expand(prompt=batch))
    return dag


ALL_APPS = ("cogview", "news", "ernie", "jumdata")
build("deploy_load", 12, (*ALL_APPS, "cogvideox", "wan"))
build("deploy_waits", 4, ALL_APPS)
build("deploy_one", 1, ("cogview",))
CAPACITY_DAGS = {
    f"deploy_capacity_{mode}_r{retries}": (mode == "one_task", retries)
    for mode in ("chain", "one_task")
    for retries in (0, 2)
}
for _dag_id, (_one_task, _retries) in CAPACITY_DAGS.items():
    build_capacity(_dag_id, _one_task, _retries)

"""The DAGs the deployment suite runs: mapped submit >> wait >> archive chains over five apps.

Prompts are templated with the run's ``tag`` param, so every run buys distinct prompts and the
suite can count each prompt's purchases in the simulator's ``/_sim/stats``. Three sizes:
``deploy_load`` (15 jobs per app, a CogVideoX batch among them, 75 in all), ``deploy_waits`` (4 per
app of the first four) and ``deploy_one``
(a single CogView job, for the worker faults).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import (
    CogVideoXSubmitOperator,
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    JumdataDrawSubmitOperator,
    NewsGenerateSubmitOperator,
)
from airflow_provider_aigc.sensors.job import AigcJobSensor

BUCKET = os.environ.get("AIGC_DEPLOY_BUCKET", "aigc-deploy")
DEFAULT_ARGS: dict[str, Any] = {"retries": 2, "retry_delay": timedelta(seconds=2)}
POLL_INTERVAL = 2.0
WAIT_TIMEOUT = 1200.0


def prompts(app: str, count: int) -> list[str]:
    return [f"{{{{ params.tag }}}}-{app}-{index:02d}" for index in range(count)]


def _chain(app: str, submit: Any) -> None:
    wait = AigcJobSensor.partial(
        task_id=f"wait_{app}", poll_interval=POLL_INTERVAL, timeout=WAIT_TIMEOUT
    ).expand(job=submit.output)
    AigcArchiveToS3Operator.partial(
        task_id=f"archive_{app}",
        s3_bucket=BUCKET,
        s3_key_prefix="deploy/{{ params.tag }}",
        # One download at a time: the worker-kill-archive scenario slows "the next download" after
        # the first image; with parallel copies the rest had already left and the fault never fired.
        max_concurrency=1,
    ).expand(job=wait.output)


def build(dag_id: str, per_app: int, apps: tuple[str, ...]) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        default_args=DEFAULT_ARGS,
        params={"tag": Param("manual", type="string", maxLength=40)},
        max_active_runs=4,
    ) as dag:
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
    return dag


ALL_APPS = ("cogview", "news", "ernie", "jumdata")
build("deploy_load", 15, (*ALL_APPS, "cogvideox"))
build("deploy_waits", 4, ALL_APPS)
build("deploy_one", 1, ("cogview",))

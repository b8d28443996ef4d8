"""Every Airflow setting of the deployment, as environment variables (no airflow.cfg is written).

The timing settings are tuned so faults are detected in seconds rather than minutes (the defaults
suit production): heartbeats every 1-2 s, a triggerer or task considered gone after 10-20 s.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet

from airflow_provider_aigc.simulator import connection_env
from airflow_provider_aigc.simulator.process import LOOPBACK

if TYPE_CHECKING:
    from collections.abc import Mapping

TRIGGERER_HEALTH_CHECK_THRESHOLD = 10.0
SCHEDULER_HEALTH_CHECK_THRESHOLD = 15.0
TASK_HEARTBEAT_TIMEOUT = 20
WORKER_CONCURRENCY = 4
ARCHIVE_BUCKET = "aigc-deploy"
# The simulated account at Baidu's documented limit, for the capacity scenario and the batch benchmark.
CAPACITY_CONN_ID = "aigc_baidu_capacity"
CAPACITY_LIMIT = 2
REPO_ROOT = Path(__file__).resolve().parents[2]


def deploy_connections(simulator_url: str) -> dict[str, str]:
    """The simulator's connections, each declaring the deployed account as it is: no concurrency
    limit (``max_running_jobs`` 0; the load submits 72 jobs at once), plus ``CAPACITY_CONN_ID``, the
    same Baidu account declared at ``CAPACITY_LIMIT`` jobs, which the scenarios that set the
    simulator's Baidu limit use."""
    env = connection_env(simulator_url)
    for name, value in list(env.items()):
        fields = json.loads(value)
        env[name] = json.dumps({**fields, "extra": {**fields.get("extra", {}), "max_running_jobs": 0}})
    baidu = json.loads(env["AIRFLOW_CONN_AIGC_BAIDU_DEFAULT"])
    baidu["extra"]["max_running_jobs"] = CAPACITY_LIMIT
    env[f"AIRFLOW_CONN_{CAPACITY_CONN_ID.upper()}"] = json.dumps(baidu)
    return env


def aws_connection(endpoint_url: str) -> str:
    """The ``aws_default`` connection for the local S3 endpoint (moto accepts any key pair)."""
    extra = {"endpoint_url": endpoint_url, "region_name": "us-east-1"}
    return json.dumps({"conn_type": "aws", "login": "deploy", "password": "deploy", "extra": extra})


def airflow_env(
    home: Path,
    *,
    db_url: str,
    broker_url: str,
    api_port: int,
    simulator_url: str,
    s3_url: str,
    dags_folder: Path,
) -> dict[str, str]:
    """The environment every Airflow component of the deployment shares.

    Settings from the caller's shell (``AIRFLOW__*``, connections, variables) are dropped, so the
    deployment is the same on every machine.
    """
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "AIRFLOW_HOME"))
    }
    settings: Mapping[str, str | float | int] = {
        "CORE__EXECUTOR": "CeleryExecutor",
        "CORE__DAGS_FOLDER": str(dags_folder),
        "CORE__LOAD_EXAMPLES": "False",
        "CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "CORE__HOSTNAME_CALLABLE": "tests.deploy.hostname.component_hostname",
        "CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "CORE__PARALLELISM": 64,
        "CORE__MAX_ACTIVE_TASKS_PER_DAG": 200,
        "CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "CORE__EXECUTION_API_SERVER_URL": f"http://{LOOPBACK}:{api_port}/execution/",
        "DATABASE__SQL_ALCHEMY_CONN": db_url,
        "DATABASE__SQL_ALCHEMY_POOL_SIZE": 3,
        "DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": 5,
        "API__HOST": LOOPBACK,
        "API__PORT": api_port,
        "API__WORKERS": 1,
        "API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "CELERY__BROKER_URL": broker_url,
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3: name the driver.
        "CELERY__RESULT_BACKEND": "db+" + db_url,
        "CELERY__WORKER_CONCURRENCY": WORKER_CONCURRENCY,
        "CELERY__WORKER_ENABLE_REMOTE_CONTROL": "False",
        "CELERY__CELERY_CONFIG_OPTIONS": "tests.deploy.celery_config.CELERY_CONFIG",
        # Heartbeats and health checks: seconds, not minutes, so faults show within one scenario.
        "SCHEDULER__SCHEDULER_HEARTBEAT_SEC": 2,
        "SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": SCHEDULER_HEALTH_CHECK_THRESHOLD,
        "SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": TASK_HEARTBEAT_TIMEOUT,
        "SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": 3,
        "SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": 15,
        "WORKERS__MIN_HEARTBEAT_INTERVAL": 2,
        "TRIGGERER__JOB_HEARTBEAT_SEC": 1,
        "TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": TRIGGERER_HEALTH_CHECK_THRESHOLD,
        "TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD": TRIGGERER_HEALTH_CHECK_THRESHOLD,
        # Claim a few triggers per loop so two triggerers share the waits (see docs/deployment.md).
        "TRIGGERER__MAX_TRIGGER_TO_SELECT_PER_LOOP": 6,
        "DAG_PROCESSOR__REFRESH_INTERVAL": 5,
        "DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": 60,
        "LOGGING__LOGGING_LEVEL": "INFO",
    }
    env = {
        **inherited,
        **{f"AIRFLOW__{key}": str(value) for key, value in settings.items()},
        **deploy_connections(simulator_url),
        "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(s3_url),
        "AIRFLOW_HOME": str(home),
        "PYTHONPATH": str(REPO_ROOT),
        "AIGC_DEPLOY_BUCKET": ARCHIVE_BUCKET,
        "NO_PROXY": f"{LOOPBACK},localhost",
        "no_proxy": f"{LOOPBACK},localhost",
    }
    return env

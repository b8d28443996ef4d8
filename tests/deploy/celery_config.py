"""``[celery] celery_config_options`` of the deployment: Airflow's defaults plus modules to preload.

Every task runs in a process forked from a Celery pool process. Importing the provider (and the
Amazon provider's S3 hook behind the archive step) once in the worker, before the pool forks,
means each task inherits them instead of importing them again while parsing its DAG file: on a
busy 2-core machine that is seconds per task. docs/deployment.md recommends the same.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOAD = (
    "airflow_provider_aigc.operators.submit",
    "airflow_provider_aigc.operators.archive",
    "airflow_provider_aigc.operators.generate",
    "airflow_provider_aigc.operators.dashscope",
    "airflow_provider_aigc.sensors.job",
    "airflow.providers.amazon.aws.hooks.s3",
)

CELERY_CONFIG: dict[str, Any] = {**DEFAULT_CELERY_CONFIG, "imports": PRELOAD}

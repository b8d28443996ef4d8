"""``AigcManifestLink``: the archive task's extra link to its ``manifest.json`` in an S3 console.

Airflow 3 computes extra links on the worker when the task finishes (the task runner calls
``get_link`` with the real operator and stores the result in XCom); the UI only reads that XCom.
So the link may read the task's XCom and its AWS connection, and costs the UI nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseHook, BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

# The XCom key under which the archive step pushes ``s3://<bucket>/<manifest key>``.
MANIFEST_URI_XCOM_KEY = "manifest_uri"
# The AWS connection extra that points the link at another console (MinIO, Ceph, a China region).
CONSOLE_URL_EXTRA = "s3_console_url"
DEFAULT_CONSOLE_URL = "https://console.aws.amazon.com/s3/object/{bucket}?prefix={key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``("bucket", "key")`` of ``s3://bucket/key``; ValueError for anything else."""
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme != "s3" or not bucket or not key:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return bucket, key


def console_url(manifest_uri: str, template: str = DEFAULT_CONSOLE_URL) -> str:
    """The console page of ``manifest_uri``: ``template`` with ``{bucket}`` and ``{key}`` filled in,
    URL-quoted (the key keeps its slashes)."""
    bucket, key = split_s3_uri(manifest_uri)
    return template.format(bucket=quote(bucket, safe=""), key=quote(key, safe="/"))


def console_template(aws_conn_id: str | None) -> str:
    """The AWS connection's ``s3_console_url`` extra, else the AWS console's object page."""
    if not aws_conn_id:
        return DEFAULT_CONSOLE_URL
    try:
        extra: dict[str, Any] = BaseHook.get_connection(aws_conn_id).extra_dejson
    except Exception:  # no such connection (boto3 may still find credentials): use the default
        return DEFAULT_CONSOLE_URL
    template = extra.get(CONSOLE_URL_EXTRA)
    return template if isinstance(template, str) and template else DEFAULT_CONSOLE_URL


class AigcManifestLink(BaseOperatorLink):
    """ "Archive manifest": opens the archive's ``manifest.json`` in the S3 console.

    The AWS console by default; set the AWS connection's extra ``s3_console_url`` to a template
    with ``{bucket}`` and ``{key}`` for another console, e.g.
    ``"http://minio.internal:9001/browser/{bucket}/{key}"``. Empty until the archive succeeded.
    """

    name = "Archive manifest"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # Imported here: the XCom backend pulls in the HTTP client stack, and DAG parsing
        # imports this module through the archive operator.
        from airflow.providers.common.compat.sdk import XCom

        manifest_uri = XCom.get_value(key=MANIFEST_URI_XCOM_KEY, ti_key=ti_key)
        if not isinstance(manifest_uri, str):
            return ""
        return console_url(manifest_uri, console_template(getattr(operator, "aws_conn_id", None)))

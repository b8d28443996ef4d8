from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.links import (
    DEFAULT_CONSOLE_URL,
    MANIFEST_URI_XCOM_KEY,
    AigcManifestLink,
    console_template,
    console_url,
)
from airflow_provider_aigc.provider_info import provider_info

MANIFEST = "s3://aigc-archive/cogview/2026-12-01/zhipu/cogview/a102d896/manifest.json"


def test_default_link_opens_the_manifest_in_the_aws_console() -> None:
    assert console_url(MANIFEST) == (
        "https://console.aws.amazon.com/s3/object/aigc-archive"
        "?prefix=cogview/2026-12-01/zhipu/cogview/a102d896/manifest.json"
    )


def test_keys_are_url_quoted_but_keep_their_slashes() -> None:
    url = console_url("s3://b/新闻 稿/a&b/manifest.json", "https://minio/{bucket}/{key}")
    assert url == "https://minio/b/%E6%96%B0%E9%97%BB%20%E7%A8%BF/a%26b/manifest.json"


@pytest.mark.parametrize("uri", ["https://b/k", "s3://bucket", "s3:///key", "manifest.json"])
def test_anything_but_an_s3_object_uri_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="not an s3://bucket/key URI"):
        console_url(uri)


def test_the_aws_connection_extra_picks_another_console(monkeypatch: pytest.MonkeyPatch) -> None:
    template = "http://127.0.0.1:9001/browser/{bucket}/{key}"
    connection = {"conn_type": "aws", "extra": {"s3_console_url": template}}
    monkeypatch.setenv("AIRFLOW_CONN_MINIO", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW_CONN_PLAIN_AWS", json.dumps({"conn_type": "aws"}))

    assert console_template("minio") == template
    assert console_template("plain_aws") == DEFAULT_CONSOLE_URL
    assert console_template("no_such_connection") == DEFAULT_CONSOLE_URL
    assert console_template(None) == DEFAULT_CONSOLE_URL


@pytest.mark.parametrize(("pushed", "link"), [(MANIFEST, console_url(MANIFEST)), (None, "")])
def test_link_reads_the_manifest_uri_the_archive_task_pushed(
    monkeypatch: pytest.MonkeyPatch, pushed: str | None, link: str
) -> None:
    from airflow.providers.common.compat.sdk import XCom

    asked: list[dict[str, Any]] = []

    def get_value(**kwargs: Any) -> str | None:
        asked.append(kwargs)
        return pushed

    monkeypatch.setattr(XCom, "get_value", get_value)
    operator = AigcArchiveToS3Operator(task_id="archive", job={}, s3_bucket="aigc-archive", aws_conn_id=None)
    ti_key = object()

    assert AigcManifestLink().get_link(operator, ti_key=ti_key) == link  # type: ignore[arg-type]
    assert asked == [{"key": MANIFEST_URI_XCOM_KEY, "ti_key": ti_key}]


def test_archive_operator_declares_the_link_and_the_provider_registers_it() -> None:
    assert [link.name for link in AigcArchiveToS3Operator.operator_extra_links] == ["Archive manifest"]
    assert provider_info()["extra-links"] == ["airflow_provider_aigc.operators.links.AigcManifestLink"]

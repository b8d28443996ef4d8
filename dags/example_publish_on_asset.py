"""
### Publish what `example_cogview` archived, scheduled on its S3 asset

Every successful `archive` task of `example_cogview` updates the asset
`s3://<AIGC_ARCHIVE_BUCKET>/cogview`, and its asset event's `extra` says what it archived: vendor,
app, job id, manifest URI, object count, total bytes, billed units and the prompt's sha256
(docs/archive.md). This DAG runs on that asset, reads the event, checks the manifest against it,
and publishes the archive: each object and the manifest are copied (server side) under
`published/<vendor>/<app>/<job id>/` in the same bucket.

Scheduled runs read the events that triggered them; a manual run (`airflow dags test`) publishes
the asset's latest event, read through `inlet_events`.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any

from airflow.sdk import DAG, Asset, task

# The same asset example_cogview's archive task declares (bucket read when the file is parsed).
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")
COGVIEW_ARCHIVE = Asset(f"s3://{ARCHIVE_BUCKET}/cogview")
PUBLISHED_PREFIX = "published"


def _events(triggering_asset_events: Any, inlet_events: Any) -> list[Any]:
    """The events to publish: those that triggered this run, else the asset's latest one."""
    triggering = list(triggering_asset_events[COGVIEW_ARCHIVE]) if triggering_asset_events else []
    if triggering:
        return triggering
    return list(inlet_events[COGVIEW_ARCHIVE])[-1:]


with DAG(
    dag_id="example_publish_on_asset",
    schedule=[COGVIEW_ARCHIVE],
    tags=["aigc", "example", "asset"],
    doc_md=__doc__,
):

    @task(inlets=[COGVIEW_ARCHIVE])
    def publish(
        *, triggering_asset_events: Any = None, inlet_events: Any = None, **_: Any
    ) -> list[dict[str, Any]]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        client = S3Hook(aws_conn_id="aws_default").get_conn()
        events = _events(triggering_asset_events, inlet_events)
        if not events:
            print(f"{COGVIEW_ARCHIVE.uri} has no asset event yet: nothing to publish")
        published = []
        for event in events:
            extra = event.extra
            manifest = json.loads(
                client.get_object(Bucket=extra["bucket"], Key=extra["manifest_key"])["Body"].read()
            )
            if (manifest["job_id"], len(manifest["objects"])) != (extra["job_id"], extra["object_count"]):
                raise ValueError(f"{extra['manifest_uri']} does not match its asset event; not publishing")
            target = posixpath.join(PUBLISHED_PREFIX, extra["vendor"], extra["app"], extra["job_id"])
            keys = [item["key"] for item in manifest["objects"]] + [extra["manifest_key"]]
            for key in keys:
                client.copy_object(
                    Bucket=extra["bucket"],
                    Key=posixpath.join(target, posixpath.basename(key)),
                    CopySource={"Bucket": extra["bucket"], "Key": key},
                )
            print(
                f"Published {extra['object_count']} object(s) ({extra['total_bytes']} bytes, billed "
                f"{extra['billed_units']} {extra['billed_unit']}(s)) of {extra['vendor']} job "
                f"{extra['job_id']} to s3://{extra['bucket']}/{target}/"
            )
            published.append({**extra, "published_prefix": target})
        return published

    publish()

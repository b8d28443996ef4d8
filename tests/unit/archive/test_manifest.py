from __future__ import annotations

import json
from dataclasses import replace

import pytest

from airflow_provider_aigc.archive.manifest import SkippedOutput, build_manifest, prompt_of
from airflow_provider_aigc.models import ArchivedObject, Output
from tests.unit.archive.jobs import image, succeeded


@pytest.mark.parametrize(
    ("vendor", "app", "request_fields", "prompt"),
    [
        ("baidu", "txt2imgv2", {"prompt": "fox", "width": 1024}, "fox"),
        ("zhipu", "cogview", {"query": "a cat", "key": "queue1"}, "a cat"),
        ("jumdata", "ai_draw", {"text": "mountains", "style": "watercolor"}, "mountains"),
        ("zhipu", "news_generate", {"content": "AI news", "max_length": 500}, "AI news"),
        ("baidu", "txt2imgv2", {"image": "<base64: 10 chars>"}, None),
        ("acme", "draw", {"prompt": "an unknown vendor's"}, None),
    ],
)
def test_prompt_whatever_the_vendor_calls_it(
    vendor: str, app: str, request_fields: dict[str, object], prompt: str | None
) -> None:
    job = replace(succeeded(), vendor=vendor, app=app, request=request_fields)
    assert prompt_of(job) == prompt


def test_manifest_lists_objects_and_skips_without_signatures_or_text_bodies() -> None:
    job = succeeded(
        image(1, "https://bj.bcebos.com/1.png?authorization=secret-signature", moderation="pass"),
        image(0, "https://bj.bcebos.com/0.png?authorization=secret-signature", moderation="block"),
        Output(index=2, kind="text", text="全文" * 10),
    )
    stored = ArchivedObject(
        "b", "p/1.png", 10, "ab" * 32, "image/png", 1, "image", "https://bj.bcebos.com/1.png"
    )
    manifest = build_manifest(
        job,
        bucket="b",
        objects=[stored],
        skipped=[SkippedOutput(0, "image", "blocked")],
        created_at="2024-05-01T12:00:00+00:00",
        archived_at="2024-05-01T12:00:05+00:00",
    )
    raw = json.dumps(manifest, ensure_ascii=False)
    assert "secret-signature" not in raw
    assert "全文" not in raw
    assert manifest["prompt"] == "a red fox in snow"
    assert manifest["objects"] == [stored.to_dict()]
    assert manifest["skipped"] == [{"index": 0, "kind": "image", "reason": "blocked"}]
    assert [o["url"] for o in manifest["response"]["outputs"]] == [
        "https://bj.bcebos.com/1.png",
        "https://bj.bcebos.com/0.png",
        None,
    ]
    assert manifest["response"]["outputs"][2]["text"] == "<20 characters>"
    assert (manifest["vendor"], manifest["app"], manifest["job_id"]) == ("baidu", "txt2imgv2", "job-1")

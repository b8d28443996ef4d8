"""Worker for benchmark 4: submit jobs of one app and watch each with ``AigcJobTrigger``.

The worker's environment points the default connections at one simulator; the answer says when
(epoch seconds) each trigger fired and with what, so the parent can compare with the moment the
simulator finished the job.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from benchmarks.common import serve

CONN_IDS = {"zhipu": "aigc_zhipu_default", "baidu": "aigc_baidu_default", "jumdata": "aigc_jumdata_default"}
PARAMS: dict[str, dict[str, Any]] = {
    "cogview": {"query": "水墨画风格的黄山云海"},
    "news_generate": {"content": "人工智能", "max_length": 200},
    "txt2imgv2": {"prompt": "睡莲"},
    "ai_draw": {"text": "雪山下的湖泊", "resolution": "1024*1024", "style": "探索无限"},
}


async def watch(vendor: str, app: str, job_id: str, poll_interval: float) -> dict[str, Any]:
    from airflow._shared.module_loading import import_string

    from airflow_provider_aigc.triggers.job import AigcJobTrigger

    trigger = AigcJobTrigger(
        conn_id=CONN_IDS[vendor],
        vendor=vendor,
        app=app,
        job_id=job_id,
        poll_interval=poll_interval,
        end_time=time.time() + 900,
    )
    classpath, kwargs = trigger.serialize()
    stored = import_string(classpath)(**json.loads(json.dumps(kwargs)))
    async for event in stored.run():
        return {"app": app, "job_id": job_id, "fired_at": time.time(), "status": event.payload.get("status")}
    raise RuntimeError(f"trigger for {job_id} ended without an event")


async def watch_all(command: dict[str, Any]) -> list[dict[str, Any]]:
    """Submit ``count`` jobs per requested app, then watch them all at once in this loop."""
    from airflow_provider_aigc.hooks import hook_class_for
    from airflow_provider_aigc.hooks.session import close_sessions

    waits = []
    for spec in command["watches"]:
        vendor, app = spec["vendor"], spec["app"]
        hook = hook_class_for(vendor)(conn_id=CONN_IDS[vendor])
        for _ in range(command["count"]):
            waits.append(watch(vendor, app, hook.submit(app, PARAMS[app]).job_id, spec["poll_interval"]))
    try:
        return list(await asyncio.gather(*waits))
    finally:
        await close_sessions()


def handle(command: dict[str, Any]) -> dict[str, Any]:
    if command["op"] == "ping":
        from airflow_provider_aigc.triggers.job import AigcJobTrigger  # noqa: F401

        return {"ok": True}
    return {"jobs": asyncio.run(watch_all(command))}


if __name__ == "__main__":
    serve(handle)

"""What every scenario asserts: purchases per prompt (simulator stats) and archives (S3 manifests).

The simulator lists each accepted job with its prompt, so "bought exactly once" is a count per
prompt. An archive is complete when its ``manifest.json`` exists and every object it lists is in
S3 with the recorded size and sha256; objects that no manifest lists are counted as orphans.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from tests.deploy.settings import ARCHIVE_BUCKET

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment


def sim_call(deploy: Deployment, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        deploy.simulator_url + path,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def purchases(deploy: Deployment, tag: str) -> Counter[str]:
    """How many jobs the simulator accepted per prompt, for the prompts of run `tag`."""
    stats = sim_call(deploy, "/_sim/stats")
    counts: Counter[str] = Counter()
    for vendor in stats["vendors"].values():
        for job in vendor["submissions"]["jobs"]:
            if str(job["prompt"]).startswith(f"{tag}-"):
                counts[job["prompt"]] += 1
    return counts


def faults_fired(deploy: Deployment, vendor: str, name: str) -> int:
    return int(sim_call(deploy, "/_sim/stats")["vendors"][vendor]["errors_injected"].get(name, 0))


def _s3(deploy: Deployment) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=deploy.s3_url,
        region_name="us-east-1",
        aws_access_key_id="deploy",
        aws_secret_access_key="deploy",
    )


@dataclass
class ArchiveCheck:
    """The archives under one run's prefix, checked object by object against their manifests."""

    manifests: int = 0
    objects: int = 0
    orphans: int = 0
    problems: list[str] = field(default_factory=list)
    prompts: Counter[str] = field(default_factory=Counter)


def check_archives(deploy: Deployment, tag: str) -> ArchiveCheck:
    s3 = _s3(deploy)
    keys: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=ARCHIVE_BUCKET, Prefix=f"deploy/{tag}/"):
        keys.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    result = ArchiveCheck()
    listed: set[str] = set()
    for key in sorted(k for k in keys if k.endswith("/manifest.json")):
        listed.add(key)
        manifest = json.loads(s3.get_object(Bucket=ARCHIVE_BUCKET, Key=key)["Body"].read())
        result.manifests += 1
        result.prompts[str(manifest.get("prompt"))] += 1
        if not manifest.get("objects"):
            result.problems.append(f"{key}: lists no objects")
        for entry in manifest.get("objects", []):
            object_key = entry["key"]
            listed.add(object_key)
            if object_key not in keys:
                result.problems.append(f"{key}: {object_key} missing")
                continue
            body = s3.get_object(Bucket=ARCHIVE_BUCKET, Key=object_key)["Body"].read()
            if len(body) != entry["size"] or hashlib.sha256(body).hexdigest() != entry["sha256"]:
                result.problems.append(f"{key}: {object_key} differs from its manifest entry")
            result.objects += 1
    result.orphans = len(set(keys) - listed)
    return result

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from airflow_provider_aigc.archive.keys import (
    MAX_SEGMENT_CHARS,
    KeyLayout,
    normalise_prefix,
    safe_segment,
    validate_key_template,
)
from airflow_provider_aigc.exceptions import AigcInvalidRequestError

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def test_default_layout() -> None:
    layout = KeyLayout("cogview/2024-01-01", "zhipu", "cogview", "e5c1f8")
    assert layout.object_key(2, "png") == "cogview/2024-01-01/zhipu/cogview/e5c1f8/2.png"
    assert layout.manifest_key() == "cogview/2024-01-01/zhipu/cogview/e5c1f8/manifest.json"


@pytest.mark.parametrize(
    ("prefix", "normalised"),
    [("", ""), ("/", ""), ("/archive//daily/", "archive/daily"), ("a", "a"), ("a/b", "a/b")],
)
def test_prefix_is_normalised(prefix: str, normalised: str) -> None:
    assert normalise_prefix(prefix) == normalised
    key = KeyLayout(prefix, "baidu", "txt2imgv2", "1").object_key(0, "png")
    assert key == "/".join(filter(None, [normalised, "baidu/txt2imgv2/1/0.png"]))


@pytest.mark.parametrize("prefix", ["a/../b", "./a", "a/\x00b"])
def test_prefix_cannot_traverse(prefix: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match="s3_key_prefix"):
        normalise_prefix(prefix)


@given(
    prefix=st.sampled_from(["", "archive", "archive/daily/2024"]),
    job_id=st.text(),
    vendor=st.text(min_size=1),
)
def test_vendor_values_cannot_escape_the_prefix(prefix: str, job_id: str, vendor: str) -> None:
    key = KeyLayout(prefix, vendor, "app", job_id).object_key(3, "png")
    segments = key.split("/")
    assert key.startswith(f"{prefix}/" if prefix else "")
    assert len(segments) == len(list(filter(None, prefix.split("/")))) + 4
    assert not {".", "..", ""} & set(segments)
    assert not CONTROL.search(key)
    assert all(len(segment) <= MAX_SEGMENT_CHARS for segment in segments)


@given(first=st.text(), second=st.text())
def test_different_ids_get_different_segments(first: str, second: str) -> None:
    assume(first != second)
    assert safe_segment(first) != safe_segment(second)


@pytest.mark.parametrize(
    ("job_id", "expected"),
    [
        ("1713340800123", "1713340800123"),
        ("task_9f2c-01.v2", "task_9f2c-01.v2"),
        ("../../etc/passwd", r"\.\._\.\._etc_passwd-[0-9a-f]{16}"),
        ("..", r"__-[0-9a-f]{16}"),
        ("", r"_-[0-9a-f]{16}"),
        ("a\nb", r"a_b-[0-9a-f]{16}"),
        ("x" * 200, r"x{47}-[0-9a-f]{16}"),
    ],
)
def test_safe_segment(job_id: str, expected: str) -> None:
    assert re.fullmatch(expected, safe_segment(job_id))


def test_custom_template_and_its_manifest_directory() -> None:
    layout = KeyLayout("p", "jumdata", "ai_draw", "T1", "{prefix}/{app}-{job_id}/img/{index:02d}.{ext}")
    assert layout.object_key(3, "jpg") == "p/ai_draw-T1/img/03.jpg"
    assert layout.manifest_key() == "p/ai_draw-T1/img/manifest.json"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{vendor}/{job_id}/{index}.{ext}", "start with"),
        ("{prefix}/{job_id}/{index}.{ext}{secret}", "unknown field"),
        ("{prefix}/{job_id[0]}/{index}", "unknown field"),
        ("{prefix}/{vendor}/{job_id}-{index}.{ext}", "directory part must contain"),
        ("{prefix}/{job_id}/{index}/{ext}", "file-name part"),
        ("{prefix}/{job_id}/image.{ext}", "file-name part"),
        ("{prefix}/{job_id}/../{index}", "'..'"),
        ("{prefix}/{job_id}/{index", "expected '}'"),
        ("{prefix}/{job_id}/{index:q}", "Unknown format code"),
    ],
)
def test_unsafe_templates_are_refused(template: str, problem: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match=re.escape(problem)):
        validate_key_template(template)

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_aigc.models import (
    ArchivedObject,
    JobError,
    JobRef,
    JobState,
    JobStatus,
    Output,
    parse_iso,
)

texts = st.text(max_size=30)
optional_ints = st.none() | st.integers(min_value=0, max_value=10_000)
outputs = st.builds(
    Output,
    index=st.integers(min_value=0, max_value=100),
    kind=st.sampled_from(["image", "text", "video", "cover"]),
    url=st.none() | texts,
    text=st.none() | texts,
    width=optional_ints,
    height=optional_ints,
    expires_at=st.none() | st.just("2026-11-21T20:00:00+00:00"),
    moderation=st.none() | st.sampled_from(["pass", "review", "block"]),
)
statuses = st.builds(
    JobStatus,
    vendor=texts,
    app=texts,
    job_id=texts,
    state=st.sampled_from(list(JobState)),
    progress=st.none() | st.floats(min_value=0, max_value=1),
    outputs=st.lists(outputs, max_size=4).map(tuple),
    error=st.none() | st.builds(JobError, type=texts, message=texts, code=st.none() | texts),
    conn_id=st.none() | texts,
    request=st.dictionaries(texts, texts | st.integers(), max_size=3),
    billed_units=st.none() | st.integers(min_value=0, max_value=100),
    billed_unit=st.none() | st.sampled_from(["image", "job"]),
    billing_basis=st.none() | texts,
    submitted_at=st.none() | st.just("2026-11-21T19:00:00+00:00"),
)


@given(statuses)
def test_job_status_round_trips_through_json(status: JobStatus) -> None:
    assert JobStatus.from_dict(json.loads(json.dumps(status.to_dict()))) == status


@given(
    st.builds(
        JobRef,
        vendor=texts,
        app=texts,
        conn_id=texts,
        job_id=texts,
        submitted_at=st.none() | texts,
        request=st.dictionaries(texts, texts, max_size=3),
    )
)
def test_job_ref_round_trips_through_json(ref: JobRef) -> None:
    assert JobRef.from_dict(json.loads(json.dumps(ref.to_dict()))) == ref


def test_archived_object_round_trip_and_uri() -> None:
    obj = ArchivedObject(
        "bkt", "p/zhipu/cogview/1/0.png", 10, "ab" * 32, "image/png", 0, "image", "http://x/0.png"
    )
    assert ArchivedObject.from_dict(json.loads(json.dumps(obj.to_dict()))) == obj
    assert obj.uri == "s3://bkt/p/zhipu/cogview/1/0.png"


def test_state_values_and_terminality() -> None:
    assert [state.value for state in JobState] == ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]
    assert {state for state in JobState if state.is_terminal()} == {JobState.SUCCEEDED, JobState.FAILED}


def test_job_status_dict_uses_plain_values() -> None:
    status = JobStatus("baidu", "txt2imgv2", "1", JobState.RUNNING, progress=0.5)
    data = status.to_dict()
    assert data["state"] == "RUNNING"
    assert data["outputs"] == []
    assert data["error"] is None


def test_job_status_from_an_older_version_has_no_billing() -> None:
    """XCom values and trigger events written before billing was recorded still load: null billing."""
    older = {
        "vendor": "zhipu",
        "app": "cogview",
        "job_id": "7",
        "state": "SUCCEEDED",
        "progress": 1.0,
        "outputs": [],
        "error": None,
        "conn_id": "c",
        "request": {"query": "q"},
    }
    status = JobStatus.from_dict(older)
    assert (status.billed_units, status.billed_unit, status.billing_basis, status.submitted_at) == (
        None,
        None,
        None,
        None,
    )
    assert JobStatus.from_dict(status.to_dict()) == status


def test_billing_is_carried_through_json() -> None:
    status = JobStatus(
        "jumdata",
        "ai_draw",
        "t",
        JobState.SUCCEEDED,
        billed_units=3,
        billed_unit="image",
        billing_basis="per image",
    )
    data = json.loads(json.dumps(status.to_dict()))
    assert (data["billed_units"], data["billed_unit"], data["billing_basis"]) == (3, "image", "per image")


@pytest.mark.parametrize("units", [-1, True, 1.5, "2"])
def test_billed_units_must_be_a_count(units: object) -> None:
    with pytest.raises(ValueError, match="billed_units"):
        JobStatus.from_dict(
            {"vendor": "v", "app": "a", "job_id": "j", "state": "SUCCEEDED", "billed_units": units}
        )


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="kind"):
        Output.from_dict({"index": 0, "kind": "audio"})


def test_parse_iso_treats_naive_values_as_utc() -> None:
    parsed = parse_iso("2026-01-01T00:00:00")
    assert parsed is not None
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]

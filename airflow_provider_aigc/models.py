"""Plain value types shared by every layer.

They travel through XCom, trigger events and manifests, so each one converts to and from
JSON primitives without loss (``to_dict`` / ``from_dict``). No Airflow or network imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

OutputKind = Literal["image", "text", "video", "cover"]
# Every kind but text is fetched from a URL: "video" is a generated clip, "cover" its preview image.
OUTPUT_KINDS: tuple[OutputKind, ...] = ("image", "text", "video", "cover")
URL_KINDS: frozenset[str] = frozenset({"image", "video", "cover"})


class JobState(str, Enum):
    """Vendor-neutral job state; each vendor's own states map onto these four."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED})


def utc_now_iso() -> str:
    """Current time as an ISO 8601 UTC string (the only time format the models carry)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parse_iso(value: str | None) -> datetime | None:
    """Parse an ISO 8601 string from the models; naive values are taken as UTC."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _read(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Every field of ``cls`` as ``data`` has it (absent: None), for ``from_dict`` to convert the
    ones that need it; unknown keys (from a newer version) are ignored."""
    return {item.name: data.get(item.name) for item in fields(cls)}


def _kind(cls: type, data: dict[str, Any]) -> OutputKind:
    kind: OutputKind = data["kind"]
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"{cls.__name__} kind must be one of {', '.join(OUTPUT_KINDS)}, got {kind!r}")
    return kind


@dataclass(frozen=True)
class JobRef:
    """What a submit operator returns: enough to find the job again, never a credential."""

    vendor: str
    app: str
    conn_id: str
    job_id: str
    submitted_at: str | None = None
    request: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRef:
        return cls(
            vendor=str(data["vendor"]),
            app=str(data["app"]),
            conn_id=str(data["conn_id"]),
            job_id=str(data["job_id"]),
            submitted_at=data.get("submitted_at"),
            request=dict(data.get("request") or {}),
        )


@dataclass(frozen=True)
class Output:
    """One generated artefact: a URL (an image, a video or a video's cover, with its expiry and
    moderation verdict) or a text. A video and its cover are two outputs with their own indices.
    ``failure`` is set (and ``url`` None) for an artefact the vendor reported it could not produce
    inside a finished job (DashScope's per-image ``{code, message}``): the archive lists it as
    skipped with that reason."""

    index: int
    kind: OutputKind
    url: str | None = None
    text: str | None = None
    width: int | None = None
    height: int | None = None
    expires_at: str | None = None
    moderation: str | None = None
    failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Output:
        return cls(**{**_read(cls, data), "kind": _kind(cls, data), "index": int(data["index"])})


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the taxonomy class name, the vendor's code and its message."""

    type: str
    message: str
    code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobError:
        code = data.get("code")
        return cls(
            type=str(data["type"]), message=str(data["message"]), code=None if code is None else str(code)
        )


@dataclass(frozen=True)
class JobStatus:
    """A job as last seen at the vendor.

    ``request``, ``conn_id`` and ``submitted_at`` are carried over from the ``JobRef`` when the
    sensor knows it, so the archive step can name the prompt in its manifest, read the
    connection's URL policy and report timings.

    ``billed_units`` counts what the vendor bills for a finished job, in ``billed_unit`` ("image",
    "job"), by the documented rule ``billing_basis`` quotes (docs/billing.md); all three are null
    while the job runs, and in statuses written by versions before billing was recorded.
    """

    vendor: str
    app: str
    job_id: str
    state: JobState
    progress: float | None = None
    outputs: tuple[Output, ...] = ()
    error: JobError | None = None
    conn_id: str | None = None
    request: dict[str, Any] = field(default_factory=dict)
    billed_units: int | None = None
    billed_unit: str | None = None
    billing_basis: str | None = None
    submitted_at: str | None = None

    def __post_init__(self) -> None:
        units = self.billed_units
        if units is not None and (isinstance(units, bool) or not isinstance(units, int) or units < 0):
            raise ValueError(f"billed_units must be a non-negative integer or null, got {units!r}")

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal()

    def billed(self, units: int, unit: str, basis: str) -> JobStatus:
        """This status with what the vendor bills for the job (set by the vendor's parser)."""
        return replace(self, billed_units=units, billed_unit=unit, billing_basis=basis)

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "state": self.state.value,
            "outputs": [output.to_dict() for output in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobStatus:
        progress, error = data.get("progress"), data.get("error")
        return cls(
            **{
                **_read(cls, data),
                "vendor": str(data["vendor"]),
                "app": str(data["app"]),
                "job_id": str(data["job_id"]),
                "state": JobState(data["state"]),
                "progress": None if progress is None else float(progress),
                "outputs": tuple(Output.from_dict(item) for item in data.get("outputs") or ()),
                "error": JobError.from_dict(error) if error else None,
                "request": dict(data.get("request") or {}),
            }
        )


@dataclass(frozen=True)
class ArchivedObject:
    """One object written to S3 by the archive step, as listed in ``manifest.json``."""

    bucket: str
    key: str
    size: int
    sha256: str
    content_type: str
    index: int
    kind: OutputKind
    source_url: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchivedObject:
        return cls(
            bucket=str(data["bucket"]),
            key=str(data["key"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            content_type=str(data["content_type"]),
            index=int(data["index"]),
            kind=_kind(cls, data),
            source_url=data.get("source_url"),
        )

"""S3 key layout: where each output and the manifest go, and why a vendor's ids cannot escape it.

Values that come from a vendor (``job_id``, and ``vendor``/``app`` for good measure) become one
safe path segment each: characters outside ``[A-Za-z0-9._=-]`` are replaced, segments made only
of dots are defused, and a value that had to change or is too long gets a short hash of the
original appended, so two different ids never share a key. The prefix is the user's own (it may
hold slashes) and is only normalised.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.exceptions import AigcInvalidRequestError

if TYPE_CHECKING:
    from datetime import datetime

DEFAULT_KEY_TEMPLATE = "{prefix}/{vendor}/{app}/{job_id}/{index}.{ext}"
MANIFEST_NAME = "manifest.json"
KEY_FIELDS = frozenset({"prefix", "vendor", "app", "job_id", "index", "ext"})
MAX_SEGMENT_CHARS = 64
_DIGEST_CHARS = 16
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SAMPLE = {"prefix": "p", "vendor": "v", "app": "a", "job_id": "j", "index": 0, "ext": "png"}


def safe_segment(value: str) -> str:
    """``value`` as one S3 path segment that cannot traverse, with a hash suffix if it had to change."""
    cleaned = _UNSAFE.sub("_", value)
    if not cleaned.strip("."):
        cleaned = cleaned.replace(".", "_") or "_"
    if cleaned == value and len(value) <= MAX_SEGMENT_CHARS:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    return f"{cleaned[: MAX_SEGMENT_CHARS - _DIGEST_CHARS - 1]}-{digest}"


def _join(segments: list[str], what: str) -> str:
    """Segments joined by "/", empty ones dropped; "." and ".." segments and control characters refused."""
    kept = [segment for segment in segments if segment]
    if any(segment in (".", "..") for segment in kept) or any(_CONTROL.search(s) for s in kept):
        raise AigcInvalidRequestError(f"{what} must not contain '.' or '..' segments or control characters")
    return "/".join(kept)


def normalise_prefix(prefix: str) -> str:
    """The key prefix without leading, trailing or doubled slashes ("" for none)."""
    return _join(prefix.split("/"), f"s3_key_prefix {prefix!r}")


def _fields(template: str) -> tuple[set[str], set[str]]:
    """The field names of the template's directory part and of its file-name part."""
    directory, _, name = template.rpartition("/")
    formatter = string.Formatter()
    return (
        {field for _, field, _, _ in formatter.parse(directory) if field is not None},
        {field for _, field, _, _ in formatter.parse(name) if field is not None},
    )


def validate_key_template(template: str) -> None:
    """Refuse a ``key_template`` that could mix objects of different outputs or jobs.

    It must start with ``{prefix}/``, use only the fields prefix, vendor, app, job_id, index
    and ext, put ``{job_id}`` in its directory part (each job's manifest gets its own directory)
    and ``{index}`` in its file-name part (``{ext}`` may only appear there too).
    """
    problem = None
    try:
        directory_fields, name_fields = _fields(template)
        unknown = (directory_fields | name_fields) - KEY_FIELDS
        if unknown:
            problem = f"unknown field(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(KEY_FIELDS))}"
        elif not template.startswith("{prefix}/"):
            problem = "it must start with '{prefix}/'"
        elif "job_id" not in directory_fields:
            problem = "its directory part must contain {job_id}"
        elif "index" not in name_fields or directory_fields & {"index", "ext"}:
            problem = "{index} (and {ext}, if used) must be in the file-name part, after the last '/'"
        else:
            _join(template.format(**_SAMPLE).split("/"), "it")
    except (ValueError, IndexError, KeyError, AigcInvalidRequestError) as exc:
        problem = str(exc)
    if problem is not None:
        raise AigcInvalidRequestError(f"invalid key_template {template!r}: {problem}")


@dataclass(frozen=True)
class KeyLayout:
    """Keys of one job's archive.

    :param prefix: the rendered ``s3_key_prefix``.
    :param vendor: the job's vendor id.
    :param app: the job's app id.
    :param job_id: the vendor's job id (untrusted).
    :param template: the ``key_template`` (already validated), or the default layout.
    """

    prefix: str
    vendor: str
    app: str
    job_id: str
    template: str = DEFAULT_KEY_TEMPLATE

    def _render(self, template: str, **extra: Any) -> str:
        fields = {
            "prefix": normalise_prefix(self.prefix),
            "vendor": safe_segment(self.vendor),
            "app": safe_segment(self.app),
            "job_id": safe_segment(self.job_id),
            **extra,
        }
        return _join(template.format(**fields).split("/"), "the rendered key")

    def object_key(self, index: int, extension: str) -> str:
        """The key of output ``index`` stored with file extension ``extension``."""
        return self._render(self.template, index=index, ext=extension)

    def manifest_key(self) -> str:
        """The key of ``manifest.json``, in the directory of the objects' keys."""
        return f"{self.directory()}/{MANIFEST_NAME}"

    def directory(self) -> str:
        """The job's directory: the manifest and every object of its archives live under it."""
        return self._render(self.template.rpartition("/")[0])

    def staged_key(self, index: int, extension: str, run: str) -> str:
        """Where a re-archive run stores output ``index``: ``{directory}/{run}/{file name}``.

        A run-unique directory, so a re-archive never overwrites an object the current manifest
        lists; the new manifest then points here.
        """
        name = self.template.rpartition("/")[2]
        return f"{self.directory()}/{run}/{self._render(name, index=index, ext=extension)}"


def new_run_id(now: datetime) -> str:
    """A run-unique directory name for a re-archive, e.g. ``run-20240501T120003Z-1a2b3c4d``."""
    return f"run-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"

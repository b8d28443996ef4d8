"""``VendorSpec``: everything the generic layers know about one vendor, as one value.

Each ``vendors/<vendor>.py`` exports one ``SPEC``; the hooks, triggers, sensors, archive and
provider metadata read it through ``vendors.registry`` and never name a vendor themselves. The
protocol functions share one signature across vendors: credentials are one value of the vendor's
own type (what its hook acquires), and ``now`` (epoch seconds) is there for signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from airflow_provider_aigc.vendors.common import check_app

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from airflow_provider_aigc.exceptions import AigcError
    from airflow_provider_aigc.models import JobStatus
    from airflow_provider_aigc.vendors.base import HttpRequest, HttpResponse

C = TypeVar("C")


class StatusParser(Protocol):
    """``parse_status``: a status answer as ``JobStatus``; ``now`` and the connection's TTL date
    outputs whose URLs carry no expiry of their own."""

    def __call__(
        self,
        response: HttpResponse,
        *,
        job_id: str,
        app: str,
        now: datetime,
        output_ttl_seconds: float | None = None,
    ) -> JobStatus: ...


@dataclass(frozen=True)
class ConnectionForm:
    """The vendor's Airflow connection form: what login and password hold, and its own extras.

    ``login`` and ``password`` are (label, placeholder); ``extras`` are ``conn-fields`` entries
    added to the ones every vendor shares.
    """

    hook_name: str
    login: tuple[str, str]
    password: tuple[str, str]
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorSpec(Generic[C]):
    """One vendor: its facts (apps, URLs, codes, validity, form) and its sans-IO protocol.

    :param error_codes: the document's error-code table (code -> taxonomy class).
    :param output_validity: the documented lifetime of output URLs, one sentence; None when the
        documents give none (the connection's ``output_ttl_seconds`` then stands in).
    :param prompt_fields: per app, the request field that holds the prompt (for manifests).
    :param hook_class: the hook's import path, so naming it imports nothing.
    :param max_running_jobs: how many jobs the vendor runs at a time per account by default (its
        concurrency refusals map onto ``AigcConcurrencyLimitError``); None when undocumented. A
        connection's ``max_running_jobs`` extra overrides it (docs/operators.md, "Batches").
    """

    name: str
    integration: str
    apps: frozenset[str]
    default_base_url: str
    poll_intervals: Mapping[str, float]
    prompt_fields: Mapping[str, str]
    error_codes: Mapping[str, type[AigcError]]
    output_validity: str | None
    form: ConnectionForm
    hook_class: str
    validate: Callable[[str, Mapping[str, Any]], dict[str, Any]]
    describe_request: Callable[[str, Mapping[str, Any]], dict[str, Any]]
    build_submit: Callable[[str, Mapping[str, Any], C, float], HttpRequest]
    build_status: Callable[[str, str, C, float], HttpRequest]
    parse_submit: Callable[[HttpResponse], str]
    parse_status: StatusParser
    max_running_jobs: int | None = None

    @property
    def conn_type(self) -> str:
        return f"aigc_{self.name}"

    @property
    def default_conn_name(self) -> str:
        return f"aigc_{self.name}_default"

    def poll_interval(self, app: str) -> float:
        """Seconds between polls of an ``app`` job, fitted to the documented latency."""
        check_app(self.name, app, self.apps)
        return float(self.poll_intervals[app])

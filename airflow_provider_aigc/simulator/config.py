"""The simulator's knobs: one dataclass, read from flags, a JSON file or ``POST /_sim/config``.

Every way in goes through ``SimulatorConfig.from_dict`` so a bad value is refused with a message
instead of surfacing later as a confusing response.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from airflow_provider_aigc.simulator.faults import FaultRule
from airflow_provider_aigc.simulator.vendors import SIM_VENDORS

PROFILES = {profile.name: profile for profile in SIM_VENDORS}
VENDORS = tuple(PROFILES)
DEFAULT_LATENCY = {app: seconds for profile in SIM_VENDORS for app, seconds in profile.latency.items()}
DEFAULT_CONCURRENCY = {profile.name: profile.concurrency for profile in SIM_VENDORS}
DEFAULT_SUBMIT_RATE = {profile.name: profile.submit_rate for profile in SIM_VENDORS}
DEFAULT_URL_TTL = {profile.name: profile.url_ttl for profile in SIM_VENDORS}
MAX_IMAGE_BYTES = 2**31
MAX_VIDEO_BYTES = 2**32
T = TypeVar("T")


def faults_for(vendor: str, kind: str) -> tuple[str, ...]:
    """The fault names allowed for one vendor's endpoint kind."""
    return PROFILES[vendor].faults_for(kind)


@dataclass
class CogviewImages:
    """CogView's request has no size or count fields, so the simulator decides both."""

    count: int = 4
    width: int = 1024
    height: int = 1024


FaultTree = dict[str, dict[str, dict[str, FaultRule]]]


@dataclass
class SimulatorConfig:
    """Everything that shapes the simulator's answers; see docs/simulator.md for each knob."""

    seed: int | None = None
    speed: float = 1.0
    latency: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LATENCY))
    concurrency: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    submit_rate: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_SUBMIT_RATE))
    url_ttl: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_URL_TTL))
    token_ttl: float = 2_592_000.0
    token_max_calls: int | None = None
    jumdata_timestamp_window: float = 300.0
    image_bytes: int = 0
    video_bytes: int = 0
    cogview_images: CogviewImages = field(default_factory=CogviewImages)
    moderation_words: tuple[str, ...] = ("违禁",)
    faults: FaultTree = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self.speed > 0 and math.isfinite(self.speed), "speed must be a positive number")
        _check_keys("latency", self.latency, DEFAULT_LATENCY)
        _check_keys("concurrency", self.concurrency, VENDORS)
        _check_keys("url_ttl", self.url_ttl, VENDORS)
        _check_keys("submit_rate", self.submit_rate, VENDORS)
        self.submit_rate = {**DEFAULT_SUBMIT_RATE, **self.submit_rate}
        self.latency = {**DEFAULT_LATENCY, **self.latency}
        self.concurrency = {**DEFAULT_CONCURRENCY, **self.concurrency}
        for name, limits, defaults in (
            ("submit_rate", self.submit_rate, DEFAULT_SUBMIT_RATE),
            ("concurrency", self.concurrency, DEFAULT_CONCURRENCY),
        ):
            for vendor, value in limits.items():
                # null is the default, and only allowed, where the vendor's limits are per model
                _check(value is not None or defaults[vendor] is None, f"{name}.{vendor} must be a number")
                _check(value is None or value >= 0, f"{name} values must be >= 0")
        self.url_ttl = {**DEFAULT_URL_TTL, **self.url_ttl}
        _check(all(v >= 0 for v in self.latency.values()), "latency values must be >= 0")
        _check(all(v is None or v > 0 for v in self.url_ttl.values()), "url_ttl values must be > 0 or null")
        for vendor, ttl in self.url_ttl.items():
            _check(
                ttl is not None or not PROFILES[vendor].url_ttl_required, f"url_ttl.{vendor} must be a number"
            )
        _check(self.token_ttl > 0, "token_ttl must be > 0")
        _check(self.token_max_calls is None or self.token_max_calls > 0, "token_max_calls must be > 0")
        _check(self.jumdata_timestamp_window > 0, "jumdata_timestamp_window must be > 0")
        _check(0 <= self.image_bytes <= MAX_IMAGE_BYTES, f"image_bytes must be 0..{MAX_IMAGE_BYTES}")
        _check(0 <= self.video_bytes <= MAX_VIDEO_BYTES, f"video_bytes must be 0..{MAX_VIDEO_BYTES}")
        images = self.cogview_images
        _check(images.count >= 1 and images.width >= 1 and images.height >= 1, "cogview_images must be >= 1")
        self.moderation_words = tuple(self.moderation_words)
        _check(all(self.moderation_words), "moderation_words must be non-empty strings")
        for vendor, kinds in self.faults.items():
            _check(vendor in VENDORS, f"faults: unknown vendor {vendor!r}")
            for kind, rules in kinds.items():
                _check(kind in PROFILES[vendor].kinds, f"faults.{vendor}: unknown kind {kind!r}")
                for fault, rule in rules.items():
                    _check_rule(vendor, kind, fault, rule)

    def latency_for(self, app: str) -> float:
        """Seconds from submit to done for a new job of ``app``."""
        return self.latency[app] / self.speed

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "speed": self.speed,
            "latency": dict(self.latency),
            "concurrency": dict(self.concurrency),
            "submit_rate": dict(self.submit_rate),
            "url_ttl": dict(self.url_ttl),
            "token_ttl": self.token_ttl,
            "token_max_calls": self.token_max_calls,
            "jumdata_timestamp_window": self.jumdata_timestamp_window,
            "image_bytes": self.image_bytes,
            "video_bytes": self.video_bytes,
            "cogview_images": {
                "count": self.cogview_images.count,
                "width": self.cogview_images.width,
                "height": self.cogview_images.height,
            },
            "moderation_words": list(self.moderation_words),
            "faults": {
                vendor: {
                    kind: {fault: rule.to_dict(fault) for fault, rule in rules.items()}
                    for kind, rules in kinds.items()
                }
                for vendor, kinds in self.faults.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimulatorConfig:
        """Build from JSON-shaped data; raises ``ValueError`` naming the offending knob."""
        known = set(cls().to_dict())
        unknown = set(data) - known
        _check(not unknown, f"unknown config keys: {sorted(unknown)}")
        d = {**cls().to_dict(), **data}
        images = _mapping("cogview_images", d["cogview_images"])
        _check(not set(images) - {"count", "width", "height"}, "cogview_images: unknown keys")
        words = d["moderation_words"]
        _check(
            isinstance(words, list) and all(isinstance(w, str) for w in words), "moderation_words: strings"
        )
        return cls(
            seed=_optional(_integer, "seed", d["seed"]),
            speed=_number("speed", d["speed"]),
            latency={k: _number(f"latency.{k}", v) for k, v in _mapping("latency", d["latency"]).items()},
            concurrency={
                k: _optional(_integer, f"concurrency.{k}", v)
                for k, v in _mapping("concurrency", d["concurrency"]).items()
            },
            submit_rate={
                k: _optional(_number, f"submit_rate.{k}", v)
                for k, v in _mapping("submit_rate", d["submit_rate"]).items()
            },
            url_ttl={
                k: _optional(_number, f"url_ttl.{k}", v) for k, v in _mapping("url_ttl", d["url_ttl"]).items()
            },
            token_ttl=_number("token_ttl", d["token_ttl"]),
            token_max_calls=_optional(_integer, "token_max_calls", d["token_max_calls"]),
            jumdata_timestamp_window=_number("jumdata_timestamp_window", d["jumdata_timestamp_window"]),
            image_bytes=_integer("image_bytes", d["image_bytes"]),
            video_bytes=_integer("video_bytes", d["video_bytes"]),
            cogview_images=CogviewImages(
                count=_integer("cogview_images.count", images.get("count", 4)),
                width=_integer("cogview_images.width", images.get("width", 1024)),
                height=_integer("cogview_images.height", images.get("height", 1024)),
            ),
            moderation_words=tuple(words),
            faults=_fault_tree(_mapping("faults", d["faults"] or {})),
        )

    def merged(self, patch: Mapping[str, Any]) -> SimulatorConfig:
        """A new config with ``patch`` merged in (objects recursively; ``null`` deletes under faults)."""
        return SimulatorConfig.from_dict(_merge(self.to_dict(), patch, deleting=False))

    def copy(self) -> SimulatorConfig:
        return copy.deepcopy(self)


def _merge(base: dict[str, Any], patch: Mapping[str, Any], *, deleting: bool) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        in_faults = deleting or key == "faults"
        if value is None and in_faults:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, deleting=in_faults)
        else:
            out[key] = value
    return out


def _fault_tree(data: Mapping[str, Any]) -> FaultTree:
    tree: FaultTree = {}
    for vendor, kinds in data.items():
        for kind, rules in _mapping(f"faults.{vendor}", kinds).items():
            for fault, raw in _mapping(f"faults.{vendor}.{kind}", rules).items():
                where = f"faults.{vendor}.{kind}.{fault}"
                rule = _mapping(where, raw)
                extra = set(rule) - {"probability", "next", "delay", "status", "code"}
                _check(not extra, f"{where}: unknown keys {sorted(extra)}")
                tree.setdefault(vendor, {}).setdefault(kind, {})[fault] = FaultRule(
                    probability=_number(f"{where}.probability", rule.get("probability", 0.0)),
                    next=_integer(f"{where}.next", rule.get("next", 0)),
                    delay=_number(f"{where}.delay", rule.get("delay", 5.0)),
                    status=_integer(f"{where}.status", rule.get("status", 503)),
                    code=_optional(_integer, f"{where}.code", rule.get("code")),
                )
    return tree


def _check_rule(vendor: str, kind: str, fault: str, rule: FaultRule) -> None:
    where = f"faults.{vendor}.{kind}.{fault}"
    _check(fault in faults_for(vendor, kind), f"{where}: not available (allowed: {faults_for(vendor, kind)})")
    _check(0.0 <= rule.probability <= 1.0, f"{where}.probability must be 0..1")
    _check(rule.next >= 0, f"{where}.next must be >= 0")
    _check(rule.delay >= 0, f"{where}.delay must be >= 0")
    _check(500 <= rule.status <= 599, f"{where}.status must be 500..599")
    if fault in ("rate_limit", "quota"):
        allowed = PROFILES[vendor].fault_codes.get(fault)
        _check(allowed is not None, f"{where}: {vendor} documents no {fault} code")
        assert allowed is not None
        if rule.code is None:
            rule.code = allowed[0]
        _check(rule.code in allowed, f"{where}.code must be one of {allowed}")
    elif fault == "error":
        _check(rule.code is not None, f"{where}.code is required")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_keys(name: str, values: Mapping[str, Any], allowed: Any) -> None:
    unknown = set(values) - set(allowed)
    _check(not unknown, f"{name}: unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    _check(isinstance(value, Mapping), f"{name} must be an object")
    return value  # type: ignore[no-any-return]


def _number(name: str, value: Any) -> float:
    _check(isinstance(value, (int, float)) and not isinstance(value, bool), f"{name} must be a number")
    _check(math.isfinite(value), f"{name} must be finite")
    return float(value)


def _integer(name: str, value: Any) -> int:
    _check(isinstance(value, int) and not isinstance(value, bool), f"{name} must be an integer")
    return int(value)


def _optional(convert: Callable[[str, Any], T], name: str, value: Any) -> T | None:
    return None if value is None else convert(name, value)

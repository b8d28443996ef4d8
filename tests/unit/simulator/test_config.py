from __future__ import annotations

import pytest

from airflow_provider_aigc.simulator import FaultRule, SimulatorConfig


def test_defaults_follow_the_documents() -> None:
    config = SimulatorConfig()

    assert config.latency_for("cogview") == 240
    assert config.latency_for("news_generate") == 2
    assert config.latency_for("wan_image") == 60
    assert config.latency_for("wan_video") == 180
    # DashScope's limits are per model (simulator/dashscope.py MODEL_LIMITS) unless a number is set.
    assert config.concurrency == {"zhipu": 0, "baidu": 2, "jumdata": 0, "bigmodel": 0, "dashscope": None}
    assert config.submit_rate["dashscope"] is None
    assert config.url_ttl == {
        "zhipu": 86400,
        "baidu": 3600,
        "jumdata": None,
        "bigmodel": 30 * 86400,
        "dashscope": 86400,
    }
    assert config.token_ttl == 2592000


def test_speed_divides_latency() -> None:
    assert SimulatorConfig(speed=20).latency_for("cogview") == 12


def test_dict_round_trip_keeps_everything() -> None:
    config = SimulatorConfig(
        seed=3,
        latency={"cogview": 1},
        faults={"baidu": {"submit": {"rate_limit": FaultRule(next=2, code=13)}}},
    )

    again = SimulatorConfig.from_dict(config.to_dict())

    assert again.to_dict() == config.to_dict()
    assert again.faults["baidu"]["submit"]["rate_limit"] == FaultRule(next=2, code=13)


def test_code_faults_get_the_vendor_default_code() -> None:
    config = SimulatorConfig().merged(
        {"faults": {"jumdata": {"status": {"rate_limit": {"probability": 0.5}}}}}
    )

    assert config.to_dict()["faults"]["jumdata"]["status"]["rate_limit"] == {
        "probability": 0.5,
        "next": 0,
        "code": 609,
    }


def test_merge_is_deep_and_null_deletes_only_under_faults() -> None:
    config = SimulatorConfig().merged(
        {"faults": {"zhipu": {"submit": {"slow": {"next": 1}, "http_5xx": {"next": 1}}}}}
    )

    merged = config.merged({"faults": {"zhipu": {"submit": {"slow": None}}}, "url_ttl": {"jumdata": None}})

    assert list(merged.faults["zhipu"]["submit"]) == ["http_5xx"]
    assert merged.url_ttl["jumdata"] is None


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"speed": -1}, "speed"),
        ({"latency": {"dalle": 1}}, "latency"),
        ({"concurrency": {"baidu": 1.5}}, "concurrency.baidu"),
        ({"concurrency": {"baidu": None}}, "concurrency.baidu must be a number"),
        ({"submit_rate": {"zhipu": None}}, "submit_rate.zhipu must be a number"),
        ({"submit_rate": {"dashscope": -1}}, "submit_rate values must be >= 0"),
        ({"url_ttl": {"zhipu": None}}, "url_ttl.zhipu"),
        ({"image_bytes": 2**31 + 1}, "image_bytes"),
        ({"faults": {"zhipu": {"token": {"slow": {}}}}}, "unknown kind"),
        ({"faults": {"zhipu": {"download": {"malformed": {}}}}}, "not available"),
        ({"faults": {"baidu": {"submit": {"rate_limit": {"code": 10003}}}}}, "code must be one of"),
        ({"faults": {"jumdata": {"submit": {"quota": {}}}}}, "documents no quota"),
        ({"faults": {"zhipu": {"submit": {"error": {}}}}}, "code is required"),
        ({"faults": {"zhipu": {"submit": {"http_5xx": {"status": 404}}}}}, "500..599"),
        ({"faults": {"zhipu": {"submit": {"slow": {"probability": 2}}}}}, "probability"),
        ({"faults": {"zhipu": {"submit": {"slow": {"later": 1}}}}}, "unknown keys"),
    ],
)
def test_invalid_values_are_refused_naming_the_knob(patch: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig().merged(patch)

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

import pytest

from airflow_provider_aigc.simulator.__main__ import main, parse_args

if TYPE_CHECKING:
    from pathlib import Path


def test_print_connections_prints_ready_to_use_json_connections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "9001", "--print-connections"]) == 0

    lines = capsys.readouterr().out.splitlines()
    env = dict(shlex.split(line)[0].split("=", 1) for line in lines)
    assert set(env) == {
        "AIRFLOW_CONN_AIGC_ZHIPU_DEFAULT",
        "AIRFLOW_CONN_AIGC_BAIDU_DEFAULT",
        "AIRFLOW_CONN_AIGC_JUMDATA_DEFAULT",
        "AIRFLOW_CONN_AIGC_BIGMODEL_DEFAULT",
        "AIRFLOW_CONN_AIGC_DASHSCOPE_DEFAULT",
    }
    zhipu = json.loads(env["AIRFLOW_CONN_AIGC_ZHIPU_DEFAULT"])
    assert zhipu["conn_type"] == "aigc_zhipu"
    assert zhipu["host"] == "http://127.0.0.1:9001"
    assert zhipu["extra"]["secret_des3_key"] == "demo-zhipu-des3-key-24b!"
    assert zhipu["extra"]["allow_private_output_hosts"] is True
    baidu = json.loads(env["AIRFLOW_CONN_AIGC_BAIDU_DEFAULT"])
    assert (baidu["login"], baidu["password"]) == ("demo-baidu-api-key", "demo-baidu-secret-key")
    jumdata = json.loads(env["AIRFLOW_CONN_AIGC_JUMDATA_DEFAULT"])
    assert (jumdata["login"], jumdata["password"]) == ("demo-jumdata-app-id", "demo-jumdata-app-secret")
    dashscope = json.loads(env["AIRFLOW_CONN_AIGC_DASHSCOPE_DEFAULT"])
    assert (dashscope["host"], dashscope["password"]) == (
        "http://127.0.0.1:9001/api/v1",
        "sk-demo-dashscope-api-key",
    )


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    file = tmp_path / "sim.json"
    file.write_text(
        json.dumps({"speed": 5, "seed": 1, "faults": {"baidu": {"submit": {"quota": {"next": 1}}}}}),
        encoding="utf-8",
    )

    _, config = parse_args(
        [
            "--config",
            str(file),
            "--speed",
            "20",
            "--latency",
            "ai_draw=3",
            "--concurrency",
            "baidu=0",
            "--url-ttl",
            "jumdata=60",
            "--moderation-word",
            "禁",
            "--image-bytes",
            "1000",
        ]
    )

    assert (config.speed, config.seed) == (20, 1)
    assert config.latency["ai_draw"] == 3
    assert config.latency["cogview"] == 240
    assert config.concurrency["baidu"] == 0
    assert config.url_ttl["jumdata"] == 60
    assert config.moderation_words == ("禁",)
    assert config.image_bytes == 1000
    assert config.faults["baidu"]["submit"]["quota"].code == 17


@pytest.mark.parametrize("argv", [["--latency", "cogview"], ["--concurrency", "baidu=x"], ["--speed", "0"]])
def test_bad_flags_exit_with_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)

    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err

"""Issue 10 item 7: a real ``airflow api-server`` never shows the provider's secrets.

Airflow's REST API (which the UI reads too) redacts a connection's ``password`` always and an
extra only when its *name* contains a sensitive word (``secret``, ``password``, ``token``...,
plus ``[core] sensitive_var_conn_names``); a form's ``format: password`` only masks the input box.
So the provider's secret extras are named to match (``secret_app_key``, ``app_secret``,
``secret_des3_key``). Every extra the provider declares ``format: password`` gets a sentinel
value here (with the old ``des3_key`` field this failed: its value came back in clear). This
test starts the api-server on 127.0.0.1 with a throwaway AIRFLOW_HOME
and the simple auth manager with a real user and password, creates connections through the API
and reads them back: no secret value may appear in any response body.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from airflow_provider_aigc import get_provider_info
from tests.integration.conftest import AIRFLOW, _airflow_env

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

STARTUP_LIMIT_SECONDS = 180.0
USER, PASSWORD = "aigc-admin", "aigc-admin-login-pw"
SECRETS = {
    "zhipu-console-apisecret": "zhipu-console-apisecret-SENTINEL-1",
    "baidu-secret-key": "baidu-secret-key-SENTINEL-2",
    "jumdata-app-secret": "jumdata-app-secret-SENTINEL-3",
}


def _secret_fields() -> dict[str, list[str]]:
    """Every extra the provider declares as a secret (``format: password``), per connection type."""
    return {
        entry["connection-type"]: [
            name
            for name, field in entry["conn-fields"].items()
            if field["schema"].get("format") == "password"
        ]
        for entry in get_provider_info()["connection-types"]
    }


def _secret_extras(conn_type: str) -> dict[str, str]:
    """A sentinel value for each declared secret extra (registered in ``SECRETS``)."""
    extras = {}
    for name in _secret_fields()[conn_type]:
        value = f"{conn_type}-{name}-SENTINEL-{len(SECRETS)}"
        SECRETS[f"{conn_type} extra {name}"] = value
        extras[name] = value
    return extras


ZHIPU_SECRET_EXTRAS = _secret_extras("aigc_zhipu")
CONNECTIONS: list[dict[str, Any]] = [
    {
        "connection_id": "aigc_zhipu_console",
        "conn_type": "aigc_zhipu",
        "host": "http://127.0.0.1:8765",
        "login": "zhipu-console-apikey",
        "password": SECRETS["zhipu-console-apisecret"],
        "extra": json.dumps({"queue": "queue1", "timeout": 30}),
    },
    {
        "connection_id": "aigc_zhipu_derived",
        "conn_type": "aigc_zhipu",
        "host": "http://127.0.0.1:8765",
        "extra": json.dumps({**ZHIPU_SECRET_EXTRAS, "queue": "queue1", "allow_private_output_hosts": True}),
    },
    {
        "connection_id": "aigc_baidu_api",
        "conn_type": "aigc_baidu",
        "host": "http://127.0.0.1:8765",
        "login": "baidu-api-key",
        "password": SECRETS["baidu-secret-key"],
        "extra": json.dumps({"output_ttl_seconds": 3600, **_secret_extras("aigc_baidu")}),
    },
    {
        "connection_id": "aigc_jumdata_api",
        "conn_type": "aigc_jumdata",
        "host": "http://127.0.0.1:8765",
        "login": "jumdata-app-id",
        "password": SECRETS["jumdata-app-secret"],
        "extra": json.dumps(_secret_extras("aigc_jumdata")),
    },
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ApiServer:
    """A running ``airflow api-server`` and a logged-in ``requests`` session on it."""

    def __init__(self, url: str, session: requests.Session) -> None:
        self.url = url
        self.session = session

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def api_server(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp("airflow-api-server")
    (home / "airflow.db").write_bytes((airflow_home / "airflow.db").read_bytes())
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    port = _free_port()
    env = {
        **_airflow_env(home),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "aigc-test-jwt-secret-not-used-elsewhere",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = (home / "api-server.log").open("w")
    process = subprocess.Popen(
        [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        session.trust_env = False  # loopback only, never through a proxy
        _wait_until_up(session, url, process, home)
        token = session.post(f"{url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
        assert token.status_code in (200, 201), token.text
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield ApiServer(url, session)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


def _wait_until_up(session: requests.Session, url: str, process: subprocess.Popen[bytes], home: Path) -> None:
    """Poll the health endpoint until the server answers (a start-up guard, not a timed assertion)."""
    give_up = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < give_up:
        if process.poll() is not None:
            pytest.fail(f"api-server exited: {(home / 'api-server.log').read_text()[-3000:]}")
        try:
            if session.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"api-server did not come up: {(home / 'api-server.log').read_text()[-3000:]}")


def _assert_no_secret(body: str) -> None:
    for name, value in SECRETS.items():
        assert value not in body, f"{name} is shown in clear: {body[:2000]}"


@pytest.fixture(scope="module")
def created(api_server: ApiServer) -> list[str]:
    """Create the connections through the REST API; the answers must already be redacted."""
    bodies = []
    for connection in CONNECTIONS:
        answer = api_server.call("POST", "/api/v2/connections", json=connection)
        assert answer.status_code == 201, answer.text
        bodies.append(answer.text)
    return bodies


def test_the_create_answers_hide_the_secrets(created: list[str]) -> None:
    for body in created:
        _assert_no_secret(body)


@pytest.mark.parametrize("conn_id", [connection["connection_id"] for connection in CONNECTIONS])
def test_reading_a_connection_hides_its_secrets(
    api_server: ApiServer, created: list[str], conn_id: str
) -> None:
    answer = api_server.call("GET", f"/api/v2/connections/{conn_id}")
    assert answer.status_code == 200, answer.text
    _assert_no_secret(answer.text)
    data = answer.json()
    assert data["connection_id"] == conn_id
    if data.get("password") is not None:
        assert data["password"] == "***"


def test_the_derivation_extras_are_masked_and_the_others_kept(
    api_server: ApiServer, created: list[str]
) -> None:
    answer = api_server.call("GET", "/api/v2/connections/aigc_zhipu_derived")
    extra = json.loads(answer.json()["extra"])
    assert set(ZHIPU_SECRET_EXTRAS) == {"secret_app_key", "app_secret", "secret_des3_key"}
    assert extra == {
        **dict.fromkeys(ZHIPU_SECRET_EXTRAS, "***"),
        "queue": "queue1",
        "allow_private_output_hosts": True,
    }


def test_listing_connections_hides_every_secret(api_server: ApiServer, created: list[str]) -> None:
    answer = api_server.call("GET", "/api/v2/connections", params={"limit": 100})
    assert answer.status_code == 200, answer.text
    listed = {row["connection_id"] for row in answer.json()["connections"]}
    assert {connection["connection_id"] for connection in CONNECTIONS} <= listed
    _assert_no_secret(answer.text)


def test_the_ui_form_metadata_marks_the_secret_fields(api_server: ApiServer, created: list[str]) -> None:
    """What the UI's connection form is built from: the secret extras render as password inputs."""
    answer = api_server.call("GET", "/ui/connections/hook_meta")
    assert answer.status_code == 200, answer.text
    _assert_no_secret(answer.text)
    (zhipu,) = [hook for hook in answer.json() if hook["connection_type"] == "aigc_zhipu"]
    fields = zhipu["extra_fields"]
    for name in ZHIPU_SECRET_EXTRAS:
        assert fields[name]["schema"]["format"] == "password", fields

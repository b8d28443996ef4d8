from __future__ import annotations

from airflow_provider_aigc.hooks.transport import describe, redact
from airflow_provider_aigc.vendors.base import HttpRequest

TOKEN_REQUEST = HttpRequest(
    "POST",
    "/oauth/2.0/token",
    params={"grant_type": "client_credentials", "client_id": "ak-123", "client_secret": "s/k+e y"},
    secret_fields=frozenset({"client_id", "client_secret"}),
)


def test_describe_redacts_secret_query_parameters() -> None:
    assert describe(TOKEN_REQUEST) == (
        "POST /oauth/2.0/token?grant_type=client_credentials&client_id=***&client_secret=***"
    )
    assert (
        describe(HttpRequest("GET", "/v1/status", params={"task_id": "abc"})) == "GET /v1/status?task_id=abc"
    )


def test_redact_covers_raw_and_url_encoded_values() -> None:
    text = "url /oauth/2.0/token?client_id=ak-123&client_secret=s%2Fk%2Be+y raw s/k+e y"
    assert redact(text, TOKEN_REQUEST) == "url /oauth/2.0/token?client_id=***&client_secret=*** raw ***"


def test_redact_covers_body_fields() -> None:
    request = HttpRequest(
        "POST", "/ai/draw/query", form={"appId": "app", "sign": "f" * 64}, secret_fields=frozenset({"sign"})
    )
    assert redact(f"failed with sign={'f' * 64}", request) == "failed with sign=***"


def test_redact_covers_secret_headers_and_the_token_after_their_scheme() -> None:
    request = HttpRequest(
        "GET",
        "/paas/v4/async-result/1",
        headers={"Authorization": "Bearer id.s3cret", "Accept-Language": "en-US,en"},
        secret_fields=frozenset({"Authorization"}),
    )
    assert redact("sent Bearer id.s3cret; token id.s3cret", request) == "sent ***; token ***"
    assert describe(request) == "GET /paas/v4/async-result/1"

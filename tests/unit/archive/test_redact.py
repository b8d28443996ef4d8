from __future__ import annotations

import pytest

from airflow_provider_aigc.archive.redact import public_url, scrub


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://bj.bcebos.com/v1/img/0.png?authorization=bce-auth-v1%2Fak%2F2024-01-01T00%3A00%3A00Z%2F3600%2Fhost%2Fsig",
            "https://bj.bcebos.com/v1/img/0.png",
        ),
        ("http://user:pass@127.0.0.1:8765/a.png#frag", "http://127.0.0.1:8765/a.png"),
        ("http://[::1]:80/a.png?x=1", "http://[::1]:80/a.png"),
        ("http://host:notaport/a", "http://host:notaport/a"),
    ],
)
def test_public_url_drops_signature_and_credentials(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_scrub_cuts_query_strings_out_of_messages() -> None:
    message = "Max retries exceeded with url: /img/0.png?authorization=secret-sig (Caused by ConnectTimeout)"
    assert scrub(message) == "Max retries exceeded with url: /img/0.png?<redacted> (Caused by ConnectTimeout)"

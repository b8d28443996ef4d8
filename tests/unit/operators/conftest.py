"""Fixtures for the operator tests."""

from __future__ import annotations

import pytest

from tests.unit.operators.fakes import CONNECTIONS, define_connection


@pytest.fixture
def vendor_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """The three default connections (the hooks read them to complete and validate a request)."""
    for conn_id in CONNECTIONS:
        define_connection(monkeypatch, conn_id)

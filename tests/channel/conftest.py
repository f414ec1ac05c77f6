"""Fixtures of the WhatsApp channel tests: a fake Graph API on loopback and the settings
that point the channel at it (fast retries, a SQLite message-id store per test)."""
from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from addons.whatsapp.settings import RetryPolicy, WhatsAppSettings
from tests.channel.helpers import (
    ACCESS_TOKEN,
    API_VERSION,
    APP_SECRET,
    OTHER_SENDER,
    PHONE_NUMBER_ID,
    SENDER,
    VERIFY_TOKEN,
)


@pytest.fixture(scope="session")
def graph_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def graph(graph_server: HTTPServer) -> Iterator[HTTPServer]:
    """The fake Graph API, with no handler and an empty log."""
    graph_server.clear()
    yield graph_server
    graph_server.clear()


@pytest.fixture
def settings(graph: HTTPServer, tmp_path) -> WhatsAppSettings:
    return WhatsAppSettings(
        access_token=ACCESS_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        api_version=API_VERSION,
        api_base_url=graph.url_for("/").rstrip("/"),
        dedup_db_url=f"sqlite:///{tmp_path / 'law.db'}",
        retry=RetryPolicy(max_attempts=4, backoff_base_s=0.01, backoff_max_s=0.05),
    )


@pytest.fixture(autouse=True)
def no_unmasked_numbers_in_logs(caplog) -> Iterator[None]:
    """Every test also checks that the channel never logs an applicant's number in full."""
    caplog.set_level(logging.DEBUG, logger="addons.whatsapp")
    yield
    leaked = [
        record.getMessage()
        for record in caplog.get_records("setup") + caplog.get_records("call")
        if record.name.startswith("addons.whatsapp")
        and any(number in record.getMessage() for number in (SENDER, OTHER_SENDER))
    ]
    assert not leaked, f"unmasked phone numbers logged: {leaked}"

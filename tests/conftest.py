"""Shared fixtures: the office configuration, a fixed clock, and slot stores on SQLite and
PostgreSQL.

PostgreSQL tests use ``LAW_TEST_POSTGRES_URL`` (``make test`` points it at the machine's
server). Each test session creates a database of its own there and drops it afterwards.
Without a reachable server the PostgreSQL tests skip and say why — except under CI
(``CI=true``), where they fail instead, so a green CI run always includes them.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from antrean.clock import OFFICE_TZ, FixedClock
from antrean.config import OfficeConfig, load_config
from antrean.model import Applicant
from antrean.service import BookingService
from antrean.store.engine import create_store_engine, migrate
from antrean.store.repository import SqlStore
from antrean.store.tables import metadata

POSTGRES_ENV = "LAW_TEST_POSTGRES_URL"
# A Tuesday; tomorrow (2 Dec) opens the window, 31 Dec closes it, 25 Dec is Christmas.
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=OFFICE_TZ)


@pytest.fixture(scope="session")
def office_config() -> OfficeConfig:
    return load_config()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def person(name: str = "Budi Santoso", born: dt.date = dt.date(1990, 3, 12), female: bool = False,
           serial: int = 1) -> Applicant:
    """An applicant with a NIK that agrees with the birth date."""
    day = born.day + (40 if female else 0)
    nik = f"317101{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
    return Applicant(name, born, nik)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str | None) -> Iterator[str]:
    """A fresh migrated database on the PostgreSQL server for this test session."""
    with fresh_postgres_database(postgres_admin_url, "law_test") as url:
        migrate(url)
        yield url


@contextmanager
def fresh_postgres_database(admin_url: str | None, prefix: str) -> Iterator[str]:
    """An empty database of its own on the PostgreSQL test server, dropped afterwards.

    Skips (with the reason) when no server is reachable, except under CI, where it fails.
    """
    reason = _postgres_unavailable(admin_url)
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    assert admin_url
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _postgres_unavailable(url: str | None) -> str | None:
    if not url:
        return f"{POSTGRES_ENV} is not set"
    try:
        engine = create_engine(url, future=True, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"cannot connect to {url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'law.db'}"
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> Iterator[str]:
    """The URL of an empty, migrated slot store on each backend."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(create_store_engine(database_url))
    yield store
    store.dispose()


@pytest.fixture
def service(office_config: OfficeConfig, store: SqlStore, clock: FixedClock) -> BookingService:
    return BookingService(office_config, store, clock)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many PostgreSQL-backed tests passed or skipped, so a run shows it plainly."""
    counts = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        counts[outcome] = sum(
            1 for report in terminalreporter.stats.get(outcome, [])
            if "postgres" in getattr(report, "nodeid", "")
        )
    terminalreporter.write_line(
        "PostgreSQL tests: {passed} passed, {failed} failed, {skipped} skipped, "
        "{error} errors".format(**counts)
    )

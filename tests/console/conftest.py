"""Fixtures of the staff console's tests: the real console over HTTP, seeded stores, Chromium.

- ``store``: a migrated slot store seeded by :func:`seed_all`, SQLite by default (a copy of
  one seeded file); a test marked ``@BOTH_STORES`` runs on PostgreSQL too (the session's
  database of ``tests/conftest.py``, emptied and seeded per test).
- ``console``: ``law_console.app.create_app`` served by uvicorn in a thread on a free port,
  its booking service on the office clock fixed at ``CONSOLE_NOW`` (Tuesday 1 December 2026,
  10:00), with accounts ``admin`` / ``supervisor`` / ``loket`` (``PASSWORD``) and the bookings
  of :func:`seed` (today's and the past week's), and a Rasa tracker store with a few
  messages, some not understood.
- ``browser`` (session) / ``page``: headless Debian Chromium through Playwright's Python API
  (``/usr/bin/chromium``, no browser download). Without it the browser tests skip and say
  so, except under ``CI=true``, where they fail.
- :func:`shoot`: screenshots of a page at 360 px and 1280 px in ``var/screenshots/`` (not
  committed), to be looked at.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import uvicorn
from sqlalchemy import create_engine, insert, text

from antrean import codes
from antrean.clock import OFFICE_TZ, FixedClock
from antrean.config import PROJECT_ROOT, load_config
from antrean.model import Attendance, BookingRequest
from antrean.outcomes import Reserved
from antrean.service import BookingService
from antrean.settings import Settings
from antrean.staff.users import Actor, Role, add_user
from antrean.store.engine import create_store_engine, migrate
from antrean.store.repository import SqlStore
from antrean.store.tables import metadata
from antrean.store.tracker_queries import events
from antrean.store.tracker_queries import metadata as tracker_metadata
from law_console.app import create_app
from tests.conftest import person
from tests.e2e.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
TODAY = dt.date(2026, 12, 1)  # a Tuesday
CONSOLE_NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=OFFICE_TZ)
PASSWORD = "sandi-rahasia-1"
ACCOUNTS = {"admin": Role.ADMIN, "supervisor": Role.SUPERVISOR, "loket": Role.LOKET}
APPLICANT_PHONE = "6281234567890"
WIDTHS = (360, 1280)


@dataclass
class Seeded:
    """What :func:`seed` booked: display codes by name, and the NIK of the squatted booking."""

    codes: dict[str, str] = field(default_factory=dict)
    squatted_nik: str = ""
    per_day: dict[dt.date, int] = field(default_factory=dict)  # bookings not cancelled


@dataclass
class RunningConsole:
    url: str
    service: BookingService
    seeded: Seeded
    store_url: str

    def session(self, username: str) -> requests.Session:
        """A signed-in HTTP session (raw requests, no browser)."""
        http = requests.Session()
        form = http.get(f"{self.url}/masuk", timeout=10)
        token = _csrf_of(form.text)
        done = http.post(f"{self.url}/masuk", data={"csrf": token, "username": username,
                                                     "password": PASSWORD},
                         allow_redirects=False, timeout=10)
        assert done.status_code == 303, done.text
        return http


def _csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


csrf_of = _csrf_of


# --- stores ---------------------------------------------------------------------------
@dataclass
class Store:
    url: str
    seeded: Seeded


def seed_all(url: str) -> Seeded:
    """The bookings of :func:`seed` and the accounts of ``ACCOUNTS`` in the store at ``url``."""
    store = SqlStore(create_store_engine(url))
    try:
        service = BookingService(load_config(), store, FixedClock(CONSOLE_NOW))
        seeded = seed(service)
        for username, role in ACCOUNTS.items():
            add_user(service, Actor(None, "pytest"), username, f"{username.title()} Uji", role,
                     PASSWORD)
        return seeded
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory) -> tuple[Path, Seeded]:
    """One SQLite file migrated by antrean's migrations and seeded, copied for each test."""
    path = tmp_path_factory.mktemp("console-template") / "law.db"
    migrate(f"sqlite:///{path}")
    return path, seed_all(f"sqlite:///{path}")


@pytest.fixture
def store(request, seeded_sqlite: tuple[Path, Seeded], tmp_path) -> Iterator[Store]:
    """A seeded slot store: SQLite, or with ``indirect`` parametrisation "postgres"."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        template, seeded = seeded_sqlite
        target = tmp_path / "law.db"
        shutil.copy(template, target)
        yield Store(f"sqlite:///{target}", seeded)
        return
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield Store(url, seed_all(url))


BOTH_STORES = pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def _book(service: BookingService, day: dt.date, slot: dt.time, phone: str, people: list,
          service_type: str = "baru") -> str:
    """Reserve ``day``/``slot`` as an applicant would have, the day before it."""
    clock = FixedClock(dt.datetime.combine(day - dt.timedelta(days=1), dt.time(9),
                                           tzinfo=OFFICE_TZ))
    booking_service = BookingService(service.config, service.store, clock)
    outcome = booking_service.reserve(BookingRequest(
        phone=phone, service_type=service_type, passport_type="biasa", date=day, time=slot,
        applicants=tuple(people)))
    assert isinstance(outcome, Reserved), outcome
    return outcome.booking.code


def seed(service: BookingService) -> Seeded:
    """Today's bookings (08:00 ×2, 09:30, 13:00) and some in the past week, marked.

    Today: Budi (08:00), Siti with her 3-year-old (08:00, priority: under 5), Pak Harjo,
    67 (09:30, priority: 60+, answered "Saya datang"), Dewi (13:00, holds a NIK to release).
    """
    store = service.store
    seeded = Seeded()
    today = [
        ("budi", dt.time(8), APPLICANT_PHONE, [person("Budi Santoso", dt.date(1990, 3, 12))]),
        ("siti", dt.time(8), "6281200000002",
         [person("Siti Aminah", dt.date(1992, 5, 20), female=True, serial=2),
          person("Rara Aminah", dt.date(2023, 8, 1), female=True, serial=3)]),
        ("harjo", dt.time(9, 30), "6281200000003",
         [person("Harjo Wibowo", dt.date(1959, 1, 15), serial=4)]),
        ("dewi", dt.time(13), "6281200000004",
         [person("Dewi Lestari", dt.date(1995, 7, 9), female=True, serial=5)]),
    ]
    for name, slot, phone, people in today:
        seeded.codes[name] = codes.display_code(_book(service, TODAY, slot, phone, people))
    seeded.squatted_nik = person("Dewi Lestari", dt.date(1995, 7, 9), female=True, serial=5).nik
    seeded.per_day[TODAY] = len(today)
    with store.transaction() as tx:
        harjo = tx.booking_id(codes.normalise_code(seeded.codes["harjo"]))
        assert harjo is not None
        tx.outbox.confirm_attendance(harjo, CONSOLE_NOW - dt.timedelta(hours=15))
    # The past week: Wed 25 – Mon 30 November, with arrivals, no-shows and a cancellation.
    serial = 10
    for day, count, no_shows in ((dt.date(2026, 11, 25), 3, 1), (dt.date(2026, 11, 26), 2, 0),
                                 (dt.date(2026, 11, 30), 4, 2)):
        for index in range(count):
            serial += 1
            code = _book(service, day, dt.time(9), f"62813000{serial:05d}",
                         [person(f"Pemohon {serial}", dt.date(1988, 1, 2), serial=serial)])
            with store.transaction() as tx:
                booking = tx.staff.by_code(code)
                assert booking is not None
                value = Attendance.NO_SHOW if index < no_shows else Attendance.ARRIVED
                tx.staff.set_attendance(booking.id, value, CONSOLE_NOW)
        seeded.per_day[day] = count
    serial += 1
    cancelled = _book(service, dt.date(2026, 11, 26), dt.time(10), "6281399999999",
                      [person("Batal Saja", dt.date(1980, 2, 3), serial=serial)])
    cancelling = BookingService(service.config, store, FixedClock(
        dt.datetime(2026, 11, 25, 12, tzinfo=OFFICE_TZ)))
    cancelling.cancel(cancelled)
    return seeded


def seed_tracker(path: Path) -> None:
    """Rasa's ``events`` with six applicant messages over two days, two not understood."""
    engine = create_engine(f"sqlite:///{path}", future=True)
    tracker_metadata.create_all(engine)
    messages = [(dt.datetime(2026, 11, 30, 9, 0), "greet", 0.98),
                (dt.datetime(2026, 11, 30, 9, 1), "book_queue", 0.91),
                (dt.datetime(2026, 11, 30, 9, 2), "nlu_fallback", 0.2),
                (dt.datetime(2026, 12, 1, 8, 0), "check_booking", 0.95),
                (dt.datetime(2026, 12, 1, 8, 1), "ask_fee", 0.12),
                (dt.datetime(2026, 12, 1, 8, 2), "thank", 0.99)]
    with engine.begin() as conn:
        for moment, intent, confidence in messages:
            data = {"event": "user", "text": "…", "parse_data": {
                "intent": {"name": intent, "confidence": confidence}}}
            conn.execute(insert(events).values(
                sender_id=APPLICANT_PHONE, type_name="user",
                timestamp=moment.replace(tzinfo=OFFICE_TZ).timestamp(),
                intent_name=intent, data=json.dumps(data)))
    engine.dispose()


# --- the console ----------------------------------------------------------------------
class ConsoleThread:
    """uvicorn serving an app in a thread of the test process."""

    def __init__(self, app, port: int) -> None:  # noqa: ANN001 - a Starlette app
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                ws="none", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ConsoleThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def console(store: Store, tmp_path) -> Iterator[RunningConsole]:
    """The console on ``store``, served over HTTP on a free port."""
    tracker = tmp_path / "tracker.db"
    seed_tracker(tracker)
    engine_store = SqlStore(create_store_engine(store.url))
    service = BookingService(load_config(), engine_store, FixedClock(CONSOLE_NOW))
    settings = Settings(database_url=store.url, tracker_url=f"sqlite:///{tracker}",
                        fixed_now=CONSOLE_NOW, auto_migrate=False)
    port = free_port()
    try:
        with ConsoleThread(create_app(settings, service=service), port):
            yield RunningConsole(f"http://127.0.0.1:{port}", service, store.seeded, store.url)
    finally:
        engine_store.dispose()


# --- the browser ----------------------------------------------------------------------
def _no_browser_reason() -> str | None:
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} is missing (Debian package chromium; make setup installs it)"


# Package scope: Playwright's sync API runs an event loop in this thread while it is open,
# and asyncio.run() refuses to start beside it, so it must be closed before the other folders.
@pytest.fixture(scope="package")
def browser():
    reason = _no_browser_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the browser tests need Chromium in CI: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser, console: RunningConsole):
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900},
                                  locale="id-ID")
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def new_page(browser, console: RunningConsole, width: int = 1280):
    """Another browser (its own cookies): a second member of staff."""
    context = browser.new_context(base_url=console.url, viewport={"width": width, "height": 900},
                                  locale="id-ID")
    context.set_default_timeout(10_000)
    return context.new_page()


def login(page, username: str, password: str = PASSWORD, go: bool = True) -> None:  # noqa: ANN001
    """Sign in through the form (``go=False``: the form already shown)."""
    if go:
        page.goto("/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def sign_in(page, console: RunningConsole, username: str, path: str = "/hari-ini") -> None:  # noqa: ANN001
    """Signed in over HTTP, the session cookie handed to the browser, ``path`` opened.

    Quicker than the form; the form itself is what ``test_access.py`` drives.
    """
    token = console.session(username).cookies["law_sesi"]
    page.context.add_cookies([{"name": "law_sesi", "value": token, "url": console.url}])
    page.goto(path)


def shoot(page, name: str) -> list[Path]:  # noqa: ANN001
    """Full-page screenshots of the page as it is, at 360 px and 1280 px wide."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    written = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(50)
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)
        # Nothing may stick out sideways at either width (a table scrolls in its own box).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than {width}px"
    page.set_viewport_size(original)
    return written

"""The production topology under a crowd: 2 Rasa processes and 2 action servers behind their
routers (law-prod, as `make run-prod` starts them), PostgreSQL for the slot store and
the tracker store, Redis for the lock store, the WhatsApp channel talking to a Graph API on
loopback.

Fifty applicants, each on their own WhatsApp number, book the same day and time at once,
message by message as people chat (each answer only after the bot's reply), while that day
has fewer places than applicants; the last few start only once the day is full. Some
messages are delivered twice, straight to both Rasa processes, as Meta's at-least-once
delivery may do. Afterwards: no overbooking, every
message answered, every conversation ended in a booking or a refusal with alternatives,
every duplicate ignored, and no phone number or NIK in any log.

Needs PostgreSQL (``LAW_TEST_POSTGRES_URL``) and Redis (``LAW_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/15``; keys under a prefix of the run, deleted afterwards). Without
them the tests skip and say why — under ``CI=true`` they fail instead.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from antrean.clock import FixedClock
from antrean.config import load_config
from antrean.service import BookingService
from antrean.store.engine import create_store_engine, migrate
from antrean.store.repository import SqlStore
from tests.conftest import NOW, fresh_postgres_database
from tests.e2e.servers import ROOT, find_model, free_port
from tests.prod import crowd
from tests.prod.crowd import (
    ACCESS_TOKEN,
    API_VERSION,
    APP_SECRET,
    BOOKING_DAY,
    BOOKING_TIME,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    Applicant,
    Crowd,
    FakeGraph,
    TrackerReader,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REDIS_ENV = "LAW_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
APPLICANTS = 50
CAPACITY = 20  # places on BOOKING_DAY, all at BOOKING_TIME: fewer than applicants
LATE = 5  # applicants who start once the day is full: refused at the date, offered others
RASA_PROCESSES = 2
ACTION_SERVERS = 2
START_TIMEOUT_S = 420.0


def _unavailable(what: str, reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required in CI: {reason}")
    pytest.skip(f"production topology test skipped: {reason}")


@pytest.fixture(scope="module")
def databases(postgres_admin_url: str | None) -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases (slot store, tracker store), dropped afterwards."""
    with fresh_postgres_database(postgres_admin_url, "law_prod_slots") as slots:
        with fresh_postgres_database(postgres_admin_url, "law_prod_tracker") as tracker:
            yield slots, tracker


@pytest.fixture(scope="module")
def redis_settings() -> Iterator[dict[str, str]]:
    """The lock store's Redis database, with a key prefix of this run; cleaned afterwards."""
    import redis

    url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _unavailable("Redis", f"cannot connect to {url}: {exc.__class__.__name__}: {exc}")
    options = client.connection_pool.connection_kwargs
    prefix = f"lawtest{uuid.uuid4().hex[:8]}"
    try:
        yield {"LAW_REDIS_HOST": str(options.get("host", "127.0.0.1")),
               "LAW_REDIS_PORT": str(options.get("port", 6379)),
               "LAW_REDIS_DB": str(options.get("db", 0)),
               "LAW_REDIS_PASSWORD": str(options.get("password") or ""),
               "LAW_REDIS_KEY_PREFIX": prefix}
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@dataclass
class CrowdRun:
    applicants: list[Applicant]
    graph: FakeGraph
    crowd: Crowd
    slot_url: str
    tracker_url: str
    log_dir: Path
    startup_s: float
    chat_s: float
    startup_cpu_s: float  # CPU time of all the topology's processes when it was up
    chat_cpu_s: float  # and what the chat added


@pytest.fixture(scope="module")
def crowd_run(redis_settings: dict[str, str], databases: tuple[str, str],
              tmp_path_factory: pytest.TempPathFactory) -> CrowdRun:
    model = find_model()
    if model is None:
        pytest.fail("no trained model: run `make test` (it trains one) or `make train`")
    slot_url, tracker_url = databases
    migrate(slot_url)
    service = BookingService(load_config(), SqlStore(create_store_engine(slot_url)),
                             FixedClock(NOW))
    service.set_capacity(BOOKING_DAY, None, 0)  # the day's other slots are closed…
    service.set_capacity(BOOKING_DAY, BOOKING_TIME, CAPACITY)  # …and this one is scarce
    service.store.dispose()
    log_dir = tmp_path_factory.mktemp("prod")
    applicants = [Applicant(i, duplicate=_duplicate_plan(i), late=i >= APPLICANTS - LATE)
                  for i in range(APPLICANTS)]
    return asyncio.run(_run(model, slot_url, tracker_url, redis_settings, log_dir, applicants))


def _duplicate_plan(index: int) -> tuple[int, str] | None:
    """Every fourth applicant gets one message delivered again, at varying turns."""
    if index % 4:
        return None
    return (index // 4) % 9, ("together" if index % 8 == 0 else "later")


async def _run(model: Path, slot_url: str, tracker_url: str, redis_settings: dict[str, str],
               log_dir: Path, applicants: list[Applicant]) -> CrowdRun:
    graph = FakeGraph()
    graph_url = await graph.start(free_port())
    front, actions = free_port(), free_port()
    rasa_ports = [free_port() for _ in range(RASA_PROCESSES)]
    action_ports = [free_port() for _ in range(ACTION_SERVERS)]
    env = {
        **os.environ,
        **redis_settings,
        "LAW_DATABASE_URL": slot_url,
        "LAW_TRACKER_URL": tracker_url,
        "LAW_FIXED_NOW": NOW.isoformat(),
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_VERSION": API_VERSION,
        "WHATSAPP_API_BASE_URL": graph_url,
    }
    env.pop("LAW_RASA_AUTH_TOKEN", None)
    command = [str(Path(sys.executable).with_name("law-prod")), "--model", str(model),
               "--rasa", str(RASA_PROCESSES), "--actions", str(ACTION_SERVERS),
               "--port", str(front), "--action-port", str(actions),
               "--rasa-ports", ",".join(map(str, rasa_ports)),
               "--action-ports", ",".join(map(str, action_ports)),
               "--log-dir", str(log_dir), "--ready-timeout", str(START_TIMEOUT_S)]
    tracker = TrackerReader(tracker_url)
    started = time.monotonic()
    supervisor_log = log_dir / "supervisor.log"
    with supervisor_log.open("w") as out:
        supervisor = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
    try:
        await _wait_until_up(supervisor, supervisor_log,
                             [f"http://127.0.0.1:{front}", f"http://127.0.0.1:{actions}"])
        startup_s = time.monotonic() - started
        pids = _pids(supervisor_log)
        startup_cpu_s = _cpu_seconds(pids)
        driver = Crowd(f"http://127.0.0.1:{front}",
                       [f"http://127.0.0.1:{port}" for port in rasa_ports], graph, tracker,
                       CAPACITY)
        chat_started = time.monotonic()
        await driver.run(applicants)
        await _quiet(graph)
        chat_s = time.monotonic() - chat_started
        chat_cpu_s = _cpu_seconds(pids) - startup_cpu_s
    finally:
        supervisor.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(supervisor.wait, 60)
        except subprocess.TimeoutExpired:
            supervisor.kill()
        tracker.dispose()
        await graph.stop()
    return CrowdRun(applicants, graph, driver, slot_url, tracker_url, log_dir, startup_s,
                    chat_s, startup_cpu_s, chat_cpu_s)


def _pids(supervisor_log: Path) -> list[int]:
    """The processes law-prod lists once the topology is up."""
    return [int(line.split(" pid ")[1].split()[0])
            for line in supervisor_log.read_text().splitlines() if " pid " in line]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (Linux /proc), 0 for one that is gone."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def _wait_until_up(supervisor: subprocess.Popen, log: Path, routers: list[str]) -> None:
    """Until both routers see all their backends healthy."""
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if supervisor.poll() is not None:
                pytest.fail(f"law-prod exited early:\n{log.read_text()[-4000:]}")
            states = []
            for router in routers:
                try:
                    async with session.get(router + "/_router/health") as response:
                        states.append(response.status == 200 and all(
                            (await response.json())["backends"].values()))
                except aiohttp.ClientError:
                    states.append(False)
            if all(states):
                return
            await asyncio.sleep(1.0)
    pytest.fail(f"the topology was not up after {START_TIMEOUT_S:.0f}s:\n"
                f"{log.read_text()[-4000:]}")


async def _quiet(graph: FakeGraph, quiet_s: float = 2.0, limit_s: float = 15.0) -> None:
    """Wait until the bot has sent nothing for ``quiet_s`` (a late duplicate would show)."""
    deadline = time.monotonic() + limit_s
    last, since = graph.total(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        await asyncio.sleep(0.2)
        if graph.total() != last:
            last, since = graph.total(), time.monotonic()


# --- what the slot store and the tracker store say ------------------------------------------


def _bookings(slot_url: str) -> tuple[list[dict], int]:
    """Active bookings (code, phone, date, time, places) and the places counted on the day."""
    engine = create_engine(slot_url, future=True)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT b.code, b.phone, b.service_date, b.slot_time, count(a.id) AS places "
            "FROM bookings b JOIN applicants a ON a.booking_id = b.id "
            "WHERE b.status = 'active' GROUP BY b.id ORDER BY b.id")).mappings().all()
        usage = conn.execute(text(
            "SELECT coalesce(sum(taken), 0) FROM slot_usage WHERE service_date = :day"),
            {"day": BOOKING_DAY}).scalar_one()
    engine.dispose()
    return [dict(row) for row in rows], int(usage)


def _tracker_events(run: CrowdRun, sender: str) -> list[crowd.Event]:
    reader = TrackerReader(run.tracker_url)
    try:
        return reader.events_sync(sender)
    finally:
        reader.dispose()


@pytest.fixture(scope="module")
def figures(crowd_run: CrowdRun) -> dict:
    booked = [a for a in crowd_run.applicants if a.outcome == "booked"]
    refused = [a for a in crowd_run.applicants if a.outcome == "refused"]
    crowd.FIGURES.update({
        "applicants": len(crowd_run.applicants),
        "capacity": CAPACITY,
        "booked": len(booked),
        "refused": len(refused),
        "messages": sum(len(a.wamids) for a in crowd_run.applicants),
        "replies": crowd_run.graph.total(),
        "redeliveries": sum(a.redeliveries for a in crowd_run.applicants),
        "late": sum(1 for a in crowd_run.applicants if a.late),
        "startup_s": round(crowd_run.startup_s, 1),
        "chat_s": round(crowd_run.chat_s, 1),
        "startup_cpu_s": round(crowd_run.startup_cpu_s, 1),
        "chat_cpu_s": round(crowd_run.chat_cpu_s, 1),
    })
    return crowd.FIGURES


# --- the tests ------------------------------------------------------------------------------


def test_every_message_is_answered(crowd_run: CrowdRun, figures: dict) -> None:
    problems = {a.index: a.problem for a in crowd_run.applicants if a.problem}
    assert not problems, f"applicants (by index) with a problem: {problems}"
    assert not crowd_run.crowd.webhook_errors
    assert not crowd_run.graph.refused
    for applicant in crowd_run.applicants:
        assert all(turn.replies for turn in applicant.turns), applicant.index
        assert len(applicant.turns) == len(applicant.wamids), applicant.index
        # One read receipt per message: each was processed, and only once.
        assert [crowd_run.graph.read_receipts[w] for w in applicant.wamids] == \
            [1] * len(applicant.wamids), applicant.index


def test_no_overbooking_and_no_place_lost(crowd_run: CrowdRun, figures: dict) -> None:
    bookings, usage = _bookings(crowd_run.slot_url)
    on_the_day = [b for b in bookings if b["service_date"] == BOOKING_DAY]
    places = sum(b["places"] for b in on_the_day)
    assert places <= CAPACITY
    assert places == CAPACITY  # more applicants than places: every place was taken
    assert usage == places  # the slot counter agrees with the bookings
    assert all(b["slot_time"] == BOOKING_TIME for b in on_the_day)
    booked = {a.wa_id for a in crowd_run.applicants if a.outcome == "booked"}
    assert {b["phone"] for b in bookings} == booked
    assert len(bookings) == len(booked)  # one booking per booked applicant


def test_every_conversation_ends_in_a_booking_or_alternatives(crowd_run: CrowdRun,
                                                              figures: dict) -> None:
    codes = {row["phone"]: row["code"] for row in _bookings(crowd_run.slot_url)[0]}
    for applicant in crowd_run.applicants:
        assert applicant.outcome in ("booked", "refused"), (applicant.index, applicant.problem)
        last = applicant.turns[-1]
        events = _tracker_events(crowd_run, applicant.wa_id)
        slots = {e.data["name"]: e.data.get("value") for e in events if e.type == "slot"}
        if applicant.outcome == "booked":
            assert "utter_booking_confirmed" in last.responses
            assert slots.get("booking_code") == codes[applicant.wa_id], applicant.index
            # Everything was asked and answered once: no step was lost or repeated.
            assert len(applicant.wamids) == len(set(t.wamid for t in applicant.turns))
        else:
            assert crowd.REFUSALS & set(last.responses), (applicant.index, last.responses)
            if applicant.late:  # the day was full before they started: refused at the date
                assert "utter_day_full" in last.responses, applicant.index
            offered = [p for reply in last.replies for p in reply.payloads]
            assert offered, f"applicant {applicant.index} was refused without alternatives"
            assert applicant.wa_id not in codes


def test_duplicate_deliveries_are_processed_once(crowd_run: CrowdRun, figures: dict) -> None:
    assert figures["redeliveries"] >= 20
    for applicant in crowd_run.applicants:
        events = _tracker_events(crowd_run, applicant.wa_id)
        user_ids = [e.data.get("message_id") for e in events if e.type == "user"]
        assert user_ids == applicant.wamids, applicant.index  # once each, in order
        bot_events = sum(1 for e in events if e.type == "bot")
        sent = len(crowd_run.graph.sent[applicant.wa_id])
        assert sent == bot_events, (applicant.index, sent, bot_events)


def test_no_phone_number_or_nik_in_the_logs(crowd_run: CrowdRun, figures: dict) -> None:
    secrets = {a.wa_id for a in crowd_run.applicants} | {a.nik for a in crowd_run.applicants}
    logs = sorted(crowd_run.log_dir.glob("*.log"))
    assert len(logs) >= 1 + RASA_PROCESSES + ACTION_SERVERS + 2
    for log in logs:
        content = log.read_text(errors="replace")
        leaked = sorted(s for s in secrets if s in content)
        assert not leaked, f"{log.name} shows {len(leaked)} phone number(s)/NIK(s) unmasked"

"""The production topology under a crowd, on two simulated machines behind one nginx.

``law-prod`` runs twice, as on two machines sharing PostgreSQL and Redis: machine A on
127.0.0.2 (2 Rasa processes, 1 action server, the nginx front that Meta reaches) and machine B
on 127.0.0.3 (1 Rasa process, 1 action server, ``--no-front``: its nginx serves its own action
servers). A's front spreads the webhook round robin over all three Rasa processes (B's with
``--peer-rasa``); no affinity. The slot store and the tracker store are PostgreSQL, the lock
store Redis, and the WhatsApp channel talks to a Graph API on loopback.

Fifty applicants, each on their own WhatsApp number, book the same day and time at once,
message by message as people chat (each answer only after the bot's reply), while that day
has fewer places than applicants; the last few start only once the day is full. Some
messages are delivered twice, straight to every Rasa process, as Meta's at-least-once
delivery may do. Afterwards: no overbooking, every message answered, every conversation
ended in a booking or a refusal with alternatives, every duplicate ignored, each applicant's
messages handled in order although consecutive ones landed on different processes (the
processes' logs and nginx's access log say where each went), and no phone number or NIK in
any log.

Then, on the same topology, one Rasa process is killed (``kill -9``) right after it accepted
messages of a burst of new applicants: the others carry on, every delivery still gets its
200, what the dead process had accepted is answered by another process once its inbox lease
runs out, and law-prod starts the dead process again.

Needs PostgreSQL (``LAW_TEST_POSTGRES_URL``) and Redis (``LAW_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/15``; keys under a prefix of the run, deleted afterwards). Without
them the tests skip and say why — under ``CI=true`` they fail instead.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import requests
import yaml
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
    WEBHOOK_PATH,
    Applicant,
    Crowd,
    FakeGraph,
    TrackerReader,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
T = TypeVar("T")

REDIS_ENV = "LAW_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
APPLICANTS = 50
CAPACITY = 20  # places on BOOKING_DAY, all at BOOKING_TIME: fewer than applicants
LATE = 5  # applicants who start once the day is full: refused at the date, offered others
MACHINE_A, MACHINE_B = "127.0.0.2", "127.0.0.3"  # both loopback addresses on Linux
RASA_A, RASA_B = 2, 1
START_TIMEOUT_S = 420.0
# How long an accepted message stays with a process that stopped renewing its lease: shorter
# than production's 60 s, so that the kill test waits seconds, not a minute; not shorter than
# the lifetime of a dead process's conversation lock (law_rasa/lock_store.py, 15 s).
INBOX_LEASE_S = 15
BURST = 15  # new applicants writing at once when a Rasa process is killed
BACK_TO_BACK = 10  # new applicants typing three messages without waiting for replies
BACK_TO_BACK_TEXTS = ("halo", "mau tanya", "jam buka kantor imigrasi")
BURST_TEXTS = ("halo", "jam buka kantor imigrasi", "makasih")
PROCESSED_LINE = re.compile(r"WhatsApp message (wamid\.in\.(\d+)\.\d+) \(")


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


class Loop:
    """One event loop on a thread of its own, kept for the module.

    The Graph API on loopback and the applicants' sessions live across tests.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.close()


# --- the two machines -----------------------------------------------------------------------


@dataclass
class Machine:
    """One law-prod, as on one machine."""

    name: str
    address: str
    rasa_ports: list[int]
    action_port: int
    log_dir: Path
    supervisor: subprocess.Popen | None = None

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://{self.address}:{port}" for port in self.rasa_ports]

    @property
    def supervisor_log(self) -> Path:
        return self.log_dir / "supervisor.log"

    def listed(self) -> dict[str, int]:
        """The pids law-prod lists, by process name (the latest for a restarted one)."""
        pids = {}
        for line in self.supervisor_log.read_text().splitlines():
            if " pid " in line:
                pids[line.split()[0]] = int(line.split(" pid ")[1].split()[0])
        return pids

    def access_log(self) -> list[str]:
        return (self.log_dir / "nginx" / "logs" / "access.log").read_text().splitlines()


@dataclass
class Topology:
    a: Machine
    b: Machine
    front_url: str
    graph: FakeGraph
    slot_url: str
    tracker_url: str
    startup_s: float = 0.0
    pids: list[int] = field(default_factory=list)
    console_url: str = ""

    @property
    def machines(self) -> list[Machine]:
        return [self.a, self.b]

    @property
    def rasa_urls(self) -> list[str]:
        return self.a.rasa_urls + self.b.rasa_urls


def _credentials(path: Path) -> Path:
    """credentials.prod.yml with a shorter inbox lease (INBOX_LEASE_S)."""
    credentials = yaml.safe_load((ROOT / "credentials.prod.yml").read_text())
    credentials["addons.whatsapp.WhatsAppInput"]["inbox_lease"] = INBOX_LEASE_S
    path.write_text(yaml.safe_dump(credentials))
    return path


def _command(machine: Machine, model: Path, credentials: Path, extra: list[str]) -> list[str]:
    return [str(Path(sys.executable).with_name("law-prod")), "--model", str(model),
            "--bind", machine.address, "--rasa", str(len(machine.rasa_ports)),
            "--rasa-ports", ",".join(map(str, machine.rasa_ports)),
            "--actions", "1", "--action-port", str(machine.action_port),
            "--action-ports", str(free_port()), "--credentials", str(credentials),
            "--log-dir", str(machine.log_dir), "--ready-timeout", str(START_TIMEOUT_S),
            *extra]


@pytest.fixture(scope="module")
def topology(redis_settings: dict[str, str], databases: tuple[str, str], loop: Loop,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
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
    root = tmp_path_factory.mktemp("prod")
    a = Machine("a", MACHINE_A, [free_port() for _ in range(RASA_A)], free_port(), root / "a")
    b = Machine("b", MACHINE_B, [free_port() for _ in range(RASA_B)], free_port(), root / "b")
    front = free_port()
    graph = FakeGraph()
    graph_url = loop.run(graph.start(free_port()))
    env = {
        **os.environ, **redis_settings,
        "LAW_DATABASE_URL": slot_url, "LAW_TRACKER_URL": tracker_url,
        "LAW_FIXED_NOW": NOW.isoformat(),
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_VERSION": API_VERSION, "WHATSAPP_API_BASE_URL": graph_url,
    }
    env.pop("LAW_RASA_AUTH_TOKEN", None)
    credentials = _credentials(root / "credentials.yml")
    peers_of_a = ",".join(f"{b.address}:{port}" for port in b.rasa_ports)
    peers_of_b = ",".join(f"{a.address}:{port}" for port in a.rasa_ports)
    console_port = free_port()
    commands = {
        "a": _command(a, model, credentials, ["--port", str(front), "--peer-rasa", peers_of_a,
                                              "--console-port", str(console_port)]),
        "b": _command(b, model, credentials, ["--no-front", "--no-console",
                                              "--peer-rasa", peers_of_b]),
    }
    topology = Topology(a, b, f"http://127.0.0.1:{front}", graph, slot_url, tracker_url,
                        console_url=f"http://127.0.0.1:{console_port}")
    started = time.monotonic()
    try:
        for machine in topology.machines:
            machine.log_dir.mkdir()
            with machine.supervisor_log.open("w") as out:
                machine.supervisor = subprocess.Popen(
                    commands[machine.name], cwd=ROOT, env=env, stdout=out,
                    stderr=subprocess.STDOUT)
            if machine is a:  # B prepares the same stores: after A did, not racing it
                _wait_for(a, "stores ready")
        for machine in topology.machines:
            _wait_for(machine, "is up:")
        topology.startup_s = time.monotonic() - started
        topology.pids = [pid for m in topology.machines for pid in m.listed().values()]
        yield topology
    finally:
        for machine in topology.machines:
            if machine.supervisor is not None and machine.supervisor.poll() is None:
                machine.supervisor.send_signal(signal.SIGINT)
        for machine in topology.machines:
            if machine.supervisor is not None:
                try:
                    machine.supervisor.wait(60)
                except subprocess.TimeoutExpired:
                    machine.supervisor.kill()
        loop.run(graph.stop())


def _wait_for(machine: Machine, words: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        log = machine.supervisor_log.read_text(errors="replace")
        if words in log:
            return
        assert machine.supervisor is not None
        if machine.supervisor.poll() is not None:
            pytest.fail(f"law-prod of machine {machine.name} exited early:\n{log[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"machine {machine.name}: no {words!r} after {START_TIMEOUT_S:.0f}s")


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


async def _quiet(graph: FakeGraph, quiet_s: float = 2.0, limit_s: float = 15.0) -> None:
    """Wait until the bot has sent nothing for ``quiet_s`` (a late duplicate would show)."""
    deadline = time.monotonic() + limit_s
    last, since = graph.total(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        await asyncio.sleep(0.2)
        if graph.total() != last:
            last, since = graph.total(), time.monotonic()


# --- the crowd ------------------------------------------------------------------------------


@dataclass
class CrowdRun:
    applicants: list[Applicant]
    crowd: Crowd
    chat_s: float
    chat_cpu_s: float  # CPU time all the topology's processes used for the chat


@pytest.fixture(scope="module")
def crowd_run(topology: Topology, loop: Loop) -> CrowdRun:
    applicants = [Applicant(i, duplicate=_duplicate_plan(i), late=i >= APPLICANTS - LATE)
                  for i in range(APPLICANTS)]
    tracker = TrackerReader(topology.tracker_url)
    driver = Crowd(topology.front_url, topology.rasa_urls, topology.graph, tracker, CAPACITY)
    cpu_before, started = _cpu_seconds(topology.pids), time.monotonic()
    try:
        loop.run(driver.run(applicants))
        loop.run(_quiet(topology.graph))
    finally:
        tracker.dispose()
    return CrowdRun(applicants, driver, time.monotonic() - started,
                    _cpu_seconds(topology.pids) - cpu_before)


def _duplicate_plan(index: int) -> tuple[int, str] | None:
    """Every fourth applicant gets one message delivered again, at varying turns."""
    if index % 4:
        return None
    return (index // 4) % 9, ("together" if index % 8 == 0 else "later")


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


def _tracker_events(topology: Topology, sender: str) -> list[crowd.Event]:
    reader = TrackerReader(topology.tracker_url)
    try:
        return reader.events_sync(sender)
    finally:
        reader.dispose()


def _processed_by(topology: Topology) -> dict[str, str]:
    """Which Rasa process worked on each applicant message, from the processes' own logs."""
    where = {}
    for machine in topology.machines:
        for port in machine.rasa_ports:
            log = machine.log_dir / f"rasa-{port}.log"
            for match in PROCESSED_LINE.finditer(log.read_text(errors="replace")):
                where.setdefault(match.group(1), f"{machine.address}:{port}")
    return where


def _webhook_posts(machine: Machine) -> list[tuple[str, list[str]]]:
    """(status, upstreams tried) of every webhook POST in nginx's access log."""
    posts = []
    for line in machine.access_log():
        if f" POST {WEBHOOK_PATH} " in line:
            status = line.split(f" POST {WEBHOOK_PATH} ")[1].split()[0]
            upstreams = line.split("upstream=")[1].split(" upstream_status=")[0]
            posts.append((status, [u.strip() for u in upstreams.split(",")]))
    return posts


@pytest.fixture(scope="module")
def figures(topology: Topology, crowd_run: CrowdRun) -> dict:
    booked = [a for a in crowd_run.applicants if a.outcome == "booked"]
    refused = [a for a in crowd_run.applicants if a.outcome == "refused"]
    crowd.FIGURES.update({
        "applicants": len(crowd_run.applicants),
        "capacity": CAPACITY,
        "booked": len(booked),
        "refused": len(refused),
        "messages": sum(len(a.wamids) for a in crowd_run.applicants),
        "replies": sum(len(topology.graph.sent[a.wa_id]) for a in crowd_run.applicants),
        "redeliveries": sum(a.redeliveries for a in crowd_run.applicants),
        "late": sum(1 for a in crowd_run.applicants if a.late),
        "rasa": len(topology.rasa_urls),
        "startup_s": round(topology.startup_s, 1),
        "chat_s": round(crowd_run.chat_s, 1),
        "chat_cpu_s": round(crowd_run.chat_cpu_s, 1),
    })
    return crowd.FIGURES


# --- the tests: the crowd -------------------------------------------------------------------


def test_every_message_is_answered(topology: Topology, crowd_run: CrowdRun,
                                   figures: dict) -> None:
    problems = {a.index: a.problem for a in crowd_run.applicants if a.problem}
    assert not problems, f"applicants (by index) with a problem: {problems}"
    assert not crowd_run.crowd.webhook_errors
    assert not topology.graph.refused
    for applicant in crowd_run.applicants:
        assert all(turn.replies for turn in applicant.turns), applicant.index
        assert len(applicant.turns) == len(applicant.wamids), applicant.index
        # One read receipt per message: each was processed, and only once.
        assert [topology.graph.read_receipts[w] for w in applicant.wamids] == \
            [1] * len(applicant.wamids), applicant.index


def test_no_overbooking_and_no_place_lost(topology: Topology, crowd_run: CrowdRun,
                                          figures: dict) -> None:
    bookings, usage = _bookings(topology.slot_url)
    on_the_day = [b for b in bookings if b["service_date"] == BOOKING_DAY]
    places = sum(b["places"] for b in on_the_day)
    assert places <= CAPACITY
    assert places == CAPACITY  # more applicants than places: every place was taken
    assert usage == places  # the slot counter agrees with the bookings
    assert all(b["slot_time"] == BOOKING_TIME for b in on_the_day)
    booked = {a.wa_id for a in crowd_run.applicants if a.outcome == "booked"}
    assert {b["phone"] for b in bookings} == booked
    assert len(bookings) == len(booked)  # one booking per booked applicant


def test_every_conversation_ends_in_a_booking_or_alternatives(topology: Topology,
                                                              crowd_run: CrowdRun,
                                                              figures: dict) -> None:
    codes = {row["phone"]: row["code"] for row in _bookings(topology.slot_url)[0]}
    for applicant in crowd_run.applicants:
        assert applicant.outcome in ("booked", "refused"), (applicant.index, applicant.problem)
        last = applicant.turns[-1]
        events = _tracker_events(topology, applicant.wa_id)
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


def test_duplicate_deliveries_are_processed_once(topology: Topology, crowd_run: CrowdRun,
                                                 figures: dict) -> None:
    assert figures["redeliveries"] >= 30
    for applicant in crowd_run.applicants:
        events = _tracker_events(topology, applicant.wa_id)
        user_ids = [e.data.get("message_id") for e in events if e.type == "user"]
        assert user_ids == applicant.wamids, applicant.index  # once each, in order
        bot_events = sum(1 for e in events if e.type == "bot")
        sent = len(topology.graph.sent[applicant.wa_id])
        assert sent == bot_events, (applicant.index, sent, bot_events)


def test_consecutive_messages_of_one_applicant_land_on_different_processes(
        topology: Topology, crowd_run: CrowdRun, figures: dict) -> None:
    """Round robin, no affinity.

    Yet each applicant's messages were handled in order (the test above): the lock store
    serialises a conversation across processes.
    """
    where = _processed_by(topology)
    processes = set(where.values())
    assert processes == {url.removeprefix("http://") for url in topology.rasa_urls}
    changes = pairs = 0
    on_one = []
    for applicant in crowd_run.applicants:
        path = [where[w] for w in applicant.wamids]  # each message worked on by one process
        if len(set(path)) == 1:
            on_one.append((applicant.index, len(path)))
        pairs += len(path) - 1
        changes += sum(1 for one, two in zip(path, path[1:], strict=False) if one != two)
    # Round robin is not random: a few applicants writing in step may keep meeting the same
    # process (the late ones, alone with few others), but hardly any.
    assert len(on_one) <= len(crowd_run.applicants) // 10, on_one
    share = Counter(where[w] for a in crowd_run.applicants for w in a.wamids)
    figures["changed_process"] = f"{changes}/{pairs}"
    figures["share"] = ", ".join(f"{p} {n}" for p, n in sorted(share.items()))
    assert changes >= pairs / 2  # round robin over 3: about two pairs in three change
    total = sum(share.values())
    assert all(count >= total / 6 for count in share.values()), share


def test_nginx_spreads_the_webhook_over_both_machines(topology: Topology, crowd_run: CrowdRun,
                                                      figures: dict) -> None:
    posts = _webhook_posts(topology.a)
    assert len(posts) >= figures["messages"]  # the originals came through the front
    assert {status for status, _ in posts} == {"200"}
    served = Counter(tried[-1] for _, tried in posts)
    assert set(served) == {url.removeprefix("http://") for url in topology.rasa_urls}
    assert all(count >= len(posts) / 6 for count in served.values()), served
    # Each machine's Rasa processes called that machine's action servers through its nginx.
    for machine in topology.machines:
        calls = [line for line in machine.access_log() if " POST /webhook " in line]
        assert calls and all(f"upstream={machine.address}:" in line for line in calls), \
            machine.name
    assert not [line for line in topology.b.access_log() if WEBHOOK_PATH in line]


def test_every_process_knows_every_rasa_process_for_promotion(topology: Topology) -> None:
    """LAW_RASA_URLS (promotion loads a model into each): every Rasa process, directly."""
    expected = set(topology.rasa_urls)
    for machine in topology.machines:
        for name, pid in machine.listed().items():
            if name == "nginx":  # nginx clears its environment; it promotes nothing
                continue
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            values = [v.split(b"=", 1)[1].decode() for v in environ
                      if v.startswith(b"LAW_RASA_URLS=")]
            assert values and set(values[0].split(",")) == expected, (machine.name, name)


# --- messages sent back to back -------------------------------------------------------------


@pytest.fixture(scope="module")
def back_to_back(topology: Topology, crowd_run: CrowdRun, loop: Loop) -> list[Applicant]:
    """New applicants each type three messages without waiting for a reply, as people do.

    Each message is sent once the one before was accepted (answered 200), so the order in
    which they arrived is known; round robin hands them to different processes.
    """
    applicants = [Applicant(200 + i) for i in range(BACK_TO_BACK)]
    tracker = TrackerReader(topology.tracker_url)
    driver = Crowd(topology.front_url, topology.rasa_urls, topology.graph, tracker, CAPACITY)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as driver.session:
            async def type_fast(applicant: Applicant) -> None:
                for words in BACK_TO_BACK_TEXTS:
                    await driver.say(applicant, words)

            await asyncio.gather(*(type_fast(a) for a in applicants))
            deadline = time.monotonic() + crowd.REPLY_TIMEOUT_S
            waiting = list(applicants)
            while waiting and time.monotonic() < deadline:
                for applicant in list(waiting):
                    events = await tracker.events(applicant.wa_id)
                    users = [e for e in events if e.type == "user"]
                    if len(users) >= len(BACK_TO_BACK_TEXTS) and events[-1].type == "action" \
                            and events[-1].data.get("name") == "action_listen":
                        waiting.remove(applicant)
                await asyncio.sleep(0.2)
            await _quiet(topology.graph)

    try:
        loop.run(scenario())
    finally:
        tracker.dispose()
    return applicants


def test_messages_sent_back_to_back_are_handled_in_the_order_sent(
        topology: Topology, back_to_back: list[Applicant], figures: dict) -> None:
    where = _processed_by(topology)
    spread = sum(1 for a in back_to_back if len({where.get(w) for w in a.wamids}) > 1)
    figures["back_to_back_spread"] = f"{spread}/{len(back_to_back)}"
    assert spread >= len(back_to_back) // 2  # most landed on more than one process
    out_of_order = []
    for applicant in back_to_back:
        events = _tracker_events(topology, applicant.wa_id)
        user_ids = [e.data.get("message_id") for e in events if e.type == "user"]
        assert sorted(user_ids) == sorted(applicant.wamids), applicant.index  # each once
        if user_ids != applicant.wamids:
            out_of_order.append(applicant.index)
        assert topology.graph.sent[applicant.wa_id], applicant.index
    figures["back_to_back_out_of_order"] = len(out_of_order)
    assert not out_of_order, f"handled out of the order sent: applicants {out_of_order}"


# --- kill -9 of one Rasa process ------------------------------------------------------------


@dataclass
class KillRun:
    applicants: list[Applicant]
    victim: str  # law-prod's name of the killed process
    victim_url: str
    held: set[str]  # first messages still in the inbox seconds after the kill: the dead
    # process had accepted them (answered 200) and not answered them
    first_reply_s: dict[int, float]  # applicant → seconds from the kill to their first reply
    crowd: Crowd


@pytest.fixture(scope="module")
def kill_run(topology: Topology, crowd_run: CrowdRun, loop: Loop) -> KillRun:
    """A burst of new applicants writes at once, then chats on.

    One Rasa process of machine A is killed as soon as every message of the burst is
    accepted (answered 200).
    """
    victim, victim_url = "rasa-2", topology.a.rasa_urls[1]
    victim_pid = topology.a.listed()[victim]
    applicants = [Applicant(100 + i) for i in range(BURST)]
    tracker = TrackerReader(topology.tracker_url)
    driver = Crowd(topology.front_url, topology.rasa_urls, topology.graph, tracker, CAPACITY)
    first_reply: dict[int, float] = {}

    async def scenario() -> set[str]:
        async with aiohttp.ClientSession() as driver.session:
            firsts = await asyncio.gather(*(driver.say(a, BURST_TEXTS[0]) for a in applicants))
            os.kill(victim_pid, signal.SIGKILL)
            killed = time.monotonic()

            async def chat_on(applicant: Applicant, wamid: str, seen: int) -> None:
                if await driver.reply_to(applicant, wamid, seen) is None:
                    return
                first_reply[applicant.index] = time.monotonic() - killed
                for words in BURST_TEXTS[1:]:
                    if await driver.reply_to(applicant, *await driver.say(applicant, words)) \
                            is None:
                        return

            chats = asyncio.gather(*(chat_on(a, *first)
                                     for a, first in zip(applicants, firsts, strict=True)))
            await asyncio.sleep(5.0)  # the live processes have answered theirs by now
            # The burst's first messages still waiting: those the dead process had taken.
            held = await asyncio.to_thread(_inbox, topology.slot_url)
            held &= {wamid for wamid, _ in firsts}
            await chats
            await _quiet(topology.graph)
            return held

    try:
        held = loop.run(scenario())
    finally:
        tracker.dispose()
    return KillRun(applicants, victim, victim_url, held, first_reply, driver)


def _inbox(slot_url: str) -> set[str]:
    engine = create_engine(slot_url, future=True)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT message_id FROM whatsapp_inbox")).scalars())
    finally:
        engine.dispose()


def test_kill_9_every_delivery_still_gets_its_200(topology: Topology, kill_run: KillRun,
                                                  figures: dict) -> None:
    assert not kill_run.crowd.webhook_errors
    posts = _webhook_posts(topology.a)
    assert {status for status, _ in posts} == {"200"}
    # A delivery that found the dead process was passed on to a live one.
    figures["passed_on"] = sum(1 for _, tried in posts if len(tried) > 1)


def test_kill_9_no_accepted_message_is_lost(topology: Topology, kill_run: KillRun,
                                            figures: dict) -> None:
    figures["held_by_killed"] = len(kill_run.held)
    # The kill came while the dead process held accepted, unanswered messages …
    assert kill_run.held, "the killed process had answered everything: nothing was tested"
    held_applicants = {a.index for a in kill_run.applicants if set(a.wamids) & kill_run.held}
    # … which another process answered once their lease ran out, not sooner.
    waited = [kill_run.first_reply_s[i] for i in held_applicants if i in kill_run.first_reply_s]
    figures["recovered_after_s"] = round(max(waited), 1) if waited else None
    problems = {a.index: a.problem for a in kill_run.applicants if a.problem}
    assert not problems, problems
    for applicant in kill_run.applicants:
        assert len(applicant.turns) == len(BURST_TEXTS), applicant.index
        assert all(turn.replies for turn in applicant.turns), applicant.index
        events = _tracker_events(topology, applicant.wa_id)
        user_ids = [e.data.get("message_id") for e in events if e.type == "user"]
        # In order; once each, except that a message the dead process had half-done (its
        # turn saved, its inbox row not yet cleared) is done again: at least once.
        assert list(dict.fromkeys(user_ids)) == applicant.wamids, applicant.index
        again = [w for w in user_ids if user_ids.count(w) > 1]
        assert set(again) <= kill_run.held, applicant.index
    # Recovered through the lease: at least one waited for it. (Another may have had its
    # reply sent by the dying process a moment before the kill landed: answered at once.)
    assert max(waited) >= INBOX_LEASE_S - 5, waited
    assert _inbox(topology.slot_url) == set()  # everything accepted was finished


def test_kill_9_the_others_carry_on_and_the_process_is_started_again(
        topology: Topology, kill_run: KillRun, figures: dict) -> None:
    held_applicants = {a.index for a in kill_run.applicants if set(a.wamids) & kill_run.held}
    others = [s for i, s in kill_run.first_reply_s.items() if i not in held_applicants]
    assert len(others) >= BURST - len(held_applicants)
    figures["others_replied_within_s"] = round(max(others), 1)
    assert max(others) < INBOX_LEASE_S / 2  # not waiting for the dead process's leases
    log = topology.a.supervisor_log.read_text()
    assert f"{kill_run.victim} exited with code -9; starting it again" in log
    assert f"{kill_run.victim} " in log.split("exited with code -9")[1]
    assert "(started again)" in log
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the new process comes up behind nginx again
        try:
            import requests
            if requests.get(kill_run.victim_url + "/webhooks/whatsapp/", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        time.sleep(1)
    else:
        pytest.fail(f"{kill_run.victim} was not up again within 120 s")


# --- whatever ran -----------------------------------------------------------------------------


def test_the_console_runs_beside_on_the_topologys_postgresql(topology: Topology,
                                                              crowd_run: CrowdRun) -> None:
    log = topology.a.supervisor_log.read_text()
    assert any(line.split()[0] == "console" for line in log.splitlines() if " pid " in line)
    # A counter account made with the staff command on the topology's PostgreSQL store signs
    # in to the running console and sees the day the crowd booked.
    made = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "antrean"), "pengguna", "tambah", "loket1", "--peran",
         "loket", "--sandi-stdin"], input="rahasia-loket-1\n", text=True, capture_output=True,
        cwd=ROOT, env={**os.environ, "LAW_DATABASE_URL": topology.slot_url,
                       "LAW_TRACKER_URL": topology.tracker_url, "LAW_FIXED_NOW": NOW.isoformat()},
        timeout=60)
    assert made.returncode == 0, made.stderr
    with requests.Session() as browser:
        form = browser.get(topology.console_url + "/masuk", timeout=10)
        assert form.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed_in = browser.post(topology.console_url + "/masuk", timeout=10, data={
            "csrf": csrf.group(1), "lanjut": "", "username": "loket1",
            "password": "rahasia-loket-1"})
        assert signed_in.status_code == 200 and "Hari ini" in signed_in.text, signed_in.text


def test_no_phone_number_or_nik_in_the_logs(topology: Topology, crowd_run: CrowdRun,
                                            kill_run: KillRun) -> None:
    everyone = crowd_run.applicants + kill_run.applicants
    secrets = {a.wa_id for a in everyone} | {a.nik for a in crowd_run.applicants}
    logs = sorted(p for m in topology.machines for p in m.log_dir.rglob("*.log"))
    assert len(logs) >= len(topology.rasa_urls) + 2 + 2 * 2  # + action servers, nginx
    for log in logs:
        content = log.read_text(errors="replace")
        leaked = sorted(s for s in secrets if s in content)
        assert not leaked, f"{log.name} shows {len(leaked)} phone number(s)/NIK(s) unmasked"

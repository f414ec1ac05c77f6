"""Metrics and readiness of a real Rasa process and action server, as ``law-rasa`` starts them.

Rasa runs with the WhatsApp channel (a Graph API on loopback that refuses every reply to one
number with Meta's error 131047), the slot store on PostgreSQL and production's Redis lock
store (``law_rasa.lock_store``), both reached through proxies the test switches
(``switchable_proxy.py``). Applicants chat
through the signed webhook — a booking, a greeting, words the bot does not understand, a
message Meta delivers twice, one REST message — and ``GET /metrics`` of both processes must
show exactly what was sent, what the Graph API answered and what the trackers hold. Then
``GET /ready``: 200 while the stores answer, 503 within seconds when Redis is gone or the
database hangs (liveness stays up), 200 again when they are back.

Needs PostgreSQL (``LAW_TEST_POSTGRES_URL``) and Redis (``LAW_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/15``); without them the tests skip and say why (under ``CI=true``
they fail).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from sqlalchemy import delete, insert
from sqlalchemy.engine import make_url
from werkzeug import Request, Response

from antrean.clock import OFFICE_TZ, FixedClock
from antrean.config import load_config
from antrean.notices import NoticeOutbox
from antrean.service import BookingService
from antrean.store.engine import create_store_engine, migrate
from antrean.store.repository import SqlStore
from antrean.store.tables import whatsapp_inbox
from tests.conftest import NOW, fresh_postgres_database
from tests.e2e.servers import LAW_RASA, ROOT, find_model, free_port, wait_for
from tests.prod.switchable_proxy import SwitchableProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# The channel's settings; this module imports neither Rasa nor the channel (nor TensorFlow),
# so that the test process leaves the CPU to the servers.
APP_SECRET = "metrics-test-app-secret"
VERIFY_TOKEN = "metrics-test-verify-token"
ACCESS_TOKEN = "EAAG-metrics-test-token"
PHONE_NUMBER_ID = "109000000000002"
API_VERSION = "v21.0"
MESSAGES_PATH = f"/{API_VERSION}/{PHONE_NUMBER_ID}/messages"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
REDIS_ENV = "LAW_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
BOOKER = "6281377100001"
GREETER = "6281377100002"
REFUSED = "6281377100003"  # every reply to this number is refused by the Graph API
REST_SENDER = "6281377100004"
GRAPH_ERROR_CODE = 131047  # "Re-engagement message": final, not retried
BOOKING_SCRIPT = ["mau daftar antrian paspor", "paspor baru", "yang elektronik", "saya sendiri",
                  "senin depan", "jam 9", "Budi Santoso", "12-03-1990", "3171011203900003",
                  "ya benar"]
GIBBERISH = "qzxv wprtk blorfh"
NOT_UNDERSTOOD = {"utter_default", "utter_fallback_menu"}
STORE_DOWN_S = 6.0  # /ready must fail within this (checks time out after 2 s)
TURN_TIMEOUT_S = 60.0


# --- Meta's side ---------------------------------------------------------------------------


def text_message(wamid: str, text: str, sender: str) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
            "text": {"body": text}}


def signed_delivery(messages: list[dict[str, Any]]) -> tuple[bytes, str]:
    """A webhook body carrying ``messages`` and its ``X-Hub-Signature-256``."""
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6281299000000",
                         "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Pemohon"}, "wa_id": m["from"]} for m in messages],
            "messages": messages}}]}]}).encode()
    return body, "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


# --- the Graph API -------------------------------------------------------------------------


@dataclass
class GraphLog:
    """What the local Graph API answered, message by message (read receipts apart)."""

    accepted: Counter[str] = field(default_factory=Counter)  # recipient → messages accepted
    refused: int = 0
    receipts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        with self.lock:
            if body.get("status") == "read":
                self.receipts += 1
                return _json({"success": True})
            if body.get("to") == REFUSED:
                self.refused += 1
                return _json({"error": {"message": "Re-engagement message", "type":
                                        "OAuthException", "code": GRAPH_ERROR_CODE}}, 400)
            self.accepted[str(body.get("to"))] += 1
            return _json({"messaging_product": "whatsapp",
                          "messages": [{"id": f"wamid.out.{uuid.uuid4().hex}"}]})


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


# --- the processes -------------------------------------------------------------------------


@dataclass
class Servers:
    rasa: str
    actions: str
    graph: GraphLog
    database: SwitchableProxy
    redis: SwitchableProxy
    slot_url: str  # direct, not through the proxy
    log_dir: Path
    sent: list[dict] = field(default_factory=list)  # every message posted to the webhook

    def post(self, *messages: dict[str, Any]) -> None:
        body, signature = signed_delivery(list(messages))
        reply = requests.post(self.rasa + WEBHOOK_PATH, data=body, timeout=10, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signature})
        assert reply.status_code == 200, reply.text
        self.sent.extend(messages)

    def tracker(self, sender: str) -> dict:
        reply = requests.get(f"{self.rasa}/conversations/{sender}/tracker", timeout=10)
        reply.raise_for_status()
        return reply.json()

    def wait_turns(self, sender: str, turns: int) -> dict:
        """The tracker once ``turns`` user messages of ``sender`` were handled and saved."""
        deadline = time.monotonic() + TURN_TIMEOUT_S
        while time.monotonic() < deadline:
            tracker = self.tracker(sender)
            users = sum(1 for event in tracker["events"] if event["event"] == "user")
            if users >= turns and tracker.get("latest_action_name") == "action_listen":
                return tracker
            time.sleep(0.05)
        raise AssertionError(f"{sender}: turn {turns} not handled in {TURN_TIMEOUT_S}s")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Redis is required in CI: {reason}")
    pytest.skip(f"metrics test skipped: {reason}")


@pytest.fixture(scope="module")
def servers(postgres_admin_url: str | None, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Servers]:
    import redis

    model = find_model()
    if model is None:
        pytest.fail("no trained model: run `make test` (it trains one) or `make train`")
    redis_url = make_url(os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(str(redis_url), socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _unavailable(f"cannot connect to Redis: {type(exc).__name__}")
    prefix = f"lawmetrics{uuid.uuid4().hex[:8]}"
    options = client.connection_pool.connection_kwargs
    tmp = tmp_path_factory.mktemp("metrics")
    graph_log, graph = GraphLog(), HTTPServer(host="127.0.0.1", port=0, threaded=True)
    graph.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(graph_log.answer)
    graph.start()
    with fresh_postgres_database(postgres_admin_url, "law_metrics") as slot_url:
        migrate(slot_url)
        direct = make_url(slot_url)
        database = SwitchableProxy(direct.host or "127.0.0.1", direct.port or 5432)
        lock_redis = SwitchableProxy(str(options.get("host", "127.0.0.1")),
                                     int(options.get("port", 6379)))
        proxied = direct.set(host="127.0.0.1", port=database.port)
        processes: list[subprocess.Popen] = []
        try:
            action_port, rasa_port = free_port(), free_port()
            env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                   "LAW_DATABASE_URL": proxied.render_as_string(hide_password=False),
                   "LAW_FIXED_NOW": NOW.isoformat(),
                   "WHATSAPP_API_BASE_URL": graph.url_for("/").rstrip("/")}
            (tmp / "endpoints.yml").write_text(
                f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
                f'tracker_store:\n  type: addons.tracker_store.KnownCountSQLTrackerStore\n'
                f'  dialect: "sqlite"\n  db: "{tmp / "tracker.db"}"\n'
                f'lock_store:\n  type: law_rasa.lock_store.AtomicRedisLockStore\n'
                f'  url: "127.0.0.1"\n  port: {lock_redis.port}\n'
                f'  db: {int(options.get("db", 0))}\n  key_prefix: "{prefix}"\n')
            (tmp / "credentials.yml").write_text(
                f"rest:\naddons.whatsapp.WhatsAppInput:\n  access_token: {ACCESS_TOKEN}\n"
                f'  phone_number_id: "{PHONE_NUMBER_ID}"\n  app_secret: {APP_SECRET}\n'
                f"  verify_token: {VERIFY_TOKEN}\n  api_version: {API_VERSION}\n")
            for name, command in (
                ("actions", [LAW_RASA, "run", "actions", "--actions", "actions", "-p",
                             str(action_port)]),
                ("rasa", [LAW_RASA, "run", "--enable-api", "-m", str(model), "-p",
                          str(rasa_port), "-i", "127.0.0.1", "--endpoints",
                          str(tmp / "endpoints.yml"), "--credentials",
                          str(tmp / "credentials.yml")]),
            ):
                with (tmp / f"{name}.log").open("w") as log:
                    processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                                      stderr=subprocess.STDOUT))
            # Both start at once; ready means every store answers and the model is loaded.
            wait_for(f"http://127.0.0.1:{action_port}/ready", processes[0], tmp / "actions.log")
            wait_for(f"http://127.0.0.1:{rasa_port}/ready", processes[1], tmp / "rasa.log")
            yield Servers(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{action_port}",
                          graph_log, database, lock_redis, slot_url, tmp)
        finally:
            for proc in reversed(processes):
                proc.terminate()
            for proc in processes:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            database.close()
            lock_redis.close()
            graph.clear()
            graph.stop()
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
            client.close()


@dataclass
class Chat:
    """What the applicants sent and what the trackers hold afterwards."""

    distinct: int  # distinct WhatsApp messages
    posted: int  # WhatsApp messages posted, a re-delivery included
    rest_replies: int
    trackers: list[dict]


@pytest.fixture(scope="module")
def chat(servers: Servers) -> Chat:
    for turn, text in enumerate(BOOKING_SCRIPT, start=1):
        servers.post(text_message(f"wamid.book.{turn}", text, BOOKER))
        servers.wait_turns(BOOKER, turn)
    greeting = text_message("wamid.greet.1", "halo", GREETER)
    servers.post(greeting)
    servers.wait_turns(GREETER, 1)
    servers.post(text_message("wamid.greet.2", GIBBERISH, GREETER))
    servers.wait_turns(GREETER, 2)
    servers.post(greeting)  # Meta delivers the first message again: skipped
    servers.post(text_message("wamid.refused.1", "halo", REFUSED))
    servers.wait_turns(REFUSED, 1)
    reply = requests.post(f"{servers.rasa}/webhooks/rest/webhook",
                          json={"sender": REST_SENDER, "message": "halo"}, timeout=30)
    reply.raise_for_status()
    trackers = [servers.tracker(sender) for sender in (BOOKER, GREETER, REFUSED, REST_SENDER)]
    distinct = len({message["id"] for message in servers.sent})
    return Chat(distinct, len(servers.sent), len(reply.json()), trackers)


def scrape(url: str, timeout: float = 10) -> dict[tuple[str, frozenset], float]:
    """``GET /metrics``: (sample name, labels) → value."""
    reply = requests.get(f"{url}/metrics", timeout=timeout)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples}


def value(figures: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


def settled(url: str, name: str, expected: float, **labels: str) -> dict:
    """The figures once ``name`` reached ``expected`` (or after 10 s).

    The channel finishes a message just after its tracker is saved.
    """
    deadline = time.monotonic() + 10
    while True:
        figures = scrape(url)
        if value(figures, name, **labels) >= expected or time.monotonic() > deadline:
            return figures
        time.sleep(0.1)


# --- metrics -------------------------------------------------------------------------------


def test_rasa_metrics_match_what_the_applicants_sent(servers: Servers, chat: Chat) -> None:
    figures = settled(servers.rasa, "law_reply_latency_seconds_count", chat.distinct,
                      channel="whatsapp")
    graph = servers.graph
    assert value(figures, "law_process_info", role="rasa") == 1
    assert value(figures, "law_messages_received_total", channel="whatsapp") == chat.posted
    assert value(figures, "law_whatsapp_duplicates_total") == chat.posted - chat.distinct == 1
    assert value(figures, "law_replies_sent_total", channel="whatsapp") == sum(
        graph.accepted.values())
    assert graph.accepted[BOOKER] >= len(BOOKING_SCRIPT) and graph.accepted[GREETER] >= 2
    # The refused number's replies: one try each (131047 is final), counted by code.
    assert graph.refused >= 1 and graph.accepted[REFUSED] == 0
    assert value(figures, "law_replies_failed_total", channel="whatsapp") == graph.refused
    assert value(figures, "law_graph_errors_total", code=str(GRAPH_ERROR_CODE),
                 status="400") == graph.refused
    # Every WhatsApp message timed once, from the webhook to its last reply.
    assert value(figures, "law_reply_latency_seconds_count", channel="whatsapp") == chat.distinct
    assert value(figures, "law_reply_latency_seconds_bucket", channel="whatsapp",
                 le="+Inf") == chat.distinct
    assert 0 < value(figures, "law_reply_latency_seconds_sum", channel="whatsapp") < (
        chat.distinct * TURN_TIMEOUT_S)
    # REST is counted where Rasa handles it.
    assert value(figures, "law_messages_received_total", channel="rest") == 1
    assert value(figures, "law_replies_sent_total", channel="rest") == chat.rest_replies >= 1
    # One conversation lock per message that reached the bot, taken through Redis.
    assert value(figures, "law_lock_wait_seconds_count") == chat.distinct + 1
    assert value(figures, "law_lock_errors_total") == 0
    # Fallbacks: as many as the trackers hold, the gibberish among them.
    events = [event for tracker in chat.trackers for event in tracker["events"]]
    nlu_fallbacks = sum(1 for e in events if e["event"] == "user"
                        and (e.get("parse_data") or {}).get("intent", {}).get("name")
                        == "nlu_fallback")
    not_understood = Counter((e.get("metadata") or {}).get("utter_action") for e in events
                             if e["event"] == "bot")
    assert nlu_fallbacks >= 1 and not_understood["utter_default"] >= 1
    assert value(figures, "law_nlu_fallbacks_total") == nlu_fallbacks
    for response in NOT_UNDERSTOOD:
        assert value(figures, "law_not_understood_replies_total",
                     response=response) == not_understood[response]
    assert value(figures, "law_ready") == 1


def test_action_server_counts_each_action_of_the_booking(servers: Servers, chat: Chat) -> None:
    figures = scrape(servers.actions)
    custom = {entry["name"] for entry in requests.get(f"{servers.actions}/actions",
                                                     timeout=10).json()}
    run = Counter(event["name"] for tracker in chat.trackers for event in tracker["events"]
                  if event["event"] == "action" and event["name"] in custom)
    assert run["action_reserve_booking"] == 1  # the booking
    for name, count in run.items():
        assert value(figures, "law_action_calls_total", action=name) == count, name
    # The form's validation runs on the action server once per answer at least.
    assert value(figures, "law_action_calls_total",
                 action="validate_booking_form") >= len(BOOKING_SCRIPT) - 2
    assert sum(v for (name, _), v in figures.items() if name == "law_action_failures_total") == 0
    assert value(figures, "law_action_seconds_count", action="action_reserve_booking") == 1
    assert value(figures, "law_process_info", role="actions") == 1
    # No phone number anywhere in either process's figures.
    for url in (servers.actions, servers.rasa):
        text = requests.get(f"{url}/metrics", timeout=10).text
        assert not any(number in text for number in (BOOKER, GREETER, REFUSED, REST_SENDER))


def test_backlogs_are_counted_from_the_shared_store(servers: Servers, chat: Chat) -> None:
    engine = create_store_engine(servers.slot_url)
    try:
        # A reminder of the booking, queued at its hour the day before and not sent yet…
        eve = dt.datetime(2026, 12, 6, 10, 0, tzinfo=OFFICE_TZ)
        service = BookingService(load_config(), SqlStore(engine), FixedClock(eve))
        assert NoticeOutbox(service).queue_due_reminders() == 1
        # …and a message another process accepted and still holds (its lease runs an hour).
        now = dt.datetime.now(dt.timezone.utc)
        with engine.begin() as conn:
            conn.execute(insert(whatsapp_inbox).values(
                message_id="wamid.held.1", sender_id=GREETER, received_at=now,
                message=json.dumps({"message_id": "wamid.held.1", "sender_id": GREETER,
                                    "kind": "text", "wire_type": "text", "text": "halo"}),
                lease_token="elsewhere", lease_until=now + dt.timedelta(hours=1), attempts=1))
        figures = scrape(servers.rasa)
        assert value(figures, "law_notice_outbox_backlog") == 1
        assert value(figures, "law_whatsapp_inbox_backlog") == 1
        assert value(figures, "law_owner_notices_unsent") == 0
        with engine.begin() as conn:
            conn.execute(delete(whatsapp_inbox).where(
                whatsapp_inbox.c.message_id == "wamid.held.1"))
        assert value(scrape(servers.rasa), "law_whatsapp_inbox_backlog") == 0
    finally:
        engine.dispose()


# --- readiness -----------------------------------------------------------------------------


def ready(url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    reply = requests.get(f"{url}/ready", timeout=30)
    return reply.status_code, reply.json(), time.monotonic() - started


def alive(url: str, path: str) -> bool:
    return requests.get(url + path, timeout=5).status_code == 200


def test_ready_when_every_store_answers(servers: Servers) -> None:
    status, body, _ = ready(servers.rasa)
    assert (status, body) == (200, {"status": "ok", "model": "ok", "database": "ok",
                                    "tracker_store": "ok", "redis": "ok"})
    assert ready(servers.actions)[:2] == (200, {"status": "ok", "database": "ok"})


def test_redis_gone_fails_readiness_not_liveness(servers: Servers) -> None:
    servers.redis.down()
    try:
        status, body, took = ready(servers.rasa)
        assert status == 503 and took < STORE_DOWN_S
        assert body["status"] == "unavailable" and body["redis"] != "ok"
        assert body["database"] == "ok"
        assert alive(servers.rasa, "/")
        assert value(scrape(servers.rasa), "law_dependency_up", dependency="redis") == 0
        assert ready(servers.actions)[0] == 200  # it does not use Redis
    finally:
        servers.redis.up()
    assert ready(servers.rasa)[0] == 200


def test_hanging_database_fails_readiness_within_seconds(servers: Servers) -> None:
    servers.database.silent()
    try:
        for url, liveness in ((servers.rasa, "/"), (servers.actions, "/health")):
            status, body, took = ready(url)
            assert (status, body["database"]) == (503, "timeout") and took < STORE_DOWN_S, url
            assert "postgresql" not in json.dumps(body)  # no URL, no secret
            assert alive(url, liveness)
        started = time.monotonic()
        figures = scrape(servers.rasa)  # a scrape still answers, in seconds
        assert time.monotonic() - started < STORE_DOWN_S
        assert value(figures, "law_ready") == 0
        assert value(figures, "law_dependency_up", dependency="database") == 0
    finally:
        servers.database.up()
    deadline = time.monotonic() + 20
    while ready(servers.rasa)[0] != 200 or ready(servers.actions)[0] != 200:
        assert time.monotonic() < deadline, "not ready again after the database came back"
        time.sleep(0.5)


def test_no_personal_data_in_any_log(servers: Servers, chat: Chat) -> None:
    """Readiness and metrics add log lines (a store not answering); none names anyone."""
    for log in ("rasa.log", "actions.log"):
        text = (servers.log_dir / log).read_text(errors="replace")
        for secret in (BOOKER, GREETER, REFUSED, REST_SENDER, "3171011203900003",
                       "Budi Santoso", "postgresql"):
            assert secret not in text, (log, secret)

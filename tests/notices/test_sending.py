"""Reminders sent through the local Graph API, on SQLite and PostgreSQL: exactly the 5 due
ones, with the right parameters and buttons, whether the scheduler runs once, twice, in two
processes at once, or again after a kill -9 in the middle; as free text inside the 24-hour
window; a "not on WhatsApp" or "template paused" error reported, not retried forever."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from addons.whatsapp.graph_client import GraphClient
from addons.whatsapp.notices import NoticeSender
from addons.whatsapp.settings import RetryPolicy, WhatsAppSettings
from antrean.config import PROJECT_ROOT
from antrean.model import NoticeState
from antrean.notices import NoticeOutbox
from tests.channel.helpers import (
    ACCESS_TOKEN,
    API_VERSION,
    APP_SECRET,
    MESSAGES_PATH,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    accept_all,
    graph_error,
    sent_bodies,
)
from tests.notices.conftest import DAY, EVE, at

REMINDER_BUTTONS = ["notice:attend:", "/reschedule_booking", "/cancel_booking"]


def whatsapp_settings(graph: HTTPServer) -> WhatsAppSettings:
    return WhatsAppSettings(
        access_token=ACCESS_TOKEN, phone_number_id=PHONE_NUMBER_ID, app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN, api_version=API_VERSION,
        api_base_url=graph.url_for("/").rstrip("/"),
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02))


def send_round(service, graph: HTTPServer, moment=EVE, rate: float = 1000) -> int:
    outbox = NoticeOutbox(at(service, moment))
    outbox.queue_due_reminders()
    client = GraphClient(whatsapp_settings(graph))

    async def go() -> int:
        try:
            return await NoticeSender(outbox, client, rate=rate).send_due()
        finally:
            await client.close()

    return asyncio.run(go())


def check_the_five(graph: HTTPServer, booked_day) -> None:
    bodies = sent_bodies(graph)
    assert sorted(b["to"] for b in bodies) == sorted(b.phone for b in booked_day.bookings)
    by_phone = {b["to"]: b for b in bodies}
    for booking in booked_day.bookings:
        body = by_phone[booking.phone]
        assert body["type"] == "template"
        template = body["template"]
        assert template["name"] == "pengingat_antrean"
        assert template["language"] == {"code": "id"}
        params = [p["text"] for p in template["components"][0]["parameters"]]
        code = f"{booking.code[:4]}-{booking.code[4:]}"
        names = " dan ".join(a.name for a in booking.applicants)
        assert params == ["Selasa", "8 Desember 2026", f"{booking.slot.time:%H.%M}", code,
                          names]
        buttons = template["components"][1:]
        assert [b["index"] for b in buttons] == ["0", "1", "2"]
        assert all(b["sub_type"] == "quick_reply" for b in buttons)
        payloads = [b["parameters"][0]["payload"] for b in buttons]
        assert payloads == [REMINDER_BUTTONS[0] + booking.code] + REMINDER_BUTTONS[1:]


def test_one_run_sends_exactly_the_five_due_reminders(service, booked_day, graph):
    accept_all(graph)
    assert send_round(service, graph) == 5
    check_the_five(graph, booked_day)
    states = {n.state for n in NoticeOutbox(service).notices_between(DAY, DAY)}
    assert states == {NoticeState.SENT}


def test_a_second_run_sends_nothing_more(service, booked_day, graph):
    accept_all(graph)
    send_round(service, graph)
    assert send_round(service, graph) == 0
    check_the_five(graph, booked_day)


def test_inside_the_24_hour_window_the_reminder_goes_as_free_text(service, booked_day, graph):
    accept_all(graph)
    recent = booked_day.bookings[2]
    NoticeOutbox(at(service, EVE.replace(hour=8))).touch_inbound(recent.phone)
    send_round(service, graph)
    body = next(b for b in sent_bodies(graph) if b["to"] == recent.phone)
    assert body["type"] == "interactive"
    assert "datang 30 menit sebelum jadwal" in body["interactive"]["body"]["text"]
    assert [b["reply"]["title"] for b in body["interactive"]["action"]["buttons"]] == \
        ["Saya datang", "Ubah jadwal", "Batalkan"]
    assert sum(b["type"] == "template" for b in sent_bodies(graph)) == 4


@pytest.mark.parametrize("code", [131026, 132015])
def test_a_final_graph_error_is_reported_not_retried(service, booked_day, graph, code):
    graph.expect_request(MESSAGES_PATH, method="POST").respond_with_response(
        graph_error(400, code, "final"))
    assert send_round(service, graph) == 0
    assert len(graph.log) == 5  # one request each, no retry
    later = EVE.replace(hour=23)
    assert send_round(service, graph, moment=later) == 0
    assert len(graph.log) == 5
    notices = NoticeOutbox(service).notices_between(DAY, DAY)
    assert {(n.state, n.error_code) for n in notices} == {(NoticeState.FAILED, code)}


# --- separate processes ------------------------------------------------------------------
def scheduler_env(database_url: str, graph: HTTPServer) -> dict[str, str]:
    return {**os.environ, "LAW_DATABASE_URL": database_url, "LAW_FIXED_NOW": EVE.isoformat(),
            "LAW_AUTO_MIGRATE": "0", "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_API_VERSION": API_VERSION,
            "WHATSAPP_API_BASE_URL": graph.url_for("/").rstrip("/")}


def start_scheduler(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "addons.whatsapp.scheduler", "--once", *args],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_two_processes_at_once_send_each_reminder_once(database_url, service, booked_day,
                                                       graph):
    accept_all(graph)
    env = scheduler_env(database_url, graph)
    processes = [start_scheduler(env, "--rate", "20") for _ in range(2)]
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out
    check_the_five(graph, booked_day)


def test_after_a_kill_9_in_the_middle_a_restart_sends_the_rest_once(database_url, service,
                                                                    booked_day, graph):
    accept_all(graph)
    env = scheduler_env(database_url, graph)
    process = start_scheduler(env, "--rate", "1")  # one a second: killed between two sends
    deadline = time.monotonic() + 30
    while len(graph.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the second send recorded, the third still a second away
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    sent_before = len(graph.log)
    assert 2 <= sent_before < 5
    restarted = start_scheduler(env, "--rate", "50")
    out, _ = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, out
    check_the_five(graph, booked_day)


def test_print_mode_shows_the_templates_and_sends_nothing(database_url, service, booked_day,
                                                         graph):
    out = subprocess.run([sys.executable, "-m", "addons.whatsapp.scheduler", "--once", "--print"],
                         cwd=PROJECT_ROOT, env=scheduler_env(database_url, graph),
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.count("--- reminder (templat pengingat_antrean, bahasa id)") == 5
    assert "datang 30 menit sebelum jadwal" in out
    assert json.loads(out.splitlines()[3])["type"] == "template"
    assert len(graph.log) == 0

"""The real parts a takeover passes through, for the console's takeover tests.

- :class:`FakeGraph` — Meta's Graph API on loopback (pytest-httpserver): records each
  message sent to an applicant, checks the bearer token, and can be told to fail;
- :func:`rasa_with_whatsapp` — the real action server and the real Rasa server with the
  ``whatsapp`` channel (``credentials.prod.yml``, settings from the environment) and the
  HTTP API behind an auth token, both started through ``law-rasa`` as production does;
- :class:`Applicant` — posts signed webhook deliveries as one WhatsApp number and waits for
  what the bot (or staff) sends back.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.e2e.servers import LAW_RASA, ROOT, free_port, wait_for

APP_SECRET = "console-test-app-secret"
VERIFY_TOKEN = "console-test-verify-token"
ACCESS_TOKEN = "EAAG-console-test-token"
PHONE_NUMBER_ID = "109000000000077"
API_VERSION = "v21.0"
MESSAGES_PATH = f"/{API_VERSION}/{PHONE_NUMBER_ID}/messages"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
RASA_TOKEN = "console-test-rasa-token"

_wamids = itertools.count(1)


class FakeGraph:
    """``POST /{version}/{phone_number_id}/messages`` on loopback, recording what is sent.

    ``fail_with`` set to an HTTP status makes every message fail with Meta's error body
    (read receipts still succeed), until it is set back to ``None``.
    """

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.sent: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.fail_with: int | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def start(self) -> None:
        self.server.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(
            self._messages)
        self.server.start()

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    def texts_to(self, phone: str) -> list[str]:
        """The bodies of the text (and interactive) messages sent to ``phone``, in order."""
        with self._lock:
            sent = [body for body in self.sent if body.get("to") == phone]
        return [_body_text(body) for body in sent]

    def wait_for_texts(self, phone: str, count: int, timeout: float = 60.0) -> list[str]:
        """Wait until ``phone`` has been sent ``count`` messages; return all of them."""
        deadline = time.monotonic() + timeout
        while len(texts := self.texts_to(phone)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} message(s) expected for {phone[-4:]}, got "
                                     f"{len(texts)}: {texts}")
            time.sleep(0.05)
        return texts

    def _messages(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            self.refused.append("wrong bearer token")
            return _error(401, 190, "Invalid OAuth access token.")
        body = json.loads(request.get_data())
        if body.get("status") == "read":
            return Response(json.dumps({"success": True}), content_type="application/json")
        if self.fail_with is not None:
            return _error(self.fail_with, 131000 if self.fail_with >= 500 else 131047,
                          "Something went wrong")
        with self._lock:
            self.sent.append(body)
        wamid = f"wamid.out.{next(self._ids)}"
        return Response(json.dumps({"messaging_product": "whatsapp",
                                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                    "messages": [{"id": wamid}]}),
                        content_type="application/json")


def _error(status: int, code: int, message: str) -> Response:
    return Response(json.dumps({"error": {"message": message, "type": "OAuthException",
                                          "code": code}}),
                    status=status, content_type="application/json")


def _body_text(body: dict[str, Any]) -> str:
    if body.get("type") == "text":
        return str(body["text"]["body"])
    if body.get("type") == "interactive":
        return str(body["interactive"]["body"]["text"])
    return json.dumps(body)


def whatsapp_env(graph: FakeGraph) -> dict[str, str]:
    """The WhatsApp settings of the channel (and of the console) pointing at ``graph``."""
    return {
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_VERSION": API_VERSION,
        "WHATSAPP_API_BASE_URL": graph.url,
    }


@dataclass
class Rasa:
    """The running Rasa server of the stack and where its stores are."""

    url: str
    database_url: str
    tracker_url: str
    token: str = RASA_TOKEN

    def tracker(self, sender: str) -> dict[str, Any]:
        reply = requests.get(f"{self.url}/conversations/{sender}/tracker",
                             params={"token": self.token}, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def append(self, sender: str, events: list[dict[str, Any]]) -> None:
        reply = requests.post(f"{self.url}/conversations/{sender}/tracker/events",
                              params={"token": self.token}, json=events, timeout=30)
        reply.raise_for_status()


@contextmanager
def rasa_with_whatsapp(tmp: Path, model: Path, graph: FakeGraph) -> Iterator[Rasa]:
    """The action server and Rasa (``whatsapp`` channel, API with a token) on free ports.

    Both stores are SQLite files under ``tmp``; the channel's message ids share the slot
    store, as in ``make run-prod``.
    """
    action_port, rasa_port = free_port(), free_port()
    database_url = f"sqlite:///{tmp / 'law.db'}"
    tracker_db = tmp / "tracker.db"
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LAW_DATABASE_URL": database_url,
        **whatsapp_env(graph),
    }
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f"tracker_store:\n  type: addons.tracker_store.KnownCountSQLTrackerStore\n"
        f'  dialect: "sqlite"\n  db: "{tracker_db}"\n')
    # Started side by side (Rasa needs the action server only at the first message): the
    # slow part of each is importing Rasa and TensorFlow.
    servers = [
        ([LAW_RASA, "run", "actions", "--actions", "actions", "-p", str(action_port)],
         f"http://127.0.0.1:{action_port}/health", tmp / "actions.log"),
        ([LAW_RASA, "run", "--enable-api", "--auth-token", RASA_TOKEN, "-m", str(model),
          "-p", str(rasa_port), "--endpoints", str(endpoints),
          "--credentials", "credentials.prod.yml", "-i", "127.0.0.1"],
         f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", tmp / "rasa.log"),
    ]
    started: list[tuple[subprocess.Popen, str, Path]] = []
    try:
        for cmd, ready_url, log in servers:
            with log.open("w") as out:
                started.append((subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out,
                                                 stderr=subprocess.STDOUT), ready_url, log))
        for proc, ready_url, log in started:
            wait_for(ready_url, proc, log)
        yield Rasa(f"http://127.0.0.1:{rasa_port}", database_url, f"sqlite:///{tracker_db}")
    finally:
        for proc, _, _ in reversed(started):
            proc.terminate()
        for proc, _, _ in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@dataclass
class Applicant:
    """One WhatsApp number writing to the office through the signed webhook."""

    phone: str
    rasa: Rasa
    graph: FakeGraph
    name: str = "Pemohon"
    sent_wamids: list[str] = field(default_factory=list)

    def write(self, text: str) -> str:
        """Post one text message; returns its wamid. The channel answers 200 at once."""
        wamid = f"wamid.in.{self.phone[-4:]}.{next(_wamids)}"
        message = {"from": self.phone, "id": wamid, "timestamp": str(int(time.time())),
                   "type": "text", "text": {"body": text}}
        value = {"messaging_product": "whatsapp",
                 "metadata": {"display_phone_number": "6281299000000",
                              "phone_number_id": PHONE_NUMBER_ID},
                 "contacts": [{"profile": {"name": self.name}, "wa_id": self.phone}],
                 "messages": [message]}
        body = json.dumps({"object": "whatsapp_business_account",
                           "entry": [{"id": "1", "changes": [{"field": "messages",
                                                              "value": value}]}]}).encode()
        digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        reply = requests.post(self.rasa.url + WEBHOOK_PATH, data=body, timeout=10,
                              headers={"Content-Type": "application/json",
                                       "X-Hub-Signature-256": f"sha256={digest}"})
        assert reply.status_code == 200, reply.text
        self.sent_wamids.append(wamid)
        return wamid

    def texts(self) -> list[str]:
        return self.graph.texts_to(self.phone)

    def user_turns_logged(self) -> int:
        """How many of this applicant's messages Rasa has logged in the tracker."""
        events = self.rasa.tracker(self.phone)["events"]
        return sum(1 for event in events if event["event"] == "user")

    def wait_logged(self, count: int, timeout: float = 60.0) -> None:
        """Wait until Rasa has logged ``count`` messages of this applicant."""
        wait_until(lambda: self.user_turns_logged() >= count, timeout,
                   f"Rasa to log {count} message(s) of {self.phone[-4:]}")


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.1)

"""law-prod's nginx (law_launch/nginx.py) and its restart of a dead process (children.py).

Real nginx (Debian's /usr/sbin/nginx) with the configuration law-prod writes: round robin
without affinity, a dead backend skipped without losing a delivery, a backend whose readiness
answers 503 left out, ``/model`` refused on the front, no query string in the access log.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from law_launch import nginx
from law_launch.children import Child, supervise
from tests.e2e.servers import free_port

WEBHOOK = nginx.WEBHOOK_PATH
HEALTH = nginx.WHATSAPP_HEALTH_PATH

pytestmark = pytest.mark.skipif(not Path(nginx.NGINX).exists(), reason="no /usr/sbin/nginx")


@dataclass
class Backend:
    """A stand-in for a Rasa process or an action server: counts what reaches it."""

    name: str
    port: int
    ready: bool = True
    hits: Counter[str] = field(default_factory=Counter)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes = b"ok") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                backend.hits[f"GET {self.path.split('?')[0]}"] += 1
                healthy = backend.ready or self.path.split("?")[0] != HEALTH
                self._answer(200 if healthy else 503, backend.name.encode())

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                backend.hits[f"POST {self.path}"] += 1
                self._answer(200, backend.name.encode())

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@dataclass
class Balancer:
    site: nginx.Site
    front: str
    actions: str
    rasa: list[Backend]
    action_servers: list[Backend]


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[Balancer]:
    rasa = [Backend(f"rasa-{i}", free_port()) for i in range(3)]
    action_servers = [Backend(f"actions-{i}", free_port()) for i in range(2)]
    for backend in rasa + action_servers:
        backend.start()
    front, actions = free_port(), free_port()
    site = nginx.Site(prefix=tmp_path / "nginx",
                      rasa=[f"127.0.0.1:{b.port}" for b in rasa],
                      actions=[f"127.0.0.1:{b.port}" for b in action_servers],
                      actions_listen=f"127.0.0.1:{actions}",
                      front_listen=f"127.0.0.1:{front}")
    nginx.write(site)
    process = subprocess.Popen(nginx.command(site), stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    front_url = f"http://127.0.0.1:{front}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(front_url + "/nothing", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        for backend in rasa:
            backend.hits.clear()
        yield Balancer(site, front_url, f"http://127.0.0.1:{actions}", rasa, action_servers)
    finally:
        process.terminate()
        process.wait(10)
        for backend in rasa + action_servers:
            backend.stop()


def _post(url: str) -> requests.Response:
    return requests.post(url, data=b'{"entry": []}', timeout=10,
                         headers={"Content-Type": "application/json"})


def test_the_webhook_and_the_action_calls_go_round_robin(balancer: Balancer) -> None:
    answered_by = [_post(balancer.front + WEBHOOK).text for _ in range(9)]
    # The same sender's deliveries too: nothing in the body is looked at.
    assert Counter(answered_by) == {"rasa-0": 3, "rasa-1": 3, "rasa-2": 3}
    assert len(set(answered_by[:3])) == 3
    calls = [_post(balancer.actions + "/webhook").text for _ in range(4)]
    assert Counter(calls) == {"actions-0": 2, "actions-1": 2}


def test_a_dead_rasa_process_is_skipped_and_no_delivery_fails(balancer: Balancer) -> None:
    balancer.rasa[1].stop()
    answers = [_post(balancer.front + WEBHOOK) for _ in range(12)]
    assert [a.status_code for a in answers] == [200] * 12
    served = Counter(a.text for a in answers)
    assert set(served) == {"rasa-0", "rasa-2"} and min(served.values()) >= 4, served
    log = balancer.site.access_log.read_text()
    dead = f"127.0.0.1:{balancer.rasa[1].port}"
    # Tried once, then left out for FAIL_TIMEOUT: not one try per delivery.
    assert log.count(dead) == 1, log


def test_a_process_whose_readiness_fails_is_left_out(balancer: Balancer) -> None:
    balancer.rasa[0].ready = False  # e.g. its database does not answer
    health = [requests.get(balancer.front + HEALTH, timeout=5) for _ in range(3)]
    assert all(answer.status_code == 200 for answer in health)  # another one answered
    answers = [_post(balancer.front + WEBHOOK).text for _ in range(6)]
    assert "rasa-0" not in answers


def test_model_loading_is_refused_on_the_front(balancer: Balancer) -> None:
    answer = requests.put(balancer.front + "/model", data=b"{}", timeout=5)
    assert answer.status_code == 403
    assert not any(key.endswith("/model") for b in balancer.rasa for key in b.hits)


def test_the_access_log_names_the_process_and_never_the_query(balancer: Balancer) -> None:
    answer = requests.get(balancer.front + WEBHOOK, timeout=5, params={
        "hub.mode": "subscribe", "hub.verify_token": "rahasia-sekali", "hub.challenge": "7"})
    assert answer.status_code == 200
    log = balancer.site.access_log.read_text()
    assert "rahasia-sekali" not in log and "hub." not in log
    assert f"upstream=127.0.0.1:{balancer.rasa[0].port}" in log or \
        any(f"upstream=127.0.0.1:{b.port}" in log for b in balancer.rasa)


def test_a_root_master_runs_its_workers_as_nobody(tmp_path: Path) -> None:
    site = nginx.Site(prefix=tmp_path, rasa=["127.0.0.1:9"], actions=["127.0.0.1:9"],
                      actions_listen=f"127.0.0.1:{free_port()}")
    text = nginx.render(site)
    if os.geteuid() == 0:
        assert "user nobody " in text  # and its real group: nginx -t passed in write()
    else:
        assert "\nuser " not in text
    nginx.write(site)


def test_law_prod_starts_a_dead_process_again(tmp_path: Path) -> None:
    sleeper = shutil.which("sleep") or "/bin/sleep"
    # Started again with the command of now (a Rasa process: the model promoted meanwhile).
    child = Child("sleeper", [sleeper, "60"], dict(os.environ), "", tmp_path / "s.log",
                  again=lambda: [sleeper, "61"])
    child.start()
    first = child.process
    assert first is not None
    stopping = threading.Event()
    result: list[int] = []
    watcher = threading.Thread(target=lambda: result.append(supervise([child], stopping)))
    watcher.start()
    try:
        first.kill()
        deadline = time.monotonic() + 10
        while child.process is first or child.exited() is not None:
            assert time.monotonic() < deadline, "not started again"
            time.sleep(0.1)
    finally:
        stopping.set()
        watcher.join(5)
        if child.process is not None:
            child.process.kill()
            child.process.wait()
    assert result == [0]
    assert child.process is not None and child.process.args == [sleeper, "61"]


def test_the_deployed_site_is_valid_and_keeps_the_console_off_the_public_host(
        tmp_path: Path) -> None:
    """deploy/nginx/law.conf passes ``nginx -t`` (addresses and certificates made local)."""
    site = (Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "law.conf").read_text()
    blocks = site.split("\nserver {")[1:]
    public = next(block for block in blocks if "listen 443 ssl" in block)
    office = next(block for block in blocks if "law_console" in block)
    assert "law_console" not in public and "law_actions" not in public
    assert [line.strip() for line in public.splitlines() if line.strip().startswith(
        "location")] == ["location = /webhooks/whatsapp/webhook {", "location / {"]
    # The console: on an office-network address only, and refused to anyone else.
    assert "listen 10.0.0.10:443 ssl" in office and "deny all;" in office
    local = (site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{free_port()};")
             .replace("listen 10.0.0.10:443 ssl http2;", f"listen 127.0.0.1:{free_port()};")
             .replace("/var/log/nginx/", f"{tmp_path}/"))
    local = "\n".join(line for line in local.splitlines() if "ssl_certificate" not in line)
    (tmp_path / "site.conf").write_text(local)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include {tmp_path}/site.conf; }}\n")
    checked = subprocess.run([nginx.NGINX, "-t", "-q", "-p", f"{tmp_path}/", "-c",
                              str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr

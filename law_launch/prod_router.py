r"""A small HTTP router in front of several Rasa processes or several action servers.

One program, two places in the production topology (docs/deployment.md):

- **front** (``--affinity whatsapp``): Meta's webhook POSTs go to the Rasa process that owns
  the sender. Owners are chosen by rendezvous hashing of the ``wa_id`` over the healthy
  processes, so one applicant's messages always reach the same process, where the WhatsApp
  channel's per-sender queue keeps them in order; when a process goes down only its own
  applicants move. Every other request is spread round robin.
- **actions** (``--affinity none``): Rasa's action calls are spread round robin; action
  servers keep no state of their own (it lives in the tracker and the slot store).

Loading a model (``PUT /model``) or unloading it (``DELETE /model``: Rasa's HTTP API, used by
the staff command ``antrean promosikan``) is sent to **every** backend, one after the other:
otherwise one Rasa process would answer with the new model and the others with the old. The
answer is the first backend's when all of them succeeded; otherwise 502 with each backend's
status, so that the command reports the failure (a process that did not load the model keeps
the old one and must be restarted or asked again).

Bodies are forwarded byte for byte (the webhook signature covers the raw body). A backend
that refuses the connection is skipped and the request tried on the next one — safe, since
nothing reached it; a request that did reach a backend is never repeated. Backends are probed
every ``--health-interval`` seconds. ``GET /_router/health`` reports their state. Applicants'
numbers are never logged.

Usage::

    law-router --listen 127.0.0.1:5005 --backends 127.0.0.1:5010,127.0.0.1:5011 \
        --health-path / --affinity whatsapp --name front
    law-router --listen 127.0.0.1:5055 --backends 127.0.0.1:5060,127.0.0.1:5061 \
        --health-path /health --name actions
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

logger = logging.getLogger("law.router")

WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
# Requests every backend must get: loading or unloading the model of every Rasa process.
BROADCAST = {("PUT", "/model"), ("DELETE", "/model")}
ROUTER_HEALTH_PATH = "/_router/health"
# Hop-by-hop headers (RFC 9110 §7.6.1) stay with their hop; lengths are recomputed.
HOP_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "content-length", "host",
})


@dataclass
class Backend:
    """One Rasa process or action server behind the router."""

    url: str  # e.g. http://127.0.0.1:5006
    healthy: bool = True  # optimistic until the first probe says otherwise
    known: bool = False  # whether anything has been learnt about it yet
    last_change: float = field(default_factory=time.monotonic)

    def mark(self, healthy: bool, why: str = "") -> None:
        if healthy == self.healthy and self.known:
            return
        # Going down is news; coming up, or not being up yet at start-up, is routine.
        level = logging.WARNING if self.known and not healthy else logging.INFO
        logger.log(level, "backend %s is %s%s", self.url, "up" if healthy else "down",
                   f" ({why})" if why else "")
        self.healthy, self.known = healthy, True
        self.last_change = time.monotonic()


def sender_of(body: bytes) -> str | None:
    """The ``wa_id`` a webhook delivery is about; ``None`` when it is about no one.

    That is its first message's sender, else the recipient of its first status report.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    for entry in _dicts(data.get("entry") if isinstance(data, dict) else None):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            for message in _dicts(value.get("messages")):
                if message.get("from"):
                    return str(message["from"])
            for status in _dicts(value.get("statuses")):
                if status.get("recipient_id"):
                    return str(status["recipient_id"])
    return None


def _dicts(items: Any) -> Iterable[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def rendezvous_order(key: str, backends: Sequence[Backend]) -> list[Backend]:
    """Backends by descending hash weight for ``key`` (highest random weight hashing).

    Every router computes the same order for the same backend list, and removing one
    backend changes the owner of only the keys it owned.
    """
    def weight(backend: Backend) -> int:
        digest = hashlib.blake2b(f"{key}|{backend.url}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    return sorted(backends, key=weight, reverse=True)


class Router:
    """Forwards requests to a set of backends.

    Args:
        backends: Base URLs of the backends.
        health_path: Path probed with GET on each backend; 200 means healthy.
        affinity: ``"whatsapp"`` to route webhook POSTs by sender, ``"none"`` for round robin.
        timeout_s: Longest a forwarded request may take.
        health_interval_s: Seconds between probes.
    """

    def __init__(self, backends: Sequence[str], health_path: str, affinity: str = "none",
                 timeout_s: float = 300.0, health_interval_s: float = 2.0) -> None:
        if not backends:
            raise ValueError("at least one backend is needed")
        self.backends = [Backend(url.rstrip("/")) for url in backends]
        self.health_path = health_path
        self.affinity = affinity
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=3.0)
        self.health_interval_s = health_interval_s
        self._turn = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        self._prober: asyncio.Task | None = None

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, _: web.Application | None = None) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,  # pass bodies through exactly as the backend encoded them
            connector=aiohttp.TCPConnector(limit=256, limit_per_host=128),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        await self.probe_all()
        self._prober = asyncio.get_running_loop().create_task(self._probe_forever())

    async def stop(self, _: web.Application | None = None) -> None:
        if self._prober is not None:
            self._prober.cancel()
            await asyncio.gather(self._prober, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get(ROUTER_HEALTH_PATH, self.health)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        # aiohttp 3.9 annotates its signals for aiosignal < 1.4 (Signal[callback type]); the
        # pinned aiosignal 1.4 reads the parameter as the callbacks' argument types.
        app.on_startup.append(self.start)  # type: ignore[arg-type]
        app.on_cleanup.append(self.stop)  # type: ignore[arg-type]
        return app

    # --- health -------------------------------------------------------------------------

    async def probe_all(self) -> None:
        await asyncio.gather(*(self._probe(backend) for backend in self.backends))

    async def _probe(self, backend: Backend) -> None:
        assert self._session is not None
        try:
            async with self._session.get(backend.url + self.health_path,
                                         timeout=aiohttp.ClientTimeout(total=5)) as response:
                await response.read()
                backend.mark(response.status == 200, f"health answered {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            backend.mark(False, exc.__class__.__name__)

    async def _probe_forever(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval_s)
            await self.probe_all()

    async def health(self, _: web.Request) -> web.Response:
        states = {backend.url: backend.healthy for backend in self.backends}
        return web.json_response({"backends": states},
                                 status=200 if any(states.values()) else 503)

    # --- forwarding ---------------------------------------------------------------------

    def candidates(self, request: web.Request, body: bytes) -> list[Backend]:
        """The backends to try, best first: healthy ones, then the rest as a last resort."""
        key = None
        if (self.affinity == "whatsapp" and request.method == "POST"
                and request.path.rstrip("/") == WEBHOOK_PATH):
            key = sender_of(body)
        if key is not None:
            ordered = rendezvous_order(key, self.backends)
        else:
            start = next(self._turn) % len(self.backends)
            ordered = self.backends[start:] + self.backends[:start]
        return [b for b in ordered if b.healthy] + [b for b in ordered if not b.healthy]

    async def forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        peer = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
        headers.setdefault("X-Forwarded-Proto", request.scheme)
        if (request.method, request.path.rstrip("/")) in BROADCAST:
            return await self.broadcast(request, body, headers)
        for backend in self.candidates(request, body):
            try:
                return await self._send(backend, request, body, headers)
            except aiohttp.ClientConnectorError as exc:
                # Nothing reached this backend: try the next one.
                backend.mark(False, exc.__class__.__name__)
                continue
            except asyncio.TimeoutError:
                logger.error("%s %s: backend %s timed out", request.method, request.path,
                             backend.url)
                return web.Response(status=504, text="backend timed out")
            except aiohttp.ClientError as exc:
                # The request may have reached the backend: repeating it could act twice.
                logger.error("%s %s: backend %s failed: %s", request.method, request.path,
                             backend.url, exc.__class__.__name__)
                return web.Response(status=502, text="backend failed")
        logger.error("%s %s: no backend reachable", request.method, request.path)
        return web.Response(status=503, text="no backend reachable")

    async def _send(self, backend: Backend, request: web.Request, body: bytes,
                    headers: dict[str, str]) -> web.Response:
        """The request as received, sent to ``backend``; its answer without hop headers."""
        assert self._session is not None
        async with self._session.request(
            request.method, backend.url + request.raw_path, data=body,
            headers=headers, timeout=self.timeout, allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            reply_headers = {k: v for k, v in upstream.headers.items()
                             if k.lower() not in HOP_HEADERS}
            return web.Response(body=payload, status=upstream.status, headers=reply_headers)

    async def broadcast(self, request: web.Request, body: bytes,
                        headers: dict[str, str]) -> web.Response:
        """Send the request to every backend in turn; the first answer when all succeed."""
        answers: list[web.Response] = []
        outcome: dict[str, int | str] = {}
        for backend in self.backends:
            try:
                answer = await self._send(backend, request, body, headers)
                answers.append(answer)
                outcome[backend.url] = answer.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                outcome[backend.url] = exc.__class__.__name__
        failed = {url: status for url, status in outcome.items()
                  if not isinstance(status, int) or status >= 300}
        logger.info("%s %s sent to %d backend(s): %s", request.method, request.path,
                    len(self.backends), ", ".join(f"{url} {status}"
                                                 for url, status in outcome.items()))
        if failed:
            return web.json_response({"error": "not every backend succeeded",
                                      "backends": outcome}, status=502)
        return answers[0]


def parse_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def backend_urls(values: Sequence[str]) -> list[str]:
    urls = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item:
                urls.append(item if "://" in item else f"http://{item}")
    return urls


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    parser.add_argument("--backends", action="append", required=True,
                        help="comma-separated HOST:PORT or URLs (repeatable)")
    parser.add_argument("--health-path", default="/", help="GET path probed on each backend")
    parser.add_argument("--affinity", choices=("none", "whatsapp"), default="none")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    parser.add_argument("--health-interval", type=float, default=2.0)
    parser.add_argument("--name", default="router", help="name in the log lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s %(levelname)s {args.name}: %(message)s")
    router = Router(backend_urls(args.backends), args.health_path, args.affinity,
                    args.timeout, args.health_interval)
    host, port = parse_listen(args.listen)
    logger.info("listening on %s:%d, backends %s (affinity %s)", host, port,
                ", ".join(b.url for b in router.backends), args.affinity)
    web.run_app(router.app(), host=host, port=port, access_log=None, print=None,
                shutdown_timeout=10.0, handle_signals=True, loop=new_event_loop())


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The uvloop event loop when installed (it is, with Sanic, on Linux), else asyncio's.

    A router spends most of its CPU in the event loop's socket handling.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()

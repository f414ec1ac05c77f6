"""The staff console's Starlette application: ``create_app(settings)``.

The console is server-rendered (Jinja2 templates in ``law_console/templates``, one stylesheet
and a few lines of vanilla JavaScript in ``law_console/static``) on the same booking core,
store and migrations as the assistant (``antrean.bootstrap.build_service``).

Writing a page module
---------------------
A page module (e.g. ``law_console/today.py``) is listed in ``PAGE_MODULES`` and exposes:

- ``routes``: a list of Starlette routes (``starlette.routing.Route``), each endpoint
  wrapped by ``law_console.auth.page(role)``;
- ``nav`` (optional): a list of ``law_console.state.NavItem`` for the navigation bar, each
  shown to the roles that include its ``role``.

A handler takes a ``law_console.auth.Page`` and returns a Starlette ``Response``::

    from starlette.routing import Route
    from antrean.staff.users import Role
    from law_console.auth import Page, page
    from law_console.state import NavItem

    @page(Role.LOKET)
    def inbox(p: Page) -> Response:            # a plain def runs in a worker thread
        items = ...  # p.service is the BookingService; p.service.store.transaction()
        return p.render("handoff.html", title="Permintaan petugas", items=items)

    @page(Role.LOKET)
    def reply(p: Page) -> Response:            # a POST: CSRF already checked
        text = p.field("pesan")                  # form fields, stripped
        p.audit("handoff.balas", target=masked_number, before=None, after="dikirim")
        return p.redirect("/permintaan", "Balasan terkirim.")   # 303 + one-time message

    routes = [Route("/permintaan", inbox), Route("/permintaan/balas", reply, methods=["POST"])]
    nav = [NavItem("Permintaan petugas", "/permintaan", Role.LOKET, order=20)]

``async def`` handlers are awaited on the event loop instead (for an HTTP client such as the
WhatsApp Graph client); they must not call the synchronous store directly — use
``starlette.concurrency.run_in_threadpool`` — and that includes ``p.render``, ``p.redirect``
with a message and ``p.audit``, which read or write the session's one-time message or the
audit log: ``await run_in_threadpool(p.render, "x.html", title=…)``.

Helpers of ``Page``: ``p.user`` (``StaffUser``: ``id``, ``username``, ``display_name``),
``p.role`` / ``p.can(Role.SUPERVISOR)`` (e.g. to unmask a phone number), ``p.query(name)``
(query string), ``p.field(name)`` (POST form), ``p.render(template, **context)``,
``p.redirect(path, message, error=False)``, ``p.json(data)``, ``p.audit(action, target,
before, after)`` — every change is audited, with personal data masked as the page shows it.
A ``StaffError`` raised by a handler becomes an error page, or for a POST a red message on
the page its hidden field ``kembali`` names (default: the page the form was on).

Templates extend ``base.html`` (``{% extends "base.html" %}``, blocks ``title`` and
``content``); every POST form carries ``<input type="hidden" name="csrf" value="{{ csrf_token
}}">`` (a ``fetch`` sends the header ``X-CSRF-Token`` with the ``<meta name="csrf-token">``
of the layout). A page's own CSS goes in ``static/console.css``: the layout is mobile-first
and must work at 360 px and at 1280 px. The JSON a page polls goes through
``page(role, touch=False)`` so polling does not keep an idle session alive.

Page modules are imported when the app is built; a module listed in ``OPTIONAL_MODULES``
that is not there yet is skipped, so the console runs before every page exists.
"""
from __future__ import annotations

import importlib
import logging
import time
import traceback
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from antrean import metrics as antrean_metrics
from antrean.bootstrap import build_service
from antrean.indonesian import format_date
from antrean.service import BookingService
from antrean.settings import Settings
from law_console.accounts import Accounts, LockoutPolicy
from law_console.auth import error_page
from law_console.state import Console

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"

# The pages, in this order; each exposes ``routes`` (and optionally ``nav``).
PAGE_MODULES: tuple[str, ...] = (
    "law_console.login",
    "law_console.today",
    "law_console.schedule",
    "law_console.reports",
    "law_console.release",
    "law_console.audit_page",
    "law_console.users",
    "law_console.review",
)
# Pages built separately: included when present. The hand-off inbox and takeover.
OPTIONAL_MODULES: tuple[str, ...] = (
    "law_console.handoff",
)

# Sent with every response: no framing, no inline script, nothing cached that holds data.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def load_page_modules(names: Sequence[str] = PAGE_MODULES,
                      optional: Sequence[str] = OPTIONAL_MODULES) -> list[ModuleType]:
    modules = [importlib.import_module(name) for name in names]
    for name in optional:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # present but broken: say so
    return modules


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["format_date"] = format_date
    templates.env.globals["static_version"] = _static_version()
    return templates


def _static_version() -> str:
    """Changes when a static file changes, so browsers fetch the new one."""
    return str(max((int(p.stat().st_mtime) for p in STATIC.iterdir()), default=0))


def create_app(settings: Settings, *, service: BookingService | None = None,
               policy: LockoutPolicy | None = None,
               page_modules: Sequence[str] = PAGE_MODULES,
               optional_modules: Sequence[str] = OPTIONAL_MODULES) -> Starlette:
    """The console on the slot store ``settings`` name.

    Args:
        settings: LAW's settings (``Settings.from_env()``); the store is upgraded first
            unless ``settings.auto_migrate`` is off.
        service: A booking service to use instead of building one (tests); the app then
            leaves its store open when it stops.
        policy: The sign-in lock-out (default 5 failures in 15 minutes).
        page_modules: The pages to serve (default ``PAGE_MODULES``).
        optional_modules: Pages served when they can be imported.
    """
    own_service = service is None
    antrean_metrics.set_role("console")
    service = service or build_service(settings)
    console = Console(settings=settings, service=service,
                      accounts=Accounts(service, settings.console_session_minutes, policy),
                      templates=build_templates())
    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/sehat", health),
        Route("/metrics", metrics),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    for module in load_page_modules(page_modules, optional_modules):
        routes.extend(module.routes)
        console.nav.extend(getattr(module, "nav", []))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if own_service:
            service.store.dispose()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=_headers_and_log)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.console = console
    return app


async def home(_request: Request) -> Response:
    return RedirectResponse("/hari-ini", status_code=303)


async def health(_request: Request) -> Response:
    return Response("ok", media_type="text/plain")


async def metrics(_request: Request) -> Response:
    """Prometheus' text format of LAW's registry (internal, like every process's)."""
    body, content_type = antrean_metrics.render()
    return Response(body, media_type=content_type)


async def _headers_and_log(request: Request, call_next: RequestResponseEndpoint) -> Response:
    started = time.monotonic()
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.media_type is None or "text/html" in (response.media_type or ""):
        response.headers.setdefault("Cache-Control", "no-store")
    # The path only: query strings may carry a name someone searched for.
    log.info("%s %s %s %.0f ms", request.method, request.url.path, response.status_code,
             (time.monotonic() - started) * 1000)
    return response


_HTTP_ERRORS = {
    404: ("Halaman tidak ditemukan", "Alamat ini tidak ada di konsol petugas."),
    405: ("Tidak dapat diproses", "Halaman ini tidak menerima permintaan seperti itu."),
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title, message = _HTTP_ERRORS.get(exc.status_code, ("Tidak dapat diproses",
                                                         "Permintaan tidak dapat diproses."))
    return error_page(request, exc.status_code, title, message)


async def _server_error(request: Request, exc: Exception) -> Response:
    # No traceback to the browser. The log gets the error's class and where it happened,
    # not its message: a database error's message holds the values of its statement.
    where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
    log.error("%s %s failed: %s\n%s", request.method, request.url.path,
              exc.__class__.__name__, where)
    return error_page(request, 500, "Terjadi kesalahan",
                      "Permintaan ini gagal diproses. Periksa apakah perubahan Anda sudah "
                      "tersimpan, lalu coba lagi; bila terus terjadi, hubungi admin.")

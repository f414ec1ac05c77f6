"""Who is asking, and may they: the ``page`` decorator, CSRF, the audit log, responses.

Every handler of the console is wrapped by :func:`page`, which

1. finds the session of the request's cookie (else: a GET goes to the sign-in page and comes
   back afterwards; a POST or a JSON request gets 401);
2. checks the role (``Role.allows``; else a 403 page in Indonesian);
3. for a POST, reads the form and checks its CSRF token (field ``csrf``, or the header
   ``X-CSRF-Token`` for ``fetch``) against the session's in constant time (else 403);
4. calls the handler with a :class:`Page`: a plain ``def`` handler runs in a worker thread
   (the store is synchronous), an ``async def`` one on the event loop;
5. turns a ``StaffError`` (the staff tools' Indonesian refusals) into an error page, or for a
   POST into a red message on the page it came from (the form's ``kembali`` field, else the
   ``Referer``).

Responses the handler builds with ``Page.render`` get the template context every page
needs (user, navigation, CSRF token, the one-time message).
"""
from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from antrean.service import BookingService
from antrean.staff.common import StaffError
from antrean.staff.users import Role
from antrean.store.console_queries import ConsoleSession, StaffUser
from law_console.state import Console, NavItem

log = logging.getLogger(__name__)

SESSION_COOKIE = "law_sesi"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
FLASH_ERROR = "!"  # a stored one-time message starting with it is shown as an error


class Page:
    """What a handler gets: the request, its user and session, the form, and helpers.

    Attributes:
        request: Starlette's request (``path_params``, ``query_params``…).
        console: The shared objects (``law_console.state.Console``).
        session: The signed-in session; ``session.user`` is the account.
        form: The POST form's fields (strings; files are not accepted), empty for a GET.
    """

    def __init__(self, request: Request, console: Console, session: ConsoleSession,
                 form: Mapping[str, str]) -> None:
        self.request = request
        self.console = console
        self.session = session
        self.form = form
        self._flash_taken = False

    # --- who ---------------------------------------------------------------------------
    @property
    def user(self) -> StaffUser:
        return self.session.user

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    def can(self, role: Role) -> bool:
        """Whether the user's role includes ``role`` (e.g. to show full phone numbers)."""
        return self.role.allows(role)

    @property
    def service(self) -> BookingService:
        return self.console.service

    # --- input -------------------------------------------------------------------------
    def query(self, name: str, default: str = "") -> str:
        return without_nul(self.request.query_params.get(name, default)).strip()

    def field(self, name: str, default: str = "") -> str:
        return self.form.get(name, default).strip()

    # --- output ------------------------------------------------------------------------
    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """The template with ``context`` and what every page needs (see ``base.html``)."""
        return self.console.templates.TemplateResponse(
            self.request, template, {**self.base_context(), **context}, status_code=status_code)

    def base_context(self) -> dict[str, Any]:
        flash = None
        if not self._flash_taken and self.session.flash:
            self._flash_taken = True
            flash = self.session.flash
            self.console.accounts.set_flash(self.session.id, None)
        return {
            "user": self.user,
            "role": self.role,
            "nav": visible_nav(self.console.nav, self.role),
            "csrf_token": self.session.csrf_token,
            "flash": flash.removeprefix(FLASH_ERROR) if flash else None,
            "flash_error": bool(flash and flash.startswith(FLASH_ERROR)),
            "current_path": self.request.url.path,
        }

    def redirect(self, url: str, message: str | None = None, error: bool = False) -> Response:
        """303 to ``url`` (a path of the console), with a one-time message shown there."""
        if message:
            self.console.accounts.set_flash(self.session.id,
                                            (FLASH_ERROR if error else "") + message)
        return RedirectResponse(local_path(url), status_code=303)

    def json(self, data: Any, status_code: int = 200) -> JSONResponse:
        return JSONResponse(data, status_code=status_code, headers={"Cache-Control": "no-store"})

    # --- the audit log -----------------------------------------------------------------
    def audit(self, action: str, target: str, before: object = None, after: object = None
              ) -> None:
        """Write a change to the audit log.

        Who (this user), when (now), what, on what, and the value before and after (short
        text; None when there was none).
        """
        audit(self.console, self.user, action, target, before, after)


def audit(console: Console, user: StaffUser | None, action: str, target: str,
          before: object = None, after: object = None) -> None:
    """Write one entry of the audit log (see ``Page.audit``)."""
    with console.service.store.transaction() as tx:
        tx.console.add_audit(console.now(), user.id if user else None,
                             user.username if user else "-", action, target,
                             None if before is None else str(before),
                             None if after is None else str(after))


def visible_nav(nav: list[NavItem], role: Role) -> list[NavItem]:
    return sorted((item for item in nav if role.allows(item.role)), key=lambda i: i.order)


def local_path(url: str) -> str:
    """``url`` if it is a path of this site, else ``/`` (no open redirect)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return url


def is_https(request: Request) -> bool:
    """Whether the browser reached us over TLS (directly, or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    """An Indonesian error page that needs no session (``error.html``)."""
    return console_of(request).templates.TemplateResponse(
        request, "error.html", {"title": title, "message": message, "user": None, "nav": [],
                                "current_path": request.url.path},
        status_code=status_code)


CSRF_TITLE = "Permintaan ditolak"
CSRF_MESSAGE = ("Formulir ini tidak membawa token keamanan yang benar (mungkin halamannya sudah "
                "terlalu lama terbuka). Muat ulang halaman, lalu coba lagi.")


def csrf_refused(request: Request) -> Response:
    """403 for a form without the right CSRF token, before anyone is signed in."""
    if wants_json(request):
        return JSONResponse({"error": CSRF_MESSAGE}, status_code=403)
    return error_page(request, 403, CSRF_TITLE, CSRF_MESSAGE)


def tokens_match(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def without_nul(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL refuses in any text value."""
    return text.replace("\x00", "")


async def read_form(request: Request) -> dict[str, str]:
    """The form's text fields (files are not accepted), NUL characters removed."""
    form = await request.form()
    return {key: without_nul(value) for key, value in form.items() if isinstance(value, str)}


Handler = Callable[[Page], "Response | Awaitable[Response]"]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(role: Role, touch: bool = True) -> Callable[[Handler], Endpoint]:
    """Wrap a handler ``def handler(page: Page) -> Response`` as a Starlette endpoint.

    Args:
        role: The least role that may open it (``Role.LOKET``, ``SUPERVISOR``, ``ADMIN``).
        touch: Whether a request restarts the session's inactivity clock; off for what a
            page polls by itself.
    """

    def decorate(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            console = console_of(request)
            token = request.cookies.get(SESSION_COOKIE)
            session = None
            if token:
                session = await run_in_threadpool(console.accounts.session, token,
                                                  console.now(), touch)
            if session is None:
                return _not_signed_in(request)
            current = Page(request, console, session, {})
            if not current.role.allows(role):
                message = (f"Halaman ini hanya untuk {role.label.lower()} ke atas. Anda masuk "
                           f"sebagai {current.role.label.lower()}.")
                return await run_in_threadpool(_refusal_page, current, 403, "Tidak diizinkan",
                                               message)
            if request.method == "POST":
                current.form = await read_form(request)
                given = current.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
                if not tokens_match(given, session.csrf_token):
                    log.warning("POST %s refused: missing or wrong CSRF token", request.url.path)
                    return await run_in_threadpool(_refusal_page, current, 403, CSRF_TITLE,
                                                   CSRF_MESSAGE)
            try:
                if asyncio.iscoroutinefunction(handler):
                    return await handler(current)
                return await run_in_threadpool(handler, current)  # type: ignore[arg-type]
            except StaffError as problem:
                return await run_in_threadpool(_refused, current, problem)

        return endpoint

    return decorate


def _refusal_page(current: Page, status_code: int, title: str, message: str) -> Response:
    if wants_json(current.request):
        return JSONResponse({"error": message}, status_code=status_code)
    return current.render("error.html", status_code=status_code, title=title, message=message)


def _refused(current: Page, problem: StaffError) -> Response:
    request = current.request
    if wants_json(request):
        return JSONResponse({"error": problem.message}, status_code=400)
    if request.method == "POST":
        back = current.form.get("kembali") or _referring_page(request)
        return current.redirect(back, problem.message, error=True)
    return current.render("error.html", status_code=400, title="Tidak dapat diproses",
                          message=problem.message)


def _referring_page(request: Request) -> str:
    """The page of this site the form was on (``Referer``), else the home page."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/"):
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")


def _not_signed_in(request: Request) -> Response:
    if wants_json(request):
        return JSONResponse({"error": "Sesi berakhir; silakan masuk lagi."}, status_code=401)
    if request.method != "GET":
        return error_page(request, 401, "Sesi berakhir",
                          "Anda belum masuk atau sesi Anda sudah berakhir; perubahan ini tidak "
                          "disimpan. Silakan masuk lagi.")
    return RedirectResponse(f"/masuk?lanjut={quote(request.url.path)}", status_code=303)

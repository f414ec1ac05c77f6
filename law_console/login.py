"""Signing in (``/masuk``) and out (``/keluar``).

The sign-in form has no session yet, so its CSRF token is a double-submit one: a random
value in a cookie of its own and in the form, which must agree. A sign-in sets the session
cookie: HttpOnly, SameSite=Lax, and Secure when the browser came over https (directly or
through a proxy's ``X-Forwarded-Proto``). Locked names get the time they are free again.
"""
from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antrean.staff.users import Role
from law_console.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Page,
    console_of,
    csrf_refused,
    is_https,
    local_path,
    page,
    read_form,
    tokens_match,
)

LOGIN_CSRF_COOKIE = "law_csrf_masuk"


def _login_form(request: Request, status_code: int = 200, error: str | None = None,
                username: str = "") -> Response:
    console = console_of(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = console.templates.TemplateResponse(
        request, "login.html",
        {"title": "Masuk", "user": None, "nav": [], "csrf_token": token, "error": error,
         "username": username, "lanjut": local_path(request.query_params.get("lanjut", "/")),
         "current_path": request.url.path},
        status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=is_https(request), path="/masuk")
    return response


async def login_page(request: Request) -> Response:
    return _login_form(request)


async def login(request: Request) -> Response:
    console = console_of(request)
    form = await read_form(request)
    if not tokens_match(form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return csrf_refused(request)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if not username or not password:
        return _login_form(request, 400, "Isi nama pengguna dan kata sandi.", username)
    now = console.now()
    outcome = await run_in_threadpool(console.accounts.sign_in, username, password, now)
    if outcome.token is None:
        if outcome.locked_until is not None:
            local = outcome.locked_until.astimezone(console.service.tz)
            minutes = max(1, round((outcome.locked_until - now).total_seconds() / 60))
            message = (f"Terlalu banyak percobaan masuk yang gagal untuk nama pengguna ini. "
                       f"Coba lagi setelah pukul {local:%H.%M} (sekitar {minutes} menit lagi).")
            return _login_form(request, 429, message, username)
        return _login_form(request, 401, "Nama pengguna atau kata sandi salah.", username)
    response = RedirectResponse(local_path(form.get("lanjut") or "/"), status_code=303)
    response.set_cookie(SESSION_COOKIE, outcome.token, httponly=True, samesite="lax",
                        secure=is_https(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/masuk")
    return response


@page(Role.LOKET, touch=False)
def logout(p: Page) -> Response:
    p.console.accounts.sign_out(p.session.id)
    response = RedirectResponse("/masuk", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/masuk", login_page, methods=["GET"]),
    Route("/masuk", login, methods=["POST"]),
    Route("/keluar", logout, methods=["POST"]),
]

""""Pengguna" (admin): the console's accounts — add, change role, deactivate, new password.

Also "Ganti kata sandi" (``/sandi``, every role): a member of staff changes their own
password, e.g. the one an admin set for them; their other sessions end.

The rules and the audit entries are those of ``antrean.staff.users`` (shared with ``antrean
pengguna tambah``): user names of lower-case letters and digits, passwords of at least
``MIN_PASSWORD_CHARS`` characters hashed with argon2, nobody deactivates themselves, the last
active admin stays an active admin. A deactivated account, or one whose password was reset,
is signed out everywhere.
"""
from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from antrean.staff.common import StaffError
from antrean.staff.users import (
    MIN_PASSWORD_CHARS,
    ROLE_LABELS,
    Actor,
    Role,
    add_user,
    change_own_password,
    change_role,
    parse_role,
    reset_password,
    set_active,
)
from law_console.auth import Page, page
from law_console.state import NavItem


def _actor(p: Page) -> Actor:
    return Actor(p.user.id, p.user.username)


def _user_id(p: Page) -> int:
    raw = str(p.request.path_params["id"])
    if not raw.isdigit() or int(raw) >= 2**31:  # an INTEGER column on every backend
        raise StaffError("Pengguna itu tidak ada.")
    return int(raw)


def _passwords(p: Page) -> str:
    password = p.form.get("sandi", "")
    if password != p.form.get("sandi2", ""):
        raise StaffError("Kedua kata sandi tidak sama.", 2)
    return password


@page(Role.ADMIN)
def users_page(p: Page) -> Response:
    with p.service.store.transaction() as tx:
        users = tx.console.users()
    tz = p.service.tz
    return p.render("users.html", title="Pengguna", users=users, roles=list(ROLE_LABELS.items()),
                    role_labels={r.value: label for r, label in ROLE_LABELS.items()},
                    created={u.id: f"{u.created_at.astimezone(tz):%d-%m-%Y}" for u in users},
                    min_chars=MIN_PASSWORD_CHARS)


@page(Role.ADMIN)
def add(p: Page) -> Response:
    user = add_user(p.service, _actor(p), p.field("username"), p.field("nama"),
                    parse_role(p.field("peran")), _passwords(p))
    return p.redirect("/pengguna", f"Pengguna {user.username} ({Role(user.role).label}) dibuat.")


@page(Role.ADMIN)
def role(p: Page) -> Response:
    user = change_role(p.service, _actor(p), _user_id(p), parse_role(p.field("peran")))
    return p.redirect("/pengguna", f"Peran {user.username} kini {Role(user.role).label}.")


@page(Role.ADMIN)
def status(p: Page) -> Response:
    active = p.field("aktif") == "ya"
    user = set_active(p.service, _actor(p), _user_id(p), active)
    state = "diaktifkan" if active else "dinonaktifkan (keluar dari semua sesi)"
    return p.redirect("/pengguna", f"{user.username} {state}.")


@page(Role.ADMIN)
def password(p: Page) -> Response:
    user = reset_password(p.service, _actor(p), _user_id(p), _passwords(p))
    return p.redirect("/pengguna", f"Kata sandi baru untuk {user.username} diatur; sesi "
                                   "lamanya berakhir.")


@page(Role.LOKET)
def own_password_page(p: Page) -> Response:
    return p.render("password.html", title="Ganti kata sandi", min_chars=MIN_PASSWORD_CHARS)


@page(Role.LOKET)
def own_password(p: Page) -> Response:
    change_own_password(p.service, _actor(p), p.form.get("sandi_lama", ""), _passwords(p),
                        keep_session=p.session.id)
    return p.redirect("/hari-ini", "Kata sandi Anda sudah diganti; sesi Anda di perangkat lain "
                                   "berakhir.")


nav = [NavItem("Pengguna", "/pengguna", Role.ADMIN, order=70)]
routes = [
    Route("/pengguna", users_page, methods=["GET"]),
    Route("/pengguna/tambah", add, methods=["POST"]),
    Route("/pengguna/{id}/peran", role, methods=["POST"]),
    Route("/pengguna/{id}/status", status, methods=["POST"]),
    Route("/pengguna/{id}/sandi", password, methods=["POST"]),
    Route("/sandi", own_password_page, methods=["GET"]),
    Route("/sandi", own_password, methods=["POST"]),
]

"""Staff console accounts: roles, passwords, and the command that makes the first admin.

Command: ``pengguna tambah USERNAME --peran admin`` creates an account (the password is asked
twice at a prompt, or read from the standard input with ``--sandi-stdin``); ``pengguna sandi
USERNAME`` sets a new password (an admin who forgot theirs); ``pengguna daftar`` lists the
accounts. Every other account is managed by an admin in the console
(``law_console/users.py``), with the functions here. Passwords are hashed with argon2id;
only the hash is stored. Every account made is written to the audit
log.

Roles are ordered: a supervisor may do everything the counter (``loket``) may, an admin
everything a supervisor may.
"""
from __future__ import annotations

import argparse
import datetime as dt
import enum
import functools
import getpass
import os
import re
import sys
from dataclasses import dataclass, replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from antrean.service import BookingService
from antrean.staff.common import StaffContext, StaffError, render_table, with_context
from antrean.store.console_queries import ConsoleQueries, StaffUser

MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 50 ms a check
# on one core, so a sign-in stays quick on a shared office server while a stolen hash costs
# an attacker as much per guess. A hash keeps its parameters: older ones still verify.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Role(str, enum.Enum):
    """What an account may do in the console, from least to most."""

    LOKET = "loket"  # the counter: today's bookings, arrivals
    SUPERVISOR = "supervisor"  # + calendar, capacity, reports, NIK release, audit log
    ADMIN = "admin"  # + accounts

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.LOKET: "Petugas loket", Role.SUPERVISOR: "Supervisor", Role.ADMIN: "Admin"}


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log names them."""

    user_id: int | None
    username: str


def _now() -> dt.datetime:
    """Accounts and the audit log keep real time, never the office clock a demo may fix."""
    return dt.datetime.now(dt.timezone.utc)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user name is unknown, so that both answers take as long."""
    return _hasher.hash("law-console-no-such-user")


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one hashed.

    An unknown account (None) never matches, and costs the same time.
    """
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def normalise_username(raw: str) -> str:
    return raw.strip().lower()


def check_username(raw: str) -> str:
    username = normalise_username(raw)
    if not USERNAME.match(username):
        raise StaffError("Nama pengguna 2–32 karakter: huruf kecil, angka, titik, garis bawah "
                         "atau tanda hubung, diawali huruf atau angka.", 2)
    return username


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise StaffError(f"Kata sandi minimal {MIN_PASSWORD_CHARS} karakter.", 2)
    if password.strip() != password:
        raise StaffError("Kata sandi tidak boleh diawali atau diakhiri spasi.", 2)


def parse_role(raw: str) -> Role:
    try:
        return Role(raw.strip().lower())
    except ValueError:
        raise StaffError("Peran harus salah satu dari: loket, supervisor, admin.", 2) from None


def add_user(service: BookingService, actor: Actor, username: str, display_name: str,
             role: Role, password: str) -> StaffUser:
    """Create an active account (audited); refused when the name is taken or not allowed."""
    username = check_username(username)
    check_password(password)
    display_name = " ".join(display_name.split())[:128] or username
    now = _now()
    with service.store.transaction() as tx:
        user = tx.console.add_user(username, display_name, role.value, hash_password(password),
                                   now)
        if user is None:
            raise StaffError(f"Nama pengguna {username} sudah dipakai.")
        tx.console.add_audit(now, actor.user_id, actor.username, "pengguna.tambah", username,
                             None, f"{display_name}, peran {role.value}")
    return user


def _account(tx_console: ConsoleQueries, user_id: int) -> StaffUser:
    user = tx_console.user_by_id(user_id)
    if user is None:
        raise StaffError("Pengguna itu tidak ada.")
    return user


def _keep_an_admin(tx_console: ConsoleQueries, user: StaffUser) -> None:
    if user.role == Role.ADMIN.value and user.active and tx_console.count_active(
            Role.ADMIN.value) <= 1:
        raise StaffError(f"{user.username} adalah satu-satunya admin aktif; angkat admin lain "
                         "dulu.")


def change_role(service: BookingService, actor: Actor, user_id: int, role: Role) -> StaffUser:
    """Give an account another role (audited); the last active admin keeps theirs."""
    now = _now()
    with service.store.transaction() as tx:
        user = _account(tx.console, user_id)
        if user.role == role.value:
            return user
        if role is not Role.ADMIN:
            _keep_an_admin(tx.console, user)
        tx.console.update_user(user_id, now, role=role.value)
        tx.console.add_audit(now, actor.user_id, actor.username, "pengguna.peran", user.username,
                             user.role, role.value)
    return replace(user, role=role.value)


def set_active(service: BookingService, actor: Actor, user_id: int, active: bool) -> StaffUser:
    """Deactivate (signed out everywhere) or reactivate an account (audited).

    Nobody deactivates their own account, and the last active admin stays.
    """
    now = _now()
    with service.store.transaction() as tx:
        user = _account(tx.console, user_id)
        if user.active == active:
            return user
        if not active:
            if user.id == actor.user_id:
                raise StaffError("Anda tidak dapat menonaktifkan akun Anda sendiri.")
            _keep_an_admin(tx.console, user)
            tx.console.delete_sessions_of(user_id)
        tx.console.update_user(user_id, now, active=active)
        tx.console.add_audit(now, actor.user_id, actor.username, "pengguna.status", user.username,
                             "aktif" if user.active else "nonaktif",
                             "aktif" if active else "nonaktif")
    return replace(user, active=active)


def reset_password(service: BookingService, actor: Actor, user_id: int, password: str
                   ) -> StaffUser:
    """Set a new password (audited, the password itself never); its sessions end."""
    check_password(password)
    hashed = hash_password(password)
    now = _now()
    with service.store.transaction() as tx:
        user = _account(tx.console, user_id)
        tx.console.update_user(user_id, now, password_hash=hashed)
        tx.console.delete_sessions_of(user_id)
        tx.console.add_audit(now, actor.user_id, actor.username, "pengguna.sandi", user.username,
                             None, "sandi baru diatur")
    return user


def change_own_password(service: BookingService, actor: Actor, current: str, new: str,
                        keep_session: int | None = None) -> None:
    """A member of staff changes their own password (audited); their other sessions end."""
    if actor.user_id is None:
        raise StaffError("Hanya akun konsol yang dapat mengganti kata sandinya.")
    if new == current:
        raise StaffError("Kata sandi baru harus berbeda dari yang lama.", 2)
    check_password(new)
    with service.store.transaction() as tx:
        user = _account(tx.console, actor.user_id)
    if not password_matches(user.password_hash, current):
        raise StaffError("Kata sandi lama salah.", 2)
    hashed = hash_password(new)
    now = _now()
    with service.store.transaction() as tx:
        tx.console.update_user(user.id, now, password_hash=hashed)
        tx.console.delete_sessions_of(user.id, keep=keep_session)
        tx.console.add_audit(now, actor.user_id, actor.username, "pengguna.sandi", user.username,
                             None, "sandi diganti sendiri")


# --- the command ----------------------------------------------------------------------
def _cli_actor() -> Actor:
    """The system user running the command, as the audit log names them."""
    return Actor(None, f"cli:{os.environ.get('USER') or 'petugas'}")


def _read_password(args: argparse.Namespace) -> str:
    if args.sandi_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Kata sandi: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise StaffError("Kedua kata sandi tidak sama; tidak ada yang dibuat.", 2)
    return first


@with_context
def run_add(ctx: StaffContext, args: argparse.Namespace) -> int:
    username = check_username(args.username)
    role = parse_role(args.peran)
    password = _read_password(args)
    check_password(password)
    user = add_user(ctx.service, _cli_actor(), username, args.nama or username, role, password)
    print(f"Pengguna {user.username} ({Role(user.role).label}) dibuat. Masuk ke konsol petugas "
          "dengan nama pengguna dan kata sandi ini.")
    return 0


@with_context
def run_password(ctx: StaffContext, args: argparse.Namespace) -> int:
    username = normalise_username(args.username)
    with ctx.service.store.transaction() as tx:
        user = tx.console.user_by_name(username)
    if user is None:
        raise StaffError(f"Pengguna {username} tidak ada.")
    password = _read_password(args)
    reset_password(ctx.service, _cli_actor(), user.id, password)
    print(f"Kata sandi baru untuk {user.username} diatur; sesi lamanya berakhir."
          + ("" if user.active else " Akun ini nonaktif: aktifkan di halaman Pengguna."))
    return 0


@with_context
def run_list(ctx: StaffContext, args: argparse.Namespace) -> int:
    with ctx.service.store.transaction() as tx:
        users = tx.console.users()
    if not users:
        print("Belum ada pengguna konsol. Buat admin pertama: "
              "antrean pengguna tambah NAMA --peran admin")
        return 0
    rows = [[u.username, u.display_name, Role(u.role).label, "aktif" if u.active else "nonaktif"]
            for u in users]
    print(render_table(["Nama pengguna", "Nama", "Peran", "Status"], rows))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pengguna", help="akun konsol petugas (admin pertama, daftar akun)",
        description="Akun konsol petugas (web). Admin pertama dibuat di sini; akun lain "
        "dikelola admin di halaman Pengguna pada konsol.")
    actions = p.add_subparsers(dest="pengguna_command", metavar="AKSI")
    p.set_defaults(handler=lambda _args: p.print_help() or 2)

    add = actions.add_parser(
        "tambah", help="buat akun baru",
        description="Membuat akun konsol. Kata sandi ditanyakan dua kali (tidak tampil di "
        f"layar), minimal {MIN_PASSWORD_CHARS} karakter; dengan --sandi-stdin dibaca dari "
        "masukan standar (satu baris).")
    add.add_argument("username", metavar="NAMA_PENGGUNA",
                     help="nama pengguna, mis. budi (huruf kecil, angka, . _ -)")
    add.add_argument("--peran", required=True, help="loket, supervisor atau admin")
    add.add_argument("--nama", help="nama yang ditampilkan (default: nama pengguna)")
    add.add_argument("--sandi-stdin", action="store_true",
                     help="baca kata sandi dari masukan standar, bukan dari prompt")
    add.set_defaults(handler=run_add)

    password = actions.add_parser(
        "sandi", help="atur kata sandi baru sebuah akun (mis. admin yang lupa sandi)",
        description="Mengatur kata sandi baru untuk akun konsol; semua sesinya berakhir. Untuk "
        "admin yang lupa kata sandinya; akun lain cukup diatur ulang admin di konsol.")
    password.add_argument("username", metavar="NAMA_PENGGUNA", help="nama pengguna")
    password.add_argument("--sandi-stdin", action="store_true",
                          help="baca kata sandi dari masukan standar, bukan dari prompt")
    password.set_defaults(handler=run_password)

    listing = actions.add_parser("daftar", help="daftar akun konsol",
                                 description="Menampilkan semua akun konsol dan perannya.")
    listing.set_defaults(handler=run_list)

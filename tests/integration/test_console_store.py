"""The staff console's store: migration 0008, its queries, and taking a capacity override off,
on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import io
from argparse import Namespace
from typing import Iterator

import pytest
from alembic import command

from antrean import calendar
from antrean.cli import main
from antrean.staff.common import StaffContext, StaffError
from antrean.staff.users import Actor, Role, add_user, change_role, password_matches, set_active
from antrean.store.engine import migrate
from law_console.accounts import Accounts
from tests.conftest import fresh_postgres_database
from tests.integration.test_migrations import alembic_config, head, tables_of, version_of

CONSOLE_TABLES = {"staff_users", "console_sessions", "login_attempts", "audit_log", "takeovers"}
FRIDAY = dt.date(2026, 12, 4)
T = dt.time
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
CLI = Actor(None, "cli:test")


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path, postgres_admin_url) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'law.db'}"
        return
    with fresh_postgres_database(postgres_admin_url, "law_console_migration") as url:
        yield url


def test_0008_creates_the_console_tables_and_goes_back_down(empty_url):
    command.upgrade(alembic_config(empty_url), "0007")
    assert not CONSOLE_TABLES & tables_of(empty_url)
    migrate(empty_url)
    assert version_of(empty_url) == head()
    assert CONSOLE_TABLES <= tables_of(empty_url)
    command.downgrade(alembic_config(empty_url), "0007")
    assert not CONSOLE_TABLES & tables_of(empty_url)
    assert "bookings" in tables_of(empty_url)
    migrate(empty_url)
    assert CONSOLE_TABLES <= tables_of(empty_url)


def test_accounts_are_unique_hashed_and_audited(service):
    user = add_user(service, CLI, " Budi ", "Budi Santoso", Role.LOKET, "sandi-yang-panjang")
    assert user.username == "budi" and user.password_hash.startswith("$argon2id$")
    assert password_matches(user.password_hash, "sandi-yang-panjang")
    assert not password_matches(user.password_hash, "sandi-yang-lain!")
    assert not password_matches(None, "sandi-yang-panjang")
    with pytest.raises(StaffError, match="sudah dipakai"):
        add_user(service, CLI, "BUDI", "Budi Lain", Role.ADMIN, "sandi-yang-panjang")
    with pytest.raises(StaffError, match="minimal 10"):
        add_user(service, CLI, "ani", "Ani", Role.LOKET, "pendek")
    with pytest.raises(StaffError, match="Nama pengguna"):
        add_user(service, CLI, "a b", "A B", Role.LOKET, "sandi-yang-panjang")
    with service.store.transaction() as tx:
        assert [u.username for u in tx.console.users()] == ["budi"]
        entries, total = tx.console.audit_entries(10)
    assert total == 1 and (entries[0].username, entries[0].action, entries[0].target) == (
        "cli:test", "pengguna.tambah", "budi")


def test_the_last_active_admin_stays_one(service):
    first = add_user(service, CLI, "kepala", "Kepala", Role.ADMIN, "sandi-yang-panjang")
    me = Actor(first.id, first.username)
    with pytest.raises(StaffError, match="satu-satunya admin"):
        change_role(service, me, first.id, Role.SUPERVISOR)
    with pytest.raises(StaffError, match="sendiri"):
        set_active(service, me, first.id, False)
    second = add_user(service, me, "wakil", "Wakil", Role.ADMIN, "sandi-yang-panjang")
    assert change_role(service, me, first.id, Role.SUPERVISOR).role == "supervisor"
    with pytest.raises(StaffError, match="satu-satunya admin"):
        set_active(service, Actor(first.id, "kepala"), second.id, False)


def test_sessions_and_failed_sign_ins(service):
    user = add_user(service, CLI, "budi", "Budi", Role.LOKET, "sandi-yang-panjang")
    with service.store.transaction() as tx:
        tx.console.add_session("h" * 64, user.id, "csrf", NOW, NOW + dt.timedelta(hours=8))
        found = tx.console.session_by_token_hash("h" * 64)
        assert found is not None and found.user.username == "budi" and found.csrf_token == "csrf"
        tx.console.set_flash(found.id, "Tersimpan.")
        assert tx.console.session_by_token_hash("h" * 64).flash == "Tersimpan."
        # An expired session is cleared when the next one starts.
        later = NOW + dt.timedelta(hours=9)
        tx.console.add_session("k" * 64, user.id, "csrf2", later, later + dt.timedelta(hours=8))
        assert tx.console.session_by_token_hash("h" * 64) is None
        assert tx.console.delete_sessions_of(user.id) == 1

        for minute in range(3):
            tx.console.add_login_attempt("budi", False, NOW + dt.timedelta(minutes=minute),
                                         NOW - dt.timedelta(days=1))
        assert len(tx.console.failures_since("budi", NOW - dt.timedelta(minutes=15))) == 3
        assert tx.console.failures_since("ani", NOW - dt.timedelta(minutes=15)) == []
        # A success wipes the slate; older attempts are forgotten as new ones come.
        tx.console.add_login_attempt("budi", True, NOW + dt.timedelta(minutes=4),
                                     NOW - dt.timedelta(days=1))
        assert tx.console.failures_since("budi", NOW - dt.timedelta(minutes=15)) == []
        tx.console.add_login_attempt("budi", False, NOW + dt.timedelta(days=2),
                                     NOW + dt.timedelta(days=1))
        assert len(tx.console.failures_since("budi", NOW - dt.timedelta(days=9))) == 1


def _capacity(service, time: dt.time) -> int:  # noqa: ANN001
    with service.store.transaction() as tx:
        overrides = tx.capacity_overrides(FRIDAY, FRIDAY)
    return calendar.capacity_of(service.config, FRIDAY, time, overrides)


def test_a_capacity_override_can_be_taken_back_off(service):
    default = service.config.schedule.slot_capacity
    service.set_capacity(FRIDAY, None, 10)
    service.set_capacity(FRIDAY, T(9), 3)
    assert (_capacity(service, T(9)), _capacity(service, T(10))) == (3, 10)

    assert service.clear_capacity(FRIDAY, T(9)) == 3
    assert (_capacity(service, T(9)), _capacity(service, T(10))) == (10, 10)
    assert service.clear_capacity(FRIDAY, T(9)) is None  # nothing left to remove
    assert service.clear_capacity(FRIDAY, None) == 10
    assert (_capacity(service, T(9)), _capacity(service, T(10))) == (default, default)
    assert service.clear_capacity(FRIDAY, None) is None
    with pytest.raises(ValueError):
        service.clear_capacity(FRIDAY, T(9, 15))


def test_removing_a_slot_override_keeps_the_date_wide_one_and_other_dates(service):
    monday = FRIDAY + dt.timedelta(days=3)
    service.set_capacity(FRIDAY, None, 10)
    service.set_capacity(monday, T(9), 4)
    assert service.clear_capacity(FRIDAY, T(9)) is None  # FRIDAY has no slot override
    assert _capacity(service, T(9)) == 10
    assert service.clear_capacity(monday, None) is None
    with service.store.transaction() as tx:
        assert tx.capacity_overrides(monday, monday) == {(monday, T(9)): 4}


def test_the_first_admin_from_the_command(database_url, monkeypatch, capsys):
    monkeypatch.setenv("LAW_DATABASE_URL", database_url)
    monkeypatch.setenv("LAW_AUTO_MIGRATE", "0")
    monkeypatch.setattr("sys.stdin", io.StringIO("sandi-admin-pertama\n"))
    assert main(["pengguna", "tambah", "Kepala", "--peran", "admin", "--nama", "Kepala Kantor",
                 "--sandi-stdin"]) == 0
    assert "Pengguna kepala (Admin) dibuat" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("pendek\n"))
    assert main(["pengguna", "tambah", "wakil", "--peran", "admin", "--sandi-stdin"]) == 2
    assert "minimal 10" in capsys.readouterr().err
    assert main(["pengguna", "tambah", "wakil", "--peran", "raja", "--sandi-stdin"]) == 2
    assert main(["pengguna", "daftar"]) == 0
    listing = capsys.readouterr().out
    assert "kepala" in listing and "Kepala Kantor" in listing and "wakil" not in listing
    # An admin who forgot the password gets a new one from the server's command line.
    monkeypatch.setattr("sys.stdin", io.StringIO("sandi-admin-kedua\n"))
    assert main(["pengguna", "sandi", "kepala", "--sandi-stdin"]) == 0
    assert "Kata sandi baru untuk kepala" in capsys.readouterr().out
    assert main(["pengguna", "sandi", "siapa", "--sandi-stdin"]) == 1
    ctx = StaffContext.from_args(Namespace(db=database_url, config=None, tracker=None))
    try:
        with ctx.service.store.transaction() as tx:
            user = tx.console.user_by_name("kepala")
            entries, _ = tx.console.audit_entries(5, action="pengguna.sandi")
        assert user is not None and password_matches(user.password_hash, "sandi-admin-kedua")
        assert entries[0].username.startswith("cli:") and entries[0].target == "kepala"
    finally:
        ctx.close()


def test_a_session_ends_after_its_minutes_without_a_request(service):
    add_user(service, CLI, "budi", "Budi", Role.LOKET, "sandi-yang-panjang")
    accounts = Accounts(service, session_minutes=30)
    signed_in = accounts.sign_in("Budi", "sandi-yang-panjang", NOW)
    assert signed_in.token and signed_in.user and signed_in.user.username == "budi"
    # Each request restarts the clock; a poll of the page does not.
    assert accounts.session(signed_in.token, NOW + dt.timedelta(minutes=29)) is not None
    assert accounts.session(signed_in.token, NOW + dt.timedelta(minutes=58), touch=False)
    assert accounts.session(signed_in.token, NOW + dt.timedelta(minutes=60)) is None
    assert accounts.session(signed_in.token, NOW + dt.timedelta(minutes=1)) is None  # deleted
    assert accounts.session("not-a-token", NOW) is None


def test_five_failures_lock_a_name_for_fifteen_minutes(service):
    add_user(service, CLI, "budi", "Budi", Role.LOKET, "sandi-yang-panjang")
    accounts = Accounts(service, session_minutes=30)
    for minute in range(4):
        failed = accounts.sign_in("budi", "salah-salah-salah", NOW + dt.timedelta(minutes=minute))
        assert failed.token is None and failed.locked_until is None
    fifth = NOW + dt.timedelta(minutes=4)
    locked = accounts.sign_in("budi", "salah-salah-salah", fifth)
    assert locked.locked_until == fifth + dt.timedelta(minutes=15)
    # The right password does not help while locked, and is not counted.
    still = accounts.sign_in("budi", "sandi-yang-panjang", fifth + dt.timedelta(minutes=14))
    assert still.token is None and still.locked_until == locked.locked_until
    free = accounts.sign_in("budi", "sandi-yang-panjang", fifth + dt.timedelta(minutes=15))
    assert free.token is not None
    # Unknown names are counted the same way (the answer never says a name exists).
    for minute in range(5):
        nobody = accounts.sign_in("siapa", "sandi-yang-panjang", NOW + dt.timedelta(minutes=minute))
    assert nobody.locked_until is not None

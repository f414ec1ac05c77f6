"""Queries of the staff console, inside one transaction of the slot store.

Reached through ``StoreSession.console``: staff accounts, console sessions (kept as a hash of
their token), sign-in attempts (for the lock-out) and the audit log. The rules around them —
roles, password hashing, how long a session lasts, when a name is locked — are the callers'
(``antrean/staff/users.py``, ``law_console/accounts.py``); here are only rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from antrean.store.tables import audit_log, console_sessions, login_attempts, staff_users


@dataclass(frozen=True)
class StaffUser:
    """A console account (``password_hash`` is argon2's encoded string)."""

    id: int
    username: str
    display_name: str
    role: str  # "loket", "supervisor" or "admin" (antrean.staff.users.Role)
    password_hash: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser, with the account it belongs to."""

    id: int
    user: StaffUser
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    flash: str | None


@dataclass(frozen=True)
class AuditEntry:
    """One change: who made it, when, what, on what, and the value before and after."""

    id: int
    at: dt.datetime
    user_id: int | None
    username: str
    action: str
    target: str
    before: str | None
    after: str | None


class ConsoleQueries:
    """Operations on an open transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- accounts ----------------------------------------------------------------------
    def add_user(self, username: str, display_name: str, role: str, password_hash: str,
                 now: dt.datetime) -> StaffUser | None:
        """A new active account; None when the user name is taken."""
        try:
            with self.conn.begin_nested():
                new_id = self.conn.execute(insert(staff_users).values(
                    username=username, display_name=display_name, role=role,
                    password_hash=password_hash, active=True, created_at=now, updated_at=now)
                ).inserted_primary_key[0]
        except IntegrityError:
            return None
        return StaffUser(new_id, username, display_name, role, password_hash, True, now, now)

    def user_by_name(self, username: str) -> StaffUser | None:
        row = self.conn.execute(
            select(staff_users).where(staff_users.c.username == username)).first()
        return _user(row) if row else None

    def user_by_id(self, user_id: int) -> StaffUser | None:
        row = self.conn.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
        return _user(row) if row else None

    def users(self) -> list[StaffUser]:
        rows = self.conn.execute(
            select(staff_users).order_by(staff_users.c.active.desc(), staff_users.c.username))
        return [_user(row) for row in rows]

    def count_users(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(staff_users)).scalar_one())

    def count_active(self, role: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(staff_users)
            .where(staff_users.c.role == role, staff_users.c.active.is_(True))
        ).scalar_one())

    def update_user(self, user_id: int, now: dt.datetime, *, role: str | None = None,
                    active: bool | None = None, password_hash: str | None = None,
                    display_name: str | None = None) -> bool:
        """Change the named fields of an account; False when it does not exist."""
        values: dict[str, object] = {"updated_at": now}
        for name, value in (("role", role), ("active", active),
                            ("password_hash", password_hash), ("display_name", display_name)):
            if value is not None:
                values[name] = value
        result = self.conn.execute(
            update(staff_users).where(staff_users.c.id == user_id).values(**values))
        return result.rowcount == 1

    # --- sessions ----------------------------------------------------------------------
    def add_session(self, token_hash: str, user_id: int, csrf_token: str, now: dt.datetime,
                    expires_at: dt.datetime) -> None:
        """A new session; every session already expired is deleted on the way."""
        self.conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
        self.conn.execute(insert(console_sessions).values(
            token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, created_at=now,
            last_seen_at=now, expires_at=expires_at))

    def session_by_token_hash(self, token_hash: str) -> ConsoleSession | None:
        row = self.conn.execute(
            select(console_sessions, staff_users)
            .join(staff_users, staff_users.c.id == console_sessions.c.user_id)
            .where(console_sessions.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        m = row._mapping
        user = StaffUser(m[staff_users.c.id], m[staff_users.c.username],
                         m[staff_users.c.display_name], m[staff_users.c.role],
                         m[staff_users.c.password_hash], bool(m[staff_users.c.active]),
                         m[staff_users.c.created_at], m[staff_users.c.updated_at])
        return ConsoleSession(m[console_sessions.c.id], user, m[console_sessions.c.csrf_token],
                              m[console_sessions.c.created_at],
                              m[console_sessions.c.last_seen_at],
                              m[console_sessions.c.expires_at], m[console_sessions.c.flash])

    def touch_session(self, session_id: int, now: dt.datetime, expires_at: dt.datetime) -> None:
        self.conn.execute(update(console_sessions).where(console_sessions.c.id == session_id)
                          .values(last_seen_at=now, expires_at=expires_at))

    def set_flash(self, session_id: int, message: str | None) -> None:
        self.conn.execute(update(console_sessions).where(console_sessions.c.id == session_id)
                          .values(flash=message))

    def delete_session(self, session_id: int) -> None:
        self.conn.execute(delete(console_sessions).where(console_sessions.c.id == session_id))

    def delete_sessions_of(self, user_id: int, keep: int | None = None) -> int:
        """Sign an account out everywhere (deactivated, or its password reset).

        ``keep``: a session of it that stays (the one changing its own password).
        """
        query = delete(console_sessions).where(console_sessions.c.user_id == user_id)
        if keep is not None:
            query = query.where(console_sessions.c.id != keep)
        return int(self.conn.execute(query).rowcount or 0)

    # --- sign-in attempts ----------------------------------------------------------------
    def add_login_attempt(self, username: str, succeeded: bool, now: dt.datetime,
                          forget_before: dt.datetime) -> None:
        """Record an attempt, and forget every attempt older than ``forget_before``."""
        self.conn.execute(delete(login_attempts)
                          .where(login_attempts.c.attempted_at < forget_before))
        self.conn.execute(insert(login_attempts).values(
            username=username, succeeded=succeeded, attempted_at=now))

    def failures_since(self, username: str, since: dt.datetime) -> list[dt.datetime]:
        """When ``username``'s failed attempts happened, oldest first.

        Only those after ``since`` and after the name's last successful sign-in count.
        """
        last_success = self.conn.execute(
            select(func.max(login_attempts.c.attempted_at))
            .where(login_attempts.c.username == username, login_attempts.c.succeeded.is_(True))
        ).scalar_one_or_none()
        start = max(since, last_success) if last_success is not None else since
        rows = self.conn.execute(
            select(login_attempts.c.attempted_at)
            .where(login_attempts.c.username == username,
                   login_attempts.c.succeeded.is_(False),
                   login_attempts.c.attempted_at > start)
            .order_by(login_attempts.c.attempted_at))
        return [r.attempted_at for r in rows]

    # --- audit log ---------------------------------------------------------------------
    def add_audit(self, at: dt.datetime, user_id: int | None, username: str, action: str,
                  target: str, before: str | None, after: str | None) -> None:
        self.conn.execute(insert(audit_log).values(
            at=at, user_id=user_id, username=username[:64], action=action[:64],
            target=target[:255], before=before, after=after))

    def audit_entries(self, limit: int, offset: int = 0,
                      action: str | None = None) -> tuple[list[AuditEntry], int]:
        """A page of the log, newest first, and how many entries there are in all."""
        query = select(audit_log)
        count = select(func.count()).select_from(audit_log)
        if action:
            query = query.where(audit_log.c.action == action)
            count = count.where(audit_log.c.action == action)
        rows = self.conn.execute(
            query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(limit).offset(offset))
        entries = [AuditEntry(**row._mapping) for row in rows]
        return entries, int(self.conn.execute(count).scalar_one())

    def audit_actions(self) -> list[str]:
        rows = self.conn.execute(select(audit_log.c.action).distinct().order_by(audit_log.c.action))
        return [r.action for r in rows]


def _user(row: Row) -> StaffUser:
    m = row._mapping
    return StaffUser(m["id"], m["username"], m["display_name"], m["role"], m["password_hash"],
                     bool(m["active"]), m["created_at"], m["updated_at"])

"""Signing in and out of the console: the lock-out, sessions and their cookie token.

A session's token (32 random bytes) lives only in the browser's cookie; the store keeps its
SHA-256, so a copy of the database signs nobody in. A session ends after
``Settings.console_session_minutes`` without a request from its user, at sign-out, or when an
admin deactivates the account or resets its password.

Failed sign-ins are counted per user name (known or not, so the answer never tells which
names exist): ``LockoutPolicy.failures`` within ``LockoutPolicy.window`` lock the name for
``window`` from the last of them; while locked, the password is not even checked. A
successful sign-in clears the count.

Times here are the real UTC time (``Console.now``), never the office clock that
``LAW_FIXED_NOW`` may fix for demos.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from antrean.service import BookingService
from antrean.staff.users import normalise_username, password_matches
from antrean.store.console_queries import ConsoleSession, StaffUser

ATTEMPTS_KEPT = dt.timedelta(days=1)


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failed sign-ins a user name may have, and within how long."""

    failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a session token, or why there is none."""

    token: str | None = None
    user: StaffUser | None = None
    locked_until: dt.datetime | None = None  # the name is locked (UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Accounts:
    """Sign-in, sessions and sign-out on the booking service's store."""

    def __init__(self, service: BookingService, session_minutes: int,
                 policy: LockoutPolicy | None = None) -> None:
        self.service = service
        self.session_length = dt.timedelta(minutes=session_minutes)
        self.policy = policy or LockoutPolicy()

    def locked_until(self, username: str, now: dt.datetime) -> dt.datetime | None:
        """Until when ``username`` is locked (UTC), or None.

        A lock starts at the failure that makes ``policy.failures`` within ``policy.window``
        and lasts ``policy.window`` from then; attempts while locked are not recorded, so
        they do not make it longer.
        """
        window, count = self.policy.window, self.policy.failures
        with self.service.store.transaction() as tx:
            failures = tx.console.failures_since(username, now - 2 * window)
        until = None
        for first, last in zip(failures, failures[count - 1:], strict=False):
            if last - first <= window:
                until = last + window
        return until if until is not None and until > now else None

    def sign_in(self, raw_username: str, password: str, now: dt.datetime) -> SignIn:
        """Check a user name and password; a session when they match an active account."""
        username = normalise_username(raw_username)[:64]
        locked = self.locked_until(username, now)
        if locked is not None:
            return SignIn(locked_until=locked)
        with self.service.store.transaction() as tx:
            user = tx.console.user_by_name(username)
        usable = user is not None and user.active
        matches = password_matches(user.password_hash if usable and user else None, password)
        with self.service.store.transaction() as tx:
            tx.console.add_login_attempt(username, matches, now, now - ATTEMPTS_KEPT)
        if not matches or user is None:
            return SignIn(locked_until=self.locked_until(username, now))
        token = new_token()
        with self.service.store.transaction() as tx:
            tx.console.add_session(token_hash(token), user.id, secrets.token_urlsafe(32), now,
                                   now + self.session_length)
        return SignIn(token=token, user=user)

    def session(self, token: str, now: dt.datetime, touch: bool = True) -> ConsoleSession | None:
        """The live session of a cookie's token; None when unknown, expired or deactivated.

        With ``touch`` the session's inactivity clock starts again (a request of its user;
        the counts a page polls do not keep a session alive).
        """
        hashed = token_hash(token)
        with self.service.store.transaction() as tx:
            found = tx.console.session_by_token_hash(hashed)
            if found is None:
                return None
            if found.expires_at <= now or not found.user.active:
                tx.console.delete_session(found.id)
                return None
            if touch:
                tx.console.touch_session(found.id, now, now + self.session_length)
        return found

    def sign_out(self, session_id: int) -> None:
        with self.service.store.transaction() as tx:
            tx.console.delete_session(session_id)

    def set_flash(self, session_id: int, message: str | None) -> None:
        with self.service.store.transaction() as tx:
            tx.console.set_flash(session_id, message)

"""Table definitions of the slot store (SQLAlchemy Core, 2.0 style).

Every table LAW owns is declared here once and created by the Alembic history in
``migrations/``: the booking tables, and the WhatsApp channel's message-id and delivery-report
tables (migration 0004), which the channel writes and the retention (``antrean hapus-data``)
trims, and the tables of who may see and change a booking (migration 0006): failed code
look-ups, notices owed to a booking's number, released NIKs, and the staff console's accounts,
sessions, login attempts, audit log and hand-off takeovers (migration 0008). Rasa's tracker
store is Rasa's; it is read in ``tracker_queries.py``, never migrated.

Uniqueness of "one active booking per number / per NIK" is enforced by the database: the
columns ``active_phone`` and ``nik_active`` hold the value while the booking is active and
NULL otherwise, and carry a UNIQUE constraint (NULLs never collide, on SQLite and PostgreSQL
alike). Places taken per slot are a counter changed only by conditional updates.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class AwareDateTime(TypeDecorator):
    """Timezone-aware timestamps on every backend: stored as UTC, returned aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an aware column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no offset: the value is UTC
            return value.replace(tzinfo=dt.timezone.utc)
        return value


bookings = Table(
    "bookings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("phone", String(64), nullable=False),
    Column("active_phone", String(64), unique=True),
    Column("service_date", Date, nullable=False),
    Column("slot_time", Time, nullable=False),
    Column("service_type", String(16), nullable=False),
    Column("passport_type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reschedule_count", Integer, nullable=False, default=0),
    Column("created_at", AwareDateTime, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
    Column("cancelled_at", AwareDateTime),
    # Staff tools (migration 0003): attendance at the counter, kept apart from ``status`` so
    # marking it never touches the "one active booking" columns that ``status`` drives.
    Column("attendance", String(16)),  # NULL (not marked), "arrived" or "no_show"
    Column("attendance_at", AwareDateTime),
    # Set when the retention removed the applicants' personal data: the phone is blanked,
    # the applicant rows deleted, and their number kept here for the reports.
    Column("anonymised_at", AwareDateTime),
    Column("applicant_count", Integer),
    # The applicant tapped "Saya datang" on the reminder (migration 0007).
    Column("attendance_confirmed_at", AwareDateTime),
    Index("ix_bookings_service_date", "service_date"),
    Index("ix_bookings_phone", "phone"),
)

applicants = Table(
    "applicants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False
    ),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("nik", String(16), nullable=False),
    Column("nik_active", String(16), unique=True),
    Index("ix_applicants_booking_id", "booking_id"),
    Index("ix_applicants_nik", "nik"),
)

slot_usage = Table(
    "slot_usage",
    metadata,
    Column("service_date", Date, primary_key=True),
    Column("slot_time", Time, primary_key=True),
    Column("taken", Integer, nullable=False, default=0),
    CheckConstraint("taken >= 0", name="taken_not_negative"),
)

capacity_overrides = Table(
    "capacity_overrides",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("service_date", Date, nullable=False),
    Column("slot_time", Time),  # NULL: every slot of the date
    Column("capacity", Integer, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
    CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    Index("ix_capacity_overrides_service_date", "service_date"),
)

closures = Table(
    "closures",
    metadata,
    Column("service_date", Date, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", AwareDateTime, nullable=False),
)

# Conversations an applicant asked to hand over to staff (intent request_human, or the
# fallback menu's "talk to staff" choice). Staff tools list the open ones and resolve them.
handoff_requests = Table(
    "handoff_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", String(64), nullable=False),  # the WhatsApp number = Rasa sender id
    Column("reason", String(32), nullable=False),  # "request_human" or "fallback"
    Column("message", Text),  # the applicant's last message, NIK-like digit runs masked
    Column("created_at", AwareDateTime, nullable=False),
    Column("resolved_at", AwareDateTime),
    Column("resolved_by", String(64)),
    Index("ix_handoff_requests_phone", "phone"),
    Index("ix_handoff_requests_resolved_at", "resolved_at"),
)


# --- the WhatsApp channel (addons/whatsapp/dedup.py) --------------------------------------
# Meta delivers webhooks at least once; a message is processed only by whoever manages to
# INSERT its id, so the primary key is the duplicate check, across processes and restarts.
# Rows are purged by the channel after a while and by the retention after its cutoff.
whatsapp_processed_messages = Table(
    "whatsapp_processed_messages",
    metadata,
    # The wamid of an applicant's message; only its first delivery gets in.
    Column("message_id", String(255), primary_key=True),
    # When it was first seen; rows older than the channel's retention are purged.
    Column("received_at", AwareDateTime, nullable=False),
    Index("ix_whatsapp_processed_messages_received_at", "received_at"),
)

whatsapp_statuses = Table(
    "whatsapp_statuses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The wamid of OUR message the report is about.
    Column("message_id", String(255), nullable=False),
    # sent / delivered / read / failed
    Column("status", String(32), nullable=False),
    # When Meta says it happened, if it said.
    Column("status_at", AwareDateTime),
    # When we received the report; drives the purge.
    Column("recorded_at", AwareDateTime, nullable=False),
    # Meta's error code and title for "failed", e.g. 131047 (24-hour window closed).
    Column("error_code", Integer),
    Column("error_title", String(255)),
    # Meta redelivers reports too: one row per message and status.
    UniqueConstraint("message_id", "status", name="uq_whatsapp_statuses_message_id_status"),
    Index("ix_whatsapp_statuses_recorded_at", "recorded_at"),
)

# Messages accepted by the webhook and not yet answered (migration 0005). A message is
# stored here before Meta gets its 200 and leaves when the bot's reply has been handed to the
# Graph API (its id then goes to whatsapp_processed_messages), so a crash, a SIGKILL or a
# SIGTERM in between loses nothing: the next start, or another process once the lease has
# run out, works on what is left.
whatsapp_inbox = Table(
    "whatsapp_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # arrival order
    # The wamid of the applicant's message; a re-delivery finds its row.
    Column("message_id", String(255), nullable=False, unique=True),
    # The applicant's number (personal data; the retention deletes old rows).
    Column("sender_id", String(64), nullable=False),
    # The parsed message as JSON (addons/whatsapp/inbox.py), text included.
    Column("message", Text, nullable=False),
    Column("received_at", AwareDateTime, nullable=False),
    # Who works on it: a random token per claim, and until when; NULL or past = free.
    Column("lease_token", String(32)),
    Column("lease_until", AwareDateTime),
    # How many times a process took it; a message that keeps failing is given up.
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_whatsapp_inbox_received_at", "received_at"),
    Index("ix_whatsapp_inbox_lease_until", "lease_until"),
)

# The channel's tables, in the order the retention trims them.
WHATSAPP_TABLES = (whatsapp_processed_messages, whatsapp_statuses, whatsapp_inbox)


# --- who may see and change a booking (antrean/access.py, migration 0006) ----------------
# A booking code that named no active booking, or a wrong date of birth for one, per number.
# The rate limit counts a number's rows of the last window; older rows are deleted as new
# ones come, so a number is kept here at most that long.
lookup_failures = Table(
    "lookup_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", String(64), nullable=False),  # the number that looked up
    Column("kind", String(32), nullable=False),  # "unknown_code" or "wrong_birth_date"
    Column("failed_at", AwareDateTime, nullable=False),
    Index("ix_lookup_failures_phone_failed_at", "phone", "failed_at"),
    Index("ix_lookup_failures_failed_at", "failed_at"),
)

# What was done to a booking from elsewhere, owed to the booking's own number (an outbox):
# the channel or staff tell the number and set ``sent_at``.
owner_notices = Table(
    "owner_notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("booking_code", String(16), nullable=False),
    Column("phone", String(64), nullable=False),  # the booking's own number
    Column("event", String(16), nullable=False),  # "cancelled", "rescheduled", "released"
    Column("service_date", Date, nullable=False),  # the schedule after the change
    Column("slot_time", Time, nullable=False),
    Column("by_phone", String(64)),  # the other number; NULL when staff did it
    Column("created_at", AwareDateTime, nullable=False),
    Column("sent_at", AwareDateTime),
    Column("sent_by", String(64)),  # "whatsapp" or the staff member who told the owner
    Index("ix_owner_notices_sent_at", "sent_at"),
    Index("ix_owner_notices_created_at", "created_at"),
)

# A NIK's booking cancelled by staff after checking its owner's identity (NIK squatting).
nik_releases = Table(
    "nik_releases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("booking_code", String(16), nullable=False),
    Column("nik_masked", String(16), nullable=False),  # only the last four digits
    Column("reason", Text, nullable=False),
    Column("released_by", String(64), nullable=False),
    Column("released_at", AwareDateTime, nullable=False),
    Index("ix_nik_releases_released_at", "released_at"),
)


# --- messages the office sends first (antrean/notices.py, migration 0007) -----------------
# The outbox: one row per booking, kind and service date (a moved booking is reminded of its
# new date). A sender claims a row with a lease (``lease_token`` / ``lease_until``) by a
# conditional update, posts it to the Graph API and records the outcome under the same token,
# so several senders never post one row twice. Personal data (the number, the people's names
# in ``parameters``) goes with the booking: ON DELETE CASCADE and the retention's anonymising.
notice_outbox = Table(
    "notice_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(16), nullable=False),  # "reminder" or "closure"
    Column("service_date", Date, nullable=False),  # the booked date the notice is about
    Column("phone", String(64), nullable=False),  # the booking's own number
    # The template's values as JSON ({"code": …, "people": …, "options": […]}).
    Column("parameters", Text, nullable=False),
    # pending → sent | failed | cancelled (booking gone or moved, date reopened, opted out)
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", AwareDateTime, nullable=False),
    Column("lease_token", String(32)),
    Column("lease_until", AwareDateTime),
    Column("created_at", AwareDateTime, nullable=False),
    Column("sent_at", AwareDateTime),
    Column("sent_as", String(16)),  # "template" or "text" (inside the 24-hour window)
    Column("wamid", String(255)),  # the Graph API's id of the sent message
    Column("error_code", Integer),  # Meta's code of the last failure, e.g. 131026
    Column("error_title", String(255)),
    # The newest delivery report (sent / delivered / read / failed) and when it came.
    Column("delivery", String(16)),
    Column("delivery_at", AwareDateTime),
    Column("cancel_reason", String(32)),
    UniqueConstraint("booking_id", "kind", "service_date",
                     name="uq_notice_outbox_booking_id_kind_service_date"),
    Index("ix_notice_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_notice_outbox_wamid", "wamid"),
    Index("ix_notice_outbox_service_date", "service_date"),
)

# Per WhatsApp number: when it last wrote to us (the 24-hour customer-service window) and
# whether it asked for no more reminders ("BERHENTI"; "MULAI" clears it).
notice_contacts = Table(
    "notice_contacts",
    metadata,
    Column("phone", String(64), primary_key=True),
    Column("last_inbound_at", AwareDateTime),
    Column("reminders_off_at", AwareDateTime),
)


# --- the staff console (law_console/, antrean/store/console_queries.py, migration 0008) ----
# Staff accounts: created by ``antrean pengguna tambah`` and by admins in the console; never
# deleted (the audit log names them), only deactivated.
staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),  # lower case
    Column("display_name", String(128), nullable=False),
    Column("role", String(16), nullable=False),  # "loket", "supervisor" or "admin"
    Column("password_hash", String(255), nullable=False),  # argon2id, with its parameters
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", AwareDateTime, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)

# A signed-in browser. Only a hash of the cookie's token is kept, so a copy of the database
# cannot be used to sign in; the session ends after ``expires_at`` (moved forward by every
# request: ``console_session_minutes`` of inactivity) or at sign-out (row deleted).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the token
    Column(
        "user_id", Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("csrf_token", String(64), nullable=False),  # echoed by every form of the session
    Column("created_at", AwareDateTime, nullable=False),
    Column("last_seen_at", AwareDateTime, nullable=False),
    Column("expires_at", AwareDateTime, nullable=False),
    Column("flash", Text),  # a one-time message for the next page (after a form's redirect)
    Index("ix_console_sessions_expires_at", "expires_at"),
)

# Every sign-in attempt, for the lock-out (failures per user name in a window); rows older
# than a day are deleted as new ones come.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),  # as typed, lower case, also unknown ones
    Column("succeeded", Boolean, nullable=False),
    Column("attempted_at", AwareDateTime, nullable=False),
    Index("ix_login_attempts_username_attempted_at", "username", "attempted_at"),
    Index("ix_login_attempts_attempted_at", "attempted_at"),
)

# Every change made through the console (and accounts made by ``antrean pengguna``): who,
# when, what, on what, and the value before and after, as short text.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", AwareDateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("staff_users.id", ondelete="SET NULL")),
    Column("username", String(64), nullable=False),  # kept as written, e.g. "cli:budi"
    Column("action", String(64), nullable=False),  # e.g. "kehadiran", "tanggal.tutup"
    Column("target", String(255), nullable=False),  # e.g. a booking code, a date, a user
    Column("before", Text),
    Column("after", Text),
    Index("ix_audit_log_at", "at"),
)

# A member of staff answering an applicant on WhatsApp in place of the bot (hand-off
# takeover, law_console/handoff.py); open while ``ended_at`` is NULL.
takeovers = Table(
    "takeovers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", String(64), nullable=False),  # the applicant's number = Rasa sender id
    Column(
        "staff_user_id", Integer, ForeignKey("staff_users.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("started_at", AwareDateTime, nullable=False),
    Column("ended_at", AwareDateTime),
    Index("ix_takeovers_phone", "phone"),
    Index("ix_takeovers_ended_at", "ended_at"),
)

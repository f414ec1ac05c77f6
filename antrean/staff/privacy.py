"""Retention: personal data goes ``booking.retention_days`` after the service date (UU PDP).

``antrean hapus-data`` removes, for every booking whose service date is more than that many
days ago, the applicants (name, date of birth, NIK) and the WhatsApp number; the booking row
stays with its date, slot, service, status, attendance and number of applicants, so the
reports keep their counts. It also deletes:

- conversation events in Rasa's tracker store older than the cutoff, one by one by their
  time, whatever the number booked later. A number whose booking is still kept keeps the
  conversation session in which it made that booking (the session that was going on when
  the booking was made, from its start): its earlier sessions go by age like everyone's,
  so a booking cancelled and made again does not keep the first one's names and NIKs;
- hand-off requests created before the cutoff (number and last message);
- the WhatsApp channel's processed message ids and delivery reports older than the cutoff.

Each part runs in short transactions of its own, so the assistant keeps working meanwhile;
a run that stops halfway is finished by the next one. ``--dry-run`` counts without deleting.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
from dataclasses import dataclass

from antrean.masking import mask_numbers_in_text
from antrean.service import BookingService
from antrean.staff.common import (
    StaffContext,
    day_label,
    with_context,
)
from antrean.staff.tracker import TrackerStore, tracker_url_from_env
from antrean.store.errors import StoreError
from antrean.store.staff_queries import chunks, remove_channel_rows_before

log = logging.getLogger(__name__)


@dataclass
class RetentionResult:
    """What a run removed (or, dry, would remove)."""

    retention_days: int
    first_kept: dt.date  # bookings from this date on keep their personal data
    cutoff: dt.datetime  # older events and rows go
    dry_run: bool
    bookings: int = 0
    applicants: int = 0
    handoffs: int = 0
    conversations: int = 0
    events: int = 0
    whatsapp_rows: int = 0
    tracker_problem: str | None = None
    whatsapp_problem: str | None = None


def cutoff_of(service: BookingService) -> tuple[dt.date, dt.datetime]:
    """First service date still kept, and the start of that day in office time."""
    first_kept = service.today() - dt.timedelta(days=service.config.booking.retention_days)
    return first_kept, dt.datetime.combine(first_kept, dt.time(), tzinfo=service.tz)


def apply_retention(
    service: BookingService,
    tracker: TrackerStore | None,
    whatsapp_url: str | None,
    dry_run: bool,
) -> RetentionResult:
    first_kept, cutoff = cutoff_of(service)
    result = RetentionResult(service.config.booking.retention_days, first_kept, cutoff, dry_run)
    with service.store.transaction() as tx:
        staff = tx.staff
        kept_since = staff.first_kept_booking_made(first_kept)
        expired = staff.expired_booking_ids(first_kept)
        result.bookings = len(expired)
        if dry_run:
            result.applicants = staff.count_applicants_of(expired)
            result.handoffs = staff.old_handoffs(cutoff, remove=False)

    if tracker is not None:
        try:
            result.conversations, result.events = _trim_tracker(
                tracker, cutoff, kept_since, dry_run)
        except StoreError as exc:
            result.tracker_problem = _problem(exc)
            log.error("retention: tracker store failed (%s)", exc.__class__.__name__)

    if not dry_run:
        for part in chunks(expired):  # one short write transaction per chunk
            with service.store.transaction() as tx:
                result.applicants += tx.staff.anonymise(part, service.now())
        with service.store.transaction() as tx:
            result.handoffs = tx.staff.old_handoffs(cutoff, remove=True)
            # When a number last wrote (the reminders' 24-hour window); opt-outs stay.
            tx.outbox.forget_contacts_before(cutoff)

    if whatsapp_url is not None:
        try:
            result.whatsapp_rows = remove_channel_rows_before(whatsapp_url, cutoff, dry_run)
        except StoreError as exc:
            result.whatsapp_problem = _problem(exc)
            log.error("retention: WhatsApp tables failed (%s)", exc.__class__.__name__)
    log.info(
        "retention%s: %d bookings, %d applicants, %d events of %d conversations, "
        "%d hand-off requests, %d WhatsApp rows before %s",
        " (dry run)" if dry_run else "", result.bookings, result.applicants, result.events,
        result.conversations, result.handoffs, result.whatsapp_rows, first_kept,
    )
    return result


def _trim_tracker(
    tracker: TrackerStore,
    cutoff: dt.datetime,
    kept_since: dict[str, dt.datetime],
    dry_run: bool,
) -> tuple[int, int]:
    """Delete events older than the cutoff; returns (conversations touched, events).

    A number with a kept booking keeps, beyond the cutoff, the session in which its
    earliest kept booking was made (a day before it if Rasa recorded no session start).
    """
    everyone: list[str] = []
    own_cutoff: dict[str, dt.datetime] = {}
    for sender in tracker.senders_before(cutoff):
        made = kept_since.get(sender)
        if made is None:
            everyone.append(sender)
            continue
        start = tracker.session_start_before(sender, made) or made - dt.timedelta(days=1)
        if start < cutoff:
            own_cutoff[sender] = start
        else:
            everyone.append(sender)
    events = tracker.remove_before(cutoff, everyone, dry_run)
    touched = len(everyone)
    for sender, before in own_cutoff.items():
        removed = tracker.remove_before(before, [sender], dry_run)
        events += removed
        touched += 1 if removed else 0
    return touched, events


def _problem(exc: Exception) -> str:
    """The error's first line (never the statement's parameters), digit runs masked."""
    return f"{exc.__class__.__name__}: {mask_numbers_in_text(str(exc).splitlines()[0])}"


def print_result(result: RetentionResult) -> None:
    verb = "akan dihapus" if result.dry_run else "dihapus"
    print(("SIMULASI (--dry-run): tidak ada yang dihapus.\n" if result.dry_run else "")
          + f"Masa simpan {result.retention_days} hari: data pribadi booking sebelum "
          f"{day_label(result.first_kept)} dan percakapan sebelum "
          f"{result.cutoff:%d-%m-%Y %H.%M} WIB {verb}.")
    print(f"  Booking dianonimkan     : {result.bookings} ({result.applicants} pemohon: nama, "
          "tanggal lahir, NIK; serta nomor WhatsApp)")
    print(f"  Permintaan petugas      : {result.handoffs}")
    if result.tracker_problem:
        print(f"  Percakapan (tracker)    : GAGAL — {result.tracker_problem}")
    else:
        print(f"  Percakapan (tracker)    : {result.events} event dari {result.conversations} "
              "percakapan")
    if result.whatsapp_problem:
        print(f"  Tabel kanal WhatsApp    : GAGAL — {result.whatsapp_problem}")
    else:
        print(f"  Tabel kanal WhatsApp    : {result.whatsapp_rows} baris")


@with_context
def run_retention(ctx: StaffContext, args: argparse.Namespace) -> int:
    tracker = None if args.tanpa_percakapan else TrackerStore(
        ctx.tracker_url or tracker_url_from_env())
    whatsapp_url = args.whatsapp or ctx.database_url
    try:
        if tracker is not None and not tracker.has_events():
            tracker.dispose()
            tracker = None
            print("Tracker store belum berisi percakapan; dilewati.")
        result = apply_retention(ctx.service, tracker, whatsapp_url, args.dry_run)
    finally:
        if tracker is not None:
            tracker.dispose()
    print_result(result)
    return 1 if result.tracker_problem or result.whatsapp_problem else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "hapus-data",
        help="hapus data pribadi yang melewati masa simpan (UU PDP); jalankan tiap hari",
        description="Menghapus data pribadi booking yang tanggal layanannya lebih dari "
        "booking.retention_days hari (office.yml) yang lalu: nama, tanggal lahir, NIK dan "
        "nomor WhatsApp; jumlah booking tetap ada untuk laporan. Juga menghapus percakapan "
        "lama di tracker store Rasa, permintaan petugas lama, dan catatan pesan kanal "
        "WhatsApp yang lebih tua dari batas itu. Aman dijalankan berulang.")
    p.add_argument("--dry-run", "--simulasi", dest="dry_run", action="store_true",
                   help="hanya hitung apa yang akan dihapus, tanpa menghapus")
    p.add_argument("--tracker", metavar="URL",
                   help="basis data percakapan Rasa (default LAW_TRACKER_URL atau var/tracker.db)")
    p.add_argument("--whatsapp", metavar="URL",
                   help="basis data tabel kanal WhatsApp (default: basis data booking)")
    p.add_argument("--tanpa-percakapan", action="store_true",
                   help="lewati tracker store (mis. bila dibersihkan dengan cara lain)")
    p.set_defaults(handler=run_retention)

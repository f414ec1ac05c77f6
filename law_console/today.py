""""Hari ini" (counter and up): the day's bookings per slot, arrivals, live counts.

The rules are those of ``antrean hadir`` / ``antrean tidak-hadir``
(``antrean.staff.daily.mark_attendance``): a booking of today or earlier, not cancelled, a
no-show only once its slot has started, a mark can be corrected. Each mark is audited. The
counts per slot are polled by ``console.js`` from ``/hari-ini/angka``, so two counters see
each other's marks without reloading; a mark made here is sent with ``fetch`` and the page
updated in place (without JavaScript the form posts and the page reloads).

NIKs are shown masked (the counter compares the last four digits with the e-KTP); phone
numbers only to supervisors and admins. People of the priority groups (60+, under 5) are
marked; who answered "Saya datang" to the reminder, and the fate of the reminder and closure
notice, are shown where the office sends them.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route

from antrean import codes, rules
from antrean.masking import mask_phone
from antrean.model import Attendance, NoticeKind, StaffBooking
from antrean.nik import mask_nik
from antrean.notices import NoticeOutbox, notice_label
from antrean.service import BookingService
from antrean.staff.common import StaffError, long_day_label
from antrean.staff.daily import (
    ATTENDANCE_LABELS,
    bookings_on,
    find,
    mark_attendance,
    mark_rest_no_show,
    status_label,
)
from antrean.staff.users import Role
from law_console.auth import Page, page, wants_json
from law_console.state import NavItem

POLL_MS = 3000
STATUS_TONES = {"hadir": "ok", "tidak hadir": "bad", "terjadwal": "info", "batal": "",
                "tidak ditandai": "warn"}
MARKS = {"hadir": Attendance.ARRIVED, "tidak-hadir": Attendance.NO_SHOW}
COUNT_FIELDS = ("bookings", "people", "arrived", "no_show", "unmarked")


@dataclass(frozen=True)
class Person:
    name: str
    nik: str  # masked
    priority: str  # "" or why: "lansia 60+", "anak < 5 th"


@dataclass(frozen=True)
class Card:
    """One booking as the counter sees it."""

    code: str  # as displayed, KM7Q-2PXA
    time: str
    people: tuple[Person, ...]
    size: int
    service: str
    status: str
    tone: str
    phone: str
    said_coming: bool
    messages: str
    cancelled: bool


def _priority(service: BookingService, born: dt.date, day: dt.date) -> str:
    if not rules.in_priority_group(service.config, born, day):
        return ""
    return "lansia" if rules.age_on(born, day) >= service.config.elderly_min_age else "anak balita"


def _messages(service: BookingService, found: list[StaffBooking]) -> dict[int, str]:
    """Per booking: the reminder's and closure notice's fate (as ``antrean daftar``)."""
    if service.config.notices is None:
        return {}
    by_booking = NoticeOutbox(service).notices_of([b.id for b in found])
    labels = {}
    for booking in found:
        labels[booking.id] = "; ".join(
            f"{'pengingat' if n.kind is NoticeKind.REMINDER else 'penutupan'}: {notice_label(n)}"
            for n in by_booking.get(booking.id, [])
            if n.service_date == booking.slot.date or n.kind is NoticeKind.CLOSURE)
    return labels


def cards(service: BookingService, found: list[StaffBooking], show_phone: bool) -> list[Card]:
    today = service.today()
    messages = _messages(service, found)
    config = service.config
    result = []
    for b in found:
        status = status_label(b, today)
        people = tuple(Person(p.name, mask_nik(p.nik), _priority(service, p.birth_date,
                                                                  b.slot.date))
                       for p in b.applicants)
        result.append(Card(
            code=codes.display_code(b.code), time=f"{b.slot.time:%H:%M}", people=people,
            size=b.size,
            service=f"{config.services.get(b.service_type, b.service_type)}, "
                    f"{config.passport_types.get(b.passport_type, b.passport_type)}",
            status=status, tone=STATUS_TONES.get(status, ""),
            phone=(b.phone if show_phone else mask_phone(b.phone)) if b.phone else "",
            said_coming=b.attendance_confirmed_at is not None,
            messages=messages.get(b.id, ""), cancelled=b.is_cancelled))
    return result


def counts(found: list[StaffBooking]) -> dict[str, int]:
    """``{"09:00:arrived": 3, …, "total:people": 41}`` over the bookings not cancelled."""
    tally: dict[str, int] = defaultdict(int)
    for b in found:
        if b.is_cancelled:
            continue
        for key in (f"{b.slot.time:%H:%M}", "total"):
            tally[f"{key}:bookings"] += 1
            tally[f"{key}:people"] += b.size
            tally[f"{key}:arrived"] += b.attendance is Attendance.ARRIVED
            tally[f"{key}:no_show"] += b.attendance is Attendance.NO_SHOW
            tally[f"{key}:unmarked"] += b.attendance is None
    for name in COUNT_FIELDS:
        tally.setdefault(f"total:{name}", 0)
    return dict(tally)


def matches(booking: StaffBooking, search: str) -> bool:
    code = codes.normalise_code(search)
    if code and code in booking.code:
        return True
    wanted = search.casefold()
    return any(wanted in p.name.casefold() for p in booking.applicants)


def _live(service: BookingService, day: dt.date) -> dict[str, object]:
    found = bookings_on(service, day, with_cancelled=True)
    today = service.today()
    return {
        "counts": counts(found),
        "statuses": {codes.display_code(b.code): {"label": (label := status_label(b, today)),
                                                  "tone": STATUS_TONES.get(label, "")}
                     for b in found},
        "updated": f"{service.now():%H.%M.%S}",
    }


@page(Role.LOKET)
def today_page(p: Page) -> Response:
    service = p.service
    day = service.today()
    found = bookings_on(service, day, with_cancelled=True)
    search = p.query("cari")[:64]
    shown = [b for b in found if matches(b, search)] if search else found
    note = None
    if search and not shown:
        note = f"Tidak ada booking hari ini yang cocok dengan \u201c{search}\u201d."
        if codes.is_valid_code(codes.normalise_code(search), service.config.booking.code_length):
            try:
                other = find(service, search)
                note = (f"Kode {codes.display_code(other.code)} terjadwal "
                        f"{long_day_label(other.slot.date)} pukul {other.slot.time:%H.%M} "
                        f"({status_label(other, day)}), bukan hari ini.")
            except StaffError as problem:
                note = problem.message
    by_slot: dict[str, list[Card]] = defaultdict(list)
    for card in cards(service, shown, show_phone=p.can(Role.SUPERVISOR)):
        by_slot[card.time].append(card)
    closing = service.config.schedule.closing_time
    return p.render("today.html", title="Hari ini", day_label=long_day_label(day),
                    closing=f"{closing:%H.%M}", can_close_day=p.can(Role.SUPERVISOR),
                    slots=sorted(by_slot.items()), counts=counts(found), search=search,
                    note=note, poll_ms=POLL_MS, updated=f"{service.now():%H.%M.%S}",
                    cancelled=sum(b.is_cancelled for b in found))


@page(Role.LOKET, touch=False)
def live_counts(p: Page) -> Response:
    return p.json(_live(p.service, p.service.today()))


@page(Role.LOKET)
def mark(p: Page) -> Response:
    value = MARKS.get(p.field("nilai"))
    if value is None:
        raise StaffError("Pilih Hadir atau Tidak hadir.", 2)
    marked = mark_attendance(p.service, p.field("kode"), value)
    code = codes.display_code(marked.booking.code)
    before = ATTENDANCE_LABELS[marked.previous] if marked.previous else "belum ditandai"
    after = ATTENDANCE_LABELS[value]
    p.audit("kehadiran", code, before, after)
    names = ", ".join(person.name for person in marked.booking.applicants)
    message = f"{code} {names}: {after}."
    if wants_json(p.request):
        return p.json({**_live(p.service, p.service.today()), "message": message})
    return p.redirect(p.field("kembali") or "/hari-ini", message)


@page(Role.SUPERVISOR)
def rest_no_show(p: Page) -> Response:
    """After the day's service: every booking of today not marked becomes a no-show."""
    day = p.service.today()
    count = mark_rest_no_show(p.service, day)
    p.audit("kehadiran.sisa", day.isoformat(), f"{count} belum ditandai", "tidak hadir")
    return p.redirect("/hari-ini", f"{count} booking yang belum ditandai kini tercatat tidak "
                                   "hadir.")


nav = [NavItem("Hari ini", "/hari-ini", Role.LOKET, order=10)]
routes = [
    Route("/hari-ini", today_page, methods=["GET"]),
    Route("/hari-ini/angka", live_counts, methods=["GET"]),
    Route("/hari-ini/tandai", mark, methods=["POST"]),
    Route("/hari-ini/sisa-tidak-hadir", rest_no_show, methods=["POST"]),
]

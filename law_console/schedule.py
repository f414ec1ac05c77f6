""""Kalender" (supervisor and up): the month with its quota, closures and capacity.

The month view shows per date the places taken of its capacity, and why a date is closed
(weekend, national holiday, or closed by staff). A date's page lists its slots and holds the
forms: close with a reason / reopen, capacity for every slot of the date or for one slot, and
taking an override back off (``BookingService.clear_capacity``). The rules are those of
``antrean tutup`` / ``buka`` / ``kapasitas`` (``antrean.staff.schedule``), closure notices
are queued as the command queues them, and every change is audited with before → after.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route

from antrean.calendar import Closure
from antrean.indonesian import DAY_NAMES, MONTH_NAMES
from antrean.notices import NoticeOutbox
from antrean.outcomes import ClosureReason
from antrean.service import BookingService
from antrean.staff.common import StaffError, long_day_label, parse_time
from antrean.staff.schedule import (
    SlotView,
    close_date,
    closure_text,
    day_views,
    reopen_date,
    set_capacity,
    slot_views,
)
from antrean.staff.users import Role
from law_console.auth import Page, page
from law_console.state import NavItem

MAX_CAPACITY = 1000
FIRST_YEAR, LAST_YEAR = 2000, 2100  # months the calendar pages between


@dataclass(frozen=True)
class DayCell:
    date: dt.date | None  # None: a filler of the first or last week
    label: str  # "" or why it is closed
    taken: int
    capacity: int
    kind: str  # CSS: "", "past", "closed", "holiday", "weekend", "today"
    fill: int  # 0–10, tenths of the capacity taken


def _month(raw: str, today: dt.date) -> dt.date:
    if not raw:
        return today.replace(day=1)
    try:
        year, month = (int(part) for part in raw.split("-", 1))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(year)
        return dt.date(year, month, 1)
    except ValueError:
        raise StaffError(f"Bulan tidak dikenali: {raw!r}. Tulis misalnya 2026-12.", 2) from None


def _shift(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _cell(view_date: dt.date, closure: Closure | None, taken: int, capacity: int,
          today: dt.date) -> DayCell:
    if closure is not None:
        kind = {ClosureReason.WEEKEND: "weekend", ClosureReason.HOLIDAY: "holiday"}.get(
            closure.reason, "closed")
        label = {ClosureReason.WEEKEND: "", ClosureReason.HOLIDAY: "Libur"}.get(
            closure.reason, "Tutup")
    else:
        kind, label = "", ""
    if view_date < today:
        kind = "past"
    elif view_date == today:
        kind = (kind + " today").strip()
    fill = min(10, round(10 * taken / capacity)) if capacity else 0
    return DayCell(view_date, label, taken, capacity, kind, fill)


def month_weeks(service: BookingService, first: dt.date) -> list[list[DayCell]]:
    last = _shift(first, 1) - dt.timedelta(days=1)
    start = first - dt.timedelta(days=first.weekday())
    end = last + dt.timedelta(days=6 - last.weekday())
    today = service.today()
    cells = []
    for view in day_views(service, start, end):
        if view.date.month != first.month:
            cells.append(DayCell(None, "", 0, 0, "other", 0))
        else:
            cells.append(_cell(view.date, view.closure, view.taken, view.capacity, today))
    return [cells[i:i + 7] for i in range(0, len(cells), 7)]


@page(Role.SUPERVISOR)
def month_page(p: Page) -> Response:
    first = _month(p.query("bulan"), p.service.today())
    earliest, latest = p.service.window()
    return p.render(
        "calendar.html", title="Kalender",
        month_label=f"{MONTH_NAMES[first.month - 1]} {first.year}",
        previous=f"{_shift(first, -1):%Y-%m}", next=f"{_shift(first, 1):%Y-%m}",
        weeks=month_weeks(p.service, first), day_names=[d[:3] for d in DAY_NAMES],
        window=f"{long_day_label(earliest)} s.d. {long_day_label(latest)}")


def _day(p: Page) -> dt.date:
    try:
        return dt.date.fromisoformat(p.request.path_params["tanggal"])
    except ValueError:
        raise StaffError("Tanggal tidak dikenali; tulis misalnya 2026-12-07.", 2) from None


def _capacity_of(slots: list[SlotView], time: dt.time | None) -> str:
    if time is None:
        sizes = sorted({s.capacity for s in slots})
        return "/".join(str(n) for n in sizes)
    return next((str(s.capacity) for s in slots if s.time == time), "-")


@page(Role.SUPERVISOR)
def day_page(p: Page) -> Response:
    day = _day(p)
    closure, slots = slot_views(p.service, day)
    with p.service.store.transaction() as tx:
        overrides = tx.capacity_overrides(day, day)
    date_override = overrides.get((day, None))
    return p.render(
        "calendar_day.html", title=f"Kalender {day:%d-%m-%Y}", day=day,
        day_label=long_day_label(day), closure=closure,
        closure_text=closure_text(closure) if closure else "",
        staff_closed=closure is not None and closure.reason is ClosureReason.STAFF_CLOSURE,
        slots=slots, date_override=date_override, past=day < p.service.today(),
        month=f"{day:%Y-%m}", default_capacity=p.service.config.schedule.slot_capacity,
        totals=(sum(s.capacity for s in slots), sum(s.taken for s in slots),
                sum(s.free for s in slots)))


def _back(day: dt.date) -> str:
    return f"/kalender/{day.isoformat()}"


@page(Role.SUPERVISOR)
def close(p: Page) -> Response:
    day = _day(p)
    reason = " ".join(p.field("alasan").split())
    change = close_date(p.service, day, reason)
    p.audit("tanggal.tutup", day.isoformat(),
            f"ditutup: {change.previous_reason}" if change.previous_reason else "buka",
            f"ditutup: {reason}")
    message = f"{long_day_label(day)} ditutup untuk pemesanan baru."
    if change.bookings:
        message += (f" Sudah ada {change.bookings} booking ({change.people} orang); booking itu "
                    "tetap berlaku.")
        if p.service.config.notices is not None:
            queued = NoticeOutbox(p.service).queue_closure(day, reason)
            message += f" {queued} pemberitahuan penutupan diantrekan ke WhatsApp pemohon."
    return p.redirect(_back(day), message)


@page(Role.SUPERVISOR)
def reopen(p: Page) -> Response:
    day = _day(p)
    with p.service.store.transaction() as tx:
        previous = tx.staff_closures(day, day).get(day)
    reopen_date(p.service, day)
    p.audit("tanggal.buka", day.isoformat(), f"ditutup: {previous}", "buka")
    message = f"{long_day_label(day)} dibuka kembali untuk pemesanan."
    if p.service.config.notices is not None:
        cancelled = NoticeOutbox(p.service).cancel_closure(day)
        if cancelled:
            message += f" {cancelled} pemberitahuan penutupan yang belum terkirim dibatalkan."
    return p.redirect(_back(day), message)


def _slot_field(p: Page) -> dt.time | None:
    raw = p.field("jam")
    return parse_time(raw) if raw else None


def _count_field(p: Page) -> int:
    raw = p.field("jumlah")
    if not raw.isdigit() or int(raw) > MAX_CAPACITY:
        raise StaffError(f"Kapasitas harus angka 0–{MAX_CAPACITY}.", 2)
    return int(raw)


@page(Role.SUPERVISOR)
def capacity(p: Page) -> Response:
    day = _day(p)
    time = _slot_field(p)
    count = _count_field(p)
    _closure, before = slot_views(p.service, day)
    changes = set_capacity(p.service, day, day, time, count)
    where = f"slot {time:%H:%M}" if time else "setiap slot"
    target = f"{day.isoformat()} {time:%H:%M}" if time else day.isoformat()
    p.audit("kapasitas.atur", target, _capacity_of(before, time), str(count))
    message = f"Kapasitas {where} {long_day_label(day)} = {count} orang."
    for change in changes:
        for slot in change.overfull:
            message += (f" Perhatian: slot {slot.time:%H:%M} sudah terisi {slot.taken}, "
                        f"melebihi kapasitas baru {slot.capacity}.")
    return p.redirect(_back(day), message)


@page(Role.SUPERVISOR)
def clear_capacity(p: Page) -> Response:
    day = _day(p)
    time = _slot_field(p)
    if day < p.service.today():
        raise StaffError(f"{long_day_label(day)} sudah lewat.")
    try:
        removed = p.service.clear_capacity(day, time)
    except ValueError:
        raise StaffError("Jam itu bukan awal slot.", 2) from None
    where = f"slot {time:%H:%M}" if time else "tanggal ini"
    if removed is None:
        raise StaffError(f"Tidak ada aturan kapasitas khusus untuk {where}.")
    _closure, after = slot_views(p.service, day)
    target = f"{day.isoformat()} {time:%H:%M}" if time else day.isoformat()
    p.audit("kapasitas.hapus", target, str(removed), f"bawaan: {_capacity_of(after, time)}")
    return p.redirect(_back(day), f"Aturan kapasitas khusus untuk {where} dihapus; kini "
                                  f"berlaku {_capacity_of(after, time)} orang per slot.")


nav = [NavItem("Kalender", "/kalender", Role.SUPERVISOR, order=30)]
routes = [
    Route("/kalender", month_page, methods=["GET"]),
    Route("/kalender/{tanggal}", day_page, methods=["GET"]),
    Route("/kalender/{tanggal}/tutup", close, methods=["POST"]),
    Route("/kalender/{tanggal}/buka", reopen, methods=["POST"]),
    Route("/kalender/{tanggal}/kapasitas", capacity, methods=["POST"]),
    Route("/kalender/{tanggal}/kapasitas/hapus", clear_capacity, methods=["POST"]),
]

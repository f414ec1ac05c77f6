""""Laporan" (supervisor and up): the figures of ``antrean laporan``, with charts and CSV.

The report is ``antrean.staff.reports.build_report`` over the chosen dates (default the last
seven days): bookings per day, no-shows among the arrivals marked, cancellations, and the
applicants' messages the assistant did not understand (from Rasa's tracker store,
``LAW_TRACKER_URL``; when it cannot be read the page says why and shows the rest). The
charts are inline SVG (``law_console/charts.py``); the CSV has the columns of ``antrean
laporan --csv``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from antrean.staff.common import StaffError, day_label, parse_date, percent
from antrean.staff.reports import (
    CSV_HEADERS,
    Report,
    ReportRow,
    build_report,
    reminder_figures,
)
from antrean.staff.tracker import TrackerStore, fallback_threshold
from antrean.staff.users import Role
from law_console.auth import Page, page
from law_console.charts import Bar, bar_chart
from law_console.state import NavItem

DEFAULT_DAYS = 7


def _dates(p: Page) -> tuple[dt.date, dt.date]:
    today = p.service.today()
    last = parse_date(p.query("sampai"), today) if p.query("sampai") else today
    first = (parse_date(p.query("dari"), today) if p.query("dari")
             else last - dt.timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise StaffError("Tanggal akhir sebelum tanggal awal.", 2)
    return first, last


def _report(p: Page) -> Report:
    first, last = _dates(p)
    tracker = TrackerStore(p.console.settings.tracker_url)
    try:
        return build_report(p.service, tracker, first, last, fallback_threshold())
    finally:
        tracker.dispose()


def _ratio(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


def _bars(rows: list[ReportRow], value: Callable[[ReportRow], float],
          text: Callable[[ReportRow], str],
          detail: Callable[[ReportRow], str] = lambda r: "") -> list[Bar]:
    return [Bar(r.date, f"{dt.date.fromisoformat(r.date):%d/%m}", value(r), text(r), detail(r))
            for r in rows]


def charts(rows: list[ReportRow], with_messages: bool) -> list[tuple[str, Markup]]:
    """The report's charts, each (heading, SVG)."""
    drawn = [
        ("Booking per hari", bar_chart("Booking per hari", _bars(
            rows, lambda r: r.bookings, lambda r: str(r.bookings)))),
        ("Tidak hadir (% dari yang ditandai)", bar_chart("Tidak hadir per hari", _bars(
            rows, lambda r: _ratio(r.no_show, r.arrived + r.no_show),
            lambda r: percent(r.no_show, r.arrived + r.no_show),
            lambda r: f"{r.no_show} dari {r.arrived + r.no_show} yang ditandai"),
            tone="bad", percent=True)),
        ("Pembatalan per hari", bar_chart("Pembatalan per hari", _bars(
            rows, lambda r: r.cancelled, lambda r: str(r.cancelled)), tone="warn")),
    ]
    if with_messages:
        drawn.append(("Pesan tidak dipahami per hari", bar_chart(
            "Pesan tidak dipahami per hari", _bars(
                rows, lambda r: r.fallback_messages, lambda r: str(r.fallback_messages),
                lambda r: f"dari {r.messages} pesan"), tone="bad")))
    return drawn


@page(Role.SUPERVISOR)
def report_page(p: Page) -> Response:
    report = _report(p)
    rows = report.rows(p.service)
    total = report.total()
    figures = [
        ("Booking (tidak batal)", f"{total.bookings} ({total.people} orang)"),
        ("Pembatalan", f"{total.cancelled} ({report.cancellation_rate()})"),
        ("Tidak hadir", f"{total.no_show} dari {total.arrived + total.no_show} yang ditandai "
                        f"({report.no_show_rate()})"),
        ("Belum ditandai", str(total.unmarked)),
    ]
    if report.messages is not None:
        figures += [("Pesan pemohon", str(report.messages.total)),
                    ("Tidak dipahami", f"{report.messages.fallback} ({report.fallback_rate()})")]
    reminders = None
    if p.service.config.notices is not None:
        f = reminder_figures(p.service, report.first, report.last)
        reminders = [
            ("Pengingat terkirim", f"{f['sent']} (dibaca {f['read']}, gagal {f['failed']})"),
            ("\u201cSaya datang\u201d", str(f["attend"])),
            ("Tidak hadir, diingatkan", f"{f['no_show_reminded']} dari {f['reminded']} "
                                        f"({percent(f['no_show_reminded'], f['reminded'])})"),
            ("Tidak hadir, tanpa pengingat",
             f"{f['no_show_not_reminded']} dari {f['not_reminded']} "
             f"({percent(f['no_show_not_reminded'], f['not_reminded'])})"),
        ]
    table = [(day_label(dt.date.fromisoformat(r.date)), r) for r in rows]
    intents = (sorted(report.messages.per_intent.items(), key=lambda i: (-i[1], i[0]))
               if report.messages else [])
    return p.render(
        "report.html", title="Laporan", first=report.first, last=report.last,
        first_label=day_label(report.first), last_label=day_label(report.last),
        figures=figures, reminders=reminders, charts=charts(rows, report.messages is not None),
        table=table, total=total, messages=report.messages, problem=report.tracker_problem,
        intents=intents)


@page(Role.SUPERVISOR)
def report_csv(p: Page) -> Response:
    report = _report(p)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADERS)
    writer.writerows(report.rows(p.service))
    name = f"laporan-{report.first.isoformat()}-{report.last.isoformat()}.csv"
    # utf-8-sig: spreadsheet programs on Windows then read the file as UTF-8 (as the command).
    return Response(buffer.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


nav = [NavItem("Laporan", "/laporan", Role.SUPERVISOR, order=40)]
routes = [
    Route("/laporan", report_page, methods=["GET"]),
    Route("/laporan.csv", report_csv, methods=["GET"]),
]

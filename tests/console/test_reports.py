""""Laporan": the figures of `antrean laporan` with their charts, and the CSV."""
from __future__ import annotations

import csv
import io

from tests.console.conftest import shoot, sign_in


def test_a_report_with_charts_and_its_csv(page, console):
    sign_in(page, console, "supervisor", "/laporan?dari=2026-11-25&sampai=2026-12-01")
    shoot(page, "laporan")
    figures = page.locator(".figures").first.inner_text()
    # 13 bookings not cancelled (3 + 2 + 4 + today's 4), 14 people; 1 cancelled of 14;
    # 3 no-shows of the 9 marked; 6 messages, 2 not understood (one a fallback, one unsure).
    assert "13 (14 orang)" in figures
    assert "1 (7,1%)" in figures
    assert "3 dari 9 yang ditandai (33,3%)" in figures
    assert "2 (33,3%)" in figures

    charts = page.locator(".chart svg")
    assert charts.count() == 4
    bookings = charts.nth(0)
    values = {bar.get_attribute("data-day"): float(bar.get_attribute("data-value"))
              for bar in bookings.locator("rect.bar").all()}
    seeded = {day.isoformat(): count for day, count in console.seeded.per_day.items()}
    assert {day: value for day, value in values.items() if value} == seeded
    assert all(float(h) > 0 for h in (bookings.locator(f'rect[data-day="{day}"]')
                                      .get_attribute("height") for day in seeded))
    no_show = {bar.get_attribute("data-day"): bar.get_attribute("data-value")
               for bar in charts.nth(1).locator("rect.bar").all()}
    assert no_show["2026-11-30"] == "50" and no_show["2026-11-26"] == "0"
    cancelled = charts.nth(2).locator('rect[data-day="2026-11-26"]').get_attribute("data-value")
    assert cancelled == "1"
    fallback = {bar.get_attribute("data-day"): bar.get_attribute("data-value")
                for bar in charts.nth(3).locator("rect.bar").all()}
    assert fallback["2026-11-30"] == "1" and fallback["2026-12-01"] == "1"

    with page.expect_download() as download:
        page.click("text=Unduh CSV")
    path = download.value.path()
    assert download.value.suggested_filename == "laporan-2026-11-25-2026-12-01.csv"
    text = open(path, encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    by_day = {row["tanggal"]: row for row in rows}
    assert by_day["2026-11-30"]["booking"] == "4" and by_day["2026-11-30"]["tidak_hadir"] == "2"
    assert by_day["2026-11-26"]["batal"] == "1"
    assert by_day["2026-12-01"]["pesan"] == "3" and by_day["2026-12-01"]["pesan_fallback"] == "1"
    assert "2026-11-28" not in by_day  # a Saturday without bookings


def test_report_dates_are_checked(console):
    http = console.session("supervisor")
    quiet = http.get(f"{console.url}/laporan?dari=2026-11-02&sampai=2026-11-06")
    assert quiet.status_code == 200 and "Booking per hari" in quiet.text
    backwards = http.get(f"{console.url}/laporan?dari=2026-12-05&sampai=2026-11-01")
    assert backwards.status_code == 400
    assert "Tanggal akhir sebelum tanggal awal" in backwards.text

""""Kalender": the month's quota, closing and reopening a date, capacity and its overrides."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from antrean import calendar
from tests.console.conftest import BOTH_STORES, TODAY, csrf_of, shoot, sign_in

FRIDAY = dt.date(2026, 12, 4)


def _capacity(console, day: dt.date, time: dt.time) -> int:  # noqa: ANN001
    with console.service.store.transaction() as tx:
        overrides = tx.capacity_overrides(day, day)
    return calendar.capacity_of(console.service.config, day, time, overrides)


@BOTH_STORES
def test_close_a_date_with_a_reason_and_reopen_it(page, console):
    sign_in(page, console, "supervisor", "/kalender")
    shoot(page, "kalender")
    today_cell = page.locator(f'[data-date="{TODAY}"]')
    assert "5/" in today_cell.inner_text()  # 5 people booked of the day's capacity
    assert "Libur" in page.locator('[data-date="2026-12-25"]').inner_text()  # Christmas
    page.locator(f'[data-date="{FRIDAY}"]').click()
    page.wait_for_url(f"**/kalender/{FRIDAY}")

    # A reason is required (the browser says so before anything is sent).
    page.click("button:text('Tutup tanggal')")
    assert page.url.endswith(f"/kalender/{FRIDAY}")
    page.fill("textarea[name=alasan]", "Rapat kerja seluruh pegawai")
    page.click("button:text('Tutup tanggal')")
    expect(page.locator("main > .flash")).to_contain_text("ditutup untuk pemesanan baru")
    expect(page.locator("[data-closure]")).to_contain_text("Rapat kerja seluruh pegawai")
    shoot(page, "kalender-tanggal-tutup")
    assert console.service.check_slot(FRIDAY) is not None  # applicants are refused now
    page.goto("/kalender")
    assert "Tutup" in page.locator(f'[data-date="{FRIDAY}"]').inner_text()

    page.locator(f'[data-date="{FRIDAY}"]').click()
    page.click("button:text('Buka kembali tanggal ini')")
    expect(page.locator("main > .flash")).to_contain_text("dibuka kembali")
    assert page.locator("[data-closure]").count() == 0
    assert console.service.check_slot(FRIDAY) is None
    with console.service.store.transaction() as tx:
        entries, _ = tx.console.audit_entries(5, action=None)
    assert [(e.action, e.target, e.before, e.after) for e in reversed(entries)][-2:] == [
        ("tanggal.tutup", FRIDAY.isoformat(), "buka", "ditutup: Rapat kerja seluruh pegawai"),
        ("tanggal.buka", FRIDAY.isoformat(), "ditutup: Rapat kerja seluruh pegawai", "buka"),
    ]


@BOTH_STORES
def test_change_and_remove_capacity_overrides(page, console):
    nine, ten = dt.time(9), dt.time(10)
    sign_in(page, console, "supervisor", f"/kalender/{FRIDAY}")
    default = console.service.config.schedule.slot_capacity

    # The whole date: 10 per slot.
    page.fill("#kapasitas-tanggal", "10")
    page.click("button:text('Simpan untuk semua slot')")
    expect(page.locator("main > .flash")).to_contain_text("setiap slot")
    assert _capacity(console, FRIDAY, nine) == 10 and _capacity(console, FRIDAY, ten) == 10
    # One slot: 3 at 09:00, above the date's rule.
    row = page.locator('tr[data-slot="09:00"]')
    row.locator("input[name=jumlah]").fill("3")
    row.locator("button:text('Simpan')").click()
    expect(page.locator("main > .flash")).to_contain_text("slot 09:00")
    row = page.locator('tr[data-slot="09:00"]')
    assert row.locator("[data-capacity]").inner_text() == "3"
    assert _capacity(console, FRIDAY, nine) == 3 and _capacity(console, FRIDAY, ten) == 10
    shoot(page, "kalender-tanggal")

    # Taking the slot's override off: 09:00 follows the date's rule again.
    row.locator("button:text('Hapus aturan slot')").click()
    expect(page.locator("main > .flash")).to_contain_text("dihapus")
    assert page.locator('tr[data-slot="09:00"] [data-capacity]').inner_text() == "10"
    assert _capacity(console, FRIDAY, nine) == 10
    # And the date's: the office's default everywhere.
    page.click("button:text('Hapus aturan tanggal')")
    expect(page.locator("main > .flash")).to_contain_text("dihapus")
    assert _capacity(console, FRIDAY, nine) == default == _capacity(console, FRIDAY, ten)
    assert page.locator("button:text('Hapus aturan')").count() == 0

    with console.service.store.transaction() as tx:
        entries, _ = tx.console.audit_entries(10)
    assert [(e.action, e.target, e.before, e.after) for e in reversed(entries)][-4:] == [
        ("kapasitas.atur", FRIDAY.isoformat(), str(default), "10"),
        ("kapasitas.atur", f"{FRIDAY} 09:00", "10", "3"),
        ("kapasitas.hapus", f"{FRIDAY} 09:00", "3", "bawaan: 10"),
        ("kapasitas.hapus", FRIDAY.isoformat(), "10", f"bawaan: {default}"),
    ]


def test_a_past_date_cannot_be_changed(console):
    http = console.session("supervisor")
    page = http.get(f"{console.url}/kalender/2026-11-30").text
    assert "sudah lewat" in page and "Tutup tanggal" not in page
    token = csrf_of(http.get(f"{console.url}/hari-ini").text)
    refused = http.post(f"{console.url}/kalender/2026-11-30/kapasitas",
                        data={"csrf": token, "jumlah": "1"},
                        headers={"Referer": f"{console.url}/kalender/2026-11-30"})
    assert refused.url.endswith("/kalender/2026-11-30")
    assert "sudah lewat" in refused.text
    with console.service.store.transaction() as tx:
        assert tx.capacity_overrides(dt.date(2026, 11, 30), dt.date(2026, 11, 30)) == {}

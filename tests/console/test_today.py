""""Hari ini": the day's bookings per slot, arrivals with one click, counts that update live."""
from __future__ import annotations

from playwright.sync_api import expect

from antrean.clock import FixedClock
from tests.console.conftest import (
    BOTH_STORES,
    CONSOLE_NOW,
    csrf_of,
    new_page,
    shoot,
    sign_in,
)


def _count(page, key: str) -> str:  # noqa: ANN001
    return page.locator(f'[data-count="{key}"]').first.inner_text()


@BOTH_STORES
def test_arrivals_marked_at_one_counter_show_at_another_without_reloading(browser, page,
                                                                          console):
    codes = console.seeded.codes
    sign_in(page, console, "loket")
    assert _count(page, "total:bookings") == "4" and _count(page, "total:people") == "5"
    assert _count(page, "08:00:unmarked") == "2" and _count(page, "08:00:arrived") == "0"
    page.evaluate("window.notReloaded = true")

    other = new_page(browser, console, width=360)  # a second counter, on a phone
    try:
        sign_in(other, console, "supervisor")
        budi = other.locator(f'[data-booking="{codes["budi"]}"]')
        budi.locator("button[value=hadir]").click()
        # Sent with fetch: the second counter's page is updated in place too.
        expect(budi.locator("[data-status]")).to_have_text("hadir")
        assert "hadir" in other.locator("main > .flash").inner_text()
        shoot(other, "hari-ini-supervisor")
    finally:
        other.context.close()

    # The first counter's page polls: the count changes, the page is the same page.
    expect(page.locator('[data-count="08:00:arrived"]')).to_have_text("1", timeout=15_000)
    assert _count(page, "total:arrived") == "1" and _count(page, "08:00:unmarked") == "1"
    assert page.evaluate("window.notReloaded") is True
    status = page.locator(f'[data-booking="{codes["budi"]}"] [data-status]').inner_text()
    assert status == "hadir"

    # A no-show, then corrected: the rules of `antrean tidak-hadir` / `hadir`.
    siti = page.locator(f'[data-booking="{codes["siti"]}"]')
    siti.locator("button[value=tidak-hadir]").click()
    expect(siti.locator("[data-status]")).to_have_text("tidak hadir")
    assert _count(page, "total:no_show") == "1"
    siti.locator("button[value=hadir]").click()
    expect(siti.locator("[data-status]")).to_have_text("hadir")
    expect(page.locator('[data-count="total:no_show"]')).to_have_text("0")
    assert _count(page, "total:arrived") == "2"
    with console.service.store.transaction() as tx:
        assert tx.staff.by_code(codes["siti"].replace("-", "")).attendance.value == "arrived"
        entries, _ = tx.console.audit_entries(10, action="kehadiran")
    assert [(e.username, e.action, e.target, e.before, e.after) for e in reversed(entries)] == [
        ("supervisor", "kehadiran", codes["budi"], "belum ditandai", "hadir"),
        ("loket", "kehadiran", codes["siti"], "belum ditandai", "tidak hadir"),
        ("loket", "kehadiran", codes["siti"], "tidak hadir", "hadir"),
    ]


def test_a_no_show_before_the_slot_starts_is_refused_with_the_reason(page, console):
    sign_in(page, console, "loket")
    dewi = page.locator(f'[data-booking="{console.seeded.codes["dewi"]}"]')  # 13:00, now 10:00
    dewi.locator("button[value=tidak-hadir]").click()
    error = page.locator("main > .flash-error")
    error.wait_for()
    assert "belum dimulai" in error.inner_text()
    assert dewi.locator("[data-status]").inner_text() == "terjadwal"


def test_the_counter_sees_priority_groups_saya_datang_and_masked_numbers(page, console):
    codes = console.seeded.codes
    sign_in(page, console, "loket")
    shoot(page, "hari-ini")
    siti = page.locator(f'[data-booking="{codes["siti"]}"]')
    assert "Prioritas: anak balita" in siti.inner_text()  # her 3-year-old
    harjo = page.locator(f'[data-booking="{codes["harjo"]}"]')
    assert "Prioritas: lansia" in harjo.inner_text() and "Saya datang" in harjo.inner_text()
    budi = page.locator(f'[data-booking="{codes["budi"]}"]').inner_text()
    assert "Budi Santoso" in budi and "Prioritas" not in budi and "Saya datang" not in budi
    assert "*********7890" in budi and "6281234567890" not in budi  # the counter: masked
    assert "NIK ************0001" in budi  # NIKs always masked
    content = page.content()
    assert "3171011203900001" not in content
    supervisor = console.session("supervisor").get(f"{console.url}/hari-ini").text
    assert "6281234567890" in supervisor  # supervisors call applicants


def test_search_by_code_or_name(page, console):
    codes = console.seeded.codes
    sign_in(page, console, "loket")
    page.fill("input[name=cari]", "siti")
    page.click("button:text('Cari')")
    page.wait_for_url("**/hari-ini?cari=siti")
    assert page.locator("[data-booking]").count() == 1
    assert page.locator(f'[data-booking="{codes["siti"]}"]').is_visible()
    page.fill("input[name=cari]", codes["harjo"].lower().replace("-", ""))
    page.click("button:text('Cari')")
    page.wait_for_load_state()
    assert [page.locator("[data-booking]").get_attribute("data-booking")] == [codes["harjo"]]
    page.fill("input[name=cari]", "Tidak Ada Orangnya")
    page.click("button:text('Cari')")
    page.wait_for_load_state()
    assert page.locator("[data-booking]").count() == 0
    assert "Tidak ada booking hari ini yang cocok" in page.locator(".note").inner_text()


def test_after_the_service_the_unmarked_rest_become_no_shows(console):
    url = f"{console.url}/hari-ini/sisa-tidak-hadir"
    loket = console.session("loket")
    assert "Tandai sisa" not in loket.get(f"{console.url}/hari-ini").text
    assert loket.post(url, data={"csrf": csrf_of(loket.get(f"{console.url}/hari-ini").text)}
                      ).status_code == 403
    http = console.session("supervisor")
    page = http.get(f"{console.url}/hari-ini").text
    assert "Tandai sisa sebagai tidak hadir" in page
    early = http.post(url, data={"csrf": csrf_of(page)},
                      headers={"Referer": f"{console.url}/hari-ini"})
    assert "belum selesai" in early.text  # 10:00, the office serves until 16:00
    console.service.clock = FixedClock(CONSOLE_NOW.replace(hour=16, minute=30))
    done = http.post(url, data={"csrf": csrf_of(page)})
    assert "4 booking yang belum ditandai kini tercatat tidak hadir" in done.text
    counts = http.get(f"{console.url}/hari-ini/angka",
                      headers={"Accept": "application/json"}).json()["counts"]
    assert (counts["total:no_show"], counts["total:unmarked"]) == (4, 0)
    with console.service.store.transaction() as tx:
        entries, _ = tx.console.audit_entries(1, action="kehadiran.sisa")
    assert (entries[0].target, entries[0].before) == ("2026-12-01", "4 belum ditandai")

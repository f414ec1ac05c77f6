"""Accounts (admin), the audit log, and releasing a NIK someone else booked (supervisor)."""
from __future__ import annotations

from playwright.sync_api import expect

from antrean.nik import mask_nik
from tests.console.conftest import BOTH_STORES, PASSWORD, login, new_page, shoot, sign_in

NEW_PASSWORD = "kata-sandi-baru-7"


def _user_row(page, username: str):  # noqa: ANN001, ANN202
    return page.locator(f'[data-user="{username}"]')


@BOTH_STORES
def test_an_admin_manages_accounts_and_the_audit_log_shows_each_change(browser, page, console):
    sign_in(page, console, "admin", "/pengguna")
    # Add a counter account; a password too short is refused with the rule.
    page.fill("input[name=username]", "rina")
    page.fill("input[name=nama]", "Rina Kurnia")
    page.select_option("form[action='/pengguna/tambah'] select[name=peran]", "loket")
    page.fill("form[action='/pengguna/tambah'] input[name=sandi]", PASSWORD)
    page.fill("form[action='/pengguna/tambah'] input[name=sandi2]", PASSWORD)
    page.click("button:text('Tambah')")
    expect(page.locator("main > .flash")).to_contain_text("rina (Petugas loket) dibuat")
    assert _user_row(page, "rina").locator("[data-role]").inner_text() == "Petugas loket"

    rina = new_page(browser, console, width=360)
    try:
        login(rina, "rina")
        rina.wait_for_url("**/hari-ini")
        assert rina.goto("/kalender").status == 403

        # Promoted: the same session opens the calendar.
        row = _user_row(page, "rina")
        row.locator("select[name=peran]").select_option("supervisor")
        row.locator("button:text('Ubah peran')").click()
        expect(page.locator("main > .flash")).to_contain_text("rina kini Supervisor")
        assert rina.goto("/kalender").status == 200

        # A new password ends her sessions; the old one no longer works.
        row = _user_row(page, "rina")
        row.locator("summary").click()
        row.locator("input[name=sandi]").fill(NEW_PASSWORD)
        row.locator("input[name=sandi2]").fill(NEW_PASSWORD)
        row.locator("button:text('Simpan sandi baru')").click()
        expect(page.locator("main > .flash")).to_contain_text("Kata sandi baru untuk rina")
        rina.goto("/hari-ini")
        assert "/masuk" in rina.url
        login(rina, "rina", PASSWORD, go=False)
        assert "salah" in rina.locator(".flash-error").inner_text()
        login(rina, "rina", NEW_PASSWORD)
        rina.wait_for_url("**/hari-ini")

        # Deactivated: signed out, and cannot sign in again.
        _user_row(page, "rina").locator("button:text('Nonaktifkan')").click()
        expect(page.locator("main > .flash")).to_contain_text("rina dinonaktifkan")
        assert _user_row(page, "rina").locator("[data-active]").inner_text() == "nonaktif"
        rina.goto("/hari-ini")
        assert "/masuk" in rina.url
        login(rina, "rina", NEW_PASSWORD, go=False)
        assert "salah" in rina.locator(".flash-error").inner_text()
    finally:
        rina.context.close()
    shoot(page, "pengguna")

    # The admin cannot lock themselves out.
    assert _user_row(page, "admin").locator("button:text('Nonaktifkan')").is_disabled()
    row = _user_row(page, "admin")
    row.locator("select[name=peran]").select_option("loket")
    row.locator("button:text('Ubah peran')").click()
    expect(page.locator("main > .flash-error")).to_contain_text("satu-satunya admin aktif")

    page.goto("/audit")
    shoot(page, "audit")
    rows = page.locator("[data-audit] tbody tr").all_inner_texts()
    expected = [("admin", "Aktif / nonaktif", "rina", "aktif", "nonaktif"),
                ("admin", "Kata sandi", "rina", "sandi baru diatur"),
                ("admin", "Ubah peran", "rina", "loket", "supervisor"),
                ("admin", "Tambah pengguna", "rina", "Rina Kurnia, peran loket")]
    for row_text, parts in zip(rows[:len(expected)], expected, strict=True):
        assert all(part in row_text for part in parts), (row_text, parts)
    assert PASSWORD not in page.content() and NEW_PASSWORD not in page.content()
    page.select_option("select[name=aksi]", "pengguna.peran")
    page.click("button:text('Tampilkan')")
    assert page.locator("[data-audit] tbody tr").count() == 1


@BOTH_STORES
def test_release_a_nik_after_checking_identity(page, console):
    nik = console.seeded.squatted_nik
    code = console.seeded.codes["dewi"]
    sign_in(page, console, "supervisor", "/lepas-nik")
    page.fill("input[name=nik]", f"{nik[:6]} {nik[6:12]} {nik[12:]}")  # as typed from an e-KTP
    page.fill("textarea[name=alasan]", "Pemilik NIK datang dengan e-KTP asli")
    page.click("button:text('Cari booking yang memegangnya')")
    holder = page.locator("[data-holder]")
    expect(holder).to_contain_text(code)
    assert "Selasa, 1 Desember 2026, pukul 13.00" in holder.inner_text()
    shoot(page, "lepas-nik")
    # The identity check must be confirmed.
    page.click("button:text('Batalkan booking dan lepas NIK')")
    assert page.locator("[data-holder]").count() == 1  # the browser held the form back
    page.check("input[name=diperiksa]")
    page.click("button:text('Batalkan booking dan lepas NIK')")
    expect(page.locator("main > .flash")).to_contain_text(f"Booking {code}")
    assert "NIK itu kini bisa dipakai mendaftar lagi" in page.locator("main > .flash").inner_text()
    assert mask_nik(nik) in page.locator("table").last.inner_text()

    assert console.service.nik_booking_refusal(nik) is None  # free to book again
    booking = console.service.find_by_code(code)
    assert booking is not None and booking.status.value == "cancelled"
    with console.service.store.transaction() as tx:
        notices = tx.access.owner_notices()
        entries, _ = tx.console.audit_entries(1, action="nik.lepas")
    assert [(n.booking_code, n.event) for n in notices] == [(code.replace("-", ""), "released")]
    assert entries[0].target == mask_nik(nik) and entries[0].username == "supervisor"
    assert f"booking {code} dibatalkan" in (entries[0].after or "")
    assert nik not in (entries[0].before or "") + (entries[0].after or "")

    # Again: nothing holds it any more.
    page.fill("input[name=nik]", nik)
    page.click("button:text('Cari booking yang memegangnya')")
    expect(page.locator(".note")).to_contain_text("Tidak ada booking aktif yang memegang NIK")

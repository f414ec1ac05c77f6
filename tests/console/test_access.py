"""Signing in and who may do what: passwords, lock-out, roles, CSRF, cookies, the command."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
import requests

from antrean.config import PROJECT_ROOT
from tests.console.conftest import BOTH_STORES, PASSWORD, csrf_of, login, shoot
from tests.e2e.servers import free_port

MONDAY = dt.date(2026, 12, 7)
SUPERVISOR_MENU = ["Hari ini", "Kalender", "Laporan", "Lepas NIK", "Audit"]


def test_sign_in_shows_today_and_the_menu_of_the_role_then_sign_out(page, console):
    page.goto("/kalender")  # not signed in: to the sign-in page, and back afterwards
    assert page.url.endswith("/masuk?lanjut=/kalender")
    shoot(page, "masuk")
    login(page, "supervisor", go=False)
    page.wait_for_url("**/kalender")
    page.click("a.who-name")
    page.wait_for_url("**/sandi")
    shoot(page, "ganti-sandi")
    menu = page.locator("nav.mainnav a").all_inner_texts()
    # (other pages, such as the hand-off inbox, may sit between them)
    assert [item for item in menu if item in SUPERVISOR_MENU] == SUPERVISOR_MENU
    assert "Pengguna" not in menu
    page.click("text=Keluar")
    page.wait_for_url("**/masuk")
    page.goto("/hari-ini")
    assert "/masuk" in page.url  # the session is gone


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(page, console):
    login(page, "loket", "bukan-sandinya")
    assert page.locator(".flash-error").inner_text() == "Nama pengguna atau kata sandi salah."
    login(page, "tidak-ada", PASSWORD)
    assert page.locator(".flash-error").inner_text() == "Nama pengguna atau kata sandi salah."
    assert "/masuk" in page.url


def test_five_failures_lock_the_name_even_for_the_right_password(page, console):
    http = requests.Session()
    answers = []
    for _ in range(5):
        token = csrf_of(http.get(f"{console.url}/masuk").text)
        answers.append(http.post(f"{console.url}/masuk", data={
            "csrf": token, "username": "loket", "password": "salah-lagi-123"}))
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert "Terlalu banyak percobaan" in answers[-1].text
    login(page, "loket", PASSWORD)  # the right one, too late
    message = page.locator(".flash-error").inner_text()
    assert "Terlalu banyak percobaan" in message and "Coba lagi setelah pukul" in message
    assert "/masuk" in page.url
    login(page, "supervisor")  # another name is not locked
    page.wait_for_url("**/hari-ini")


def test_the_counter_cannot_open_supervisor_pages(page, console):
    login(page, "loket")
    page.wait_for_url("**/hari-ini")
    menu = page.locator("nav.mainnav a").all_inner_texts()
    assert "Hari ini" in menu and not set(SUPERVISOR_MENU[1:]) & set(menu)
    response = page.goto("/kalender")
    assert response is not None and response.status == 403
    assert "hanya untuk supervisor" in page.locator("main").inner_text()
    shoot(page, "dilarang")
    http = console.session("loket")
    for path in ("/laporan", "/laporan.csv", "/lepas-nik", "/audit", "/pengguna",
                 f"/kalender/{MONDAY}"):
        refused = http.get(f"{console.url}{path}")
        assert refused.status_code == 403, path
        assert "hanya untuk supervisor" in refused.text or "hanya untuk admin" in refused.text
    # Nor post to them: the role is checked before anything is read.
    token = csrf_of(http.get(f"{console.url}/hari-ini").text)
    refused = http.post(f"{console.url}/kalender/{MONDAY}/tutup",
                        data={"csrf": token, "alasan": "coba"}, allow_redirects=False)
    assert refused.status_code == 403
    with console.service.store.transaction() as tx:
        assert tx.staff_closures(MONDAY, MONDAY) == {}


def test_a_form_without_its_csrf_token_is_refused(console):
    http = console.session("supervisor")
    code = console.seeded.codes["budi"]
    for data in ({"kode": code, "nilai": "hadir"},
                 {"kode": code, "nilai": "hadir", "csrf": "palsu"}):
        refused = http.post(f"{console.url}/hari-ini/tandai", data=data, allow_redirects=False)
        assert refused.status_code == 403
        assert "token keamanan" in refused.text
    assert "hadir" not in _status_of(console, code)
    # The same form with the session's token goes through.
    token = csrf_of(http.get(f"{console.url}/hari-ini").text)
    done = http.post(f"{console.url}/hari-ini/tandai",
                     data={"kode": code, "nilai": "hadir", "csrf": token}, allow_redirects=False)
    assert done.status_code == 303
    assert _status_of(console, code) == "arrived"
    # The sign-in form has a token too (a cookie and a field that must agree).
    stranger = requests.post(f"{console.url}/masuk",
                             data={"username": "admin", "password": PASSWORD},
                             allow_redirects=False)
    assert stranger.status_code == 403 and "law_sesi" not in stranger.cookies
    token = csrf_of(http.get(f"{console.url}/masuk").text)
    nul = http.post(f"{console.url}/masuk", data={"csrf": token, "username": "ad\x00min",
                                                   "password": "x\x00"})
    assert nul.status_code == 401 and "salah" in nul.text


def _status_of(console, display_code: str) -> str:
    with console.service.store.transaction() as tx:
        booking = tx.staff.by_code(display_code.replace("-", ""))
    assert booking is not None
    return booking.attendance.value if booking.attendance else ""


def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(console):
    http = requests.Session()
    token = csrf_of(http.get(f"{console.url}/masuk").text)
    plain = http.post(f"{console.url}/masuk", allow_redirects=False,
                      data={"csrf": token, "username": "admin", "password": PASSWORD})
    cookie = plain.headers["set-cookie"].lower()
    assert "law_sesi=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie
    proxied = requests.Session()
    token = csrf_of(proxied.get(f"{console.url}/masuk").text)
    behind_tls = proxied.post(f"{console.url}/masuk", allow_redirects=False,
                              headers={"X-Forwarded-Proto": "https"},
                              data={"csrf": token, "username": "admin", "password": PASSWORD})
    assert "secure" in behind_tls.headers["set-cookie"].lower()
    # Only a hash of the token is stored.
    value = plain.cookies["law_sesi"]
    with console.service.store.transaction() as tx:
        rows = tx.conn.exec_driver_sql("SELECT token_hash FROM console_sessions").fetchall()
    assert rows and all(value not in row[0] for row in rows)


@BOTH_STORES
def test_bad_input_gets_an_indonesian_page_not_a_traceback(console):
    http = console.session("supervisor")
    for path in ("/kalender/2026-13-45", "/kalender?bulan=bulan-depan",
                 "/kalender?bulan=9999-12", "/laporan?dari=kemarin-dulu-sekali",
                 "/laporan?dari=2020-01-01", "/audit?halaman=-3&aksi=%00", "/tidak-ada"):
        response = http.get(f"{console.url}{path}")
        assert response.status_code in (200, 400, 404), path
        assert "Traceback" not in response.text and "<html lang=\"id\">" in response.text
    admin = console.session("admin")
    token = csrf_of(admin.get(f"{console.url}/pengguna").text)
    for path, data in (("/pengguna/99999999999999999999/peran", {"peran": "admin"}),
                       ("/pengguna/1/peran", {"peran": "raja"}),
                       ("/pengguna/tambah", {"username": "x y", "sandi": "a", "sandi2": "b"}),
                       ("/kalender/2026-12-07/kapasitas", {"jumlah": "-1"}),
                       ("/kalender/2026-12-07/kapasitas", {"jumlah": "5", "jam": "25:99"}),
                       ("/lepas-nik", {"nik": "123", "alasan": "x", "diperiksa": "ya"}),
                       ("/kalender/2026-12-07/tutup", {"alasan": "\x00"})):
        answer = admin.post(f"{console.url}{path}", data={"csrf": token, **data},
                            headers={"Referer": f"{console.url}/pengguna"})
        assert answer.status_code == 200 and "flash-error" in answer.text, path


def test_the_law_console_command_serves_the_console(tmp_path):
    port = free_port()
    env = dict(os.environ, LAW_DATABASE_URL=f"sqlite:///{tmp_path / 'law.db'}",
               LAW_TRACKER_URL=f"sqlite:///{tmp_path / 'tracker.db'}")
    script = PROJECT_ROOT / ".venv" / "bin" / "law-console"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "law_console.server"]
    process = subprocess.Popen(command + ["--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/masuk", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"law-console did not start: {process.stdout.read()}")
                time.sleep(0.2)
        assert answer.status_code == 200 and "Masuk" in answer.text
        assert answer.headers["x-frame-options"] == "DENY"
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'role="console"' in metrics
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_staff_change_their_own_password_and_their_other_sessions_end(console):
    here, elsewhere = console.session("loket"), console.session("loket")
    token = csrf_of(here.get(f"{console.url}/sandi").text)
    wrong = here.post(f"{console.url}/sandi", data={
        "csrf": token, "kembali": "/sandi", "sandi_lama": "bukan-ini-123", "sandi": "sandi-baru-loket",
        "sandi2": "sandi-baru-loket"})
    assert wrong.url.endswith("/sandi") and "Kata sandi lama salah" in wrong.text
    done = here.post(f"{console.url}/sandi", data={
        "csrf": token, "sandi_lama": PASSWORD, "sandi": "sandi-baru-loket",
        "sandi2": "sandi-baru-loket"})
    assert done.url.endswith("/hari-ini") and "sudah diganti" in done.text
    assert here.get(f"{console.url}/hari-ini", allow_redirects=False).status_code == 200
    assert elsewhere.get(f"{console.url}/hari-ini", allow_redirects=False).status_code == 303
    with console.service.store.transaction() as tx:
        entries, _ = tx.console.audit_entries(1, action="pengguna.sandi")
    assert (entries[0].username, entries[0].after) == ("loket", "sandi diganti sendiri")
    fresh = requests.Session()
    token = csrf_of(fresh.get(f"{console.url}/masuk").text)
    assert fresh.post(f"{console.url}/masuk", allow_redirects=False, data={
        "csrf": token, "username": "loket", "password": "sandi-baru-loket"}).status_code == 303

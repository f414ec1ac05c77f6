"""Taking a hand-off over from the console, through every real part.

An applicant writes on WhatsApp (signed webhook) to the real Rasa server with the ``whatsapp``
channel and the real action server; the console (``law_console.handoff``) reads the request and
the conversation from the same stores, pauses and resumes the conversation through Rasa's HTTP
API (with its auth token), and sends staff replies through the channel's Graph API client to a
local Graph API. First over the console's HTTP endpoints, then once in Chromium, with
screenshots. One Rasa for the module; each test is its own applicant.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from antrean.model import HandoffRequest
from antrean.service import BookingService
from antrean.settings import Settings
from antrean.staff.users import Actor, Role, add_user
from antrean.store.tracker_queries import TrackerEvents
from law_console.app import create_app
from law_console.handoff import Desk
from law_console.takeover import BOT_IS_BACK, RasaConversations, WhatsAppReplies, settings_from_env
from tests.console.conftest import PASSWORD, ConsoleThread, csrf_of, login, shoot
from tests.console.takeover_stack import (
    Applicant,
    FakeGraph,
    Rasa,
    rasa_with_whatsapp,
    wait_until,
    whatsapp_env,
)
from tests.e2e.servers import find_model, free_port

pytestmark = pytest.mark.slow

ASK_FOR_A_PERSON = "mau ngomong sama orang aja, jangan robot"
STAFF = {"loket": ("Sari Loket", Role.LOKET), "supervisor": ("Bima Supervisor", Role.SUPERVISOR)}


@dataclass
class Stack:
    graph: FakeGraph
    rasa: Rasa
    url: str  # the console
    service: BookingService

    def applicant(self, phone: str) -> Applicant:
        return Applicant(phone, self.rasa, self.graph)

    def staff(self, username: str = "loket") -> requests.Session:
        return signed_in(self.url, username)

    def handoff(self, phone: str, timeout: float = 60.0) -> HandoffRequest:
        """The hand-off request of ``phone`` (open or not), once the bot has written it."""
        found: list[HandoffRequest] = []

        def written() -> bool:
            found[:] = [r for r in self.service.handoffs(include_resolved=True)
                        if r.phone == phone]
            return bool(found)

        wait_until(written, timeout, f"a hand-off request of {phone[-4:]}")
        return found[-1]

    def rows(self, query: str, **params: Any) -> list[Any]:
        engine = create_engine(self.rasa.database_url, future=True)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query), params))
        finally:
            engine.dispose()

    def audit(self, handoff_id: int) -> list[tuple[str, str]]:
        return [(r.action, r.username) for r in self.rows(
            "SELECT action, username FROM audit_log WHERE target LIKE :t ORDER BY id",
            t=f"permintaan {handoff_id} %")]

    def active_takeovers(self, phone: str) -> int:
        return len(self.rows("SELECT id FROM takeovers WHERE phone = :p AND ended_at IS NULL",
                             p=phone))


def signed_in(url: str, username: str) -> requests.Session:
    http = requests.Session()
    token = csrf_of(http.get(f"{url}/masuk", timeout=10).text)
    done = http.post(f"{url}/masuk", data={"csrf": token, "username": username,
                                           "password": PASSWORD},
                     allow_redirects=False, timeout=10)
    assert done.status_code == 303, done.text
    return http


def submit(http: requests.Session, url: str, handoff_id: int, action: str,
           **fields: str) -> requests.Response:
    """POST a form of the conversation page (its CSRF token), following the redirect."""
    page = http.get(f"{url}/permintaan/{handoff_id}", timeout=10)
    return http.post(f"{url}/permintaan/{handoff_id}/{action}",
                     data={"csrf": csrf_of(page.text), **fields}, timeout=30)


def polled_lines(http: requests.Session, url: str, handoff_id: int) -> list[dict[str, Any]]:
    reply = http.get(f"{url}/permintaan/{handoff_id}/pesan",
                     headers={"Accept": "application/json"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["lines"]


@contextmanager
def console_on(rasa: Rasa, rasa_url: str | None = None, rasa_token: str | None = None,
               desk: Any = None) -> Iterator[tuple[str, BookingService]]:
    """The real console app (uvicorn, free port) on the stack's slot and tracker stores."""
    settings = Settings(database_url=rasa.database_url, tracker_url=rasa.tracker_url,
                        rasa_url=rasa_url or rasa.url, rasa_token=rasa_token or rasa.token)
    app = create_app(settings)
    if desk is not None:
        app.state.handoff_desk = desk(settings)
    service = app.state.console.service
    for username, (name, role) in STAFF.items():
        with service.store.transaction() as tx:
            exists = tx.console.user_by_name(username) is not None
        if not exists:
            add_user(service, Actor(None, "pytest"), username, name, role, PASSWORD)
    port = free_port()
    with ConsoleThread(app, port):
        yield f"http://127.0.0.1:{port}", service


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    model = find_model()
    if model is None:
        pytest.skip("no trained model in models/ (run `make train`; this test never trains)")
    graph = FakeGraph()
    graph.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            for name, value in whatsapp_env(graph).items():  # the console's WhatsApp settings
                env.setenv(name, value)
            with rasa_with_whatsapp(tmp_path_factory.mktemp("takeover"), model, graph) as rasa:
                with console_on(rasa) as (url, service):
                    yield Stack(graph, rasa, url, service)
    finally:
        graph.stop()


def asked_for_a_person(stack: Stack, phone: str) -> tuple[Applicant, HandoffRequest]:
    applicant = stack.applicant(phone)
    applicant.write(ASK_FOR_A_PERSON)
    stack.graph.wait_for_texts(phone, 1)
    applicant.wait_logged(1)
    return applicant, stack.handoff(phone)


def stays_silent(applicant: Applicant, text: str, answered: int) -> None:
    """The applicant writes; Rasa logs it; nothing goes back to them."""
    logged = applicant.user_turns_logged()
    applicant.write(text)
    applicant.wait_logged(logged + 1)
    time.sleep(1.0)
    assert len(applicant.texts()) == answered, applicant.texts()


# --- over HTTP ------------------------------------------------------------------------------
def test_staff_take_over_reply_and_hand_back(stack: Stack) -> None:
    applicant, request = asked_for_a_person(stack, "6281277001001")
    staff = stack.staff()
    inbox = staff.get(f"{stack.url}/permintaan", timeout=10).text
    assert f"#{request.id}" in inbox and "Menunggu" in inbox
    assert applicant.phone not in inbox and f"*{applicant.phone[-4:]}" in inbox
    assert "jangan robot" in inbox  # the last messages are shown

    taken = submit(staff, stack.url, request.id, "ambil-alih")
    assert "Anda mengambil alih percakapan ini" in taken.text
    assert stack.rasa.tracker(applicant.phone)["paused"] is True
    assert stack.active_takeovers(applicant.phone) == 1

    words = "Selamat siang, saya Sari dari kantor. Ada yang bisa saya bantu?"
    sent = submit(staff, stack.url, request.id, "balas", pesan=words)
    assert "Balasan terkirim ke WhatsApp pemohon." in sent.text
    assert stack.graph.wait_for_texts(applicant.phone, 2)[-1] == words

    # The bot stays silent; what the applicant writes reaches the console within seconds of
    # Rasa logging it.
    stays_silent(applicant, "paspor saya hilang waktu banjir, gimana ya", answered=2)
    wait_until(lambda: any("paspor saya hilang" in line["text"] and line["who"] == "pemohon"
                           for line in polled_lines(staff, stack.url, request.id)),
               5.0, "the applicant's message in the console")
    lines = polled_lines(staff, stack.url, request.id)
    assert {"who": "petugas", "label": "Petugas Sari Loket", "text": words}.items() <= next(
        line for line in lines if line["who"] == "petugas").items()
    assert [line["text"] for line in lines if line["who"] == "sistem"] == [
        "Petugas mengambil alih; asisten diam."]

    done = submit(staff, stack.url, request.id, "selesai")
    assert f"Permintaan {request.id} selesai; asisten kembali melayani pemohon." in done.text
    assert "Pemohon sudah diberi tahu." in done.text
    assert stack.graph.wait_for_texts(applicant.phone, 3)[-1] == BOT_IS_BACK
    assert stack.rasa.tracker(applicant.phone)["paused"] is False
    assert stack.active_takeovers(applicant.phone) == 0
    assert stack.handoff(applicant.phone).resolved_by == "loket"
    assert stack.audit(request.id) == [("permintaan.ambil-alih", "loket"),
                                       ("permintaan.balas", "loket"),
                                       ("permintaan.selesai", "loket")]
    assert not any(applicant.phone in str(row) for row in stack.rows("SELECT * FROM audit_log"))
    again = submit(staff, stack.url, request.id, "selesai")  # a second click changes nothing
    assert "Permintaan ini sudah selesai." in again.text

    applicant.write("halo")  # the bot answers again
    assert "selamat datang" in stack.graph.wait_for_texts(applicant.phone, 4)[-1].lower()


def test_personal_data_is_masked_until_shown_and_showing_is_audited(stack: Stack) -> None:
    applicant = stack.applicant("6281277001002")
    applicant.write("nama saya Budi Santoso, NIK 3171011203900001 lahir 12-03-1990")
    stack.graph.wait_for_texts(applicant.phone, 1)
    applicant.wait_logged(1)
    applicant.write(ASK_FOR_A_PERSON)
    request = stack.handoff(applicant.phone)
    applicant.wait_logged(2)
    secrets = ("Budi Santoso", "3171011203900001", "12-03-1990", applicant.phone)
    staff, other = stack.staff("loket"), stack.staff("supervisor")
    for http in (staff, other):
        shown = [http.get(f"{stack.url}/permintaan", timeout=10).text,
                 http.get(f"{stack.url}/permintaan/{request.id}", timeout=10).text,
                 str(polled_lines(http, stack.url, request.id))]
        for page in shown:
            assert not [s for s in secrets if s in page], page
        assert "B*** S******" in shown[1] and "************0001" in shown[1]

    revealed = submit(staff, stack.url, request.id, "tampilkan")
    assert "Data pribadi ditampilkan untuk Anda" in revealed.text
    assert all(secret in revealed.text for secret in secrets)
    assert "Budi Santoso" in str(polled_lines(staff, stack.url, request.id))
    # Shown to the one who asked, not to every session.
    assert "Budi Santoso" not in other.get(f"{stack.url}/permintaan/{request.id}").text
    assert stack.audit(request.id) == [("permintaan.tampilkan", "loket")]


def test_a_failed_send_keeps_the_draft_and_the_takeover(stack: Stack) -> None:
    applicant, request = asked_for_a_person(stack, "6281277001003")
    staff = stack.staff()
    submit(staff, stack.url, request.id, "ambil-alih")
    stack.graph.fail_with = 500
    try:
        words = "Mohon tunggu sebentar ya, saya cek dulu."
        failed = submit(staff, stack.url, request.id, "balas", pesan=words)
    finally:
        stack.graph.fail_with = None
    assert failed.status_code == 400
    assert "Pesan TIDAK terkirim" in failed.text and "HTTP 500" in failed.text
    assert words in failed.text  # still in the text box
    assert len(applicant.texts()) == 1
    assert stack.active_takeovers(applicant.phone) == 1
    stays_silent(applicant, "halo? masih ada orang?", answered=1)
    empty = submit(staff, stack.url, request.id, "balas", pesan="   ")
    assert empty.status_code == 400 and "Balasan kosong" in empty.text
    submit(staff, stack.url, request.id, "selesai")
    assert stack.graph.wait_for_texts(applicant.phone, 2)[-1] == BOT_IS_BACK


def test_a_new_rasa_session_does_not_end_the_takeover(stack: Stack) -> None:
    applicant, request = asked_for_a_person(stack, "6281277001008")
    staff = stack.staff()
    submit(staff, stack.url, request.id, "ambil-alih")
    # What Rasa does when the applicant writes after 60 minutes of silence: a new session,
    # which resets the tracker and so ends the pause.
    stack.rasa.append(applicant.phone, [{"event": "session_started"},
                                        {"event": "action", "name": "action_listen"}])
    assert stack.rasa.tracker(applicant.phone)["paused"] is False
    polled = staff.get(f"{stack.url}/permintaan/{request.id}/pesan",
                       headers={"Accept": "application/json"}, timeout=10).json()
    assert "asisten sudah didiamkan lagi" in polled["note"]
    assert stack.rasa.tracker(applicant.phone)["paused"] is True
    stays_silent(applicant, "halo? masih di situ?", answered=1)
    submit(staff, stack.url, request.id, "selesai")
    assert stack.graph.wait_for_texts(applicant.phone, 2)[-1] == BOT_IS_BACK


def test_outside_the_24_hour_window_no_free_text_goes(stack: Stack) -> None:
    phone = "6281277001004"
    stack.rasa.append(phone, [{"event": "user", "text": "tolong hubungi saya",
                               "timestamp": time.time() - 25 * 3600,
                               "parse_data": {"intent": {"name": "request_human"},
                                              "entities": []},
                               "input_channel": "whatsapp"}])
    request = stack.service.flag_for_human(phone, "request_human", "tolong hubungi saya")
    staff = stack.staff()
    page = staff.get(f"{stack.url}/permintaan/{request.id}", timeout=10).text
    assert "Jendela 24 jam WhatsApp sudah tertutup" in page
    submit(staff, stack.url, request.id, "ambil-alih")
    refused = submit(staff, stack.url, request.id, "balas", pesan="Selamat pagi")
    assert refused.status_code == 400
    assert "lebih dari 24 jam" in refused.text and "templat" in refused.text
    done = submit(staff, stack.url, request.id, "selesai")
    assert "Pemberitahuan ke pemohon tidak terkirim" in done.text
    assert stack.graph.texts_to(phone) == []
    assert stack.rasa.tracker(phone)["paused"] is False


def _rasa_down(stack: Stack) -> dict[str, Any]:
    return {"rasa_url": f"http://127.0.0.1:{free_port()}"}


def _wrong_token(stack: Stack) -> dict[str, Any]:
    return {"rasa_token": "bukan-token-rasa"}


def _no_api(stack: Stack) -> dict[str, Any]:
    return {"rasa_url": stack.url}  # a server that answers 404 to Rasa's paths


def _no_whatsapp(stack: Stack) -> dict[str, Any]:
    def desk(settings: Settings) -> Desk:
        return Desk(TrackerEvents(settings.tracker_url),
                    RasaConversations(settings.rasa_url, settings.rasa_token),
                    WhatsAppReplies(lambda: settings_from_env({})))  # nothing set
    return {"desk": desk}


@pytest.mark.parametrize(("broken", "message"), [
    (_rasa_down, "Server asisten (Rasa) tidak dapat dihubungi"),
    (_wrong_token, "Server asisten (Rasa) menolak permintaan konsol (401)"),
    (_no_api, "Server asisten (Rasa) tidak membuka API-nya (HTTP 404)"),
    (_no_whatsapp, "WhatsApp belum diatur untuk konsol ini"),
])
def test_a_takeover_that_cannot_work_is_refused_in_words(stack: Stack, broken, message) -> None:
    phone = {"_rasa_down": "6281277001005", "_wrong_token": "6281277001006",
             "_no_whatsapp": "6281277001007", "_no_api": "6281277001009"}[broken.__name__]
    applicant, request = asked_for_a_person(stack, phone)
    with console_on(stack.rasa, **broken(stack)) as (url, _service):
        staff = signed_in(url, "loket")
        refused = submit(staff, url, request.id, "ambil-alih")
    assert refused.status_code == 200 and message in refused.text  # the page, not a 500
    assert 'class="flash flash-error"' in refused.text
    assert stack.active_takeovers(phone) == 0
    assert stack.rasa.tracker(phone)["paused"] is False
    assert stack.handoff(phone).is_open
    applicant.write("halo")  # the bot still answers
    stack.graph.wait_for_texts(phone, 2)


# --- in the browser -------------------------------------------------------------------------
def test_the_takeover_in_the_browser(stack: Stack, browser) -> None:
    applicant, request = asked_for_a_person(stack, "6281277001010")
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900},
                                  locale="id-ID")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, "loket")
        page.wait_for_url("**/hari-ini")
        page.click("nav.mainnav >> text=Permintaan petugas")
        page.wait_for_url("**/permintaan")
        card = page.locator(f"[data-handoff='{request.id}']")
        card.locator(".badge", has_text="Menunggu").wait_for()
        shoot(page, "permintaan")
        card.locator("text=Buka percakapan").click()
        page.wait_for_url(f"**/permintaan/{request.id}")
        page.click("button:has-text('Ambil alih')")
        page.wait_for_selector("textarea[name=pesan]")
        page.fill("textarea[name=pesan]", "Halo, saya Sari dari kantor imigrasi. Ada yang bisa "
                                          "saya bantu?")
        page.click("button:has-text('Kirim ke WhatsApp')")
        page.wait_for_selector(".flash:has-text('Balasan terkirim')")
        assert stack.graph.wait_for_texts(applicant.phone, 2)[-1].startswith("Halo, saya Sari")

        stays_silent(applicant, "mau tanya, paspor anak saya hilang", answered=2)
        # Shown without reloading, by the page's own polling.
        page.locator(".msg-pemohon", has_text="paspor anak saya hilang").wait_for(timeout=8000)
        shoot(page, "permintaan-ambil-alih")

        page.click("button:has-text('Selesai')")
        page.wait_for_url("**/permintaan")
        assert "asisten kembali melayani" in page.locator(".flash").inner_text()
        assert stack.graph.wait_for_texts(applicant.phone, 3)[-1] == BOT_IS_BACK
        applicant.write("halo")
        assert "selamat datang" in stack.graph.wait_for_texts(applicant.phone, 4)[-1].lower()
        page.goto(f"/permintaan/{request.id}")
        shoot(page, "permintaan-selesai")
    finally:
        context.close()

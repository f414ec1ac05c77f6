"""The weekly review in the console, end to end in headless Chromium, on real parts only.

Applicants' conversations go through two real Rasa processes (REST channel, one SQLite
tracker store); the messages the model misreads appear grouped in the "Ulasan" inbox; a
supervisor labels them with the keyboard (marking a word as an entity), discards noise,
trains a candidate (a real ``rasa train`` in the background job), reads the comparison and
promotes it to both processes, which now understand the messages, also after a restart; a
careless second round gives a worse candidate, which is refused; a roll-back returns both
processes to the previous model. A counter account gets 403; labels and promotions are in
the audit log.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from antrean.settings import Settings
from law_console.app import PAGE_MODULES, create_app
from law_retrain.history import History
from law_retrain.models import ProjectPaths, model_info
from law_retrain.pointer import pointed_model
from tests.console.conftest import (
    CONSOLE_NOW,
    ConsoleThread,
    RunningConsole,
    csrf_of,
    login,
    new_page,
    shoot,
)
from tests.console.review_stack import (
    RASA_TOKEN,
    RasaProcesses,
    chat,
    parse,
    train_base,
    write_project,
)
from tests.e2e.servers import free_port

pytestmark = pytest.mark.slow

# Questions about the address the small model misreads (falls back on, or guesses "greet").
ADDRESS = ["alamatnya di mana ya min", "Alamatnya dimana ya min?", "alamatnya di mana ya min",
           "alamatnya lengkapnya apa", "di jalan apa alamatnya", "alamatnya dimana kak"]
# A careless second round: questions about the address, labelled as fees.
CARELESS = ["alamat kantornya dimana", "alamatnya di jalan apa", "alamat lengkapnya di mana",
            "alamat kantor imigrasinya di mana", "alamatnya apa ya kak", "alamat kantornya apa"]
# Keys of the intents on the labelling page: the catalogue's order, as the domain has them.
KEY = {"greet": "1", "deny": "2", "ask_fee": "3", "ask_office_hours": "4", "ask_location": "5",
       "request_human": "6"}


@pytest.fixture
def stack(tmp_path) -> Iterator[tuple[ProjectPaths, RasaProcesses]]:
    paths = write_project(tmp_path / "project")
    processes = RasaProcesses(paths, tmp_path)
    try:
        # The processes boot (the slowest step) while the base model trains.
        processes.start(wait=False)
        base = train_base(paths)
        processes.wait()
        processes.load(base)
        yield paths, processes
    finally:
        processes.stop()


@pytest.fixture
def review_console(store, stack) -> Iterator[RunningConsole]:  # noqa: ANN001 - fixtures
    from antrean.clock import FixedClock
    from antrean.config import load_config
    from antrean.service import BookingService
    from antrean.store.engine import create_store_engine
    from antrean.store.repository import SqlStore

    paths, processes = stack
    engine_store = SqlStore(create_store_engine(store.url))
    service = BookingService(load_config(), engine_store, FixedClock(CONSOLE_NOW))
    settings = Settings(database_url=store.url,
                        tracker_url=f"sqlite:///{paths.root / 'tracker.db'}",
                        fixed_now=CONSOLE_NOW, auto_migrate=False,
                        rasa_urls=tuple(processes.urls), rasa_token=RASA_TOKEN)
    modules = PAGE_MODULES if "law_console.review" in PAGE_MODULES else (
        *PAGE_MODULES, "law_console.review")
    app = create_app(settings, service=service, page_modules=modules)
    app.state.retrain_project = paths
    port = free_port()
    try:
        with ConsoleThread(app, port):
            yield RunningConsole(f"http://127.0.0.1:{port}", service, store.seeded, store.url)
    finally:
        engine_store.dispose()


def label(page, intent: str) -> None:  # noqa: ANN001 - a Playwright page
    """On the labelling page: the intent's number key, then Enter."""
    page.wait_for_selector("body[data-review-ready]")
    for key in KEY[intent]:
        page.keyboard.press(key)
    assert page.locator(f"input[name=intent][value={intent}]").is_checked()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def open_group(page, text: str) -> None:  # noqa: ANN001
    page.goto("/ulasan")
    page.get_by_role("link", name=text, exact=True).click()


def train_and_compare(page) -> None:  # noqa: ANN001
    page.goto("/ulasan")
    page.click("[data-train]")
    wait_for_comparison(page)


def wait_for_comparison(page) -> None:  # noqa: ANN001
    page.wait_for_url("**/ulasan/pelatihan")
    # The progress page polls the job; the steps appear as they happen.
    page.wait_for_selector("[data-done]:not([hidden])", timeout=240_000)
    assert page.locator("[data-state]").inner_text() == "selesai"
    assert "Melatih model kandidat" in page.locator("[data-steps]").inner_text()
    page.click("text=Lihat perbandingan")
    page.wait_for_url("**/ulasan/perbandingan")


def test_weekly_review_labels_trains_promotes_to_both_processes_and_rolls_back(
        browser, review_console, stack):
    paths, processes = stack
    first, second = processes.urls
    base_id = model_info(paths.models / "law-base.tar.gz").model_id

    # --- applicants write; the model misreads the address questions ----------------------
    for number, text in enumerate(ADDRESS):
        chat(first if number % 2 else second, f"62812555000{number:02d}", text)
    # Understood, but corrected right after: for review too. And some noise.
    chat(first, "6281255500099", "paspor saya ilang biayanya berapa")
    chat(first, "6281255500099", "bukan itu maksud saya")
    chat(second, "6281255500098", "asdfgh jkl")
    assert parse(first, "alamatnya di mana ya min")[0] != "ask_location"

    page = new_page(browser, review_console)
    login(page, "supervisor")
    page.goto("/ulasan")
    groups = page.locator("[data-group]")
    # Three messages in two spellings are one group, first.
    top = groups.first
    assert top.locator(".review-text").inner_text() == "alamatnya di mana ya min"
    assert top.locator("[data-count]").inner_text() == "3"
    assert "Alamatnya dimana ya min?" in top.inner_text()
    assert "Tebakan model:" in top.inner_text() and "Maaf, saya belum paham" in top.inner_text()
    shoot(page, "ulasan-kotak")

    # --- labelling with the keyboard ------------------------------------------------------
    open_group(page, "alamatnya di mana ya min")
    shoot(page, "ulasan-label")
    label(page, "ask_location")
    assert "Disimpan sebagai ask_location" in page.locator(".flash").inner_text()
    for text in ("alamatnya lengkapnya apa", "di jalan apa alamatnya", "alamatnya dimana kak"):
        open_group(page, text)
        label(page, "ask_location")
    # A word marked as an entity: "ilang" is the service "hilang".
    open_group(page, "paspor saya ilang biayanya berapa")
    page.click("[data-word='2']")
    page.select_option("[data-entity]", "service_type")
    page.select_option("[data-value]", "hilang")
    page.click("[data-mark]")
    assert "ilang" in page.locator("[data-marks]").inner_text()
    page.evaluate("document.activeElement.blur()")  # the keys go to the page again
    label(page, "ask_fee")
    # Noise is discarded with "b".
    open_group(page, "asdfgh jkl")
    page.wait_for_selector("body[data-review-ready]")
    with page.expect_navigation():
        page.keyboard.press("b")
    assert "dibuang" in page.locator(".flash").inner_text()
    page.goto("/ulasan")
    assert page.locator("[data-empty]").count() == 1

    # --- candidate, comparison, promotion -----------------------------------------------
    train_and_compare(page)
    assert page.locator("[data-verdict=layak]").count() == 1
    labelled = page.locator("[data-labelled]").inner_text()
    assert "alamatnya di mana ya min" in labelled
    assert "ask_location" in page.locator("[data-changed]").inner_text()
    shoot(page, "ulasan-perbandingan")
    reviewed = paths.reviewed.read_text()
    assert "konsol, label oleh supervisor" in reviewed
    assert '[ilang]{"entity": "service_type", "value": "hilang"}' in reviewed
    candidate = model_info(paths.root / History.load(paths.retrain).latest_candidate)

    page.click("[data-promote]")
    page.wait_for_url("**/ulasan/riwayat")
    assert "Dipromosikan" in page.locator(".flash").inner_text()
    assert processes.model_ids() == [candidate.model_id] * 2
    for url in processes.urls:
        assert parse(url, "alamatnya di mana ya min")[0] == "ask_location"
    history_text = page.locator("[data-history]").inner_text()
    assert "supervisor" in history_text and "promosi" in history_text
    shoot(page, "ulasan-riwayat")

    # --- a careless round: address questions labelled as fees ---------------------------
    for number, text in enumerate(CARELESS):
        sender = f"62812666000{number:02d}"
        chat(first, sender, text)
        chat(second, sender, "bukan")  # a correction right after: the message goes to review
    # Both processes restart meanwhile (a restart takes a while; the review does not need
    # them): they must come back with the promoted model.
    processes.stop()
    processes.start(wait=False)
    page.goto("/ulasan")
    careless_groups = page.locator("[data-group]").count()
    assert careless_groups >= 3
    for _ in range(careless_groups):
        page.goto("/ulasan")
        page.locator("[data-group] .review-text").first.click()
        label(page, "ask_fee")
    page.goto("/ulasan")
    page.click("[data-train]")
    page.wait_for_url("**/ulasan/pelatihan")
    page.click("form [data-train]")  # a second click while it runs
    assert "sedang berjalan" in page.locator("p.flash-error").inner_text()

    # --- the restart kept the promoted model ---------------------------------------------
    processes.wait()
    assert processes.model_ids() == [candidate.model_id] * 2
    assert parse(second, "alamatnya di mana ya min")[0] == "ask_location"

    # --- the careless candidate is worse and refused -------------------------------------
    wait_for_comparison(page)
    assert page.locator("[data-verdict=tidak-layak]").count() == 1
    assert "ask_location" in page.locator("[data-verdict=tidak-layak]").inner_text()
    page.click("[data-promote]")
    page.wait_for_url("**/ulasan/perbandingan")
    assert "tidak dipromosikan" in page.locator("p.flash-error").inner_text()
    assert processes.model_ids() == [candidate.model_id] * 2

    # --- roll back ----------------------------------------------------------------------
    page.goto("/ulasan/riwayat")
    page.click("[data-roll-back]")
    page.wait_for_url("**/ulasan/riwayat")
    assert "Dikembalikan" in page.locator(".flash").inner_text()
    assert processes.model_ids() == [base_id] * 2
    assert model_info(pointed_model(paths.models)).model_id == base_id

    # --- the audit log -------------------------------------------------------------------
    with review_console.service.store.transaction() as tx:
        entries, _ = tx.console.audit_entries(limit=200)
    actions = [e.action for e in entries if e.username == "supervisor"]
    assert actions.count("ulasan.label") == 5 + careless_groups
    assert actions.count("ulasan.buang") == 1
    assert actions.count("model.latih") == 2 and actions.count("model.promosi") == 2
    assert actions.count("model.kembali") == 1
    promoted, refused = sorted((e for e in entries if e.action == "model.promosi"),
                               key=lambda e: e.id)
    assert re.search(r"macro-F1 \d\.\d{3} → \d\.\d{3}\) di 2 proses", promoted.after)
    assert refused.after.startswith("ditolak: ") and "ask_location" in refused.after
    page.context.close()


def test_the_counter_cannot_label_train_or_promote(browser, console):
    review_console = console
    page = new_page(browser, review_console)
    login(page, "loket")
    for path in ("/ulasan", "/ulasan/label?grup=x", "/ulasan/riwayat", "/ulasan/perbandingan"):
        response = page.goto(path)
        assert response.status == 403, path
        assert "Tidak diizinkan" in page.content()
    page.context.close()
    http = review_console.session("loket")
    token = csrf_of(http.get(f"{review_console.url}/hari-ini", timeout=10).text)
    for path in ("/ulasan/label/simpan", "/ulasan/latih", "/ulasan/promosikan",
                 "/ulasan/kembalikan", "/ulasan/buang"):
        refused = http.post(f"{review_console.url}{path}",
                            data={"csrf": token, "grup": "x", "intent": "greet", "teks": "halo"},
                            allow_redirects=False, timeout=10)
        assert refused.status_code == 403, path



def test_nineteen_intents_are_picked_with_one_or_two_number_keys(browser, console, tmp_path):
    """On LAW's own domain (19 intents): "3" is the third at once, "1" "2" is the twelfth."""
    import datetime as dt
    import json

    from sqlalchemy import create_engine, insert

    from antrean.store.tracker_queries import events

    # One more message in the console's tracker store, one the model was unsure of.
    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    parse = {"intent": {"name": "ask_fee", "confidence": 0.31},
             "intent_ranking": [{"name": "ask_fee", "confidence": 0.31},
                                {"name": "ask_location", "confidence": 0.3}]}
    with engine.begin() as conn:
        conn.execute(insert(events).values(
            sender_id="6281200000077", type_name="user", intent_name="ask_fee",
            timestamp=(CONSOLE_NOW - dt.timedelta(hours=1)).timestamp(),
            data=json.dumps({"event": "user", "text": "mau tanya soal kantor",
                             "parse_data": parse})))
    engine.dispose()
    page = new_page(browser, console)
    login(page, "supervisor")
    page.goto("/ulasan")
    page.get_by_role("link", name="mau tanya soal kantor").click()
    page.wait_for_selector("body[data-review-ready]")
    assert page.locator("input[name=intent]").count() == 19
    page.keyboard.press("3")
    assert page.locator("input[name=intent][value=thank]").is_checked()
    page.keyboard.press("1")
    page.keyboard.press("2")
    assert page.locator("input[name=intent][value=ask_fee]").is_checked()
    page.keyboard.press("1")
    page.wait_for_timeout(900)  # a lone "1" stays the first
    assert page.locator("input[name=intent][value=greet]").is_checked()
    # The conversation around it, on demand, with the number masked.
    page.click("text=lihat percakapan")
    page.wait_for_url("**/ulasan/percakapan?**")
    focus = page.locator(".review-line.focus").inner_text()
    assert "mau tanya soal kantor" in focus
    assert "6281200000077" not in page.content()
    page.context.close()


def test_without_stored_conversations_the_inbox_says_so(store, tmp_path):  # noqa: ANN001
    from antrean.store.engine import create_store_engine
    from antrean.store.repository import SqlStore

    engine_store = SqlStore(create_store_engine(store.url))
    from antrean.clock import FixedClock
    from antrean.config import load_config
    from antrean.service import BookingService

    service = BookingService(load_config(), engine_store, FixedClock(CONSOLE_NOW))
    settings = Settings(database_url=store.url, auto_migrate=False, fixed_now=CONSOLE_NOW,
                        tracker_url=f"sqlite:///{tmp_path / 'belum-ada.db'}")
    port = free_port()
    try:
        with ConsoleThread(create_app(settings, service=service), port):
            running = RunningConsole(f"http://127.0.0.1:{port}", service, store.seeded,
                                     store.url)
            page = running.session("supervisor").get(f"{running.url}/ulasan", timeout=30)
    finally:
        engine_store.dispose()
    assert page.status_code == 200
    assert "Tracker store tidak ditemukan" in page.text
    assert not (tmp_path / "belum-ada.db").exists()  # reading never creates Rasa's store

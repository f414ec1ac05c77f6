"""Retraining loop, the fast parts: export from a real tracker store (SQLite and PostgreSQL),
import of a reviewed file, the comparison rule, and promotion / roll-back against a stand-in
for Rasa's HTTP API. Training and a real Rasa server: ``test_retrain_loop.py``.

Also holds what both files share: a tiny Rasa project, a conversation history written through
Rasa's own ``SQLTrackerStore``, and the commands run in-process.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import sys
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from antrean.clock import OFFICE_TZ
from antrean.staff.common import StaffError
from law_retrain.cli import register
from law_retrain.history import History
from law_retrain.messages import mask_personal_data, normalise
from law_retrain.models import ProjectPaths, file_digest
from law_retrain.review_file import plan_import, read_review_file
from law_retrain.scores import Comparison, IntentScores
from law_retrain.training_data import append_examples, training_examples
from tests.conftest import fresh_postgres_database

# --- a tiny Rasa project: four intents, a pipeline that trains in a second ------------------
TINY_CONFIG = """\
recipe: default.v1
language: id
assistant_id: law-retrain-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: LogisticRegressionClassifier
    random_state: 42
  - name: FallbackClassifier
    threshold: 0.3
policies: []
"""
TRAINING = {
    "greet": ["halo", "hai kak", "selamat pagi", "assalamualaikum", "permisi min", "pagi kak"],
    "ask_fee": ["berapa biaya paspor", "biayanya berapa", "harga paspor elektronik",
                "tarif pnbp paspor", "bayar berapa ya", "biaya bikin paspor"],
    "ask_location": ["kantornya di mana", "lokasi kantor imigrasi", "kantor imigrasi di mana",
                     "naik apa ke kantor", "kantor kemayoran di mana", "arah ke kantor"],
    "ask_office_hours": ["jam buka kantor", "buka jam berapa", "tutup jam berapa",
                         "sabtu buka tidak", "jam pelayanan", "jam operasional"],
}
# The base model misreads "alamat…" questions; the reviewed messages below teach them.
TEST_SET = {
    "greet": ["halo kak", "selamat pagi min", "hai"],
    "ask_fee": ["biaya paspor berapa ya", "harganya berapa", "tarif paspor elektronik"],
    "ask_location": ["alamatnya dimana", "alamat lengkapnya apa", "alamat kantornya di jalan apa"],
    "ask_office_hours": ["bukanya jam berapa", "jam berapa tutupnya", "jam layanan kantor"],
}
ADDRESS_QUESTIONS = ["alamatnya di mana ya min", "alamat kantor imigrasinya apa",
                     "alamat lengkap kantor", "kantornya di jalan apa"]


def nlu_yaml(blocks: dict[str, list[str]]) -> str:
    body = "".join(f"  - intent: {intent}\n    examples: |\n"
                   + "".join(f"      - {t}\n" for t in texts) for intent, texts in blocks.items())
    return 'version: "3.1"\nnlu:\n' + body


def write_tiny_project(root: Path) -> ProjectPaths:
    (root / "data" / "nlu").mkdir(parents=True, exist_ok=True)
    (root / "tests" / "nlu").mkdir(parents=True, exist_ok=True)
    (root / "config.yml").write_text(TINY_CONFIG)
    (root / "domain.yml").write_text(
        'version: "3.1"\nintents:\n' + "".join(f"  - {i}\n" for i in TRAINING))
    for intent, texts in TRAINING.items():
        (root / "data" / "nlu" / f"{intent}.yml").write_text(nlu_yaml({intent: texts}))
    (root / "tests" / "nlu" / "test_nlu.yml").write_text(nlu_yaml(TEST_SET))
    return ProjectPaths.at(root)


# --- a conversation history in Rasa's tracker store ----------------------------------------
@dataclass
class Said:
    text: str
    intent: str
    confidence: float
    ranking: list[tuple[str, float]] = field(default_factory=list)
    entities: list[dict] = field(default_factory=list)


def fallback(text: str, best: str, confidence: float, **kw) -> Said:
    """What Rasa's FallbackClassifier stores: nlu_fallback first, the displaced intents after."""
    return Said(text, "nlu_fallback", 0.3, [("nlu_fallback", 0.3), (best, confidence),
                                             ("greet", confidence / 2)], **kw)


NAME = "Budi Santoso"
HISTORY: list[list[Said]] = [
    [Said("halo", "greet", 0.97), fallback("alamatnya di mana ya min", "ask_fee", 0.28),
     Said("/affirm", "affirm", 1.0)],
    [fallback("Alamatnya di mana ya  min?", "ask_fee", 0.29),
     Said("alamat kantor imigrasinya apa", "ask_fee", 0.41)],
    [fallback("alamatnya di mana ya min", "ask_fee", 0.27),
     Said("berapa biayanya", "ask_fee", 0.93),
     fallback("alamat lengkap kantor", "ask_location", 0.25)],
    [Said("kantornya di jalan apa", "ask_location", 0.55),
     fallback("nik saya 3171011203900003", "greet", 0.2),
     Said("Kantornya di mana?", "ask_location", 0.4),  # a training example already
     fallback(f"nama saya {NAME} no hp 0812-9900-4406", "greet", 0.22,
              entities=[{"entity": "person_name", "start": 10, "end": 10 + len(NAME),
                         "value": NAME}])],
]
CONFIDENT = {"halo", "berapa biayanya", "/affirm"}


def write_history(url: str, conversations: list[list[Said]] = HISTORY,
                  start: dt.datetime = dt.datetime(2026, 11, 20, 9, tzinfo=OFFICE_TZ)) -> None:
    """Save the conversations through Rasa's SQLTrackerStore, one sender each."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        store = SQLTrackerStore(dialect="sqlite", db=parsed.database)
    else:
        store = SQLTrackerStore(dialect="postgresql", host=parsed.host, port=parsed.port,
                                db=parsed.database, username=parsed.username,
                                password=parsed.password)
    try:
        for number, messages in enumerate(conversations):
            stamp = (start + dt.timedelta(hours=number)).timestamp()
            events: list = [ActionExecuted("action_session_start", timestamp=stamp),
                            SessionStarted(timestamp=stamp)]
            for said in messages:
                stamp += 10
                intent = {"name": said.intent, "confidence": said.confidence}
                ranking = [{"name": n, "confidence": c} for n, c in said.ranking] or [intent]
                parse = {"intent": intent, "intent_ranking": ranking, "entities": said.entities,
                         "text": said.text}
                events += [ActionExecuted("action_listen", timestamp=stamp),
                           UserUttered(said.text, intent=intent, entities=said.entities,
                                       parse_data=parse, timestamp=stamp),
                           BotUttered("baik", timestamp=stamp + 1)]
            tracker = DialogueStateTracker.from_events(f"62812000000{number:02d}", events)
            asyncio.run(store.save(tracker))
    finally:
        store.engine.dispose()



# --- tracker stores on both backends -----------------------------------------------------
@pytest.fixture(scope="module")
def retrain_postgres_url(postgres_admin_url: str | None) -> Iterator[str]:
    """A database of this module's own on the PostgreSQL test server, dropped afterwards."""
    with fresh_postgres_database(postgres_admin_url, "law_retrain") as url:
        yield url


def empty_tracker_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty tracker store on the backend named by ``request.param``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    url = request.getfixturevalue("retrain_postgres_url")
    engine = create_engine(url, future=True)
    if inspect(engine).has_table("events"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events"))
    engine.dispose()
    return url


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def tracker_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_tracker_url(request, tmp_path)


# --- the commands, run in-process through register() -------------------------------------
@dataclass
class Outcome:
    code: int
    out: str
    err: str


def run_command(*argv: object) -> int:
    """Parse and run like ``antrean`` does: a StaffError becomes its message and exit code."""
    parser = argparse.ArgumentParser(prog="antrean")
    register(parser.add_subparsers())
    args = parser.parse_args([str(a) for a in argv])
    try:
        return int(args.handler(args) or 0)
    except StaffError as problem:
        print(problem.message, file=sys.stderr)
        return problem.exit_code


@pytest.fixture
def cli(capsys, monkeypatch):
    monkeypatch.setenv("LAW_FIXED_NOW", "2026-12-01T09:00:00+07:00")

    def _run(*argv: object) -> Outcome:
        capsys.readouterr()
        code = run_command(*argv)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return _run


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> ProjectPaths:
    # Rasa's training cache stays out of the real project.
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "rasa-cache"))
    return write_tiny_project(tmp_path / "project")


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def write_review(path: Path, rows: list[tuple[str, str]], delimiter: str = ",",
                 encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["teks", "intent_tebakan", "keyakinan", "jumlah", "intent_benar"])
    for text_, label in rows:
        writer.writerow([text_, "ask_fee", "0.41", 1, label])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# --- export ------------------------------------------------------------------------------
MASKED_NIK = "nik saya ************0003"
MASKED_NAME_PHONE = "nama saya B*** S****** no hp ********4406"


def test_export_lists_fallbacks_and_unsure_messages_once_each(tracker_store_url, project, cli,
                                                              tmp_path):
    write_history(tracker_store_url)
    review = tmp_path / "ulasan.csv"
    result = cli("ekspor-ulasan", "--proyek", project.root, "--tracker", tracker_store_url,
                 "--keluar", review)
    assert result.code == 0, result.err
    rows = read_csv(review)
    by_text = {row["teks"]: row for row in rows}
    assert set(by_text) == {"alamatnya di mana ya min", "alamat kantor imigrasinya apa",
                            "alamat lengkap kantor", "kantornya di jalan apa", MASKED_NIK,
                            MASKED_NAME_PHONE}
    # Three spellings of one message: counted together, the latest wording and prediction.
    assert rows[0] == {"teks": "alamatnya di mana ya min", "intent_tebakan": "ask_fee",
                       "keyakinan": "0.27", "jumlah": "3", "intent_benar": ""}
    # A fallback shows the intent it displaced; an unsure message its own.
    assert by_text["alamat lengkap kantor"]["intent_tebakan"] == "ask_location"
    assert by_text["alamat kantor imigrasinya apa"]["keyakinan"] == "0.41"
    assert not CONFIDENT & set(by_text)
    content = review.read_text(encoding="utf-8-sig")
    for personal in ("3171011203900003", "0812", "9900", "Budi", "Santoso"):
        assert personal not in content
    assert "1 teks sudah ada di data latih" in result.out  # "Kantornya di mana?"
    assert "6 teks unik" in result.out


def test_export_threshold_and_start_date(tracker_store_url, project, cli, tmp_path):
    write_history(tracker_store_url)
    review = project.root / "var" / "ulasan-2026-12-01.csv"  # by default, ignored by git
    assert cli("ekspor-ulasan", "--proyek", project.root, "--tracker", tracker_store_url,
               "--ambang", "0,5").code == 0
    texts = {row["teks"] for row in read_csv(review)}
    assert "kantornya di jalan apa" not in texts  # 0.55 ≥ 0.5
    assert "alamat kantor imigrasinya apa" in texts  # 0.41
    assert cli("ekspor-ulasan", "--proyek", project.root, "--tracker", tracker_store_url,
               "--keluar", review, "--sejak", "2026-11-21").code == 0
    assert read_csv(review) == []


def test_export_without_a_tracker_store_says_so(project, cli, tmp_path):
    result = cli("ekspor-ulasan", "--proyek", project.root, "--tracker",
                 f"sqlite:///{tmp_path / 'missing.db'}", "--keluar", tmp_path / "u.csv")
    assert result.code == 3
    assert "Tracker store tidak ditemukan" in result.err


def test_masking_keeps_only_the_last_digits():
    assert mask_personal_data("hp 0812 9900 4406 ya") == "hp ********4406 ya"
    name = {"entity": "person_name", "start": 0, "end": 4, "value": "Siti"}
    assert mask_personal_data("Siti 3171011203900003", [name]) == "S*** ************0003"
    assert mask_personal_data("jam 9 tgl 12") == "jam 9 tgl 12"


# --- import ------------------------------------------------------------------------------
def test_import_refuses_an_unknown_intent_and_names_the_line(project, cli, tmp_path):
    review = write_review(tmp_path / "ulasan.csv", [
        ("alamatnya di mana ya min", "ask_location"),
        ("alamat lengkap kantor", "ask_lokasi"),
        ("nik saya ************0003", ""),
        ("mau tanya", "tanya"),
    ])
    result = cli("impor-ulasan", review, "--proyek", project.root)
    assert result.code == 1
    assert "Baris 3: intent 'ask_lokasi' tidak dikenal. Maksud Anda 'ask_location'?" in result.err
    assert "Baris 5: intent 'tanya' tidak dikenal." in result.err
    assert "tidak ada yang ditulis" in result.err
    assert not project.reviewed.exists()


def test_import_with_nothing_labelled_changes_nothing(project, cli, tmp_path):
    review = write_review(tmp_path / "ulasan.csv", [("alamatnya di mana", ""), ("halo", "")])
    result = cli("impor-ulasan", review, "--proyek", project.root)
    assert result.code == 0
    assert "2 belum diisi dilewati" in result.out
    assert not project.reviewed.exists()


def test_plan_skips_blank_rows_and_duplicates(project):
    rows = read_review_file(write_review(project.root / "u.csv", [
        ("alamatnya di mana ya min", "ask_location"),
        ("Kantornya di mana?", "ask_location"),  # a training example, other spelling
        ("HALO!!", "ask_fee"),  # a training example of another intent
        ("alamatnya  di mana ya, min", "ask_location"),  # same as the first row
        ("belum tahu", ""),
        ("nama saya B*** S******", "ask_fee"),
    ]))
    plan = plan_import(rows, list(TRAINING), training_examples(project.nlu), project.reviewed)
    assert plan.added == {"ask_location": ["alamatnya di mana ya min"],
                          "ask_fee": ["nama saya B*** S******"]}
    assert plan.blank == 1
    assert plan.duplicates == [
        "Baris 3: sudah ada di data latih; dilewati.",
        "Baris 4: sudah ada di data latih sebagai intent 'greet'; dilewati.",
        "Baris 5: sama dengan baris 2; dilewati.",
    ]
    assert plan.warnings and plan.warnings[0].startswith("Baris 7: teks masih berisi")


def test_review_file_from_a_spreadsheet_with_semicolons_and_ansi(tmp_path):
    path = write_review(tmp_path / "u.csv", [("alamat kantor café", "ask_location")],
                        delimiter=";", encoding="cp1252")
    [row] = read_review_file(path)
    assert (row.line, row.text, row.intent) == (2, "alamat kantor café", "ask_location")


def test_formula_like_messages_are_quoted_for_spreadsheets_and_read_back(tmp_path):
    from antrean.staff.common import write_csv
    from law_retrain.review_file import REVIEW_COLUMNS, ReviewItem, review_rows

    path = tmp_path / "u.csv"
    write_csv(str(path), REVIEW_COLUMNS, review_rows([ReviewItem("=HYPERLINK(1)", "greet", 0.2)]))
    assert read_csv(path)[0]["teks"] == "'=HYPERLINK(1)"
    path.write_text(path.read_text(encoding="utf-8-sig").replace(",greet,0.20,1,", ",,,,greet"))
    assert read_review_file(path)[0].text == "=HYPERLINK(1)"


def test_review_file_without_the_label_column_is_refused(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("text,intent\nhalo,greet\n")
    with pytest.raises(StaffError) as refused:
        read_review_file(path)
    assert "intent_benar" in refused.value.message and refused.value.exit_code == 2


def test_appended_examples_keep_the_file_and_rasa_reads_them(project):
    from rasa.shared.nlu.training_data.loading import load_data

    day = dt.date(2026, 12, 1)
    assert append_examples(project.reviewed, {"ask_location": ["alamatnya dmn"]}, "a.csv",
                           day) is None
    before = project.reviewed.read_bytes()
    assert append_examples(project.reviewed, {"ask_location": ["alamat: jl. merpati?"],
                                              "greet": ["punten # kak"]}, "b.csv", day) == before
    examples = {(m.get("text"), m.get("intent"))
                for m in load_data(str(project.reviewed)).intent_examples}
    assert examples == {("alamatnya dmn", "ask_location"), ("alamat: jl. merpati?", "ask_location"),
                        ("punten # kak", "greet")}
    assert "# 2026-12-01: b.csv" in project.reviewed.read_text()


def test_appending_to_a_file_not_ending_in_its_nlu_list_is_refused(project):
    project.reviewed.write_text(nlu_yaml({"greet": ["punten"]}) + "responses: {}\n")
    before = project.reviewed.read_bytes()
    with pytest.raises(StaffError):
        append_examples(project.reviewed, {"greet": ["wilujeng"]}, "a.csv", dt.date(2026, 12, 1))
    assert project.reviewed.read_bytes() == before


def test_normalised_text_ignores_case_punctuation_and_spacing():
    assert normalise("Alamatnya  di mana, MIN?!") == normalise("alamatnya di mana min")
    assert normalise("jam 9") != normalise("jam 10")


# --- the comparison rule -----------------------------------------------------------------
def scores(**f1: float) -> IntentScores:
    return IntentScores(dict(f1), {name: 3 for name in f1})


@pytest.mark.parametrize("candidate, margin, acceptable", [
    (scores(a=0.9, b=0.8, c=1.0), 0.05, True),  # the same
    (scores(a=0.95, b=0.8, c=1.0), 0.05, True),  # better
    (scores(a=0.9, b=0.75, c=1.05), 0.05, True),  # one intent down by exactly the margin
    (scores(a=0.85, b=0.8, c=1.0), 0.05, False),  # macro-F1 lower
    (scores(a=1.0, b=0.7, c=1.0), 0.05, False),  # macro higher, but b drops 0.1
    (scores(a=1.0, b=0.7, c=1.0), 0.1, True),  # … which a wider margin allows
    (scores(a=1.0, c=1.0), 0.05, False),  # b no longer predicted at all
])
def test_candidate_is_promotable_only_when_not_worse(candidate, margin, acceptable):
    current = scores(a=0.9, b=0.8, c=1.0)
    assert Comparison(current, candidate, margin).acceptable is acceptable


def test_macro_f1_counts_only_intents_of_the_test_set():
    report = {"a": {"f1-score": 1.0, "support": 2}, "b": {"f1-score": 0.5, "support": 2},
              "nlu_fallback": {"f1-score": 0.0, "support": 0}, "accuracy": 0.75,
              "macro avg": {"f1-score": 0.5, "support": 4}}
    assert IntentScores.from_report(report).macro_f1 == pytest.approx(0.75)


# --- promotion and roll-back against a stand-in for Rasa's HTTP API ----------------------
def fake_model(path: Path, model_id: str, training_type: int = 1) -> Path:
    """An archive with the metadata.json Rasa writes (nothing else is read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"model_id": model_id, "training_type": training_type,
                          "trained_at": "2026-11-30T10:00:00"}).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


class FakeRasa:
    """``GET /status`` and ``PUT /model`` of ``rasa run --enable-api --auth-token …``."""

    def __init__(self, model: Path, token: str, fail_loads: bool = False) -> None:
        self.token, self.loads, self.fail_loads = token, [], fail_loads
        self.loaded = self._describe(model)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _authorised(self) -> bool:
                if parse_qs(urlparse(self.path).query).get("token") == [fake.token]:
                    return True
                self._reply(401, {"message": "User is not authenticated."})
                return False

            def _reply(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self._authorised():
                    self._reply(200, fake.loaded)

            def do_PUT(self) -> None:
                if self._authorised():
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    if fake.fail_loads:  # what Rasa answers when the file cannot be loaded
                        self._reply(500, {"message": "An unexpected error occurred."})
                        return
                    fake.loads.append(body["model_file"])
                    fake.loaded = fake._describe(Path(body["model_file"]))
                    self._reply(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def _describe(model: Path) -> dict:
        with tarfile.open(model) as archive:
            metadata = json.load(archive.extractfile("metadata.json"))
        return {"model_file": model.name, "model_id": metadata["model_id"]}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def promotion(project, monkeypatch) -> Iterator[tuple[ProjectPaths, FakeRasa, dict[str, Path]]]:
    """Current model ``law-base`` running; candidates ``good`` (better) and ``bad`` (worse)."""
    models = {"base": fake_model(project.models / "law-base.tar.gz", "base"),
              "good": fake_model(project.retrain / "kandidat-1.tar.gz", "good"),
              "bad": fake_model(project.retrain / "kandidat-2.tar.gz", "bad"),
              "full": fake_model(project.root / "full.tar.gz", "full", training_type=3)}
    history = History.load(project.retrain)
    digest = file_digest(project.test_set)
    for model_id, f1 in {"base": scores(a=0.8, b=0.9), "good": scores(a=0.9, b=0.9),
                         "bad": scores(a=0.9, b=0.7), "full": scores(a=0.8, b=0.9)}.items():
        history.remember_scores(model_id, digest, f1)  # no model is evaluated here
    history.save()
    server = FakeRasa(models["base"], token="rahasia")
    monkeypatch.setenv("LAW_RASA_TOKEN", "rahasia")
    yield project, server, models
    server.close()


def test_worse_candidate_is_not_loaded(promotion, cli):
    project, server, models = promotion
    result = cli("promosikan", "--proyek", project.root, "--server", server.url,
                 "--kandidat", models["bad"])
    assert result.code == 1
    assert "TIDAK LAYAK" in result.out and "F1 intent b turun 0.200" in result.out
    assert server.loads == [] and server.loaded["model_id"] == "base"


def test_promote_then_roll_back(promotion, cli):
    project, server, models = promotion
    promoted = cli("promosikan", "--proyek", project.root, "--server", server.url,
                   "--kandidat", models["good"])
    assert promoted.code == 0, promoted.err
    assert server.loaded["model_id"] == "good"
    kept = project.retrain / "cadangan-law-base.tar.gz"  # safe from `make train` pruning
    assert kept.exists()
    assert [p.model_id for p in History.load(project.retrain).promoted] == ["base", "good"]
    assert "macro-F1" in promoted.out and "LAYAK" in promoted.out

    history = cli("riwayat-model", "--proyek", project.root, "--server", server.url)
    assert "kandidat-1.tar.gz" in history.out
    assert f"Server {server.url}: kandidat-1.tar.gz" in history.out
    assert "promosi" in history.out and "0.900" in history.out  # macro-F1 of the candidate
    # Processes started from now on load the promoted model.
    assert (project.models / "current.tar.gz").resolve() == models["good"].resolve()

    back = cli("kembalikan", "--proyek", project.root, "--server", server.url)
    assert back.code == 0, back.err
    assert server.loaded == {"model_file": kept.name, "model_id": "base"}
    assert [p.model_id for p in History.load(project.retrain).promoted] == ["base"]
    assert (project.models / "current.tar.gz").resolve() == kept.resolve()
    assert [e.kind for e in History.load(project.retrain).events] == ["promosi", "kembali"]
    again = cli("kembalikan", "--proyek", project.root, "--server", server.url)
    assert again.code == 1 and "Tidak ada model sebelumnya" in again.err


def test_promotion_needs_the_right_token_and_a_reachable_server(promotion, cli, monkeypatch):
    project, server, models = promotion
    monkeypatch.setenv("LAW_RASA_TOKEN", "salah")
    wrong = cli("promosikan", "--proyek", project.root, "--server", server.url,
                "--kandidat", models["good"])
    assert wrong.code == 3 and "LAW_RASA_TOKEN" in wrong.err
    server.close()
    gone = cli("promosikan", "--proyek", project.root, "--server", server.url,
               "--kandidat", models["good"])
    assert gone.code == 3 and "tidak dapat dihubungi" in gone.err
    assert History.load(project.retrain).promoted == []


def test_promotion_compares_against_the_model_the_server_runs(promotion, cli):
    project, server, models = promotion
    server.loaded = {"model_file": "other.tar.gz", "model_id": "other"}
    result = cli("promosikan", "--proyek", project.root, "--server", server.url,
                 "--kandidat", models["good"])
    assert result.code == 1 and f"{server.url} memakai model other.tar.gz" in result.err
    assert server.loads == []


def test_nlu_only_candidate_does_not_replace_a_full_model(promotion, cli):
    project, server, models = promotion
    server.loaded = FakeRasa._describe(models["full"])
    result = cli("promosikan", "--proyek", project.root, "--server", server.url,
                 "--kandidat", models["good"], "--model-saat-ini", models["full"])
    assert result.code == 1 and "hanya berisi NLU" in result.err
    assert server.loads == []


def test_antrean_command_lists_the_retraining_commands():
    cli_module = pytest.importorskip("antrean.cli")
    help_text = cli_module.build_parser().format_help()
    for command in ("ekspor-ulasan", "impor-ulasan", "latih-kandidat", "bandingkan",
                    "promosikan", "kembalikan"):
        assert command in help_text


def test_promotion_loads_every_rasa_process_of_the_topology(promotion, cli, monkeypatch):
    project, server, models = promotion
    second = FakeRasa(models["base"], token="rahasia")
    try:
        monkeypatch.setenv("LAW_RASA_URLS", f"{server.url},{second.url}")
        promoted = cli("promosikan", "--proyek", project.root, "--kandidat", models["good"])
        assert promoted.code == 0, promoted.err
        assert server.loaded["model_id"] == second.loaded["model_id"] == "good"
        assert "2 proses" in promoted.out
        [event] = History.load(project.retrain).events
        assert event.processes == [server.url, second.url]
    finally:
        second.close()


def test_a_process_that_cannot_load_the_model_leaves_every_process_on_the_old_one(
        promotion, cli, monkeypatch):
    project, server, models = promotion
    second = FakeRasa(models["base"], token="rahasia", fail_loads=True)
    try:
        monkeypatch.setenv("LAW_RASA_URLS", f"{server.url},{second.url}")
        promoted = cli("promosikan", "--proyek", project.root, "--kandidat", models["good"])
        assert promoted.code == 1
        assert "Tidak semua proses Rasa dapat memuat kandidat-1.tar.gz" in promoted.err
        assert f"{second.url}: gagal" in promoted.err
        assert f"{server.url}: sempat memuat, dikembalikan" in promoted.err
        # The first process loaded the candidate, then its previous model again.
        assert [Path(m).name for m in server.loads] == ["kandidat-1.tar.gz",
                                                        "cadangan-law-base.tar.gz"]
        assert server.loaded["model_id"] == second.loaded["model_id"] == "base"
        assert "good" not in [p.model_id for p in History.load(project.retrain).promoted]
        assert not (project.models / "current.tar.gz").exists()
    finally:
        second.close()

"""The real parts the review test drives: a small Rasa project and a 2-process topology.

- :func:`write_project` — a small but whole Rasa project (NLU and rules, six intents, a
  pipeline that trains in seconds) whose model misreads questions about the address: what a
  supervisor teaches in the review;
- :class:`RasaProcesses` — two ``law-rasa run --enable-api`` processes sharing one SQLite
  tracker store, each started with the model the launchers choose
  (``law_retrain.pointer.launch_model``: the promoted one, ``models/current.tar.gz``, when
  there is one), and restartable;
- :func:`chat` / :func:`parse` — an applicant's message through the REST channel, and what a
  process's NLU makes of a text.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests

from law_retrain.models import ProjectPaths
from law_retrain.pointer import launch_model
from tests.e2e.servers import LAW_RASA, free_port, wait_for

RASA_TOKEN = "review-test-rasa-token"

CONFIG = """\
recipe: default.v1
language: id
assistant_id: law-review-test
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
    threshold: 0.45
policies:
  - name: RulePolicy
"""
TRAINING = {
    "greet": ["halo", "hai kak", "selamat pagi", "assalamualaikum", "permisi min", "pagi kak"],
    "ask_fee": ["berapa biaya paspor", "biayanya berapa", "harga paspor elektronik",
                "tarif pnbp paspor", "bayar berapa ya", "biaya bikin paspor"],
    "ask_location": ["kantornya di mana", "lokasi kantor imigrasi", "kantor imigrasi di mana",
                     "naik apa ke kantor", "kantor kemayoran di mana", "arah ke kantor"],
    "ask_office_hours": ["jam buka kantor", "buka jam berapa", "tutup jam berapa",
                         "sabtu buka tidak", "jam pelayanan", "jam operasional"],
    "deny": ["bukan", "tidak", "bukan itu", "salah", "nggak", "bukan begitu"],
    "request_human": ["mau bicara dengan petugas", "sambungkan ke admin", "minta cs",
                      "mau ngobrol sama orang", "hubungkan petugas", "panggil admin"],
}
ANSWERS = {"greet": "Halo! Ada yang bisa dibantu?", "ask_fee": "Biaya paspor biasa Rp350.000.",
           "ask_location": "Kantor kami di Jl. Merpati Blok B-12 No. 3, Kemayoran.",
           "ask_office_hours": "Kami buka Senin–Jumat 08.00–16.00.",
           "deny": "Baik, maaf. Bisa dijelaskan lagi?",
           "request_human": "Petugas kami akan membantu: 021-000000."}
TEST_SET = {
    "greet": ["halo kak", "selamat pagi min", "hai"],
    "ask_fee": ["biaya paspor berapa ya", "harganya berapa", "tarif paspor elektronik"],
    "ask_location": ["alamatnya dimana", "alamat lengkapnya apa", "alamat kantornya di jalan apa"],
    "ask_office_hours": ["bukanya jam berapa", "jam berapa tutupnya", "jam layanan kantor"],
    "deny": ["bukan itu kak", "tidak mau"],
    "request_human": ["mau bicara sama petugas", "minta admin"],
}


def _nlu(blocks: dict[str, list[str]]) -> str:
    body = "".join(f"  - intent: {intent}\n    examples: |\n"
                   + "".join(f"      - {t}\n" for t in texts) for intent, texts in blocks.items())
    return 'version: "3.1"\nnlu:\n' + body


def write_project(root: Path) -> ProjectPaths:
    """The project's files; its entities are the ones a supervisor may mark."""
    (root / "data" / "nlu").mkdir(parents=True, exist_ok=True)
    (root / "tests" / "nlu").mkdir(parents=True, exist_ok=True)
    (root / "config.yml").write_text(CONFIG)
    responses = "".join(f"  utter_{i}:\n    - text: \"{t}\"\n" for i, t in ANSWERS.items())
    (root / "domain.yml").write_text(
        'version: "3.1"\nintents:\n' + "".join(f"  - {i}\n" for i in TRAINING)
        + "entities:\n  - service_type\n  - person_name\n"
        + "responses:\n" + responses
        + '  utter_default:\n    - text: "Maaf, saya belum paham. Bisa diulang?"\n')
    for intent, texts in TRAINING.items():
        (root / "data" / "nlu" / f"{intent}.yml").write_text(_nlu({intent: texts}))
    rules = "".join(f"  - rule: answer {i}\n    steps:\n      - intent: {i}\n"
                    f"      - action: utter_{i}\n" for i in TRAINING)
    rules += ("  - rule: not understood\n    steps:\n      - intent: nlu_fallback\n"
              "      - action: utter_default\n")
    (root / "data" / "rules.yml").write_text('version: "3.1"\nrules:\n' + rules)
    (root / "tests" / "nlu" / "test_nlu.yml").write_text(_nlu(TEST_SET))
    (root / "endpoints.yml").write_text(
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {root / 'tracker.db'}\n")
    return ProjectPaths.at(root)


def train_base(paths: ProjectPaths) -> Path:
    """The model `make train` would have made: ``models/law-base.tar.gz``."""
    from rasa.api import train

    result = train(str(paths.domain), str(paths.config), [str(paths.data)], str(paths.models),
                   fixed_model_name="law-base")
    assert result.model and Path(result.model).exists()
    return Path(result.model)


@dataclass
class RasaProcesses:
    """Rasa processes of one project, each on its own port, restartable."""

    paths: ProjectPaths
    logs: Path
    count: int = 2
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start(self, model: Path | None = None, wait: bool = True) -> None:
        """Start every process with ``model``, by default the one a launcher would choose.

        Without a model to start with (``launch_model`` finds none), a process starts empty
        and waits for ``PUT /model``.
        """
        model = model or launch_model(self.paths.models)
        if not self.ports:
            self.ports = [free_port() for _ in range(self.count)]
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
               "SANIC_WORKERS": "1"}
        chosen = ["-m", str(model)] if model else []
        for number, port in enumerate(self.ports):
            log = self.logs / f"rasa-{number}.log"
            with log.open("a") as out:
                # Started in the logs folder: without -m, no model is found there.
                self.processes.append(subprocess.Popen(
                    [LAW_RASA, "run", "--enable-api", "--auth-token", RASA_TOKEN, *chosen,
                     "-p", str(port), "-i", "127.0.0.1", "--endpoints",
                     str(self.paths.root / "endpoints.yml")],
                    cwd=self.logs, env=env, stdout=out, stderr=subprocess.STDOUT))
        if wait:
            self.wait()

    def wait(self) -> None:
        for url, process, number in zip(self.urls, self.processes, range(self.count)):
            wait_for(f"{url}/", process, self.logs / f"rasa-{number}.log", timeout=300)

    def load(self, model: Path) -> None:
        """``PUT /model`` on every process (what the processes started empty wait for)."""
        for url in self.urls:
            reply = requests.put(f"{url}/model", params={"token": RASA_TOKEN},
                                 json={"model_file": str(model.resolve())}, timeout=300)
            assert reply.status_code == 204, reply.text

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def restart(self) -> None:
        self.stop()
        self.start()

    def model_ids(self) -> list[str]:
        return [requests.get(f"{url}/status", params={"token": RASA_TOKEN}, timeout=30)
                .json()["model_id"] for url in self.urls]


def chat(url: str, sender: str, text: str) -> list[str]:
    """Send one message through the REST channel; the bot's replies."""
    reply = requests.post(f"{url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, timeout=60)
    reply.raise_for_status()
    return [m.get("text", "") for m in reply.json()]


def parse(url: str, text: str) -> tuple[str, float]:
    reply = requests.post(f"{url}/model/parse", params={"token": RASA_TOKEN},
                          json={"text": text}, timeout=30)
    reply.raise_for_status()
    intent = reply.json()["intent"]
    return intent["name"], intent["confidence"]

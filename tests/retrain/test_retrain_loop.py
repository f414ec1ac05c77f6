"""Retraining loop end to end on a tiny Rasa project: export from the tracker store (SQLite and
PostgreSQL), label, import, train a candidate, compare, and promote it into a running
``rasa run --enable-api`` server (then roll back); a worse candidate is refused.

Models train NLU-only with a logistic-regression pipeline, in a second or two each.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests

from law_retrain.history import History
from law_retrain.models import ProjectPaths, file_digest, model_info
from tests.e2e.servers import free_port, wait_for
from tests.retrain.test_retrain import (  # noqa: F401 - fixtures used by the tests below
    ADDRESS_QUESTIONS,
    cli,
    nlu_yaml,
    read_csv,
    retrain_postgres_url,
    tracker_store_url,
    write_history,
    write_tiny_project,
)

pytestmark = pytest.mark.slow
TOKEN = "rahasia-uji"


@pytest.fixture(scope="module")
def rasa_cache(tmp_path_factory) -> Iterator[Path]:
    """Rasa's training cache for this module, away from the real project's."""
    cache = tmp_path_factory.mktemp("rasa-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_CACHE_DIRECTORY", str(cache))
        patch.setenv("RASA_TELEMETRY_ENABLED", "false")
        yield cache


@pytest.fixture(scope="module")
def rasa_server(tmp_path_factory, rasa_cache) -> Iterator[tuple[str, ProjectPaths]]:
    """``rasa run --enable-api`` on a free port and the tiny project whose model it runs.

    The server boots while the project's current model trains (the two slowest steps), then
    loads it through the API. The model is named the way `make train` names them.
    """
    from rasa.model_training import train_nlu

    paths = write_tiny_project(tmp_path_factory.mktemp("base") / "project")
    port, url = free_port(), ""
    log = tmp_path_factory.mktemp("rasa-run") / "rasa.log"
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [str(Path(sys.executable).with_name("law-rasa")), "run", "--enable-api",
               "--auth-token", TOKEN, "-p", str(port), "-i", "127.0.0.1"]
    with log.open("w") as out:
        # Started away from the project: with no model at hand it waits for one.
        server = subprocess.Popen(command, cwd=log.parent, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
        try:
            model = train_nlu(str(paths.config), str(paths.data), str(paths.models),
                              fixed_model_name="law-base", domain=str(paths.domain))
            assert model and Path(model).exists()
            url = f"http://127.0.0.1:{port}"
            wait_for(f"{url}/", server, log, timeout=180)
            reply = requests.put(f"{url}/model", params={"token": TOKEN},
                                 json={"model_file": str(Path(model).resolve())}, timeout=180)
            assert reply.status_code == 204, reply.text
            yield url, paths
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def loaded_model_id(url: str) -> str:
    reply = requests.get(f"{url}/status", params={"token": TOKEN}, timeout=30)
    reply.raise_for_status()
    return reply.json()["model_id"]


@pytest.fixture
def project(rasa_server, tmp_path: Path, monkeypatch) -> ProjectPaths:
    """A copy of the base project for one test (the loop writes data and models)."""
    monkeypatch.setenv("LAW_RASA_TOKEN", TOKEN)
    shutil.copytree(rasa_server[1].root, tmp_path / "project")
    return ProjectPaths.at(tmp_path / "project")


def labelled(rows: list[dict[str, str]], label_for: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "intent_benar": label_for.get(row["teks"], "")})
    return out.getvalue()


def test_reviewed_messages_give_a_better_model_that_is_promoted(
        tracker_store_url, project, rasa_server, cli, tmp_path):
    url = rasa_server[0]
    base_id = model_info(project.models / "law-base.tar.gz").model_id
    write_history(tracker_store_url)
    review = tmp_path / "ulasan.csv"
    exported = cli("ekspor-ulasan", "--proyek", project.root, "--tracker", tracker_store_url,
                   "--keluar", review)
    assert exported.code == 0, exported.err
    rows = read_csv(review)
    assert set(ADDRESS_QUESTIONS) <= {row["teks"] for row in rows}

    # A supervisor labels the address questions, with a typo in one intent name first.
    labels = {text: "ask_location" for text in ADDRESS_QUESTIONS}
    review.write_text(labelled(rows, {**labels, ADDRESS_QUESTIONS[1]: "ask_lokasi"}))
    refused = cli("impor-ulasan", review, "--proyek", project.root)
    assert refused.code == 1 and "intent 'ask_lokasi' tidak dikenal" in refused.err
    assert not project.reviewed.exists()
    review.write_text(labelled(rows, labels) + "Kantornya di mana?,,,,ask_location\n")
    imported = cli("impor-ulasan", review, "--proyek", project.root)
    assert imported.code == 0, imported.err + imported.out
    assert "4 contoh baru, 1 duplikat dilewati" in imported.out
    assert "rasa data validate lulus" in imported.out
    for text in ADDRESS_QUESTIONS:
        assert f"      - {text}\n" in project.reviewed.read_text()

    trained = cli("latih-kandidat", "--proyek", project.root, "--hanya-nlu")
    assert trained.code == 0, trained.err
    candidate = Path(History.load(project.retrain).latest_candidate)
    assert candidate.parent == project.retrain and candidate.exists()

    compared = cli("bandingkan", "--proyek", project.root)
    assert compared.code == 0, compared.out + compared.err
    assert "macro-F1" in compared.out and "LAYAK dipromosikan" in compared.out
    history, digest = History.load(project.retrain), file_digest(project.test_set)
    current = history.cached_scores(base_id, digest)
    better = history.cached_scores(model_info(candidate).model_id, digest)
    assert better.macro_f1 > current.macro_f1
    assert better.f1["ask_location"] > current.f1["ask_location"]

    promoted = cli("promosikan", "--proyek", project.root, "--server", url)
    assert promoted.code == 0, promoted.out + promoted.err
    assert loaded_model_id(url) == model_info(candidate).model_id

    back = cli("kembalikan", "--proyek", project.root, "--server", url)
    assert back.code == 0, back.out + back.err
    assert loaded_model_id(url) == base_id


def test_a_worse_candidate_is_refused_and_the_server_keeps_its_model(
        project, rasa_server, cli):
    url = rasa_server[0]
    base_id = model_info(project.models / "law-base.tar.gz").model_id
    # A careless review: the address questions labelled as questions about the fee.
    project.reviewed.write_text(nlu_yaml({"ask_fee": ADDRESS_QUESTIONS}))
    assert cli("latih-kandidat", "--proyek", project.root, "--hanya-nlu").code == 0

    compared = cli("bandingkan", "--proyek", project.root)
    assert compared.code == 1
    assert "TIDAK LAYAK" in compared.out and "F1 intent ask_location turun" in compared.out

    promoted = cli("promosikan", "--proyek", project.root, "--server", url)
    assert promoted.code == 1 and "tidak dipromosikan" in promoted.err
    assert loaded_model_id(url) == base_id

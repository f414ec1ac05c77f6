"""The model pages of "Ulasan": train a candidate, compare, promote, roll back, history.

"Latih model kandidat" starts ``law_retrain.job`` in a process of its own (one at a time: a
second click, by anyone, is told that one is running) and opens the progress page, which
polls ``/ulasan/pelatihan.json``. The comparison page shows the job's report: per-intent F1 of
the current model and the candidate side by side on the test set, the newly labelled
messages and the messages whose prediction changes, and the verdict of the promotion rule
(``antrean promosikan``'s). Promote and roll back load the model into every Rasa process of
``LAW_RASA_URLS`` or into none (``law_retrain.promotion``), point ``models/current.tar.gz`` at
it and are written to the audit log and the history. Served through ``law_console.review``.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from antrean.staff.common import StaffError
from antrean.staff.users import Role
from law_console.auth import Page, page
from law_retrain import job
from law_retrain.history import History
from law_retrain.labels import load_book
from law_retrain.models import ProjectPaths
from law_retrain.promotion import (
    cached_comparison,
    promote,
    resolve_candidate,
    resolve_current,
    roll_back,
)
from law_retrain.scores import DEFAULT_MARGIN
from law_retrain.server import Topology

POLL_MS = 1500


def _project(p: Page) -> ProjectPaths:
    from law_console.review import project

    return project(p)


def job_status(paths: ProjectPaths) -> dict[str, Any] | None:
    status = job.read_status(paths)
    return dataclasses.asdict(status) if status else None


@page(Role.SUPERVISOR)
def start_training(p: Page) -> Response:
    paths = _project(p)
    waiting = len(load_book(paths).waiting)
    started = job.start(paths, p.user.username, p.console.settings.tracker_url)
    if not started:
        return p.redirect("/ulasan/pelatihan", job.BUSY_MESSAGE, error=True)
    p.audit("model.latih", target="model kandidat", before=None,
            after=f"dimulai ({waiting} label menunggu)")
    return p.redirect("/ulasan/pelatihan", "Pelatihan model kandidat dimulai.")


@page(Role.SUPERVISOR)
def progress(p: Page) -> Response:
    return p.render("review_training.html", title="Latih model kandidat",
                    status=job_status(_project(p)), poll_ms=POLL_MS)


@page(Role.SUPERVISOR, touch=False)
def progress_json(p: Page) -> Response:
    return p.json(job_status(_project(p)) or {"state": "belum"})


def _models_now(p: Page) -> list[Any]:
    return Topology.from_settings(settings=p.console.settings).models()


def _report(paths: ProjectPaths) -> dict[str, Any]:
    """The comparison of the last candidate trained; refused when there is none yet."""
    report = job.read_report(paths)
    if report is None:
        raise StaffError("Belum ada perbandingan: latih model kandidat dulu.", 1)
    return report


@page(Role.SUPERVISOR)
def comparison(p: Page) -> Response:
    paths = _project(p)
    report = _report(paths)
    history = History.load(paths.retrain)
    active = history.active.model_id if history.active else None
    return p.render("review_compare.html", title="Perbandingan model", report=report,
                    promoted=active == report["candidate"]["model_id"],
                    can_roll_back=history.previous is not None)


@page(Role.SUPERVISOR)
def promote_candidate(p: Page) -> Response:
    paths = _project(p)
    report = _report(paths)
    history = History.load(paths.retrain)
    candidate = resolve_candidate(report["candidate"]["path"], history, paths)
    current = resolve_current(None, history, paths)
    if current.model_id != report["current"]["model_id"]:
        raise StaffError("Model saat ini sudah berganti sejak perbandingan dibuat; latih "
                         "model kandidat lagi.", 1)
    compared = cached_comparison(current, candidate, paths, history,
                                 float(report.get("margin", DEFAULT_MARGIN)))
    if compared is None:
        raise StaffError("Nilai uji tidak tersimpan; latih model kandidat lagi.", 1)
    topology = Topology.from_settings(settings=p.console.settings)
    if not compared.acceptable:
        p.audit("model.promosi", target=candidate.path.name, before=current.path.name,
                after="ditolak: " + "; ".join(compared.problems()))
        raise StaffError("Kandidat tidak dipromosikan: " + "; ".join(compared.problems())
                         + ". Model saat ini tetap dipakai.", 1)
    done = promote(paths, history, topology, current, candidate, compared, p.user.username,
                   p.service.now())
    p.audit("model.promosi", target=candidate.path.name, before=current.path.name,
            after=f"{candidate.path.name} (macro-F1 {compared.current.macro_f1:.3f} → "
                  f"{compared.candidate.macro_f1:.3f}) di {len(done.processes)} proses")
    return p.redirect("/ulasan/riwayat", f"Dipromosikan: {candidate.path.name} kini dipakai "
                      f"{len(done.processes)} proses Rasa, juga sesudah dinyalakan ulang.")


@page(Role.SUPERVISOR)
def roll_back_model(p: Page) -> Response:
    paths = _project(p)
    history = History.load(paths.retrain)
    active = history.active.model if history.active else "-"
    done = roll_back(paths, history, Topology.from_settings(settings=p.console.settings),
                     p.user.username, p.service.now())
    p.audit("model.kembali", target=done.model.path.name, before=model_info_name(active),
            after=f"{done.model.path.name} di {len(done.processes)} proses")
    return p.redirect("/ulasan/riwayat", f"Dikembalikan: {done.model.path.name} kini dipakai "
                      f"{len(done.processes)} proses Rasa.")


def model_info_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@page(Role.SUPERVISOR)
def history_page(p: Page) -> Response:
    paths = _project(p)
    history = History.load(paths.retrain)
    active = model_info_name(history.active.model) if history.active else None
    return p.render("review_history.html", title="Riwayat model",
                    events=list(reversed(history.events)), active=active,
                    processes=_models_now(p), can_roll_back=history.previous is not None)


routes = [
    Route("/ulasan/latih", start_training, methods=["POST"]),
    Route("/ulasan/pelatihan", progress),
    Route("/ulasan/pelatihan.json", progress_json),
    Route("/ulasan/perbandingan", comparison),
    Route("/ulasan/promosikan", promote_candidate, methods=["POST"]),
    Route("/ulasan/kembalikan", roll_back_model, methods=["POST"]),
    Route("/ulasan/riwayat", history_page),
]

""""Ulasan" (supervisor and up): the review inbox and labelling of what the bot misread.

The inbox (``law_retrain.inbox``) lists the messages the assistant did not understand or was
unsure of, grouped by the same or nearly the same words, most frequent first (or newest first
with ``?urut=terbaru``). A group opens on the labelling page: the text (masked parts may be
replaced by a made-up example), the intents of the catalogue numbered 1–19 (number keys pick
one, Enter saves, ``b`` discards as noise, Esc goes back), and the words to mark as entities.
Labels are checked as ``antrean impor-ulasan`` checks a file (``law_retrain.labels``) and wait
for the next candidate; each label and discard is in the audit log.

The candidate, comparison, promotion and history pages are ``law_console.review_model``;
this module serves both (one entry in ``law_console.app.PAGE_MODULES``). Counter staff get
403 on every page. The project's files (``ProjectPaths``) default to the LAW checkout; a test
sets ``app.state.retrain_project``.
"""
from __future__ import annotations

import json

from starlette.responses import Response
from starlette.routing import Route

from antrean.staff.common import StaffError
from antrean.staff.tracker import TrackerStore
from antrean.staff.users import Role
from law_console import review_model
from law_console.auth import Page, page
from law_console.state import NavItem
from law_retrain.catalogue import ENTITIES, VALUE_LABELS, intents_of
from law_retrain.inbox import Group, context_of, review_inbox
from law_retrain.labels import MARKABLE_ENTITIES, Span, add_label, discard, load_book
from law_retrain.models import ProjectPaths
from law_retrain.training_data import domain_entities, domain_intents, training_examples

SORTS = {"jumlah": "paling sering", "terbaru": "terbaru"}


def project(p: Page) -> ProjectPaths:
    """The Rasa project the review works on (the LAW checkout unless the app says another)."""
    given = getattr(p.request.app.state, "retrain_project", None)
    return given if isinstance(given, ProjectPaths) else ProjectPaths.at()


def inbox_groups(p: Page, paths: ProjectPaths) -> list[Group]:
    hidden = set(training_examples(paths.nlu)) if paths.nlu.exists() else set()
    hidden |= load_book(paths).hidden()
    store = TrackerStore(p.console.settings.tracker_url)
    try:
        return review_inbox(store, hidden, tz=p.service.tz)
    finally:
        store.dispose()


def _ordered(groups: list[Group], sort: str) -> list[Group]:
    if sort == "terbaru":
        return sorted(groups, key=lambda g: (g.latest.at, g.count), reverse=True)
    return groups


@page(Role.SUPERVISOR)
def inbox(p: Page) -> Response:
    paths = project(p)
    sort = p.query("urut") if p.query("urut") in SORTS else "jumlah"
    note = ""
    try:
        groups = _ordered(inbox_groups(p, paths), sort)
    except StaffError as problem:  # no conversation stored yet: the rest of the page works
        groups, note = [], problem.message
    book = load_book(paths)
    return p.render("review.html", title="Ulasan", groups=groups, sort=sort, sorts=SORTS,
                    waiting=book.waiting, status=review_model.job_status(paths), note=note)


def _find(groups: list[Group], group_id: str) -> Group:
    for group in groups:
        if group.id == group_id:
            return group
    raise StaffError("Pesan ini sudah tidak ada di kotak ulasan (mungkin sudah diberi label "
                     "oleh petugas lain).", 1)


@page(Role.SUPERVISOR)
def label_form(p: Page) -> Response:
    paths = project(p)
    groups = inbox_groups(p, paths)
    group = _find(groups, p.query("grup"))
    position = groups.index(group)
    intents = intents_of(domain_intents(paths.domain))
    guessed = {name: confidence for name, confidence in group.latest.guesses}
    allowed = domain_entities(paths.domain)
    entities = [(name, ENTITIES[name], [(v, VALUE_LABELS.get(v, v)) for v in values or ()])
                for name, values in MARKABLE_ENTITIES.items() if name in allowed]
    return p.render("review_label.html", title="Beri label", group=group, intents=intents,
                    guessed=guessed, entities=entities, remaining=len(groups) - position - 1,
                    variants=[text for text, _ in group.variants if text != group.text])


def _spans(raw: str) -> list[Span]:
    if not raw:
        return []
    try:
        items = json.loads(raw)
        return [Span(int(i["start"]), int(i["end"]), str(i["entity"]),
                     str(i["value"]) if i.get("value") not in (None, "") else None)
                for i in items]
    except (ValueError, TypeError, KeyError) as exc:
        raise StaffError("Tanda entitas tidak terbaca; tandai ulang kata-katanya.", 1) from exc


def _next_page(p: Page, paths: ProjectPaths, done: str) -> str:
    """The next group of the inbox to label, else the inbox."""
    for group in inbox_groups(p, paths):
        if group.id != done:
            return f"/ulasan/label?grup={group.id}"
    return "/ulasan"


@page(Role.SUPERVISOR)
def save_label(p: Page) -> Response:
    paths = project(p)
    group_id, text, intent = p.field("grup"), p.field("teks"), p.field("intent")
    back = f"/ulasan/label?grup={group_id}"
    if not intent:
        return p.redirect(back, "Pilih intent dulu (angka 1–19), lalu tekan Enter.", error=True)
    spans = _spans(p.field("entitas"))
    try:
        variants = [str(v) for v in json.loads(p.field("varian") or "[]")]
    except (ValueError, TypeError):
        variants = []
    try:
        checked = add_label(paths, text, intent, p.user.username, p.service.now(), spans,
                            variants)
    except StaffError as problem:
        return p.redirect(back, problem.message, error=True)
    if checked.saved:
        marked = ", ".join(f"{s.entity}={s.value or text[s.start:s.end]}" for s in spans)
        p.audit("ulasan.label", target=text, before=None,
                after=intent + (f" ({marked})" if marked else ""))
    message = " ".join([checked.message, *checked.warnings])
    return p.redirect(_next_page(p, paths, group_id), message, error=not checked.saved)


@page(Role.SUPERVISOR)
def discard_group(p: Page) -> Response:
    paths = project(p)
    group = _find(inbox_groups(p, paths), p.field("grup"))
    texts = [text for text, _ in group.variants]
    discard(paths, texts, p.user.username, p.service.now())
    p.audit("ulasan.buang", target=group.text, before=None,
            after=f"dibuang ({group.count} pesan)")
    return p.redirect(_next_page(p, paths, group.id),
                      f"\u201c{group.text}\u201d dibuang sebagai derau; tidak dipelajari.")


@page(Role.SUPERVISOR)
def conversation(p: Page) -> Response:
    try:
        event_id = int(p.query("peristiwa"))
    except ValueError:
        raise StaffError("Percakapan tidak ditemukan.", 1) from None
    store = TrackerStore(p.console.settings.tracker_url)
    try:
        lines = context_of(store, event_id, p.service.tz)
    finally:
        store.dispose()
    if not lines:
        raise StaffError("Percakapan tidak ditemukan (mungkin sudah dihapus oleh masa simpan).",
                         1)
    return p.render("review_conversation.html", title="Percakapan", lines=lines,
                    back=p.query("kembali") or "/ulasan")


routes = [
    Route("/ulasan", inbox),
    Route("/ulasan/label", label_form),
    Route("/ulasan/label/simpan", save_label, methods=["POST"]),
    Route("/ulasan/buang", discard_group, methods=["POST"]),
    Route("/ulasan/percakapan", conversation),
    *review_model.routes,
]
nav = [NavItem("Ulasan", "/ulasan", Role.SUPERVISOR, order=60)]

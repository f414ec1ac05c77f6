"""Permintaan petugas: the hand-off inbox and the takeover of a conversation (counter and up).

``/permintaan`` lists the conversations that asked for a person (``handoff_requests``, written
by the bot's ``request_human``), newest first, each with its last messages from Rasa's tracker
store, personal data masked (``law_console/conversation.py``; what a page shows is put
together in ``law_console/handoff_desk.py``). ``/permintaan/{id}`` shows one
conversation, refreshed every few seconds by ``static/handoff.js`` from
``/permintaan/{id}/pesan``; "Tampilkan data pribadi" unmasks it for this session for
``REVEAL_MINUTES`` and is audited.

A staff member may take the conversation over ("Ambil alih"): the takeover is written
(``antrean/store/takeover_queries.py``) and Rasa's conversation paused, so the bot stays
silent; replies go to the applicant on WhatsApp and into the conversation
(``law_console/takeover.py``) while the applicant's 24-hour window is open. "Selesai" resumes
the bot, tells the applicant it is back, ends the takeover and resolves the request. Anyone
signed in may reply or end a takeover another started (a shift ends); every step is audited.
A failure of Rasa, of WhatsApp or of their settings is told in Indonesian on the page.
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Route

from antrean.model import HandoffRequest
from antrean.staff.users import Role
from antrean.store.takeover_queries import Takeover, TakeoverQueries, paused_in_rasa
from law_console.auth import Page, page
from law_console.conversation import lines
from law_console.handoff_desk import (
    CONVERSATION_LINES,
    INBOX_LINES,
    REVEAL_MINUTES,
    TRACKER_UNREADABLE,
    Desk,
    active_takeover,
    active_takeovers,
    audit_target,
    card_for,
    conversation_context,
    desk_of,
    find_request,
    handoff_id_of,
    masker_for,
)
from law_console.state import NavItem
from law_console.takeover import (
    BOT_IS_BACK,
    TakeoverProblem,
    check_reply,
    check_whatsapp_sender,
    check_window,
)


@page(Role.LOKET)
def inbox(p: Page) -> Response:
    desk = desk_of(p)
    show_all = p.query("semua") == "1"
    requests = p.service.handoffs(include_resolved=show_all)
    requests.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    active = active_takeovers(p)
    now = p.console.now()
    cards = [card_for(p, desk, r, active.get(r.phone) if r.is_open else None, INBOX_LINES,
                   desk.revealed(p.session.id, r.id, now))
             for r in requests[:100]]
    return p.render("handoff.html", title="Permintaan petugas", cards=cards, show_all=show_all,
                    waiting=sum(1 for r in requests if r.is_open))


@page(Role.LOKET)
def conversation(p: Page) -> Response:
    context = conversation_context(p, handoff_id_of(p))
    return p.render("handoff_conversation.html", title=f"Permintaan {context['card'].id}",
                    draft="", **context)


@page(Role.LOKET, touch=False)
async def new_lines(p: Page) -> Response:
    """The lines stored after ``?setelah=<id>``, and whether a takeover is on (JSON)."""
    desk = desk_of(p)
    request = await run_in_threadpool(find_request, p, handoff_id_of(p))
    takeover = await run_in_threadpool(active_takeover, p, request.phone)
    note = await keep_paused(desk, request, takeover)
    return await run_in_threadpool(_new_lines, p, desk, request, takeover, note)


def _new_lines(p: Page, desk: Desk, request: HandoffRequest, takeover: Takeover | None,
               note: str) -> Response:
    after = p.query("setelah")
    masker = masker_for(p, desk, request)
    try:
        found = desk.tracker.conversation(request.phone, CONVERSATION_LINES,
                                          after_id=int(after) if after.isdigit() else None)
    except Exception as exc:  # noqa: BLE001 - the page keeps what it shows and says why
        return p.json({"error": TRACKER_UNREADABLE.format(why=type(exc).__name__)}, 503)
    return p.json({
        "lines": [line.as_json() for line in lines(found, masker, p.service.tz,
                                                   p.service.today())],
        "takeover": takeover.staff_name if takeover else "",
        "note": note,
    })


async def keep_paused(desk: Desk, request: HandoffRequest, takeover: Takeover | None) -> str:
    """Pause Rasa again if a new session ended the pause of a takeover; what to tell staff.

    Rasa starts a new session when the applicant writes after ``session_expiration_time``
    (60 minutes) of silence, which resets the tracker: the bot answers that message. The page
    polls every few seconds, so the bot is silenced again at once.
    """
    if takeover is None:
        return ""
    try:
        paused = await run_in_threadpool(paused_in_rasa, desk.tracker, request.phone,
                                         takeover.started_at)
    except Exception:  # noqa: BLE001 - the store's failure is told by the lines' reading
        return ""
    if paused is not False:
        return ""
    try:
        await desk.rasa.pause(request.phone)
    except TakeoverProblem as problem:
        return ("Sesi percakapan baru dimulai dan asisten menjawab lagi; menjedanya kembali "
                f"gagal: {problem.message}")
    return ("Sesi percakapan baru dimulai (pemohon lama tidak menulis), sehingga asisten "
            "sempat menjawab; asisten sudah didiamkan lagi.")


# --- changes ------------------------------------------------------------------------------
@page(Role.LOKET)
def reveal(p: Page) -> Response:
    request = find_request(p, handoff_id_of(p))
    desk_of(p).reveal(p.session.id, request.id, p.console.now())
    p.audit("permintaan.tampilkan", audit_target(request), "tersamar", "ditampilkan")
    return p.redirect(f"/permintaan/{request.id}",
                      f"Data pribadi ditampilkan untuk Anda selama {REVEAL_MINUTES} menit.")


@page(Role.LOKET)
async def take_over(p: Page) -> Response:
    request = await run_in_threadpool(find_request, p, handoff_id_of(p))
    desk = desk_of(p)
    back = f"/permintaan/{request.id}"
    try:
        if not request.is_open:
            raise TakeoverProblem("Permintaan ini sudah selesai; tidak ada yang perlu diambil "
                                  "alih.")
        check_whatsapp_sender(request.phone)
        await run_in_threadpool(desk.whatsapp.settings)  # configured? (imports Rasa: slow)
        takeover = await run_in_threadpool(_start, p, request.phone)
        try:
            await desk.rasa.pause(request.phone)
        except TakeoverProblem:
            await run_in_threadpool(_forget, p, takeover)
            raise
    except TakeoverProblem as problem:
        return await run_in_threadpool(p.redirect, back, problem.message, True)
    await run_in_threadpool(p.audit, "permintaan.ambil-alih", audit_target(request), "asisten",
                            f"petugas {p.user.display_name}")
    return await run_in_threadpool(
        p.redirect, back, "Anda mengambil alih percakapan ini: asisten diam sampai Anda "
        "menekan Selesai. Tulis balasan di bawah.")


def _start(p: Page, phone: str) -> Takeover:
    with p.service.store.transaction() as tx:
        queries = TakeoverQueries(tx.conn)
        started = queries.start(phone, p.user.id, p.console.now())
        if started is None:
            current = queries.active(phone)
            name = current.staff_name if current else "petugas lain"
            raise TakeoverProblem(f"Percakapan ini sudah diambil alih oleh {name}.")
        return started


def _forget(p: Page, takeover: Takeover) -> None:
    with p.service.store.transaction() as tx:
        TakeoverQueries(tx.conn).forget(takeover.id)


@page(Role.LOKET)
async def reply(p: Page) -> Response:
    request = await run_in_threadpool(find_request, p, handoff_id_of(p))
    desk = desk_of(p)
    draft = p.form.get("pesan", "")
    try:
        text = check_reply(draft)
        takeover = await run_in_threadpool(active_takeover, p, request.phone)
        if takeover is None:
            raise TakeoverProblem("Ambil alih percakapan dulu; selama asisten masih melayani, "
                                  "balasan petugas tidak dikirim.")
        await keep_paused(desk, request, takeover)
        last = await run_in_threadpool(desk.tracker.last_user_message_at, request.phone)
        check_window(last, p.console.now(), p.service.tz)
        message_id = await desk.whatsapp.send_text(request.phone, text,
                                                   f"takeover {takeover.id}")
    except TakeoverProblem as problem:
        # The page again with the draft kept, so nothing typed is lost.
        context = await run_in_threadpool(conversation_context, p, request.id)
        return await run_in_threadpool(
            p.render, "handoff_conversation.html", status_code=400,
            title=f"Permintaan {request.id}", draft=draft, problem=problem.message, **context)
    await run_in_threadpool(p.audit, "permintaan.balas", audit_target(request), None,
                            f"{len(text)} karakter terkirim")
    message = "Balasan terkirim ke WhatsApp pemohon."
    try:
        await desk.rasa.record_reply(request.phone, text, p.user.display_name, message_id)
    except TakeoverProblem:
        message += (" Namun balasan belum tercatat di riwayat percakapan (server asisten tidak "
                    "dapat dihubungi).")
    return await run_in_threadpool(p.redirect, f"/permintaan/{request.id}", message)


@page(Role.LOKET)
async def finish(p: Page) -> Response:
    request = await run_in_threadpool(find_request, p, handoff_id_of(p))
    desk = desk_of(p)
    takeover = await run_in_threadpool(active_takeover, p, request.phone)
    if takeover is None and not request.is_open:
        return await run_in_threadpool(p.redirect, f"/permintaan/{request.id}",
                                       "Permintaan ini sudah selesai.")
    told = ""
    if takeover is not None:
        try:
            await desk.rasa.resume(request.phone)
        except TakeoverProblem as problem:
            return await run_in_threadpool(p.redirect, f"/permintaan/{request.id}",
                                           problem.message + " Asisten masih diam.", True)
        # Ended once: of two members of staff pressing Selesai together, one tells the applicant.
        if not await run_in_threadpool(_end, p, takeover):
            return await run_in_threadpool(p.redirect, "/permintaan", "Pengambilalihan ini "
                                           "sudah diakhiri petugas lain.")
        told = await _tell_bot_is_back(p, desk, request, takeover)
    await run_in_threadpool(_close, p, request, takeover)
    done = (f"Permintaan {request.id} selesai; asisten kembali melayani pemohon. {told}"
            if takeover else f"Permintaan {request.id} ditandai selesai.")
    return await run_in_threadpool(p.redirect, "/permintaan", done.strip())


async def _tell_bot_is_back(p: Page, desk: Desk, request: HandoffRequest,
                            takeover: Takeover) -> str:
    """Tell the applicant the assistant is back; what to add to the staff's message."""
    try:
        last = await run_in_threadpool(desk.tracker.last_user_message_at, request.phone)
        check_window(last, p.console.now(), p.service.tz)
        message_id = await desk.whatsapp.send_text(request.phone, BOT_IS_BACK,
                                                   f"takeover {takeover.id} end")
    except TakeoverProblem as problem:
        return f"Pemberitahuan ke pemohon tidak terkirim: {problem.message}"
    except Exception as exc:  # noqa: BLE001 - the store failing must not keep the bot silent
        return f"Pemberitahuan ke pemohon tidak terkirim ({type(exc).__name__})."
    try:
        await desk.rasa.record_reply(request.phone, BOT_IS_BACK, p.user.display_name,
                                     message_id)
    except TakeoverProblem:
        pass  # sent; the history misses it, as the log says
    return "Pemohon sudah diberi tahu."


def _end(p: Page, takeover: Takeover) -> bool:
    with p.service.store.transaction() as tx:
        return TakeoverQueries(tx.conn).end(takeover.id, p.console.now())


def _close(p: Page, request: HandoffRequest, takeover: Takeover | None) -> None:
    resolved = p.service.resolve_handoff(request.id, p.user.username)
    if takeover is not None:
        p.audit("permintaan.selesai", audit_target(request), f"petugas {takeover.staff_name}",
                "asisten")
    elif resolved:
        p.audit("permintaan.selesai", audit_target(request), "terbuka", "selesai")


nav = [NavItem("Permintaan petugas", "/permintaan", Role.LOKET, order=20)]
routes = [
    Route("/permintaan", inbox, methods=["GET"]),
    Route("/permintaan/{handoff_id}", conversation, methods=["GET"]),
    Route("/permintaan/{handoff_id}/pesan", new_lines, methods=["GET"]),
    Route("/permintaan/{handoff_id}/tampilkan", reveal, methods=["POST"]),
    Route("/permintaan/{handoff_id}/ambil-alih", take_over, methods=["POST"]),
    Route("/permintaan/{handoff_id}/balas", reply, methods=["POST"]),
    Route("/permintaan/{handoff_id}/selesai", finish, methods=["POST"]),
]

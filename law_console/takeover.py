"""Staff answering an applicant instead of the bot: Rasa's side and WhatsApp's side.

A takeover pauses the conversation in Rasa (``POST /conversations/{sender}/tracker/events``
with a ``pause`` event): Rasa then logs every user message but predicts nothing, so the bot
stays silent while staff write. A staff reply goes to the applicant through the WhatsApp
channel's own Graph API client and is recorded in the tracker as a ``bot`` event (metadata
``law_console``), so the conversation reads whole afterwards. "Selesai" appends ``resume``
and tells the applicant the assistant is back.

WhatsApp allows free text only inside the 24-hour customer-service window, which starts
again at each message of the applicant; outside it only an approved template may go.

Every failure a staff member can meet (Rasa down or refusing the token, the Graph API
refusing, WhatsApp not configured for the console, the window closed) is raised as a
:class:`TakeoverProblem` carrying an Indonesian sentence for the page, never a traceback.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from antrean.masking import mask_phone

if TYPE_CHECKING:  # the channel's modules import Rasa, which takes seconds
    from addons.whatsapp.settings import WhatsAppSettings

logger = logging.getLogger(__name__)

CUSTOMER_SERVICE_WINDOW = dt.timedelta(hours=24)
MAX_REPLY_CHARS = 4096  # one WhatsApp text message
RASA_TIMEOUT_S = 10.0
# A staff member waits for the page: fewer, shorter tries than the channel's own policy.
GRAPH_ATTEMPTS = 3
GRAPH_TIMEOUT_S = 10.0
GRAPH_BACKOFF_MAX_S = 2.0
CONSOLE_METADATA_KEY = "law_console"

BOT_IS_BACK = (
    "Terima kasih sudah menunggu 🙏 Percakapan dengan petugas sudah selesai; asisten "
    "otomatis kembali melayani Anda. Silakan tulis pesan kapan saja bila perlu bantuan lagi."
)

RASA_UNREACHABLE = (
    "Server asisten (Rasa) tidak dapat dihubungi, jadi percakapan tidak dapat {what}. "
    "Coba lagi sebentar lagi; bila tetap gagal, hubungi admin."
)
RASA_REFUSED = (
    "Server asisten (Rasa) menolak permintaan konsol ({status}): token LAW_RASA_TOKEN konsol "
    "tidak sama dengan --auth-token server. Hubungi admin."
)
RASA_NO_API = (
    "Server asisten (Rasa) tidak membuka API-nya (HTTP 404): Rasa harus berjalan dengan "
    "--enable-api (di make run-prod: LAW_RASA_AUTH_TOKEN diisi) dan LAW_RASA_URL konsol "
    "menunjuk ke sana. Hubungi admin."
)
RASA_NOT_READY = (
    "Server asisten (Rasa) belum siap (model belum dimuat). Coba lagi sebentar lagi."
)
RASA_FAILED = (
    "Server asisten (Rasa) gagal mencatat perubahan (HTTP {status}). Coba lagi sebentar lagi."
)
WHATSAPP_NOT_CONFIGURED = (
    "WhatsApp belum diatur untuk konsol ini, jadi balasan tidak dapat dikirim ke pemohon. "
    "Admin perlu mengisi WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID dan pengaturan "
    "WhatsApp lain di lingkungan konsol (docs/whatsapp.md)."
)
WHATSAPP_FAILED = (
    "Pesan TIDAK terkirim: WhatsApp menolak atau tidak menjawab ({detail}). "
    "Coba kirim lagi sebentar lagi."
)
WINDOW_CLOSED = (
    "Pemohon terakhir menulis lebih dari 24 jam yang lalu ({last}). WhatsApp hanya "
    "mengizinkan pesan bebas dalam 24 jam sejak pesan terakhir pemohon; di luar itu "
    "diperlukan pesan templat yang disetujui Meta. Pesan tidak dikirim: hubungi pemohon "
    "lewat telepon, atau tunggu sampai ia menulis lagi."
)
NEVER_WROTE = (
    "Belum ada pesan dari pemohon di percakapan ini, jadi jendela 24 jam WhatsApp belum "
    "terbuka. Pesan bebas tidak dapat dikirim (diperlukan templat yang disetujui Meta)."
)
NOT_WHATSAPP = (
    "Percakapan ini tidak datang dari nomor WhatsApp, jadi tidak dapat dibalas dari konsol."
)
EMPTY_REPLY = "Balasan kosong: tulis pesan untuk pemohon dulu."
REPLY_TOO_LONG = (
    "Balasan terlalu panjang ({length} karakter); WhatsApp menerima paling banyak "
    f"{MAX_REPLY_CHARS} karakter per pesan. Bagi menjadi beberapa pesan."
)


class TakeoverProblem(Exception):
    """What went wrong, as one Indonesian sentence (or two) for the staff member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def window_open(last_user_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether free text may go: the applicant wrote less than 24 hours before ``now``."""
    return last_user_at is not None and now - last_user_at < CUSTOMER_SERVICE_WINDOW


def check_window(last_user_at: dt.datetime | None, now: dt.datetime,
                 tz: dt.tzinfo) -> None:
    """Raise the refusal to show when the 24-hour window is closed.

    Raises:
        TakeoverProblem: The applicant never wrote, or last wrote 24 hours ago or more.
    """
    if last_user_at is None:
        raise TakeoverProblem(NEVER_WROTE)
    if not window_open(last_user_at, now):
        last = last_user_at.astimezone(tz)
        raise TakeoverProblem(WINDOW_CLOSED.format(last=f"{last:%d-%m-%Y %H:%M}"))


def check_reply(text: str) -> str:
    """The reply as it will go (trimmed), or the refusal of an empty or too long one."""
    text = (text or "").strip()
    if not text:
        raise TakeoverProblem(EMPTY_REPLY)
    if len(text) > MAX_REPLY_CHARS:
        raise TakeoverProblem(REPLY_TOO_LONG.format(length=len(text)))
    return text


def check_whatsapp_sender(sender: str) -> None:
    """A WhatsApp conversation's sender id is the applicant's number (wa_id): digits only."""
    if not sender.isdigit():
        raise TakeoverProblem(NOT_WHATSAPP)


class RasaConversations:
    """Rasa's HTTP API for appending events to one conversation (``rasa run --enable-api``).

    Args:
        url: Rasa's root URL (``LAW_RASA_URL``); in the production topology the router,
            which may send the request to any Rasa process (they share the stores).
        token: Rasa's ``--auth-token`` (``LAW_RASA_TOKEN``), sent as ``?token=``.
        timeout_s: Time allowed for one request.
        transport: An ``httpx`` transport (tests); the network by default.
    """

    def __init__(self, url: str, token: str | None = None, timeout_s: float = RASA_TIMEOUT_S,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.transport = transport

    async def pause(self, sender: str) -> None:
        """The bot stops answering ``sender``; their messages are still logged."""
        await self.append(sender, [{"event": "pause", "timestamp": time.time()}], "diambil alih")

    async def resume(self, sender: str) -> None:
        """The bot answers ``sender`` again from their next message."""
        await self.append(sender, [{"event": "resume", "timestamp": time.time()}],
                          "dikembalikan ke asisten")

    async def record_reply(self, sender: str, text: str, staff: str,
                           message_id: str | None) -> None:
        """Record a message sent by staff as a ``bot`` event, so the conversation shows it.

        No side effects are executed: Rasa sends nothing, the message went already.
        """
        event = {"event": "bot", "text": text, "timestamp": time.time(),
                 "metadata": {CONSOLE_METADATA_KEY: {"staff": staff, "wamid": message_id}}}
        await self.append(sender, [event], "dicatat")

    async def append(self, sender: str, events: list[dict[str, Any]], what: str) -> None:
        """POST ``events`` to the tracker of ``sender``.

        Args:
            sender: The conversation id (the applicant's number).
            events: Rasa events as JSON.
            what: The past participle the unreachable message uses ("diambil alih").

        Raises:
            TakeoverProblem: Rasa did not answer, refused the token, had no model loaded
                or failed.
        """
        url = f"{self.url}/conversations/{quote(sender, safe='')}/tracker/events"
        params = {"token": self.token} if self.token else None
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s,
                                         transport=self.transport) as client:
                reply = await client.post(url, params=params, json=events)
        except httpx.HTTPError as exc:
            logger.warning("Rasa at %s not reachable for %s (%s).", self.url,
                           mask_phone(sender), type(exc).__name__)
            raise TakeoverProblem(RASA_UNREACHABLE.format(what=what)) from None
        if reply.status_code == 200:
            return
        logger.warning("Rasa answered %s to events for %s.", reply.status_code,
                       mask_phone(sender))
        if reply.status_code in (401, 403):
            raise TakeoverProblem(RASA_REFUSED.format(status=reply.status_code))
        if reply.status_code == 404:
            raise TakeoverProblem(RASA_NO_API)
        if reply.status_code == 409:  # Rasa: "No agent loaded"
            raise TakeoverProblem(RASA_NOT_READY)
        raise TakeoverProblem(RASA_FAILED.format(status=reply.status_code))


SettingsSource = Callable[[], "WhatsAppSettings"]


def settings_from_env(environ: Mapping[str, str] | None = None) -> WhatsAppSettings:
    """The channel's settings from the environment, as ``law-notices`` reads them.

    Raises:
        TakeoverProblem: A required WhatsApp setting is missing or invalid.
    """
    from addons.whatsapp.settings import WhatsAppConfigError, WhatsAppSettings

    try:
        return WhatsAppSettings.from_credentials({}, environ)
    except WhatsAppConfigError as exc:
        logger.warning("Console cannot send WhatsApp messages: %s", exc)
        raise TakeoverProblem(WHATSAPP_NOT_CONFIGURED) from None


class WhatsAppReplies:
    """Free text to an applicant through the WhatsApp channel's Graph API client.

    The settings are read at first use, not at start-up: the console runs without WhatsApp
    (``make run``), and says so only to the staff member who tries to reply. Each send
    uses a client of its own, closed after it; staff replies are few.

    Args:
        settings: Where the settings come from (the environment by default).
    """

    def __init__(self, settings: SettingsSource | None = None) -> None:
        self._source = settings or settings_from_env
        self._settings: WhatsAppSettings | None = None

    def settings(self) -> WhatsAppSettings:
        """The settings for the console's sends (shorter retries than the channel's).

        Raises:
            TakeoverProblem: WhatsApp is not configured.
        """
        if self._settings is None:
            base = self._source()
            retry = dataclasses.replace(
                base.retry, max_attempts=min(base.retry.max_attempts, GRAPH_ATTEMPTS),
                backoff_max_s=min(base.retry.backoff_max_s, GRAPH_BACKOFF_MAX_S))
            self._settings = dataclasses.replace(
                base, retry=retry,
                request_timeout_s=min(base.request_timeout_s, GRAPH_TIMEOUT_S))
        return self._settings

    async def send_text(self, phone: str, text: str, context: str) -> str | None:
        """Send ``text`` to ``phone``; returns the ``wamid`` Meta gave it, if any.

        Args:
            phone: The applicant's wa_id.
            text: At most 4,096 characters.
            context: What the send is, for the log (e.g. ``takeover 12``).

        Raises:
            TakeoverProblem: WhatsApp is not configured, or Meta did not accept the message.
        """
        from addons.whatsapp.graph_client import GraphClient
        from addons.whatsapp.payload import MESSAGING_PRODUCT

        client = GraphClient(self.settings())
        payload = {"messaging_product": MESSAGING_PRODUCT, "recipient_type": "individual",
                   "to": phone, "type": "text",
                   "text": {"body": text,
                            "preview_url": "http://" in text or "https://" in text}}
        try:
            result = await client.send_message(payload, recipient=phone, context_id=context)
        finally:
            await client.close()
        if not result.ok:
            if result.status is None:
                detail = "tidak ada jawaban dari server WhatsApp"
            else:
                detail = f"HTTP {result.status}"
                if result.error_code is not None:
                    detail += f", kode {result.error_code}"
            raise TakeoverProblem(WHATSAPP_FAILED.format(detail=detail))
        return result.message_id

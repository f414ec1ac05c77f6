"""The Rasa input channel of the WhatsApp Cloud API: ``/webhooks/whatsapp/webhook``.

GET answers Meta's subscription handshake. POST checks the ``X-Hub-Signature-256`` HMAC of
the raw body, stores the delivery's messages in the inbox (``inbox.py``), answers 200 and
leaves the work to a bounded pool of per-applicant queues (``dispatch.py``): a read receipt,
then the bot (text and button/list choices), the polite non-text reply, or nothing for a
reaction or a system notice. A message leaves the inbox once its reply is handed to the
Graph API; what a crash or a SIGTERM leaves there is worked on at the next start (or by
another process when the lease runs out), so nothing answered with 200 is lost. When the
database does not answer in time the message is worked on all the same (fail-open: an
answer matters more than the duplicate check). Delivery reports are stored, never shown to
the bot. ``GET /webhooks/whatsapp/`` is the readiness check: 503 while the database does not
answer.

Nothing slow runs on the event loop: a large body is hashed and decoded on a worker thread,
the database calls run on the store's threads, and a delivery of many messages is queued in
slices.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any, cast

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.whatsapp import instrumentation
from addons.whatsapp.dedup import MessageStore
from addons.whatsapp.dispatch import SenderQueues, freeze_start_up_objects, gc_paused
from addons.whatsapp.formatting import MenuMemory
from addons.whatsapp.graph_client import GraphClient
from addons.whatsapp.notice_replies import NoticeDesk
from addons.whatsapp.output import CHANNEL_NAME, WhatsAppOutput
from addons.whatsapp.payload import (
    InboundMessage,
    MessageKind,
    PayloadError,
    StatusUpdate,
    WebhookDelivery,
    decode_webhook,
)
from addons.whatsapp.privacy import mask_phone, scrubbed_traceback
from addons.whatsapp.settings import WhatsAppSettings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
SHUTDOWN_DRAIN_S = 10.0
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")
# Bodies larger than this are hashed and decoded on a worker thread.
LARGE_BODY = 64 * 1024
# Deliveries with more messages than this are sorted out on a worker thread too.
LARGE_DELIVERY = 1000
# At most this many messages of one delivery are queued in memory; the rest wait in the inbox
# and are taken up as the queues drain, checked every BACKLOG_POLL_S seconds.
QUEUED_AT_MOST = 2000
BACKLOG_POLL_S = 0.5
# Messages queued per event-loop turn when a delivery carries many.
QUEUE_SLICE = 500
# The resumer takes waiting messages while fewer than this many jobs are queued.
RESUME_BATCH = 500
STATUS_QUEUE = "-statuses"
# How often a message looks whether the sender's earlier ones (on other processes) are done,
# and for how many inbox leases at most.
ORDER_POLL_S = 0.05
ORDER_WAIT_LEASES = 2
# A look that takes longer than this is given up: the answer must not wait on it.
ORDER_CHECK_TIMEOUT_S = 1.0

MessageHandler = Callable[[UserMessage], Awaitable[Any]]


class WhatsAppInput(InputChannel):
    """Receives WhatsApp messages from Meta's webhook and hands them to Rasa.

    Args:
        settings: The channel's settings.
        store: Processed message ids and delivery reports; built from the settings if
            not given.
        client: The Graph API client; built from the settings if not given.
        notices: The notice desk (``notice_replies.py``); on the channel's database if
            not given.
    """

    def __init__(
        self,
        settings: WhatsAppSettings,
        store: MessageStore | None = None,
        client: GraphClient | None = None,
        notices: NoticeDesk | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or GraphClient(settings)
        # Answers to the office's notices (taps, BERHENTI/MULAI), before the bot.
        self.notices = notices or NoticeDesk.from_env(settings.dedup_db_url,
                                                      settings.store_timeout_s)
        self.store = store or MessageStore(
            settings.dedup_db_url,
            ttl=dt.timedelta(days=settings.dedup_ttl_days),
            status_ttl=dt.timedelta(days=settings.status_ttl_days),
            auto_migrate=settings.auto_migrate,
            call_timeout_s=settings.store_timeout_s,
        )
        self.queues = SenderQueues(settings.max_workers)
        self.menus = MenuMemory()
        self.held: set[str] = set()  # inbox leases of this process: queued or running
        self.unstored: set[str] = set()  # worked on without the inbox (database down)
        self._resumer: asyncio.Task | None = None
        self._backlog = False  # stored messages wait to be taken up (a huge delivery)

    @classmethod
    def name(cls) -> str:
        """The channel's name; Rasa serves it under ``/webhooks/whatsapp/``."""
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        """Build the channel from its ``credentials.yml`` block and the environment.

        Raises:
            WhatsAppConfigError: If a required setting is missing; the message names the
                environment variable to set, and Rasa stops with it.
        """
        return cls(WhatsAppSettings.from_credentials(credentials))

    def get_output_channel(self) -> WhatsAppOutput:
        """An output channel for messages the bot starts itself (reminders, hand-over)."""
        return self._output()

    def verify_signature(self, raw_body: bytes, header: str | None) -> bool:
        """Whether ``header`` is Meta's HMAC-SHA256 of the raw body with the app secret.

        Compared in constant time, so the answer time reveals nothing about the secret.

        Args:
            raw_body: The request body exactly as received.
            header: The value of ``X-Hub-Signature-256`` (``sha256=<hex>``).

        Returns:
            ``True`` only for a well-formed, matching signature.
        """
        if not header or not _SIGNATURE.fullmatch(header.strip()):
            return False  # also any non-ASCII header, which no HMAC can match
        expected = hmac.new(
            self.settings.app_secret.encode("utf-8"), raw_body, hashlib.sha256
        ).hexdigest()
        given = header.strip()[len(SIGNATURE_PREFIX) :].lower()
        return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))

    def verify_subscription(self, mode: str | None, token: str | None) -> bool:
        """Whether a GET handshake carries ``hub.mode=subscribe`` and our verify token."""
        if mode != "subscribe" or token is None:
            return False
        return hmac.compare_digest(
            self.settings.verify_token.encode("utf-8"), token.encode("utf-8")
        )

    def blueprint(self, on_new_message: MessageHandler) -> Blueprint:
        """The Sanic routes of the channel (mounted by Rasa under ``/webhooks/whatsapp``)."""
        webhook = Blueprint("whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            try:
                await self.store.ping()
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
                reason = "timeout" if isinstance(exc, asyncio.TimeoutError) else type(
                    exc).__name__
                logger.warning("WhatsApp channel not ready: database %s.", reason)
                return response.json({"status": "unavailable", "database": reason}, status=503)
            return response.json({"status": "ok", "database": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def subscribe(request: Request) -> HTTPResponse:
            mode = request.args.get("hub.mode")
            token = request.args.get("hub.verify_token")
            if not self.verify_subscription(mode, token):
                logger.warning("WhatsApp webhook handshake refused: wrong mode or verify token.")
                return response.text("forbidden", status=403)
            return response.text(request.args.get("hub.challenge", ""), status=200)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            raw = request.body or b""
            signature = request.headers.get(SIGNATURE_HEADER)
            if not signature:
                logger.warning("WhatsApp webhook POST without %s refused.", SIGNATURE_HEADER)
                return response.text("missing signature", status=401)
            if not await self._off_loop(len(raw), self.verify_signature, raw, signature):
                logger.warning("WhatsApp webhook POST with a wrong signature refused.")
                return response.text("invalid signature", status=403)
            try:
                delivery = await self._off_loop(len(raw), self._decode, raw)
            except PayloadError:
                logger.warning("WhatsApp webhook POST with a malformed body refused (400).")
                return response.text("invalid payload", status=400)
            await self.accept(delivery, on_new_message)
            if len(delivery.messages) >= LARGE_DELIVERY:
                # Freed here, hundreds of thousands of objects would hold the loop.
                await asyncio.get_running_loop().run_in_executor(
                    None, _let_go, delivery.messages)
            return response.text("ok", status=200)

        @webhook.listener("after_server_start")
        async def resume_work(*_: Any) -> None:
            freeze_start_up_objects()
            self.start_resuming(on_new_message)

        @webhook.listener("before_server_stop")
        async def finish_work(*_: Any) -> None:
            await self.close()

        return webhook

    async def accept(self, delivery: WebhookDelivery, on_new_message: MessageHandler) -> None:
        """Store the delivery's messages in the inbox and queue the work.

        Returns once they are stored (or the store gave up), before the work is done.

        Args:
            delivery: The parsed webhook body (only this business number's messages).
            on_new_message: Rasa's handler of user messages.
        """
        if delivery.statuses:
            self.queues.submit(STATUS_QUEUE,
                               functools.partial(self._record_statuses, delivery.statuses))
        if not delivery.messages:
            return
        stored = True
        try:
            taken = await self.store.accept(delivery.messages, self.settings.inbox_lease_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - answer rather than drop when the store is down
            logger.error("WhatsApp message store unavailable (%s); working on %d message(s) "
                         "without storing them or the duplicate check.",
                         "timeout" if isinstance(exc, asyncio.TimeoutError)
                         else type(exc).__name__, len(delivery.messages))
            taken = {message.message_id for message in delivery.messages} - self.held
            self.unstored.update(taken)
            stored = False
        if len(delivery.messages) < LARGE_DELIVERY:
            skipped, fresh = self._sort_out(delivery.messages, taken)
        else:  # hundreds of thousands of checks would hold the loop for a long moment
            skipped, fresh = await asyncio.get_running_loop().run_in_executor(
                None, self._sort_out, delivery.messages, taken)
        for message in skipped[:10]:
            logger.info("WhatsApp message %s from %s seen before (answered or being "
                        "answered): skipped.", message.message_id,
                        mask_phone(message.sender_id))
        if len(skipped) > 10:
            logger.info("WhatsApp: %d more messages seen before: skipped.", len(skipped) - 10)
        if stored and len(fresh) > QUEUED_AT_MOST:
            fresh = await self._hand_back_beyond(QUEUED_AT_MOST, fresh)
        await self._queue(fresh, on_new_message)

    async def _hand_back_beyond(self, limit: int, fresh: list[InboundMessage]
                                ) -> list[InboundMessage]:
        """Keep the first ``limit`` messages to work on; the rest wait in the inbox.

        A delivery of a hundred thousand messages would otherwise become as many jobs in
        memory, and the objects they make would cost the event loop long garbage
        collections; stored, they are taken up by the resumer a batch at a time, oldest
        first (an applicant's later messages never overtake the earlier ones).
        """
        later = [message.message_id for message in fresh[limit:]]
        try:
            await self.store.release(later)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - their leases run out instead
            logger.warning("WhatsApp inbox: %d message(s) left to their lease (%s).",
                           len(later), type(exc).__name__)
        logger.info("WhatsApp: %d message(s) in one delivery; %d wait in the inbox.",
                    len(fresh), len(later))
        self._backlog = True
        return fresh[:limit]

    def _sort_out(self, messages: list[InboundMessage], taken: Collection[str]
                  ) -> tuple[list[InboundMessage], list[InboundMessage]]:
        """The re-deliveries to skip, and the messages to work on that are not queued yet.

        Runs on a worker thread for a large delivery; ``_queue`` checks ``held`` again on
        the loop, so a message queued meanwhile is still not queued twice.
        """
        skipped: list[InboundMessage] = []
        fresh: list[InboundMessage] = []
        for message in messages:
            if message.message_id not in taken:
                skipped.append(message)
            elif message.message_id not in self.held:
                fresh.append(message)
        instrumentation.accepted(messages, taken)
        return skipped, fresh

    def start_resuming(self, on_new_message: MessageHandler) -> None:
        """Start working on what the inbox holds from before (at server start)."""
        if self._resumer is None or self._resumer.done():
            self._resumer = asyncio.get_running_loop().create_task(
                self._resume(on_new_message))

    async def drain(self, timeout: float = SHUTDOWN_DRAIN_S) -> bool:
        """Wait for the background work queued so far (and what it queues) to finish."""
        return await self.queues.drain(timeout)

    async def close(self) -> None:
        """Finish queued work (briefly), hand the rest back to the inbox, release resources.

        What is handed back is worked on at the next start (or by another process).
        """
        if self._resumer is not None:
            self._resumer.cancel()
            self._resumer = None
        if not await self.drain(SHUTDOWN_DRAIN_S):
            logger.warning("WhatsApp channel stopping with %d job(s) unfinished.",
                           self.queues.busy)
            self.queues.cancel()
        if self.held:
            left = len(self.held)
            try:
                await self.store.release(self.held)
                logger.warning("WhatsApp channel left %d message(s) in the inbox for the next "
                               "start.", left)
            except Exception:  # noqa: BLE001 - their leases run out instead
                logger.error("WhatsApp channel could not hand %d message(s) back to the inbox; "
                             "they are taken up when their lease runs out.", left)
            self.held.clear()
        await self.client.close()
        await self.store.close()

    def _decode(self, raw: bytes) -> WebhookDelivery:
        """The body's messages for this business number, in send-time order (blocking)."""
        if len(raw) >= LARGE_BODY:
            with gc_paused():
                return self._decode_now(raw)
        return self._decode_now(raw)

    def _decode_now(self, raw: bytes) -> WebhookDelivery:
        delivery = decode_webhook(raw)
        ours = [m for m in delivery.messages if self._ours(m.message_id, m.phone_number_id)]
        return WebhookDelivery(messages=_in_time_order(ours), statuses=delivery.statuses)

    async def _off_loop(self, size: int, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)``, on a worker thread when the body is large."""
        if size < LARGE_BODY:
            return call(*args)
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)

    async def _queue(self, messages: list[InboundMessage],
                     on_new_message: MessageHandler) -> None:
        for start in range(0, len(messages), QUEUE_SLICE):
            if start:
                await asyncio.sleep(0)  # let the loop breathe between slices
            for message in messages[start:start + QUEUE_SLICE]:
                if message.message_id in self.held:
                    continue  # listed twice in one delivery, or queued already
                self.held.add(message.message_id)
                self.queues.submit(
                    message.sender_id,
                    functools.partial(self._process, message, on_new_message),
                )

    async def _resume(self, on_new_message: MessageHandler) -> None:
        """Take up messages nobody works on (left by a crash or a stop); renew our leases."""
        lease = self.settings.inbox_lease_s
        while True:
            try:
                if self.held:
                    await self.store.renew(self.held, lease)
                full = True
                while full and self.queues.busy < RESUME_BATCH:
                    messages, given_up = await self.store.take_stale(lease, RESUME_BATCH)
                    full = len(messages) + len(given_up) == RESUME_BATCH
                    self._backlog = full
                    for message_id in given_up:
                        logger.error("WhatsApp message %s failed too often; given up.",
                                     message_id)
                    if messages:
                        logger.info("WhatsApp inbox: resuming %d message(s).", len(messages))
                    await self._queue(messages, on_new_message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - try again at the next round
                logger.warning("WhatsApp inbox not reachable (%s); will try again.",
                               "timeout" if isinstance(exc, asyncio.TimeoutError)
                               else type(exc).__name__)
            # A backlog (a huge delivery handed back) is taken up as the queues drain.
            await asyncio.sleep(BACKLOG_POLL_S if self._backlog else lease / 3)

    def _ours(self, message_id: str, phone_number_id: str | None) -> bool:
        if phone_number_id and phone_number_id != self.settings.phone_number_id:
            # The same Meta app may serve several business numbers; another bot answers.
            logger.info("Ignoring %s: addressed to another business number.", message_id)
            return False
        return True

    def _output(self, reply_to: str | None = None) -> WhatsAppOutput:
        return WhatsAppOutput(
            self.client,
            list_button_label=self.settings.list_button_label,
            reply_to=reply_to,
            menus=self.menus,
        )

    async def _process(self, message: InboundMessage, on_new_message: MessageHandler) -> None:
        try:
            await self._in_turn(message)
            await self._answer(message, on_new_message)
        except asyncio.CancelledError:
            raise  # stays held: handed back to the inbox at close
        except Exception:  # noqa: BLE001 - the bot failing must not stop the channel
            logger.error("Rasa failed on WhatsApp message %s from %s:\n%s",
                         message.message_id, mask_phone(message.sender_id),
                         scrubbed_traceback())
        instrumentation.answered(message.message_id)
        self.unstored.discard(message.message_id)
        await self._finish(message.message_id)

    async def _in_turn(self, message: InboundMessage) -> None:
        """Wait until the sender's earlier messages, whichever process took them, are answered.

        A load balancer hands an applicant's consecutive messages to different processes; the
        lock store lets one of their turns run at a time, but in the order the processes reach
        it, which is not always the order the messages came in. The inbox numbered them as they
        came, before Meta's 200. An earlier message this process holds is left to its own
        queue. The wait is bounded (``ORDER_WAIT_LEASES`` leases: a dead process's message is
        taken up after one), and a store that does not answer holds nothing up.
        """
        if message.message_id in self.unstored:
            return  # not numbered: the database did not answer when it came
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ORDER_WAIT_LEASES * self.settings.inbox_lease_s
        while True:
            try:
                earlier = await asyncio.wait_for(
                    self.store.earlier_waiting(message.message_id, message.sender_id),
                    ORDER_CHECK_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - order matters less than an answer
                return
            if all(message_id in self.held for message_id in earlier):
                return
            if loop.time() >= deadline:
                logger.warning("WhatsApp message %s from %s answered before %d earlier one(s) "
                               "still waiting.", message.message_id,
                               mask_phone(message.sender_id), len(earlier))
                return
            await asyncio.sleep(ORDER_POLL_S)

    async def _answer(self, message: InboundMessage, on_new_message: MessageHandler) -> None:
        logger.info("WhatsApp message %s (%s) from %s.", message.message_id,
                    message.wire_type, mask_phone(message.sender_id))
        if message.kind is MessageKind.IGNORED:
            return  # a reaction or a system notice: nothing to answer, not even "read"
        self.queues.spawn(
            functools.partial(self._mark_read, message.message_id, message.sender_id)
        )
        output = self._output(reply_to=message.message_id)
        if message.kind is MessageKind.UNSUPPORTED:
            await output.send_text_message(message.sender_id, self.settings.non_text_reply)
            return
        reply = await self.notices.answer(message)
        if reply is not None:
            await output.send_text_message(message.sender_id, reply)
            return
        text = message.text or ""
        if message.kind is MessageKind.TEXT:
            text = self.menus.resolve(message.sender_id, text)
        else:
            self.menus.resolve(message.sender_id, "")  # a tap answers any pending menu
        user_message = UserMessage(
            text=text,
            output_channel=output,
            sender_id=message.sender_id,
            input_channel=CHANNEL_NAME,
            message_id=message.message_id,
            metadata={
                "whatsapp": {
                    "profile_name": message.profile_name,
                    "message_id": message.message_id,
                    "phone_number_id": message.phone_number_id,
                }
            },
        )
        await on_new_message(user_message)

    async def _finish(self, message_id: str) -> None:
        """The reply went to the Graph API: the message leaves the inbox."""
        try:
            await self.store.finish(message_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - it is answered again after its lease
            logger.error("WhatsApp message %s answered but not marked done (%s); it may be "
                         "answered again.", message_id,
                         "timeout" if isinstance(exc, asyncio.TimeoutError)
                         else type(exc).__name__)
        self.held.discard(message_id)

    async def _mark_read(self, message_id: str, sender_id: str) -> None:
        await self.client.mark_read(message_id, sender=sender_id)

    async def _record_statuses(self, statuses: list[StatusUpdate]) -> None:
        for status in statuses[:100]:
            logger.info(
                "WhatsApp status %s for %s to %s%s.",
                status.status, status.message_id, mask_phone(status.recipient_id),
                f" (error code {status.error_code})" if status.error_code else "",
            )
        if len(statuses) > 100:
            logger.info("WhatsApp: %d more status reports.", len(statuses) - 100)
        await self.notices.record_statuses(statuses)
        try:
            await self.store.record_statuses(statuses)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reports are informative only
            logger.warning("WhatsApp status reports not stored (%s).", type(exc).__name__)


def _let_go(items: list[Any]) -> None:
    """Drop a large list's items a slice at a time (on a worker thread).

    Freeing them all at once is one C loop that holds the GIL for as long as it takes; a
    slice at a time, the interpreter hands the GIL to the event loop between slices.
    """
    while items:
        del items[-500:]


def _in_time_order(messages: list[InboundMessage]) -> list[InboundMessage]:
    """The messages by their send time (whole seconds), keeping listed order within a second.

    A batched delivery is normally in order already; this guards against one that is not.
    """
    stamps = [message.timestamp for message in messages]
    if any(stamp is None for stamp in stamps):
        return list(messages)
    order = sorted(range(len(messages)), key=lambda index: cast(dt.datetime, stamps[index]))
    return [messages[index] for index in order]

"""The Rasa input channel of the WhatsApp Cloud API: ``/webhooks/whatsapp/webhook``.

GET answers Meta's subscription handshake. POST checks the ``X-Hub-Signature-256`` HMAC of
the raw body, answers 200 at once and leaves the work to background tasks: deduplication by
message id, a read receipt, then the bot (text and button/list choices) or the polite
non-text reply. Delivery reports are stored, never shown to the bot.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.whatsapp.dedup import MessageStore
from addons.whatsapp.dispatch import SenderQueues
from addons.whatsapp.formatting import MenuMemory
from addons.whatsapp.graph_client import GraphClient
from addons.whatsapp.output import CHANNEL_NAME, WhatsAppOutput
from addons.whatsapp.payload import (
    InboundMessage,
    MessageKind,
    PayloadError,
    StatusUpdate,
    WebhookDelivery,
    parse_webhook,
)
from addons.whatsapp.privacy import mask_phone, scrubbed_traceback
from addons.whatsapp.settings import WhatsAppSettings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
SHUTDOWN_DRAIN_S = 10.0

MessageHandler = Callable[[UserMessage], Awaitable[Any]]


class WhatsAppInput(InputChannel):
    """Receives WhatsApp messages from Meta's webhook and hands them to Rasa.

    Args:
        settings: The channel's settings.
        store: Processed message ids and delivery reports; built from the settings if
            not given.
        client: The Graph API client; built from the settings if not given.
    """

    def __init__(
        self,
        settings: WhatsAppSettings,
        store: MessageStore | None = None,
        client: GraphClient | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or GraphClient(settings)
        self.store = store or MessageStore(
            settings.dedup_db_url,
            ttl=dt.timedelta(days=settings.dedup_ttl_days),
            status_ttl=dt.timedelta(days=settings.status_ttl_days),
            auto_migrate=settings.auto_migrate,
        )
        self.queues = SenderQueues()
        self.menus = MenuMemory()

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
        if not header or not header.startswith(SIGNATURE_PREFIX):
            return False
        expected = hmac.new(
            self.settings.app_secret.encode("utf-8"), raw_body, hashlib.sha256
        ).hexdigest()
        given = header[len(SIGNATURE_PREFIX) :].strip().lower()
        return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8"))

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
            return response.json({"status": "ok"})

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
            if not self.verify_signature(raw, signature):
                logger.warning("WhatsApp webhook POST with a wrong signature refused.")
                return response.text("invalid signature", status=403)
            try:
                delivery = parse_webhook(json.loads(raw))
            except (ValueError, PayloadError):  # json.JSONDecodeError is a ValueError
                return response.text("invalid payload", status=400)
            self.accept(delivery, on_new_message)
            return response.text("ok", status=200)

        @webhook.listener("before_server_stop")
        async def finish_work(*_: Any) -> None:
            await self.close()

        return webhook

    def accept(self, delivery: WebhookDelivery, on_new_message: MessageHandler) -> None:
        """Queue the delivery's work; returns at once.

        Args:
            delivery: The parsed webhook body.
            on_new_message: Rasa's handler of user messages.
        """
        for status in delivery.statuses:
            self.queues.spawn(functools.partial(self._record_status, status))
        for message in _in_time_order(delivery.messages):
            if self._ours(message.message_id, message.phone_number_id):
                self.queues.submit(
                    message.sender_id,
                    functools.partial(self._process, message, on_new_message),
                )

    async def drain(self, timeout: float = SHUTDOWN_DRAIN_S) -> bool:
        """Wait for the background work queued so far (and what it queues) to finish."""
        return await self.queues.drain(timeout)

    async def close(self) -> None:
        """Finish queued work (briefly), then release connections and threads."""
        if not await self.drain(SHUTDOWN_DRAIN_S):
            logger.warning("WhatsApp channel stopped with %d job(s) unfinished.", self.queues.busy)
            self.queues.cancel()
        await self.client.close()
        await self.store.close()

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
        masked = mask_phone(message.sender_id)
        if not await self._claim(message.message_id):
            logger.info("WhatsApp message %s from %s seen before: skipped.",
                        message.message_id, masked)
            return
        logger.info("WhatsApp message %s (%s) from %s.", message.message_id,
                    message.wire_type, masked)
        self.queues.spawn(
            functools.partial(self._mark_read, message.message_id, message.sender_id)
        )
        output = self._output(reply_to=message.message_id)
        if message.kind is MessageKind.UNSUPPORTED:
            await output.send_text_message(message.sender_id, self.settings.non_text_reply)
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
        try:
            await on_new_message(user_message)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the bot failing must not stop the channel
            logger.error("Rasa failed on WhatsApp message %s from %s:\n%s",
                         message.message_id, masked, scrubbed_traceback())

    async def _claim(self, message_id: str) -> bool:
        try:
            return await self.store.claim(message_id)
        except Exception:  # noqa: BLE001 - answer rather than drop when the store is down
            logger.error("Message-id store unavailable; processing %s without the duplicate "
                         "check:\n%s", message_id, scrubbed_traceback())
            return True

    async def _mark_read(self, message_id: str, sender_id: str) -> None:
        await self.client.mark_read(message_id, sender=sender_id)

    async def _record_status(self, status: StatusUpdate) -> None:
        logger.info(
            "WhatsApp status %s for %s to %s%s.",
            status.status, status.message_id, mask_phone(status.recipient_id),
            f" (error code {status.error_code})" if status.error_code else "",
        )
        await self.store.record_status(status)


def _in_time_order(messages: list[InboundMessage]) -> list[InboundMessage]:
    """The messages by their send time (whole seconds), keeping listed order within a second.

    A batched delivery is normally in order already; this guards against one that is not.
    """
    stamps = [message.timestamp for message in messages]
    if any(stamp is None for stamp in stamps):
        return list(messages)
    order = sorted(range(len(messages)), key=lambda index: cast(dt.datetime, stamps[index]))
    return [messages[index] for index in order]

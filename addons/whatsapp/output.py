"""The Rasa output channel that answers applicants through the WhatsApp Cloud API."""
from __future__ import annotations

import copy
import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel

from addons.whatsapp import instrumentation
from addons.whatsapp.formatting import (
    Choice,
    MenuMemory,
    choice_list,
    numbered_menu,
    reply_buttons,
    split_text,
)
from addons.whatsapp.graph_client import GraphClient, SendResult
from addons.whatsapp.payload import (
    MESSAGING_PRODUCT,
    OutgoingInteractive,
    OutgoingMessage,
    OutgoingText,
)
from addons.whatsapp.privacy import scrubbed_traceback

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"


class WhatsAppOutput(OutputChannel):
    """Sends the bot's responses to one applicant's WhatsApp.

    Failures are logged by the client and swallowed here: a message that cannot be
    delivered must not abort the conversation turn or the server.

    Args:
        client: The Graph API client shared by the channel.
        list_button_label: Label of the button that opens a choice list.
        reply_to: The id of the applicant's message being answered (for the logs).
        menus: Where numbered text menus are remembered, so "2" can be mapped back.
    """

    def __init__(
        self,
        client: GraphClient,
        list_button_label: str = "Pilih",
        reply_to: str | None = None,
        menus: MenuMemory | None = None,
    ) -> None:
        self.client = client
        self.list_button_label = list_button_label
        self.reply_to = reply_to
        self.menus = menus
        self.sent: list[SendResult] = []

    @classmethod
    def name(cls) -> str:
        """The channel's name, as Rasa records it."""
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send a text, cut into several messages if longer than WhatsApp allows."""
        for chunk in split_text(text):
            await self._send(recipient_id, {"type": "text", "text": _text(chunk)})

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Send a question with choices: reply buttons, a list, or a numbered menu.

        The button's payload becomes the reply id, so the applicant's tap comes back to
        Rasa exactly as the payload (e.g. ``/inform{"service_type":"baru"}``).
        """
        choices = [Choice.from_button(button) for button in buttons]
        text = text or ""
        interactive: OutgoingInteractive | None = reply_buttons(text, choices) or choice_list(
            text, choices, self.list_button_label
        )
        if interactive is not None:
            await self._send(recipient_id, {"type": "interactive", "interactive": interactive})
            return
        if self.menus is not None and choices:
            self.menus.remember(recipient_id, [choice.payload for choice in choices])
        await self.send_text_message(recipient_id, numbered_menu(text, choices))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Pass a Cloud API message (template, location, document, …) through as is.

        ``messaging_product`` and ``to`` are filled in when the JSON lacks them.
        """
        message = copy.deepcopy(json_message)  # domain responses are shared: never mutate
        message.setdefault("messaging_product", MESSAGING_PRODUCT)
        message.setdefault("to", recipient_id)
        await self._post(str(message["to"]), message)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image by its public URL."""
        await self._send(recipient_id, {"type": "image", "image": {"link": image}})

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """Send a document by its public URL, or the attachment as text otherwise."""
        if isinstance(attachment, str) and attachment.startswith(("https://", "http://")):
            await self._send(recipient_id, {"type": "document", "document": {"link": attachment}})
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def _send(self, recipient_id: str, message: OutgoingMessage) -> None:
        body: OutgoingMessage = {
            "messaging_product": MESSAGING_PRODUCT,
            "recipient_type": "individual",
            "to": recipient_id,
        }
        body.update(message)
        await self._post(recipient_id, body)

    async def _post(self, recipient_id: str, body: Any) -> None:
        try:
            result = await self.client.send_message(
                body, recipient=recipient_id, context_id=self.reply_to
            )
        except Exception:  # noqa: BLE001 - a bug here must not break the turn
            logger.error("WhatsApp send (re %s) raised unexpectedly:\n%s",
                         self.reply_to or "-", scrubbed_traceback())
            return
        instrumentation.reply_sent(result)
        self.sent.append(result)


def _text(body: str) -> OutgoingText:
    return {"body": body, "preview_url": "http://" in body or "https://" in body}

"""Wire formats of the WhatsApp Cloud API, and parsing of webhook deliveries.

The ``TypedDict``s below write down the JSON that Meta posts to the webhook and the JSON that
the Graph API accepts on ``/{phone_number_id}/messages``; they follow Meta's Cloud API
reference. Parsing turns a delivery into plain, validated records (:class:`InboundMessage`,
:class:`StatusUpdate`) so the channel never digs through nested dictionaries itself.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypedDict, TypeVar, cast

logger = logging.getLogger(__name__)

T = TypeVar("T")

WEBHOOK_OBJECT = "whatsapp_business_account"
MESSAGING_PRODUCT = "whatsapp"


# --- Incoming webhook (Meta → us) -------------------------------------------------------


class ProfileWire(TypedDict, total=False):
    name: str  # the sender's WhatsApp display name, as they set it (personal data)


class ContactWire(TypedDict, total=False):
    profile: ProfileWire
    wa_id: str  # the sender's WhatsApp id: their number in international form, no "+"


class ChangeMetadataWire(TypedDict, total=False):
    display_phone_number: str  # the business number, formatted for display
    phone_number_id: str  # the Graph API id of the business number that received it


class TextWire(TypedDict, total=False):
    body: str  # the text typed by the sender


class ButtonReplyWire(TypedDict, total=False):
    id: str  # the id we gave the reply button (a Rasa payload)
    title: str  # the title shown on the button


class ListReplyWire(TypedDict, total=False):
    id: str  # the id we gave the list row (a Rasa payload)
    title: str  # the row title shown
    description: str  # the row description shown, if any


class InteractiveWire(TypedDict, total=False):
    type: str  # "button_reply", "list_reply", or "nfm_reply" (WhatsApp Flows)
    button_reply: ButtonReplyWire
    list_reply: ListReplyWire


class TemplateButtonWire(TypedDict, total=False):
    payload: str  # the payload of a quick-reply button of a template message
    text: str  # the button's label


class ErrorDetailWire(TypedDict, total=False):
    code: int  # Meta's numeric error code, e.g. 131047 (re-engagement window closed)
    title: str  # a short English description
    message: str  # a longer English description
    error_data: dict[str, Any]  # {"details": "..."}


# ``from`` is a Python keyword, so this one uses the functional syntax.
MessageWire = TypedDict(
    "MessageWire",
    {
        "from": str,  # the sender's wa_id
        "id": str,  # the message id, "wamid.…"; Meta may deliver the same id more than once
        "timestamp": str,  # Unix seconds, as a string
        "type": str,  # text, interactive, button, image, sticker, audio, video, location, …
        "text": TextWire,
        "interactive": InteractiveWire,
        "button": TemplateButtonWire,
        "context": dict[str, Any],  # {"from": ..., "id": ...} of the message replied to
        "errors": list[ErrorDetailWire],  # set on type "unsupported"
    },
    total=False,
)


class StatusWire(TypedDict, total=False):
    id: str  # the wamid of OUR outgoing message this status is about
    status: str  # "sent", "delivered", "read" or "failed"
    timestamp: str  # Unix seconds, as a string
    recipient_id: str  # the applicant's wa_id (personal data)
    errors: list[ErrorDetailWire]  # set when status is "failed"


class ChangeValueWire(TypedDict, total=False):
    messaging_product: str  # always "whatsapp"
    metadata: ChangeMetadataWire
    contacts: list[ContactWire]  # one per sender of the messages below
    messages: list[MessageWire]  # messages the applicants sent
    statuses: list[StatusWire]  # delivery reports about messages we sent


class ChangeWire(TypedDict, total=False):
    field: str  # "messages" for everything this channel handles
    value: ChangeValueWire


class EntryWire(TypedDict, total=False):
    id: str  # the WhatsApp Business Account id
    changes: list[ChangeWire]


class WebhookPayload(TypedDict, total=False):
    object: str  # "whatsapp_business_account"
    entry: list[EntryWire]


# --- Outgoing (us → Graph API) ----------------------------------------------------------


class OutgoingText(TypedDict):
    body: str  # at most 4,096 characters
    preview_url: bool  # whether WhatsApp shows a preview of the first URL


class ReplyButton(TypedDict):
    id: str  # comes back as button_reply.id; at most 256 characters
    title: str  # at most 20 characters, unique within the message


class ReplyButtonEntry(TypedDict):
    type: Literal["reply"]
    reply: ReplyButton


class ListRow(TypedDict, total=False):
    id: str  # comes back as list_reply.id; at most 200 characters, unique
    title: str  # at most 24 characters
    description: str  # at most 72 characters


class ListSection(TypedDict, total=False):
    title: str  # at most 24 characters; required only with several sections
    rows: list[ListRow]


class InteractiveBody(TypedDict):
    text: str  # at most 1,024 characters


class InteractiveAction(TypedDict, total=False):
    buttons: list[ReplyButtonEntry]  # for type "button": 1 to 3
    button: str  # for type "list": the label of the button that opens it, ≤ 20 characters
    sections: list[ListSection]  # for type "list": at most 10 rows over all sections


class OutgoingInteractive(TypedDict):
    type: Literal["button", "list"]
    body: InteractiveBody
    action: InteractiveAction


class OutgoingMessage(TypedDict, total=False):
    messaging_product: str  # always "whatsapp"
    recipient_type: str  # "individual"
    to: str  # the applicant's wa_id
    type: str  # "text", "interactive", "image", "document", "template", "location", …
    text: OutgoingText
    interactive: OutgoingInteractive
    image: dict[str, Any]  # {"link": url} or {"id": media_id}
    document: dict[str, Any]  # {"link": url, "filename": ...}


class ReadReceipt(TypedDict):
    messaging_product: str  # always "whatsapp"
    status: Literal["read"]
    message_id: str  # the wamid of the applicant's message


# --- Parsed records ---------------------------------------------------------------------


class MessageKind(str, Enum):
    """What the channel does with an incoming message."""

    TEXT = "text"  # typed text: fed to the bot as typed
    REPLY = "reply"  # a button or list choice: its id (a payload) is fed to the bot
    UNSUPPORTED = "unsupported"  # anything else: answered with the polite non-text reply
    IGNORED = "ignored"  # reactions and system notices: no answer at all


# Types that are not something the applicant asked: an emoji on one of our messages, a notice
# that the sender changed number, a request for a welcome message. Answering them with "only
# text, please" would be noise.
IGNORED_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral"})


@dataclass(frozen=True)
class InboundMessage:
    """One message an applicant sent, reduced to what the channel needs."""

    message_id: str
    sender_id: str
    kind: MessageKind
    wire_type: str
    text: str | None = None
    profile_name: str | None = None
    phone_number_id: str | None = None
    timestamp: dt.datetime | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery report about a message the bot sent."""

    message_id: str
    status: str
    recipient_id: str | None = None
    timestamp: dt.datetime | None = None
    error_code: int | None = None
    error_title: str | None = None


@dataclass
class WebhookDelivery:
    """Everything one webhook POST carried, in the order Meta listed it."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)


class PayloadError(ValueError):
    """The body is JSON but not shaped like a WhatsApp webhook delivery."""


def decode_webhook(raw: bytes) -> WebhookDelivery:
    """Decode and parse a webhook body; meant to run on a worker thread.

    ``json.loads`` is C code that holds the GIL for the whole body: tens of megabytes would
    stop the event loop for seconds even from another thread. Calling back into Python
    for every object lets the interpreter hand the GIL over every few milliseconds.

    Raises:
        PayloadError: Not JSON (or nested too deep to decode), or not a delivery.
    """
    try:
        body = json.loads(raw, object_hook=_yielding)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise PayloadError(f"webhook body is not JSON ({type(exc).__name__})") from None
    return parse_webhook(body)


def _yielding(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


def parse_webhook(payload: Any) -> WebhookDelivery:
    """Extract messages and status reports from a decoded webhook body.

    Malformed parts (a message without id or sender, a field of the wrong type or shape)
    are skipped with a warning rather than failing the whole delivery, since the other
    parts are still good; nothing a sender controls can make parsing raise anything but
    :class:`PayloadError`.

    Args:
        payload: The decoded JSON body of a webhook POST.

    Returns:
        The messages and statuses, in delivery order.

    Raises:
        PayloadError: If the body is not a JSON object with a list of entries.
    """
    if not isinstance(payload, dict):
        raise PayloadError("webhook body is not a JSON object")
    delivery = WebhookDelivery()
    if payload.get("object") not in (None, WEBHOOK_OBJECT):
        logger.warning("Ignoring webhook for an object other than %r.", WEBHOOK_OBJECT)
        return delivery
    entries = payload.get("entry", [])
    if not isinstance(entries, list):
        raise PayloadError("webhook 'entry' is not a list")
    for entry in _dicts(entries):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field", "messages") != "messages" or not isinstance(value, dict):
                continue
            _parse_change_value(cast(ChangeValueWire, value), delivery)
    return delivery


def _parse_change_value(value: ChangeValueWire, delivery: WebhookDelivery) -> None:
    phone_number_id = _text(_obj(value.get("metadata")).get("phone_number_id"))
    names: dict[str, str] = {}
    for contact in _dicts(value.get("contacts")):
        wa_id, name = _text(contact.get("wa_id")), _text(_obj(contact.get("profile")).get("name"))
        if wa_id and name:
            names[wa_id] = name
    for wire in _dicts(value.get("messages")):
        message = _guarded(_parse_message, cast(MessageWire, wire), names, phone_number_id)
        if message is not None:
            delivery.messages.append(message)
    for wire_status in _dicts(value.get("statuses")):
        status = _guarded(_parse_status, cast(StatusWire, wire_status))
        if status is not None:
            delivery.statuses.append(status)


def _guarded(parse: Callable[..., T | None], *args: Any) -> T | None:
    """``parse(*args)``, or ``None`` for a part shaped in a way no check foresaw."""
    try:
        return parse(*args)
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        logger.warning("Skipping a malformed webhook part (%s).", type(exc).__name__)
        return None


def _parse_message(
    wire: MessageWire, names: dict[str, str], phone_number_id: str | None
) -> InboundMessage | None:
    message_id, sender_id = _text(wire.get("id")), _text(wire.get("from"))
    if not message_id or not sender_id:
        logger.warning("Skipping a webhook message without id or sender.")
        return None
    wire_type = _text(wire.get("type")) or "unknown"
    kind, text = _classify(wire, wire_type)
    return InboundMessage(
        message_id=message_id,
        sender_id=sender_id,
        kind=kind,
        wire_type=wire_type[:64],
        text=text,
        profile_name=names.get(sender_id),
        phone_number_id=phone_number_id,
        timestamp=_timestamp(wire.get("timestamp")),
    )


def _classify(wire: MessageWire, wire_type: str) -> tuple[MessageKind, str | None]:
    if wire_type == "text":
        body = _text(_obj(wire.get("text")).get("body"))
        if body and body.strip():
            return MessageKind.TEXT, body
    elif wire_type == "interactive":
        interactive = _obj(wire.get("interactive"))
        reply_type = _text(interactive.get("type"))
        if reply_type in ("button_reply", "list_reply"):
            reply_id = _text(_obj(interactive.get(reply_type)).get("id"))
            if reply_id:
                return MessageKind.REPLY, reply_id
    elif wire_type == "button":  # a quick-reply button of a template message
        button = _obj(wire.get("button"))
        choice = _text(button.get("payload")) or _text(button.get("text"))
        if choice:
            return MessageKind.REPLY, choice
    elif wire_type in IGNORED_TYPES:
        return MessageKind.IGNORED, None
    return MessageKind.UNSUPPORTED, None


def _parse_status(wire: StatusWire) -> StatusUpdate | None:
    message_id, status = _text(wire.get("id")), _text(wire.get("status"))
    if not message_id or not status:
        logger.warning("Skipping a status report without id or status.")
        return None
    errors = _dicts(wire.get("errors"))
    code = errors[0].get("code") if errors else None
    title = errors[0].get("title") if errors else None
    return StatusUpdate(
        message_id=message_id[:255],
        status=status,
        recipient_id=_text(wire.get("recipient_id")),
        timestamp=_timestamp(wire.get("timestamp")),
        # bool is an int to Python; a PostgreSQL integer holds at most 2³¹ - 1.
        error_code=code if type(code) is int and abs(code) < 2**31 else None,
        error_title=title[:255] if isinstance(title, str) and title else None,
    )


def _obj(item: Any) -> dict[str, Any]:
    """``item`` if it is a JSON object, else an empty one (a string where an object was due)."""
    return item if isinstance(item, dict) else {}


def _text(item: Any) -> str | None:
    """``item`` if it is a JSON string, else ``None`` (a list where an id was due)."""
    return item if isinstance(item, str) else None


def _dicts(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, dict)]


def _timestamp(raw: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(raw), tz=dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None

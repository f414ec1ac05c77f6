"""Parsing of webhook deliveries into messages and delivery reports."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from addons.whatsapp.payload import MessageKind, PayloadError, parse_webhook
from tests.channel.helpers import (
    OTHER_SENDER,
    PHONE_NUMBER_ID,
    SENDER,
    button_reply,
    list_reply,
    media_message,
    status,
    text_message,
    webhook,
)


@pytest.mark.parametrize(
    ("message", "kind", "text"),
    [
        (text_message("w1", "mau booking"), MessageKind.TEXT, "mau booking"),
        (button_reply("w2", "/affirm", title="Ya"), MessageKind.REPLY, "/affirm"),
        (list_reply("w3", '/inform{"service_type":"hilang"}'), MessageKind.REPLY,
         '/inform{"service_type":"hilang"}'),
        ({"from": SENDER, "id": "w4", "type": "button",
          "button": {"payload": "/cancel_booking", "text": "Batalkan"}},
         MessageKind.REPLY, "/cancel_booking"),
        (text_message("w5", "   "), MessageKind.UNSUPPORTED, None),
        (media_message("w6", "image"), MessageKind.UNSUPPORTED, None),
        (media_message("w7", "unsupported"), MessageKind.UNSUPPORTED, None),
        ({"from": SENDER, "id": "w8", "type": "interactive",
          "interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}},
         MessageKind.UNSUPPORTED, None),
    ],
    ids=["text", "button_reply", "list_reply", "template-button", "blank-text", "image",
         "unsupported", "flow-reply"],
)
def test_messages_are_classified(message: dict[str, Any], kind: MessageKind,
                                 text: str | None) -> None:
    (parsed,) = parse_webhook(webhook({"messages": [message]})).messages
    assert parsed.kind is kind
    assert parsed.text == text
    assert parsed.sender_id == SENDER
    assert parsed.phone_number_id == PHONE_NUMBER_ID


def test_several_entries_changes_and_messages_keep_their_order() -> None:
    payload = webhook(
        {"messages": [text_message("a", "1"), text_message("b", "2", OTHER_SENDER)]},
        {"messages": [text_message("c", "3")], "statuses": [status("out.1", "delivered")]},
        {"statuses": [status("out.2", "failed", error_code=131026)]},
        entries=2,
    )
    delivery = parse_webhook(payload)
    assert [m.message_id for m in delivery.messages] == ["a", "b", "c"]
    assert [m.profile_name for m in delivery.messages] == [
        "Pemohon 4406", "Pemohon 2222", "Pemohon 4406"]
    assert delivery.messages[0].timestamp == dt.datetime(2025, 11, 29, 4, 0, tzinfo=dt.timezone.utc)
    assert [(s.message_id, s.status, s.error_code) for s in delivery.statuses] == [
        ("out.1", "delivered", None), ("out.2", "failed", 131026)]
    assert delivery.statuses[1].recipient_id == SENDER


def test_malformed_parts_are_skipped_not_fatal() -> None:
    payload = webhook({"messages": [{"type": "text", "text": {"body": "no id"}},
                                    "not a dict", text_message("ok", "halo")],
                       "statuses": [{"status": "read"}]})
    payload["entry"].append({"id": "x", "changes": "nope"})
    payload["entry"].append({"id": "y", "changes": [{"field": "account_update", "value": {}}]})
    delivery = parse_webhook(payload)
    assert [m.message_id for m in delivery.messages] == ["ok"]
    assert delivery.statuses == []


@pytest.mark.parametrize("body", [[], "text", 5, None, {"entry": {"id": 1}}])
def test_bodies_that_are_not_deliveries_are_refused(body: Any) -> None:
    with pytest.raises(PayloadError):
        parse_webhook(body)


def test_other_objects_and_empty_deliveries_carry_nothing() -> None:
    assert parse_webhook({"object": "page", "entry": [{"changes": []}]}).messages == []
    empty = parse_webhook({"object": "whatsapp_business_account", "entry": []})
    assert empty.messages == [] and empty.statuses == []

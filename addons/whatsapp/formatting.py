"""Shaping Rasa responses into what WhatsApp accepts: text chunks and choice messages.

WhatsApp limits a text to 4,096 characters, a reply button title to 20 characters (three
buttons at most), a list to ten rows with 24-character titles, and an interactive body to
1,024 characters. Whatever does not fit becomes a numbered text menu; the applicant can
answer it with the number, which :class:`MenuMemory` maps back to the button's payload.
"""
from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from addons.whatsapp.payload import (
    InteractiveAction,
    ListRow,
    OutgoingInteractive,
    ReplyButtonEntry,
)

MAX_TEXT_CHARS = 4096
MAX_INTERACTIVE_BODY_CHARS = 1024
MAX_REPLY_BUTTONS = 3
MAX_REPLY_BUTTON_TITLE = 20
MAX_REPLY_BUTTON_ID = 256
MAX_LIST_ROWS = 10
MAX_LIST_ROW_TITLE = 24
MAX_LIST_ROW_DESCRIPTION = 72
MAX_LIST_ROW_ID = 200
ELLIPSIS = "…"

# A piece ends after a line break, or after sentence punctuation and the spaces following it.
_LINE_PIECES = re.compile(r"[^\n]*\n+|[^\n]+$")
_SENTENCE_PIECES = re.compile(r".*?(?:[.!?…]+[\"')\]]*\s+|$)", re.DOTALL)
_WORD_PIECES = re.compile(r"\S*\s+|\S+$")


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Cut a text into pieces of at most ``limit`` characters, at natural boundaries.

    Lines are kept whole where they fit, then sentences, then words; only a single word
    longer than ``limit`` is cut mid-word. Joining the raw pieces gives back the text
    exactly; whitespace at the cut points is then trimmed.

    Args:
        text: The text to send.
        limit: The most characters one message may hold.

    Returns:
        The non-empty chunks, in order.
    """
    chunks = [chunk.strip() for chunk in split_text_exact(text, limit)]
    return [chunk for chunk in chunks if chunk]


def split_text_exact(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Like :func:`split_text`, without trimming: ``"".join(result) == text``."""
    if limit < 1:
        raise ValueError("limit must be positive")
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    for line in _LINE_PIECES.findall(text):
        if len(line) <= limit:
            pieces.append(line)
            continue
        for sentence in _nonempty(_SENTENCE_PIECES.findall(line)):
            if len(sentence) <= limit:
                pieces.append(sentence)
                continue
            for word in _WORD_PIECES.findall(sentence):
                pieces.extend(word[i : i + limit] for i in range(0, len(word), limit))
    return _pack(pieces, limit)


def _nonempty(pieces: Sequence[str]) -> list[str]:
    return [piece for piece in pieces if piece]


def _pack(pieces: Sequence[str], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        # Trailing whitespace is trimmed before sending, so it may overflow the limit.
        if current and len((current + piece).rstrip()) > limit:
            chunks.append(current)
            current = ""
        current += piece
    if current:
        chunks.append(current)
    return chunks


@dataclass(frozen=True)
class Choice:
    """One Rasa button: what it shows and what it sends back."""

    title: str
    payload: str

    @classmethod
    def from_button(cls, button: dict[str, Any]) -> Choice:
        """Read a Rasa button (``{"title": ..., "payload": ...}``)."""
        title = str(button.get("title") or button.get("payload") or "").strip()
        payload = str(button.get("payload") or title).strip()
        return cls(title=title, payload=payload)


def reply_buttons(text: str, choices: Sequence[Choice]) -> OutgoingInteractive | None:
    """Interactive reply buttons, if the choices fit them; otherwise ``None``."""
    if not _fits_interactive(text, choices, MAX_REPLY_BUTTONS, MAX_REPLY_BUTTON_ID):
        return None
    if any(len(c.title) > MAX_REPLY_BUTTON_TITLE for c in choices):
        return None
    if len({c.title for c in choices}) != len(choices):
        return None
    buttons: list[ReplyButtonEntry] = [
        {"type": "reply", "reply": {"id": c.payload, "title": c.title}} for c in choices
    ]
    action: InteractiveAction = {"buttons": buttons}
    return {"type": "button", "body": {"text": text}, "action": action}


def choice_list(
    text: str, choices: Sequence[Choice], button_label: str
) -> OutgoingInteractive | None:
    """An interactive list, if the choices fit one; otherwise ``None``.

    A title longer than a row title allows is shortened with "…" and shown in full (up to
    72 characters) as the row's description.
    """
    if not _fits_interactive(text, choices, MAX_LIST_ROWS, MAX_LIST_ROW_ID):
        return None
    rows: list[ListRow] = []
    for choice in choices:
        row: ListRow = {"id": choice.payload, "title": _shorten(choice.title, MAX_LIST_ROW_TITLE)}
        if len(choice.title) > MAX_LIST_ROW_TITLE:
            row["description"] = _shorten(choice.title, MAX_LIST_ROW_DESCRIPTION)
        rows.append(row)
    action: InteractiveAction = {"button": button_label, "sections": [{"rows": rows}]}
    return {"type": "list", "body": {"text": text}, "action": action}


def numbered_menu(text: str, choices: Sequence[Choice]) -> str:
    """The text fallback: the question, then one numbered line per choice."""
    lines = [f"{number}. {choice.title}" for number, choice in enumerate(choices, start=1)]
    return f"{text.rstrip()}\n\n" + "\n".join(lines) if text.strip() else "\n".join(lines)


def _fits_interactive(text: str, choices: Sequence[Choice], most: int, id_limit: int) -> bool:
    if not choices or len(choices) > most:
        return False
    if not text.strip() or len(text) > MAX_INTERACTIVE_BODY_CHARS:
        return False
    payloads = [c.payload for c in choices]
    if any(not p or len(p) > id_limit for p in payloads) or len(set(payloads)) != len(payloads):
        return False
    return all(c.title for c in choices)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


class MenuMemory:
    """Remembers the last numbered menu sent to each applicant, for a while.

    When the bot's choices did not fit WhatsApp's buttons or list, the applicant gets a
    numbered text and will likely answer "2"; this maps that number back to the payload.
    Memory is per process and best effort: a menu is forgotten after ``ttl_s`` or as soon
    as the applicant sends anything else.

    Args:
        ttl_s: How long a menu stays answerable.
        max_senders: How many applicants' menus are kept at most (oldest dropped first).
    """

    def __init__(self, ttl_s: float = 3600.0, max_senders: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_senders = max_senders
        self._menus: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()

    def remember(self, sender_id: str, payloads: Sequence[str]) -> None:
        """Store the payloads of the numbered menu just sent to ``sender_id``."""
        self._menus.pop(sender_id, None)
        self._menus[sender_id] = (time.monotonic() + self.ttl_s, list(payloads))
        while len(self._menus) > self.max_senders:
            self._menus.popitem(last=False)

    def resolve(self, sender_id: str, text: str) -> str:
        """The payload behind a number the applicant typed, else the text unchanged.

        Any message from the applicant retires their menu.
        """
        expires, payloads = self._menus.pop(sender_id, (0.0, []))
        answer = text.strip().rstrip(".")
        if payloads and time.monotonic() < expires and answer.isdigit():
            index = int(answer) - 1
            if 0 <= index < len(payloads):
                return payloads[index]
        return text

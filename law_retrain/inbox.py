"""The review inbox: what the assistant did not understand, grouped for a supervisor.

A message is for review when the bot fell back, its confidence was under a threshold, the
applicant asked for a staff member right after it, or corrected the bot right after it (the
next message denies or starts with a correction word). Messages with the same normalised text
form one group; a group also takes in messages whose words are nearly the same (token-set
similarity, which forgives word order, a repeated or missing word and small typos). Groups
are listed most frequent first, then newest; each shows the model's three best guesses with
their confidence, the bot's reply, and where it happened, so the conversation around it can
be read on demand. Personal data is masked in everything shown (``law_retrain.messages``).

Texts already in the training data, labelled (waiting to be written) or discarded as noise
are not shown again (``law_retrain.labels``).
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from antrean.masking import mask_name, mask_numbers_in_text, mask_phone
from antrean.store.tracker_queries import ConversationEvent, StoredEvent, TrackerEvents
from law_retrain.messages import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    PERSONAL_ENTITIES,
    fell_back,
    mask_codes,
    masked_text,
    normalise,
    prediction,
    ranking,
    reviewable_text,
)

HANDOFF_INTENT = "request_human"
NAME_LISTS = ("applicants",)  # slots holding a list of people, each with a "name"
CORRECTION_INTENT = "deny"
# A message starting with one of these corrects what the bot just did.
CORRECTION_WORDS = ("bukan", "salah", "maksud saya", "maksudnya", "maksud sy", "bkn", "gak gitu",
                    "ga gitu", "bukan itu", "eh bukan")
NEAR_DUPLICATE = 0.8  # token-set similarity from which two texts are one group

# Why a message is in the inbox, as the console shows it.
REASON_FALLBACK = "tidak dipahami"
REASON_UNSURE = "ragu"
REASON_HANDOFF = "minta petugas sesudahnya"
REASON_CORRECTION = "dikoreksi sesudahnya"


@dataclass
class Occurrence:
    """One time a message for review was sent."""

    event_id: int
    sender: str  # masked number
    at: dt.datetime
    text: str  # masked, as typed
    reasons: list[str]
    guesses: list[tuple[str, float]]  # the model's best three, best first
    bot_reply: str  # masked


@dataclass
class Group:
    """Messages with the same or nearly the same text."""

    key: str  # normalised text of the group's first (most frequent) wording
    occurrences: list[Occurrence] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)  # every normalised wording in the group

    @property
    def id(self) -> str:
        """Stable name of the group for links and forms."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:12]

    @property
    def count(self) -> int:
        return len(self.occurrences)

    @property
    def latest(self) -> Occurrence:
        return max(self.occurrences, key=lambda o: (o.at, o.event_id))

    @property
    def text(self) -> str:
        """The wording to label: the most frequent one, as last typed."""
        counts: dict[str, int] = {}
        for occurrence in self.occurrences:
            counts[normalise(occurrence.text)] = counts.get(normalise(occurrence.text), 0) + 1
        best = max(counts.items(), key=lambda kv: (kv[1], kv[0] == self.key))[0]
        return max((o for o in self.occurrences if normalise(o.text) == best),
                   key=lambda o: (o.at, o.event_id)).text

    @property
    def variants(self) -> list[tuple[str, int]]:
        """Each distinct wording (as last typed) and how often, most frequent first."""
        found: dict[str, list[Occurrence]] = {}
        for occurrence in self.occurrences:
            found.setdefault(normalise(occurrence.text), []).append(occurrence)
        shown = [(max(o, key=lambda x: (x.at, x.event_id)).text, len(o)) for o in found.values()]
        return sorted(shown, key=lambda v: (-v[1], v[0]))

    @property
    def reasons(self) -> list[str]:
        order = (REASON_FALLBACK, REASON_UNSURE, REASON_HANDOFF, REASON_CORRECTION)
        present = {r for o in self.occurrences for r in o.reasons}
        return [r for r in order if r in present]


def _tokens(key: str) -> set[str]:
    return set(key.split())


def similarity(first: str, second: str) -> float:
    """Token-set similarity of two normalised texts, 0–1.

    Words are matched one to one, a word counting as the same when it is spelled nearly the
    same (``alamatnya``/``alamatnyaa``); the score is the matched words over the words of the
    longer text, so word order and a repeated word do not count. Texts that differ only in
    spacing (``di mana``/``dimana``) score as their characters compare.
    """
    spelled = difflib.SequenceMatcher(None, first.replace(" ", ""), second.replace(" ", ""))
    if spelled.ratio() >= 0.95:
        return spelled.ratio()
    a, b = _tokens(first), _tokens(second)
    if not a or not b:
        return 1.0 if a == b else 0.0
    unmatched = set(b)
    matched = 0
    for word in a:
        if word in unmatched:
            unmatched.discard(word)
            matched += 1
            continue
        close = difflib.get_close_matches(word, unmatched, n=1, cutoff=0.85)
        if close and len(word) > 3:
            unmatched.discard(close[0])
            matched += 1
    return matched / max(len(a), len(b))


def group_messages(occurrences: Iterable[Occurrence],
                   threshold: float = NEAR_DUPLICATE) -> list[Group]:
    """Group by normalised text, then join groups whose texts are nearly the same.

    Returns:
        The groups, most frequent first, then the most recent first.
    """
    exact: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:
        exact.setdefault(normalise(occurrence.text), []).append(occurrence)
    # The most frequent wordings found the groups; rarer ones join the closest, if close.
    ordered = sorted(exact.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    groups: list[Group] = []
    for key, found in ordered:
        best, score = None, 0.0
        for group in groups:
            value = max(similarity(key, other) for other in group.keys)
            if value > score:
                best, score = group, value
        if best is not None and score >= threshold:
            best.occurrences.extend(found)
            best.keys.add(key)
        else:
            groups.append(Group(key, list(found), {key}))
    return sorted(groups, key=lambda g: (-g.count, -g.latest.at.timestamp(), g.key))


# --- reading the tracker store -----------------------------------------------------------
def _load(data: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(data or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _is_correction(text: str, intent: str | None) -> bool:
    if intent == CORRECTION_INTENT:
        return True
    words = normalise(text)
    return any(words == w or words.startswith(w + " ") for w in CORRECTION_WORDS)


@dataclass
class _Said:
    event: StoredEvent
    text: str
    parse: dict[str, Any]
    replies: list[str] = field(default_factory=list)


@dataclass
class _Conversation:
    said: list[_Said] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # personal names known in it, to mask


def _names_in_slot(data: dict[str, Any]) -> Iterator[str]:
    """Names a slot event holds: ``person_name``, or each applicant's ``name``."""
    value = data.get("value")
    if data.get("name") in PERSONAL_ENTITIES and isinstance(value, str):
        yield value
    if data.get("name") in NAME_LISTS and isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                yield item["name"]


def _names_in_parse(parse: dict[str, Any]) -> Iterator[str]:
    for entity in parse.get("entities") or []:
        value = entity.get("value")
        if entity.get("entity") in PERSONAL_ENTITIES and isinstance(value, str):
            yield value


def _conversations(events: Iterable[StoredEvent]) -> Iterator[_Conversation]:
    """The user messages of each conversation with the bot's replies to each."""
    sender: str | None = None
    current = _Conversation()
    for event in events:
        if event.sender_id != sender:
            if current.said:
                yield current
            sender, current = event.sender_id, _Conversation()
        data = _load(event.data)
        if event.type_name == "user":
            parse = data.get("parse_data") or {}
            current.said.append(_Said(event, str(data.get("text") or ""), parse))
            current.names.update(_names_in_parse(parse))
        elif event.type_name == "bot" and current.said:
            text = data.get("text")
            if isinstance(text, str) and text.strip():
                current.said[-1].replies.append(text)
        elif event.type_name == "slot":
            current.names.update(_names_in_slot(data))
    if current.said:
        yield current


def mask_known_names(text: str, names: Iterable[str]) -> str:
    """``text`` with every known name masked (longest first), then digit runs."""
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    return mask_codes(mask_numbers_in_text(text))


def occurrences_for_review(
    events: Iterable[StoredEvent], threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
    tz: dt.tzinfo = dt.timezone.utc,
) -> Iterator[Occurrence]:
    """The messages of ``events`` a supervisor should look at, with why."""
    for conversation in _conversations(events):
        said, names = conversation.said, conversation.names
        for index, message in enumerate(said):
            if not reviewable_text(message.text):
                continue
            intent_name = message.event.intent_name
            guess = prediction(message.parse, intent_name)
            if guess is None:
                continue
            reasons = []
            if fell_back(message.parse, intent_name):
                reasons.append(REASON_FALLBACK)
            elif guess[1] < threshold:
                reasons.append(REASON_UNSURE)
            following = said[index + 1] if index + 1 < len(said) else None
            if following is not None and intent_name != HANDOFF_INTENT:
                next_intent = following.event.intent_name
                if next_intent == HANDOFF_INTENT:
                    reasons.append(REASON_HANDOFF)
                elif _is_correction(following.text, next_intent):
                    reasons.append(REASON_CORRECTION)
            if not reasons:
                continue
            yield Occurrence(
                event_id=message.event.id,
                sender=mask_phone(message.event.sender_id),
                at=dt.datetime.fromtimestamp(message.event.timestamp, tz),
                text=mask_known_names(masked_text(message.text, message.parse), names),
                reasons=reasons,
                guesses=[(n, round(c, 3)) for n, c in ranking(message.parse, intent_name)[:3]],
                bot_reply=mask_known_names(" / ".join(message.replies), names),
            )


def review_inbox(store: TrackerEvents, hidden: Iterable[str] = (),
                 threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
                 since: dt.datetime | None = None, tz: dt.tzinfo = dt.timezone.utc,
                 ) -> list[Group]:
    """The inbox: groups of messages for review, leaving out the normalised texts ``hidden``.

    ``hidden`` holds training examples, labelled and discarded texts.
    """
    hidden_set = set(hidden)
    found = [o for o in occurrences_for_review(store.review_events(since), threshold, tz)
             if normalise(o.text) not in hidden_set]
    return group_messages(found)


@dataclass
class ContextLine:
    who: str  # "pemohon" or "bot"
    text: str  # masked
    at: dt.datetime
    focus: bool  # the message under review


def context_of(store: TrackerEvents, event_id: int, tz: dt.tzinfo = dt.timezone.utc
               ) -> list[ContextLine]:
    """The conversation around a message under review, masked."""
    events: list[ConversationEvent] = store.messages_around(event_id)
    loaded = [(e, _load(e.data)) for e in events]
    names: set[str] = set()
    for event, data in loaded:
        names.update(_names_in_slot(data) if event.type_name == "slot"
                     else _names_in_parse(data.get("parse_data") or {}))
    lines = []
    for event, data in loaded:
        if event.type_name == "slot":
            continue
        text = str(data.get("text") or "")
        if event.type_name == "user":
            text = masked_text(text, data.get("parse_data") or {})
        shown = mask_known_names(text, names)
        lines.append(ContextLine("pemohon" if event.type_name == "user" else "bot", shown,
                                 dt.datetime.fromtimestamp(event.timestamp, tz),
                                 event.id == event_id))
    return lines

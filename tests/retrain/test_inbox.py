"""The review inbox on a real tracker store (written through Rasa's own SQLTrackerStore, on
SQLite and PostgreSQL): which messages are in it and why, grouping of the same and nearly the
same text, order, the model's guesses, the bot's reply and the conversation around a message,
with personal data masked everywhere."""
from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy.engine import make_url

from antrean.clock import OFFICE_TZ
from antrean.staff.tracker import TrackerStore
from law_retrain.inbox import (
    REASON_CORRECTION,
    REASON_FALLBACK,
    REASON_HANDOFF,
    REASON_UNSURE,
    context_of,
    review_inbox,
    similarity,
)
from law_retrain.messages import normalise
from tests.retrain.test_retrain import (  # noqa: F401 - fixtures
    retrain_postgres_url,
    tracker_store_url,
)

START = dt.datetime(2026, 11, 20, 9, tzinfo=OFFICE_TZ)
NAME = "Budi Santoso"


def said(text, intent, confidence, ranking=(), entities=(), reply="baik", slots=None):
    return (text, intent, confidence, list(ranking), list(entities), reply, slots or {})


def fallback(text, best, confidence, reply="Maaf, saya belum paham.", **kw):
    return said(text, "nlu_fallback", 0.5, [("nlu_fallback", 0.5), (best, confidence),
                                           ("greet", confidence / 2), ("ask_fee", 0.01)],
                reply=reply, **kw)


def write(url: str, conversations: list[list[tuple]]) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import (
        ActionExecuted,
        BotUttered,
        SessionStarted,
        SlotSet,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    parsed = make_url(url)
    store = SQLTrackerStore(dialect="sqlite", db=parsed.database) \
        if parsed.get_backend_name() == "sqlite" else SQLTrackerStore(
            dialect="postgresql", host=parsed.host, port=parsed.port, db=parsed.database,
            username=parsed.username, password=parsed.password)
    try:
        for number, messages in enumerate(conversations):
            stamp = (START + dt.timedelta(hours=number)).timestamp()
            events: list = [ActionExecuted("action_session_start", timestamp=stamp),
                            SessionStarted(timestamp=stamp)]
            for text, intent, confidence, ranking, entities, reply, slots in messages:
                stamp += 10
                parsed_intent = {"name": intent, "confidence": confidence}
                ranked = [{"name": n, "confidence": c} for n, c in ranking] or [parsed_intent]
                parse = {"intent": parsed_intent, "intent_ranking": ranked,
                         "entities": entities, "text": text}
                events += [ActionExecuted("action_listen", timestamp=stamp),
                           UserUttered(text, intent=parsed_intent, entities=entities,
                                       parse_data=parse, timestamp=stamp),
                           *[SlotSet(k, v, timestamp=stamp) for k, v in slots.items()],
                           BotUttered(reply, timestamp=stamp + 1)]
            tracker = DialogueStateTracker.from_events(f"62812000000{number:02d}", events)
            asyncio.run(store.save(tracker))
    finally:
        store.engine.dispose()


NAMED = {"entity": "person_name", "start": 10, "end": 10 + len(NAME), "value": NAME}
HISTORY = [
    [said("halo", "greet", 0.97), fallback("alamatnya di mana ya min", "ask_fee", 0.28)],
    [fallback("Alamatnya dimana ya min?", "ask_fee", 0.29),
     said("alamat kantor imigrasinya apa", "ask_fee", 0.41)],
    [fallback("alamatnya di mana ya min", "ask_fee", 0.27),
     # A name typed as the answer to the name question: the form reads it, no entity.
     said("Siti Rahma", "inform", 0.6, slots={"applicants": [{"name": "Siti Rahma"}]}),
     said("berapa biayanya", "ask_fee", 0.93,
          reply="Biaya paspor Rp350.000. Ada lagi, Ibu Siti Rahma?"),
     said("bukan itu maksud saya", "deny", 0.9)],
    [said("kantornya di jalan apa", "ask_location", 0.85),
     said("mau ngomong sama orang aja", "request_human", 0.95)],
    [fallback(f"nama saya {NAME} nik 3171011203900003", "inform", 0.3, entities=[NAMED],
              reply=f"Terima kasih {NAME}, NIK 3171011203900003 ya?"),
     said("/affirm", "affirm", 1.0)],
]


def test_inbox_groups_and_explains_what_the_bot_misread(tracker_store_url):
    write(tracker_store_url, HISTORY)
    store = TrackerStore(tracker_store_url)
    try:
        groups = review_inbox(store, tz=OFFICE_TZ)
    finally:
        store.dispose()
    by_text = {g.text: g for g in groups}
    assert set(by_text) == {"alamatnya di mana ya min", "alamat kantor imigrasinya apa",
                            "berapa biayanya", "kantornya di jalan apa",
                            "nama saya B*** S****** nik ************0003", "S*** R****"}
    address = groups[0]  # three times, in two spellings: first
    assert address.text == "alamatnya di mana ya min" and address.count == 3
    assert address.variants == [("alamatnya di mana ya min", 2), ("Alamatnya dimana ya min?", 1)]
    assert address.reasons == [REASON_FALLBACK]
    # The displaced guesses, best first, three of them; the fallback itself is not a guess.
    assert address.latest.guesses == [("ask_fee", 0.27), ("greet", 0.135), ("ask_fee", 0.01)][:3]
    assert address.latest.bot_reply == "Maaf, saya belum paham."
    assert by_text["alamat kantor imigrasinya apa"].reasons == [REASON_UNSURE]
    # Understood, but the applicant corrected the bot / asked for a person right after.
    assert by_text["berapa biayanya"].reasons == [REASON_CORRECTION]
    assert by_text["kantornya di jalan apa"].reasons == [REASON_HANDOFF]
    # Newest first among groups of the same size.
    singles = [g.text for g in groups[1:]]
    assert singles == ["nama saya B*** S****** nik ************0003", "kantornya di jalan apa",
                       "berapa biayanya", "S*** R****", "alamat kantor imigrasinya apa"]
    # Personal data masked in the message, the bot's reply and the sender.
    named = by_text["nama saya B*** S****** nik ************0003"].latest
    assert named.bot_reply == "Terima kasih B*** S******, NIK ************0003 ya?"
    assert named.sender.endswith("0004") and "6281200" not in named.sender
    # A name the form took from a slot is masked wherever it appears in that conversation.
    assert by_text["berapa biayanya"].latest.bot_reply == \
        "Biaya paspor Rp350.000. Ada lagi, Ibu S*** R****?"


def test_the_inbox_leaves_out_known_labelled_and_discarded_texts(tracker_store_url):
    write(tracker_store_url, HISTORY)
    store = TrackerStore(tracker_store_url)
    try:
        groups = review_inbox(store, hidden={normalise("alamatnya di mana ya min"),
                                             normalise("berapa biayanya")})
    finally:
        store.dispose()
    texts = {g.text for g in groups}
    assert "berapa biayanya" not in texts
    # The hidden wording goes; its near-duplicate spelling stays for review.
    assert "Alamatnya dimana ya min?" in texts


def test_the_conversation_around_a_message_is_masked(tracker_store_url):
    write(tracker_store_url, HISTORY)
    store = TrackerStore(tracker_store_url)
    try:
        named = next(g for g in review_inbox(store) if g.text.startswith("nama saya"))
        lines = context_of(store, named.latest.event_id, OFFICE_TZ)
    finally:
        store.dispose()
    assert [(line.who, line.focus) for line in lines] == [
        ("pemohon", True), ("bot", False), ("pemohon", False), ("bot", False)]
    shown = " ".join(line.text for line in lines)
    for personal in ("Budi", "Santoso", "3171011203900003"):
        assert personal not in shown


def test_near_duplicates_are_nearly_the_same_words():
    same = [("alamatnya di mana ya min", "alamatnya dimana ya min"),
            ("alamatnya di mana ya min", "di mana alamatnya ya min"),
            ("kantornya di jalan apa", "kantornya dijalan apa ya")]
    different = [("alamatnya di mana ya min", "alamat kantor imigrasinya apa"),
                 ("jam 9", "jam 10"), ("mau batal", "mau daftar")]
    for first, second in same:
        assert similarity(normalise(first), normalise(second)) >= 0.8, (first, second)
    for first, second in different:
        assert similarity(normalise(first), normalise(second)) < 0.8, (first, second)


def test_booking_codes_are_masked_like_numbers():
    from antrean import codes
    from law_retrain.messages import mask_personal_data

    code = codes.display_code(codes.new_code())
    shown = mask_personal_data(f"cek {code} ya, hp 081299004406")
    assert code not in shown and code.replace("-", "") not in shown
    assert shown.endswith("ya, hp ********4406") and code[-2:] in shown
    assert mask_personal_data("paspor elektronik hilang") == "paspor elektronik hilang"

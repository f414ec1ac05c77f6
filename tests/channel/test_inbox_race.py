"""The inbox under a re-delivery that races the end of the first processing (PostgreSQL).

Seen in the production crowd test with three Rasa processes behind round-robin nginx: Meta's
re-delivery reached a process while another one was finishing the same message. The accepting
process found no processed id, the finishing one then deleted the inbox row and recorded the
id, and the accepting process's INSERT stored the message afresh and worked on it again: the
applicant got the answer twice. The interleaving is forced here statement by statement.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select

from addons.whatsapp import inbox
from addons.whatsapp.payload import InboundMessage, MessageKind
from antrean.store.engine import create_store_engine
from antrean.store.tables import whatsapp_inbox, whatsapp_processed_messages

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


def test_a_message_finished_while_it_is_accepted_again_is_not_taken(postgres_url: str) -> None:
    engine = create_store_engine(postgres_url)
    message = InboundMessage("wamid.race.finish", "6281200000001", MessageKind.TEXT, "text",
                             text="halo")
    try:
        with engine.begin() as first:  # the first process accepts the message and works on it
            assert inbox.accept(first, [message], NOW, 60.0) == {message.message_id}
        with engine.connect() as again:
            finished = []

            def finish_first(_conn, _cursor, statement: str, *_args: object) -> None:
                # The first process finishes between the re-delivery's check and its INSERT.
                if statement.startswith("INSERT INTO whatsapp_inbox") and not finished:
                    finished.append(True)
                    with engine.begin() as first:
                        inbox.finish(first, [message.message_id], NOW)

            event.listen(again, "before_cursor_execute", finish_first)
            with again.begin():
                taken = inbox.accept(again, [message], NOW, 60.0)
        assert finished
        assert taken == set()
        with engine.connect() as conn:  # the session's database: look at this message only
            assert conn.execute(select(func.count()).select_from(whatsapp_inbox).where(
                whatsapp_inbox.c.message_id == message.message_id)).scalar_one() == 0
            assert conn.execute(select(func.count()).select_from(whatsapp_processed_messages)
                                .where(whatsapp_processed_messages.c.message_id
                                       == message.message_id)).scalar_one() == 1
    finally:
        engine.dispose()

"""The slot store's Alembic history: the WhatsApp channel's tables (0004), databases the channel
created them in itself, and several processes upgrading one database at once."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    inspect,
    text,
)

from addons.whatsapp.dedup import MessageStore
from addons.whatsapp.payload import StatusUpdate
from antrean.config import PROJECT_ROOT
from antrean.store import engine as store_engine
from antrean.store.engine import migrate
from tests.conftest import fresh_postgres_database

MIGRATE_AT = ("import sys, time; from antrean.store.engine import migrate; "
              "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); migrate(sys.argv[1])")
CHANNEL_TABLES = {"whatsapp_processed_messages", "whatsapp_statuses"}
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_engine.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def version_of(url: str) -> str | None:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def tables_of(url: str) -> set[str]:
    engine = create_engine(url, future=True)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def channel_tables_as_create_all_made_them(url: str) -> None:
    """The tables as ``addons/whatsapp/dedup.py`` declared and created them before 0004."""
    metadata = MetaData()
    Table("whatsapp_processed_messages", metadata,
          Column("message_id", String(255), primary_key=True),
          Column("received_at", DateTime(timezone=True), nullable=False),
          Index("ix_whatsapp_processed_messages_received_at", "received_at"))
    Table("whatsapp_statuses", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("message_id", String(255), nullable=False),
          Column("status", String(32), nullable=False),
          Column("status_at", DateTime(timezone=True), nullable=True),
          Column("recorded_at", DateTime(timezone=True), nullable=False),
          Column("error_code", Integer, nullable=True),
          Column("error_title", String(255), nullable=True),
          UniqueConstraint("message_id", "status", name="uq_whatsapp_statuses_message_id_status"),
          Index("ix_whatsapp_statuses_recorded_at", "recorded_at"))
    engine = create_engine(url, future=True)
    metadata.create_all(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path, postgres_admin_url) -> Iterator[str]:
    """An empty database (no schema at all) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'law.db'}"
        return
    with fresh_postgres_database(postgres_admin_url, "law_migrations") as url:
        yield url


def test_the_newest_revision_creates_the_channel_tables(empty_url):
    migrate(empty_url)
    assert version_of(empty_url) == head()
    assert CHANNEL_TABLES <= tables_of(empty_url)


def test_tables_the_channel_created_itself_are_adopted_with_their_rows(empty_url):
    # A database the channel has served before 0004: slot store at 0003, channel tables
    # made by create_all at its first message, a message id and a report in them.
    command.upgrade(alembic_config(empty_url), "0003")
    channel_tables_as_create_all_made_them(empty_url)
    before = MessageStore(empty_url, clock=lambda: NOW, auto_migrate=False)
    assert before.claim_sync("wamid.before")
    assert before.record_status_sync(StatusUpdate("wamid.out.1", "delivered"))
    before.dispose()

    migrate(empty_url)

    assert version_of(empty_url) == head()
    after = MessageStore(empty_url, clock=lambda: NOW)
    assert not after.claim_sync("wamid.before")  # still known: the rows were kept
    assert not after.record_status_sync(StatusUpdate("wamid.out.1", "delivered"))
    assert after.claim_sync("wamid.after")
    after.dispose()
    engine = create_engine(empty_url, future=True)
    indexes = {i["name"] for t in CHANNEL_TABLES for i in inspect(engine).get_indexes(t)}
    engine.dispose()
    assert {"ix_whatsapp_processed_messages_received_at",
            "ix_whatsapp_statuses_recorded_at"} <= indexes


def test_downgrade_and_upgrade_again(empty_url):
    migrate(empty_url)
    command.downgrade(alembic_config(empty_url), "0003")
    assert not CHANNEL_TABLES & tables_of(empty_url)
    migrate(empty_url)
    assert CHANNEL_TABLES <= tables_of(empty_url)


def test_processes_upgrading_one_fresh_database_at_once_all_succeed(empty_url):
    # Rasa processes, action servers and the staff command may all migrate at start-up.
    # Real processes (Alembic's context is global to one), released at the same instant.
    start_at = time.time() + 4
    upgraders = [
        subprocess.Popen([sys.executable, "-c", MIGRATE_AT, empty_url, str(start_at)],
                         cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for _ in range(4)
    ]
    results = [(upgrader.wait(timeout=120), upgrader.communicate()[1])
               for upgrader in upgraders]
    assert [code for code, _ in results] == [0] * 4, [err for _, err in results]
    assert version_of(empty_url) == head()


def test_threads_of_one_process_upgrading_at_once_all_succeed(empty_url):
    # e.g. the channel's worker thread and another store of the same process; Alembic's
    # context is a module global, so without a lock they trip over each other.
    workers = 4
    barrier = threading.Barrier(workers)
    failures: list[BaseException] = []

    def upgrade() -> None:
        barrier.wait()
        try:
            migrate(empty_url)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert version_of(empty_url) == head()


def test_the_channel_migrates_its_own_database_on_first_use(tmp_path):
    # dedup_db_url may name another database than the slot store's.
    url = f"sqlite:///{tmp_path / 'channel.db'}"
    store = MessageStore(url, clock=lambda: NOW)
    assert store.claim_sync("wamid.1")
    store.dispose()
    assert version_of(url) == head()


def test_without_auto_migrate_the_channel_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'channel.db'}"
    store = MessageStore(url, clock=lambda: NOW, auto_migrate=False)
    with pytest.raises(Exception, match="no such table"):
        store.claim_sync("wamid.1")
    store.dispose()
    assert not CHANNEL_TABLES & tables_of(url)

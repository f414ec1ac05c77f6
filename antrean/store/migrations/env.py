"""Alembic environment of the slot store (run through ``antrean.store.engine.migrate``).

Several processes may upgrade the same database at once: the action servers, the staff
command and every Rasa process whose WhatsApp channel migrates its store on first use. The
whole upgrade therefore runs in one transaction that first takes a lock every other upgrader
waits for — a transaction-level advisory lock on PostgreSQL, the write lock of
``BEGIN IMMEDIATE`` on SQLite (see ``engine.py``) — so the second one finds the schema at
head and does nothing, instead of creating the same tables again and failing.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import text

from antrean.store.engine import create_store_engine, database_url_from_env
from antrean.store.tables import metadata

config = context.config

# Key of the PostgreSQL advisory lock that serialises upgrades ("LAW" in ASCII, then 1).
MIGRATION_LOCK_KEY = 0x4C415701
UPGRADE_TIMEOUT = "10min"


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url") or database_url_from_env()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                # The engine's statement and lock timeouts fit a booking, not a schema
                # upgrade (an index on a year of bookings) nor waiting for another upgrader.
                connection.execute(text(f"SET LOCAL statement_timeout = '{UPGRADE_TIMEOUT}'"))
                connection.execute(text(f"SET LOCAL lock_timeout = '{UPGRADE_TIMEOUT}'"))
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK_KEY})
            # Alembic joins the transaction begun above and leaves its commit to us.
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()

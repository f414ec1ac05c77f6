"""The one-off preparation of the shared stores, before any Rasa process starts.

Several processes doing first-use work at once race (docs/deployment.md, "Start-up order"),
so ``law-prod`` (and ``law-prepare.service`` on a real server, through ``law-prod
--prepare-only``) does it once: the databases (on request), the slot store's schema with the
WhatsApp channel's tables, Rasa's ``events`` table, and a check that Redis answers.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


class SetupError(Exception):
    """The topology cannot start; the message says what to do."""


def prepare_stores(env: dict[str, str], create_databases: bool) -> None:
    """Databases, schemas and a Redis check, once, before any Rasa process starts."""
    slot_url, events_url = env["LAW_DATABASE_URL"], env["LAW_TRACKER_URL"]
    if create_databases:
        for url in (slot_url, events_url):
            _create_database(url)
    from sqlalchemy import create_engine

    from antrean.store.engine import migrate
    migrate(slot_url)  # the slot store's tables and the WhatsApp channel's (migration 0004)
    # Created here once, not by every process at its first message.
    from rasa.core.tracker_store import SQLTrackerStore
    engine = create_engine(events_url, future=True)
    SQLTrackerStore.Base.metadata.create_all(engine, checkfirst=True)
    engine.dispose()
    _check_redis(env)


def _create_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    admin = create_engine(parsed.set(database="postgres"), future=True,
                          isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": parsed.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                print(f"created database {parsed.database}", flush=True)
    finally:
        admin.dispose()


def _check_redis(env: dict[str, str]) -> None:
    import redis

    client = redis.Redis(host=env["LAW_REDIS_HOST"], port=int(env["LAW_REDIS_PORT"]),
                         db=int(env["LAW_REDIS_DB"]), password=env["LAW_REDIS_PASSWORD"] or None,
                         socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SetupError(f"Redis at {env['LAW_REDIS_HOST']}:{env['LAW_REDIS_PORT']} is not "
                         f"reachable ({exc.__class__.__name__}): the lock store needs it") from exc
    finally:
        client.close()


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url

"""A Redis lock store that serialises each conversation across processes and machines.

Rasa takes a conversation's ticket lock around every turn (``agent.handle_message``, the
HTTP API, reminders): one message of a sender at a time, in the order they arrived. Rasa
3.6's ``RedisLockStore`` keeps each lock as one serialised ``TicketLock`` and issues a ticket
by reading it, adding a ticket and writing it back. Two processes taking the same
conversation at once both read the same lock (or none), both append "their" next ticket and
the second write erases the first: both hold ticket 0 and handle their messages at the same
time (RasaHQ/rasa#9213). Rasa's fix, a concurrent Redis lock store (#11256), still read the
last number before its ``INCR`` and was reverted (#11428). The race is shown in
tests/prod/test_lock_store.py, beside this store never letting two holders in.

Here every step is one atomic operation on the Redis server:

- A ticket number comes from ``INCR`` on one counter for the whole store, so numbers are never
  reused: a process that stalled past its ticket's lifetime can never mistake a later ticket
  for its own. The counter is the one key without an expiry (a single integer).
- A conversation's tickets are a sorted set ``<prefix>:tlock:<conversation>`` (member: the
  ticket number, score: when it expires, in the Redis server's milliseconds, so the machines'
  clocks do not matter). Issuing, polling and acquiring are Lua scripts: they drop expired
  tickets, and write a ticket and its expiry together.
- The holder is the lowest live ticket number: turns run one at a time, in ticket order.
- A ticket expires ``lifetime`` seconds after it was last seen alive: a waiting turn renews
  its ticket at every poll, and the turn holding the lock renews it every third of a lifetime
  while it runs. A live turn, however slow (an action server taking its time), keeps the lock
  to its end; a process that dies (``kill -9``) holding or waiting stops blocking the
  conversation after one lifetime — 15 s by default, less than the WhatsApp inbox's lease, so
  a message taken over from a dead process does not wait for its lock as well. (Rasa's store
  gives a turn 60 s from when it asked, then lets the next one in beside it.)
- The set expires with its last ticket and vanishes when its last ticket is released, so the
  store holds nothing for idle conversations.

Configured in ``endpoints.yml`` with the keys of Rasa's ``redis`` lock store::

    lock_store:
      type: law_rasa.lock_store.AtomicRedisLockStore
      url: <host>
      port: 6379
      db: 1
      password: <password, may be empty>
      key_prefix: <letters, digits, "-" or "_">

and optionally ``lock_lifetime`` (seconds; default 15; Rasa's ``TICKET_LOCK_LIFETIME`` is not
read) and ``poll_interval`` (seconds between a waiting turn's checks; default 0.05).
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LockError,
    LockStore,
)
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "law"
DEFAULT_POLL_INTERVAL_S = 0.05
# Renewed while a turn runs, so it only bounds how long a dead process blocks a conversation.
# The event loop must not stall for two thirds of it (a model load takes a few seconds).
DEFAULT_LOCK_LIFETIME_S = 15.0
KEY_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_-]+")

# Shared by the scripts: the server's clock in milliseconds, and a key's expiry pushed out to
# at least `ms` from now (never shortened: another ticket may live longer).
_LUA_HELPERS = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function keep_for(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
"""

# KEYS: tickets, counter. ARGV: lifetime in ms. Returns the new ticket's number.
_ISSUE = _LUA_HELPERS + """
local lifetime = tonumber(ARGV[1])
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local number = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], now + lifetime, number)
keep_for(KEYS[1], lifetime)
return number
"""

# KEYS: tickets. ARGV: ticket number, lifetime in ms. Renews the ticket and returns how many
# live tickets come before it (0: it holds the lock), or -1 when the ticket has expired.
_POLL = _LUA_HELPERS + """
local ticket = tonumber(ARGV[1])
local lifetime = tonumber(ARGV[2])
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
local ahead = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if tonumber(member) < ticket then ahead = ahead + 1 end
end
redis.call('ZADD', KEYS[1], 'XX', now + lifetime, ARGV[1])
keep_for(KEYS[1], lifetime)
return ahead
"""

# KEYS: tickets. Drops expired tickets and returns how many live ones remain.
_LIVE = _LUA_HELPERS + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms())
return redis.call('ZCARD', KEYS[1])
"""


def _milliseconds(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class AtomicRedisLockStore(LockStore):
    """Rasa's ticket lock store on Redis, with every ticket operation atomic on the server."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **options: Any) -> None:
        """Connects to Redis; Rasa passes the ``lock_store`` section of ``endpoints.yml``.

        Args:
            endpoint_config: The section: ``url`` is the host, the other keys as ``options``.
            **options: The keyword arguments of ``_configure``.
        """
        if endpoint_config is not None:
            options = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs,
                       **options}
        self._configure(**options)
        super().__init__()

    def _configure(
        self,
        *,
        host: str = "localhost",
        port: int | str = 6379,
        db: int | str = 1,
        username: str | None = None,
        password: str | None = None,
        use_ssl: bool | str = False,
        key_prefix: str | None = None,
        socket_timeout: float | str = DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
        lock_lifetime: float | str = DEFAULT_LOCK_LIFETIME_S,
        poll_interval: float | str = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        """Settings as ``endpoints.yml`` gives them (strings after ``${VAR}`` expansion).

        Raises:
            ValueError: The key prefix has characters other than letters, digits, ``-``, ``_``.
        """
        prefix = key_prefix or DEFAULT_KEY_PREFIX
        if not KEY_PREFIX_PATTERN.fullmatch(prefix):
            raise ValueError(f"lock store key_prefix {prefix!r}: use letters, digits, '-' or '_'")
        self.red = redis.Redis(
            host=host, port=int(port), db=int(db), username=username or None,
            password=password or None, ssl=str(use_ssl).lower() in ("true", "1", "yes"),
            socket_timeout=float(socket_timeout))
        self.key_prefix = f"{prefix}:tlock:"
        self.counter_key = f"{prefix}:tlock-counter"
        self.lifetime = float(lock_lifetime)
        self.poll_interval = float(poll_interval)
        self._issue = self.red.register_script(_ISSUE)
        self._poll = self.red.register_script(_POLL)
        self._live = self.red.register_script(_LIVE)

    def tickets_key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    # The steps of a turn, each one atomic on the Redis server.

    def issue_ticket(self, conversation_id: str, lock_lifetime: float | None = None) -> int:
        """Queues a new ticket for the conversation and returns its number."""
        lifetime = self.lifetime if lock_lifetime is None else lock_lifetime
        try:
            return int(self._issue(keys=[self.tickets_key(conversation_id), self.counter_key],
                                   args=[_milliseconds(lifetime)]))
        except redis.RedisError as exc:
            raise LockError(f"Error while issuing a ticket: {exc}") from exc

    def tickets_ahead(self, conversation_id: str, ticket: int,
                      lock_lifetime: float | None = None) -> int:
        """Renews a waiting ticket; how many come before it (0: it holds the lock now).

        Raises:
            LockError: The ticket expired (this process was not seen for a whole lifetime),
                or Redis did not answer.
        """
        lifetime = self.lifetime if lock_lifetime is None else lock_lifetime
        try:
            ahead = int(self._poll(keys=[self.tickets_key(conversation_id)],
                                   args=[ticket, _milliseconds(lifetime)]))
        except redis.RedisError as exc:
            raise LockError(f"Error while waiting for a lock: {exc}") from exc
        if ahead < 0:
            raise LockError(f"Ticket {ticket} expired before it was served.")
        return ahead

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        # Removing the last member deletes the sorted set: nothing is left behind.
        self.red.zrem(self.tickets_key(conversation_id), ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Rasa's cleanup deletes the whole lock when it sees no one waiting: a ticket issued
        # between that look and the delete would be lost. Releasing one ticket is enough here.
        try:
            self.finish_serving(conversation_id, ticket_number)
        except redis.RedisError:
            logger.warning("Could not release a conversation lock; it expires after its "
                           "lifetime.", exc_info=True)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float | None = None,
        wait_time_in_seconds: float | None = None,
    ) -> AsyncGenerator[TicketLock, None]:
        """Holds the conversation's lock for the body; waits for the earlier tickets first.

        Args:
            conversation_id: The conversation (the sender).
            lock_lifetime: Seconds a ticket lives without being renewed; the store's by default.
            wait_time_in_seconds: Seconds between checks while waiting; the store's by default.

        Raises:
            LockError: Redis did not answer, or the ticket expired while waiting.
        """
        lifetime = self.lifetime if lock_lifetime is None else lock_lifetime
        pause = self.poll_interval if wait_time_in_seconds is None else wait_time_in_seconds
        ticket = self.issue_ticket(conversation_id, lifetime)
        renewal: asyncio.Task[None] | None = None
        try:
            while (ahead := self.tickets_ahead(conversation_id, ticket, lifetime)) > 0:
                logger.debug(f"Waiting for the lock of a conversation: {ahead} turn(s) ahead.")
                await asyncio.sleep(pause)
            renewal = asyncio.create_task(self._renew(conversation_id, ticket, lifetime))
            yield self.get_lock(conversation_id) or TicketLock(conversation_id)
        finally:
            if renewal is not None:
                renewal.cancel()
            self.cleanup(conversation_id, ticket)

    async def _renew(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        """Keeps the held ticket alive while the turn runs."""
        while True:
            await asyncio.sleep(lifetime / 3)
            try:
                self.tickets_ahead(conversation_id, ticket, lifetime)
            except LockError as exc:
                if isinstance(exc.__cause__, redis.RedisError):
                    logger.warning("Could not renew a conversation's lock: Redis did not answer.")
                    continue
                logger.warning("A conversation's lock expired during its turn (the process was "
                               "not seen for a whole lifetime): the next turn may run beside it.")
                return

    # Rasa's LockStore interface for whole locks: reading, and writing for callers that do.

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        members = self.red.zrange(self.tickets_key(conversation_id), 0, -1, withscores=True)
        if not members:
            return None
        tickets = sorted((Ticket(int(number), score / 1000) for number, score in members),
                         key=lambda ticket: ticket.number)
        return TicketLock(conversation_id, deque(tickets))

    def save_lock(self, lock: TicketLock) -> None:
        """Replaces the conversation's tickets with the lock's, in one transaction.

        Only for callers of Rasa's interface that build a lock themselves: this store's own
        turns never write a lock they have read.
        """
        key = self.tickets_key(lock.conversation_id)
        with self.red.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if lock.tickets:
                pipe.zadd(key, {str(t.number): t.expires * 1000 for t in lock.tickets})
                pipe.pexpireat(key, int(max(t.expires for t in lock.tickets) * 1000) + 1)
            pipe.execute()

    def delete_lock(self, conversation_id: str) -> None:
        # Not Rasa's _log_deletion: it names the conversation, an applicant's phone number.
        self.red.delete(self.tickets_key(conversation_id))

    def update_lock(self, conversation_id: str) -> None:
        self._live(keys=[self.tickets_key(conversation_id)])

    def is_someone_waiting(self, conversation_id: str) -> bool:
        return int(self._live(keys=[self.tickets_key(conversation_id)])) > 0

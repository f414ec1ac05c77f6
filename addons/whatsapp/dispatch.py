"""Background work of the webhook: one queue per applicant, all applicants in parallel.

The webhook answers Meta at once and leaves the work here. Each applicant's messages are
handled strictly one after another, in the order they arrived (a reply to "besok" must not
overtake the reply to "mau booking"), while different applicants never wait for each other.
A queue's worker exists only while the queue has work, so idle applicants cost nothing.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from addons.whatsapp.privacy import mask_phone, scrubbed_traceback

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class SenderQueues:
    """Runs jobs in submission order per key, concurrently across keys."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[Job]] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._loose: set[asyncio.Task] = set()

    def submit(self, key: str, job: Job) -> None:
        """Queue ``job`` behind the earlier jobs of ``key``; never blocks.

        Must be called from the event loop (a webhook handler).
        """
        loop = asyncio.get_running_loop()
        self._pending.setdefault(key, deque()).append(job)
        worker = self._workers.get(key)
        if worker is None or worker.done() or worker.get_loop() is not loop:
            self._workers[key] = loop.create_task(self._work(key))

    def spawn(self, job: Job) -> None:
        """Run ``job`` in the background with no ordering, keeping a reference to it."""
        task = asyncio.get_running_loop().create_task(_guarded(job, "-"))
        self._loose.add(task)
        task.add_done_callback(self._loose.discard)

    @property
    def busy(self) -> int:
        """How many jobs are queued or running."""
        return sum(len(queue) for queue in self._pending.values()) + len(self._workers) + len(
            self._loose
        )

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued job has run (new ones included).

        Args:
            timeout: The most seconds to wait.

        Returns:
            Whether everything finished in time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            tasks = [*self._workers.values(), *self._loose]
            tasks = [task for task in tasks if task.get_loop() is loop]
            if not tasks:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(tasks, timeout=remaining)

    def cancel(self) -> None:
        """Drop queued jobs and cancel the running ones (at shutdown, after a drain)."""
        for task in [*self._workers.values(), *self._loose]:
            task.cancel()
        self._pending.clear()
        self._workers.clear()
        self._loose.clear()

    async def _work(self, key: str) -> None:
        queue = self._pending[key]
        try:
            while queue:
                job = queue.popleft()
                await _guarded(job, key)
        finally:
            # Nothing awaits between the emptiness check and this, so no job is stranded.
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                if not queue:
                    self._pending.pop(key, None)


async def _guarded(job: Job, key: str) -> None:
    try:
        await job()
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - one bad message must not stop the others
        logger.error("WhatsApp background job for %s failed:\n%s", mask_phone(key),
                     scrubbed_traceback())

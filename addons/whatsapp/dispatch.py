"""Background work of the webhook: one queue per applicant, a bounded pool of workers.

The webhook answers Meta at once and leaves the work here. Each applicant's messages are
handled strictly one after another, in the order they arrived (a reply to "besok" must not
overtake the reply to "mau booking"), while different applicants never wait for each other
— up to ``max_workers`` of them at a time. However many messages a delivery carries (Meta
batches them; a hostile signed body may carry 200,000), the number of tasks stays bounded:
queues are plain deques, and a fixed number of workers take the next applicant whose queue
has work. Workers exist only while there is work, so idle applicants cost nothing.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from addons.whatsapp.privacy import mask_phone, scrubbed_traceback

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]

MAX_WORKERS = 64


class SenderQueues:
    """Runs jobs in submission order per key, concurrently across keys, ≤ ``max_workers``."""

    def __init__(self, max_workers: int = MAX_WORKERS) -> None:
        self.max_workers = max_workers
        self._pending: dict[str, deque[Job]] = {}
        self._ready: deque[str] = deque()  # keys with work that no worker has taken
        self._active: set[str] = set()  # keys a worker is running a job of
        self._workers: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, key: str, job: Job) -> None:
        """Queue ``job`` behind the earlier jobs of ``key``; never blocks.

        Must be called from the event loop (a webhook handler).
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests, a restarted server)
            self._forget()
            self._loop = loop
        queue = self._pending.get(key)
        if queue is None:
            queue = self._pending[key] = deque()
            if key not in self._active:
                self._ready.append(key)
        queue.append(job)
        while len(self._workers) < min(self.max_workers, len(self._ready)):
            task = loop.create_task(self._work())
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    def spawn(self, job: Job) -> None:
        """Run ``job`` in the background, in no order (still within the worker bound)."""
        self.submit(f"-{id(job)}", job)

    @property
    def busy(self) -> int:
        """How many jobs are queued or running."""
        return sum(len(queue) for queue in self._pending.values()) + len(self._active)

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
            tasks = [task for task in self._workers if task.get_loop() is loop]
            if not tasks:
                return not self._pending or self._loop is not loop
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(tasks, timeout=remaining)

    def cancel(self) -> None:
        """Drop queued jobs and cancel the running ones (at shutdown, after a drain)."""
        for task in list(self._workers):
            task.cancel()
        self._forget()

    def _forget(self) -> None:
        self._pending.clear()
        self._ready.clear()
        self._active.clear()
        self._workers.clear()

    async def _work(self) -> None:
        try:
            await self._work_while_ready()
        finally:
            # Leave the workers now, in the same loop turn as the last look at ``_ready``:
            # the task's done callback comes a turn later, and a job submitted in between
            # would find a worker counted that never looks again, and wait forever.
            task = asyncio.current_task()
            if task is not None:
                self._workers.discard(task)

    async def _work_while_ready(self) -> None:
        while self._ready:
            key = self._ready.popleft()
            queue = self._pending.get(key)
            if not queue:
                self._pending.pop(key, None)
                continue
            self._active.add(key)
            try:
                job = queue.popleft()
                await _guarded(job, key)
            finally:
                self._active.discard(key)
                if queue:
                    # Next job of this key after the others waiting: no applicant with a
                    # long queue holds a worker while others wait.
                    self._ready.append(key)
                elif self._pending.get(key) is queue:
                    del self._pending[key]


def freeze_start_up_objects() -> None:
    """Move everything alive after start-up out of the cyclic collector's sight.

    A Rasa process holds about half a million objects once its model is loaded (TensorFlow,
    the pipeline, the domain), and a full collection scans them all with the GIL held: about
    0.3 s on a quiet 2-core machine, a second on a busy one, during which no message is
    answered. They live as long as the process, so scanning them is wasted; after the
    freeze a full collection scans only what was made since. Called once the server has
    started (the model is loaded by then).
    """
    gc.collect()
    gc.freeze()


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_restore = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a worker thread builds a large delivery.

    Hundreds of thousands of new objects trigger full collections, which hold the GIL for
    half a second each and so stop the event loop as surely as running on it. Decoded JSON
    and parsed records hold no reference cycles: reference counting frees them anyway. At
    the end the objects alive are moved out of the collector's sight (``gc.freeze``), or the
    next full collection, wherever it happens, would scan them all at once.
    """
    global _gc_pausers, _gc_restore
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_restore = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0:
                gc.freeze()
                if _gc_restore:
                    gc.enable()


async def _guarded(job: Job, key: str) -> None:
    try:
        await job()
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - one bad message must not stop the others
        logger.error("WhatsApp background job for %s failed:\n%s", mask_phone(key),
                     scrubbed_traceback())

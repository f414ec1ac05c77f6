"""A job submitted just as the last worker leaves is still run (addons/whatsapp/dispatch.py).

Seen in the production topology test: an applicant's message, accepted (Meta had its 200),
stayed queued in a live Rasa process until it stopped. The worker had left its loop, but its
task's done callback, which takes it off the workers, runs one loop turn later; a submit in
between counted it as a worker still coming and started none. The lease of the queued
message kept being renewed, so no other process took it either.
"""
from __future__ import annotations

import asyncio

from addons.whatsapp.dispatch import SenderQueues


def test_a_job_submitted_as_the_last_worker_leaves_is_run() -> None:
    async def scenario() -> list[str]:
        queues = SenderQueues(max_workers=4)
        ran: list[str] = []

        async def job(name: str) -> None:
            ran.append(name)

        queues.submit("6281200000001", lambda: job("first"))
        # One loop turn: the worker runs the job and leaves; its done callback comes after us.
        await asyncio.sleep(0)
        queues.submit("6281200000001", lambda: job("second"))
        await queues.drain(2.0)
        return ran

    assert asyncio.run(scenario()) == ["first", "second"]

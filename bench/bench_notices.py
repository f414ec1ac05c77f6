"""How long 1,000 reminders take through a local Graph API at Meta's default pacing.

Books 1,000 single-person bookings for one day in a throw-away SQLite slot store, queues
their reminders at the reminder hour the day before, and sends them with ``NoticeSender``
(``law-notices``' sender) to a local Graph API that answers at once. Prints the total time,
the rate achieved, and the most requests the Graph API saw in any one-second window, which
must not exceed the configured pacing (80 per second). A script that prints figures, not a
test: ``.venv/bin/python bench/bench_notices.py [--count 1000] [--rate 80]``.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addons.whatsapp.graph_client import GraphClient  # noqa: E402
from addons.whatsapp.notices import NoticeSender  # noqa: E402
from addons.whatsapp.settings import WhatsAppSettings  # noqa: E402
from antrean.clock import FixedClock  # noqa: E402
from antrean.config import load_config  # noqa: E402
from antrean.model import Applicant, BookingRequest  # noqa: E402
from antrean.notices import NoticeOutbox  # noqa: E402
from antrean.service import BookingService  # noqa: E402
from antrean.store.engine import create_store_engine, migrate  # noqa: E402
from antrean.store.repository import SqlStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=80.0)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    config = load_config()
    tz = dt.timezone(dt.timedelta(hours=7))
    day = dt.date(2026, 12, 8)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/law.db"
        migrate(url)
        store = SqlStore(create_store_engine(url))
        service = BookingService(config, store, FixedClock(dt.datetime(2026, 12, 1, 9, tzinfo=tz)))
        service.set_capacity(day, None, args.count)
        started = time.monotonic()
        for i in range(args.count):
            slot = service.slot_times[i % len(service.slot_times)]
            nik = f"3171011203{90 + i // 10000:02d}{i % 10000:04d}"
            service.reserve(BookingRequest(f"6281{i:09d}", day, slot, "baru", "biasa",
                                           (Applicant(f"Pemohon {i}", dt.date(1990, 3, 12),
                                                      nik),)))
        print(f"{args.count} bookings made in {time.monotonic() - started:.1f} s")
        eve = BookingService(config, store, FixedClock(dt.datetime(2026, 12, 7, 10, tzinfo=tz)))
        outbox = NoticeOutbox(eve)
        print(f"{outbox.queue_due_reminders()} reminders queued")

        stamps: list[float] = []

        def answer(request: Request) -> Response:
            stamps.append(time.monotonic())
            body = {"messages": [{"id": f"wamid.bench.{len(stamps)}"}]}
            return Response(json.dumps(body), content_type="application/json")

        server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        server.expect_request("/v21.0/1/messages", method="POST").respond_with_handler(answer)
        server.start()
        try:
            settings = WhatsAppSettings(access_token="t", phone_number_id="1", app_secret="s",
                                        verify_token="v", api_version="v21.0",
                                        api_base_url=server.url_for("/").rstrip("/"))
            client = GraphClient(settings)

            async def send() -> int:
                try:
                    return await NoticeSender(outbox, client, rate=args.rate).send_due()
                finally:
                    await client.close()

            started = time.monotonic()
            sent = asyncio.run(send())
            took = time.monotonic() - started
        finally:
            server.stop()
        store.dispose()
    busiest = max(bisect.bisect_left(stamps, s + 1.0) - i for i, s in enumerate(stamps))
    print(f"{sent} reminders sent in {took:.1f} s ({sent / took:.1f}/s; pacing {args.rate:g}/s, "
          f"ideal {sent / args.rate:.1f} s)")
    # Requests leave at least 1/rate apart; their arrival at the server jitters by a
    # millisecond or two, so a window may catch one more than the rate.
    print(f"most requests the Graph API received in any 1-second window: {busiest} "
          f"(limit {args.rate:g} + 1 for arrival jitter: "
          f"{'respected' if busiest <= args.rate + 1 else 'EXCEEDED'})")


if __name__ == "__main__":
    main()

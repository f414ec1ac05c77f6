"""``law-notices``: queue the reminders that are due and send every due notice.

Run it as its own process (systemd, ``make run-prod``) beside the WhatsApp channel; several
at once are safe (the outbox's claims never overlap) and a restart neither sends twice nor
skips (queueing is idempotent, a dead sender's claims run out). ``--once`` does one round and
exits; ``--print`` sends nothing and prints what would go out as templates (``make run``,
which has no WhatsApp number). Settings: the slot store and the office configuration as
everywhere (``LAW_DATABASE_URL``, ``LAW_OFFICE_CONFIG``, ``LAW_FIXED_NOW``), the Graph API
as the channel's (``WHATSAPP_ACCESS_TOKEN``, ``WHATSAPP_PHONE_NUMBER_ID``, …).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from addons.whatsapp.graph_client import GraphClient
from addons.whatsapp.notices import NoticeSender, preview
from addons.whatsapp.settings import WhatsAppSettings
from antrean.bootstrap import build_service
from antrean.notices import NoticeOutbox
from antrean.settings import Settings

logger = logging.getLogger(__name__)


async def one_round(outbox: NoticeOutbox, sender: NoticeSender | None) -> int:
    """Queue due reminders, then send (or, without a sender, print) what is due."""
    await asyncio.to_thread(outbox.queue_due_reminders)
    if sender is None:
        items = await asyncio.to_thread(outbox.pending_due)
        for item in items:
            print(preview(item), flush=True)
        if not items:
            print("Tidak ada pengingat atau pemberitahuan yang jatuh tempo.", flush=True)
        return len(items)
    return await sender.send_due()


async def run(outbox: NoticeOutbox, sender: NoticeSender | None, once: bool,
              every_s: float) -> None:
    try:
        while True:
            try:
                count = await one_round(outbox, sender)
                if count and sender is not None:
                    logger.info("law-notices: %d notice(s) sent.", count)
            except Exception as exc:  # noqa: BLE001 - a bad round must not stop the scheduler
                if once:
                    raise
                logger.error("law-notices round failed (%s); trying again.", type(exc).__name__)
            if once:
                return
            await asyncio.sleep(every_s)
    finally:
        if sender is not None:
            await sender.client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="law-notices", description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="send nothing; print what would be sent as templates")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between rounds")
    parser.add_argument("--rate", type=float, default=None,
                        help="messages per second (default: the office configuration's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    service = build_service(Settings.from_env())
    if service.config.notices is None:
        print("office configuration has no 'notices' section: nothing to send",
              file=sys.stderr)
        return 3
    outbox = NoticeOutbox(service)
    sender = None
    if not args.print_only:
        settings = WhatsAppSettings.from_credentials({})
        sender = NoticeSender(outbox, GraphClient(settings), rate=args.rate)
    try:
        asyncio.run(run(outbox, sender, args.once, args.every))
    except KeyboardInterrupt:
        return 130
    finally:
        service.store.dispose()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

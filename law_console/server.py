"""``law-console``: serves the staff console with uvicorn.

``law-console --host 127.0.0.1 --port 5010`` (the defaults). The settings come from the
environment as for every LAW process (``LAW_DATABASE_URL``, ``LAW_TRACKER_URL``,
``LAW_OFFICE_CONFIG``, ``LAW_CONSOLE_SESSION_MINUTES``…, see ``antrean/settings.py``). Serve it
on the office's internal network only, never through the public webhook host
(docs/deployment.md). uvicorn's access log is off: its lines carry query strings, which may
hold a name searched for; the console logs method, path and status instead.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5010


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="law-console", description="Konsol petugas LAW (web) di atas uvicorn.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"alamat yang didengarkan (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error"), help="tingkat log")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    import uvicorn

    from antrean.settings import Settings, SettingsError
    from law_console.app import create_app

    try:
        settings = Settings.from_env()
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        return 3
    app = create_app(settings)
    # ws="none": no websockets here, and Rasa pins a websockets release uvicorn cannot use.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, ws="none",
                log_level=args.log_level, proxy_headers=True, server_header=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

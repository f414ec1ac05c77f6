"""``law-rasa``: Rasa's command line as LAW runs it everywhere; same commands and arguments.

Before Rasa is imported it refuses any Rasa release but the pinned one (exit code 2 and a
message saying what to do), then applies ``law_rasa.patches``. ``make run``
(``scripts/run-local.sh``), the end-to-end, conversation and NLU tests, the benchmarks, the
production topology (``law-prod``) and its systemd units all start Rasa this way::

    law-rasa run -m models/law-….tar.gz --endpoints endpoints.prod.yml …
    law-rasa run actions --actions actions -p 5055
    law-rasa shell -m models/law-….tar.gz

One option of its own, before Rasa's command: ``--warnings-log FILE`` writes Python's
warnings (the DeprecationWarnings of TensorFlow, matplotlib, sanic-cors, SQLAlchemy… on
every start) to FILE instead of the terminal; ``make run`` uses it so that a chat starts
with the chat.
"""
from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

from law_rasa.pinned import RasaVersionError, require_pinned_rasa

WARNINGS_LOG_OPTION = "--warnings-log"
EXIT_WRONG_RASA = 2


def main(argv: list[str] | None = None) -> None:
    """Check the Rasa version, apply the patches, then run Rasa's command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    warnings_log, args = _own_options(args)
    try:
        require_pinned_rasa()
    except RasaVersionError as exc:
        print(f"law-rasa: not starting: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_WRONG_RASA) from None
    if warnings_log is not None:
        send_warnings_to(warnings_log)

    from law_rasa import patches

    patches.apply_all()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *args]
    rasa_main()


def _own_options(args: list[str]) -> tuple[Path | None, list[str]]:
    """``--warnings-log FILE`` (or ``--warnings-log=FILE``) taken off the front of ``args``."""
    if args and args[0].startswith(WARNINGS_LOG_OPTION + "="):
        return Path(args[0].split("=", 1)[1]), args[1:]
    if args and args[0] == WARNINGS_LOG_OPTION:
        if len(args) < 2:
            raise SystemExit(f"law-rasa: {WARNINGS_LOG_OPTION} needs a file name")
        return Path(args[1]), args[2:]
    return None, args


def send_warnings_to(path: Path) -> None:
    """Python's warnings go to ``path`` (appended), not to the terminal.

    Every warning category is recorded, once per place in the code, so that the log says
    what a future upgrade has to deal with.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("py.warnings")
    logger.addHandler(handler)
    logger.propagate = False  # Rasa's console handler sits on the root logger
    warnings.simplefilter("default")
    logging.captureWarnings(True)


if __name__ == "__main__":
    main()

"""Staff tools behind the ``antrean`` command line (``antrean.cli``).

Each module here adds its subcommands with ``register(subparsers)``. A subcommand sets
``handler`` with ``parser.set_defaults(handler=...)``: a callable taking the parsed
``argparse.Namespace`` and returning the exit code (``None`` counts as 0). The logic of a
command lives in plain functions that return values; the handler only prints them, so the
tests can call either.

Modules: ``schedule`` (close, reopen, capacity, calendar), ``daily`` (the day's list,
look-up, arrivals, hand-off requests), ``access`` (releasing a NIK, notices owed to a
booking's number), ``reports``, ``privacy`` (the retention). The retraining commands live
in the package ``law_retrain`` (``law_retrain.cli``), which the console uses too. Shared
pieces: ``common`` (settings, dates, tables, CSV), ``store`` (staff queries on the slot
store), ``tracker`` (Rasa's tracker store).
"""

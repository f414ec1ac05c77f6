"""Rasa 3.6 as LAW runs it: the pinned version, LAW's patches, and the one way to start it.

``law-rasa`` (``law_rasa.cli``) is Rasa's command line — same commands, same arguments —
that first refuses any Rasa but the pinned one (``law_rasa.pinned``), then applies the
patches of ``law_rasa.patches``. ``make run``, the tests, the benchmarks and production all
start Rasa through it, so the tests run what production runs. The one other place that
relies on Rasa's internals, the tracker store of ``addons/tracker_store.py``, checks the
pinned version too.
"""

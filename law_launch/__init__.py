"""The production topology's launcher: ``law-prod``.

``law-prod`` (``law_launch.prod``) prepares the stores (``stores.py``) and runs the Rasa
processes, action servers, the staff console and the nginx in front of them (``nginx.py``)
as its children, restarting any that dies (``children.py``). ``law-router``
(``law_launch.prod_router``), the earlier sender-affinity router, is kept as a command but is
not part of the topology any more.
"""

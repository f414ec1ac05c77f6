"""The production topology's processes: ``law-prod`` and ``law-router``.

``law-prod`` (``law_launch.prod``) starts the stores, Rasa processes, action servers and
routers on one machine; ``law-router`` (``law_launch.prod_router``) is the sender-affinity and
round-robin router.
"""

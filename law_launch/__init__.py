"""The production topology's processes: ``law-prod`` (``law_launch.prod``: stores, Rasa
processes, action servers and routers on one machine) and ``law-router``
(``law_launch.prod_router``: the sender-affinity and round-robin routers)."""

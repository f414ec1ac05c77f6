"""The one exception type callers outside the store catch for a database that failed.

Staff commands turn it into a message and an exit code (``antrean/cli.py``), or note it in
a report and go on (``staff/reports.py``, ``staff/privacy.py``), without importing
SQLAlchemy themselves: the store is the only package that does (``antrean/__init__.py``).
It is SQLAlchemy's own base class, so nothing is translated or lost — the error keeps its
``orig`` (the driver's exception) and its message.
"""
from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError as StoreError

__all__ = ["StoreError"]

"""LAW booking domain: office rules, booking operations and the SQL store adapter.

Plain Python rules live in this package; only ``antrean.store`` imports SQLAlchemy.
Nothing here has side effects at import time.
"""

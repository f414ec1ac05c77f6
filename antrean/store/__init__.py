"""SQLAlchemy adapter of the booking domain (SQLite by default, PostgreSQL in production)."""

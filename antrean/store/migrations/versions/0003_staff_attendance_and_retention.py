"""Staff tools: attendance at the counter, anonymised bookings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Only ADD COLUMN, which SQLite does in place: recreating ``bookings`` in batch mode would
drop the old table with foreign keys on, and the cascade would delete every applicant.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = (
    ('attendance', sa.String(length=16)),
    ('attendance_at', sa.DateTime(timezone=True)),
    ('anonymised_at', sa.DateTime(timezone=True)),
    ('applicant_count', sa.Integer()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column('bookings', sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops a column in place; older ones cannot downgrade this revision.
    for name, _type in reversed(COLUMNS):
        op.drop_column('bookings', name)

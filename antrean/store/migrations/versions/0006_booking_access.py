"""Who may see and change a booking: failed code look-ups, owner notices, released NIKs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Tables of ``antrean/store/tables.py``: ``lookup_failures`` (the per-number rate limit
of failed code look-ups), ``owner_notices`` (what was done to a booking from another number
or by staff, owed to the booking's own number) and ``nik_releases`` (a NIK's booking
cancelled by staff after checking identity).
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lookup_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_failures')),
    )
    op.create_index('ix_lookup_failures_phone_failed_at', 'lookup_failures',
                    ['phone', 'failed_at'])
    op.create_index('ix_lookup_failures_failed_at', 'lookup_failures', ['failed_at'])
    op.create_table(
        'owner_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_code', sa.String(length=16), nullable=False),
        sa.Column('phone', sa.String(length=64), nullable=False),
        sa.Column('event', sa.String(length=16), nullable=False),
        sa.Column('service_date', sa.Date(), nullable=False),
        sa.Column('slot_time', sa.Time(), nullable=False),
        sa.Column('by_phone', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_owner_notices')),
    )
    op.create_index('ix_owner_notices_sent_at', 'owner_notices', ['sent_at'])
    op.create_index('ix_owner_notices_created_at', 'owner_notices', ['created_at'])
    op.create_table(
        'nik_releases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_code', sa.String(length=16), nullable=False),
        sa.Column('nik_masked', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('released_by', sa.String(length=64), nullable=False),
        sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nik_releases')),
    )
    op.create_index('ix_nik_releases_released_at', 'nik_releases', ['released_at'])


def downgrade() -> None:
    op.drop_index('ix_nik_releases_released_at', table_name='nik_releases')
    op.drop_table('nik_releases')
    op.drop_index('ix_owner_notices_created_at', table_name='owner_notices')
    op.drop_index('ix_owner_notices_sent_at', table_name='owner_notices')
    op.drop_table('owner_notices')
    op.drop_index('ix_lookup_failures_failed_at', table_name='lookup_failures')
    op.drop_index('ix_lookup_failures_phone_failed_at', table_name='lookup_failures')
    op.drop_table('lookup_failures')

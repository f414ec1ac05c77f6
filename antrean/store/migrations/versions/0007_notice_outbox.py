"""Messages the office sends first: the notice outbox, contacts, attendance confirmations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Tables of ``antrean/store/tables.py``: ``notice_outbox`` (reminders and closure notices,
one row per booking, kind and date, claimed with a lease), ``notice_contacts`` (a number's
last message and its reminder opt-out), and ``bookings.attendance_confirmed_at`` (the
applicant tapped "Saya datang").
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('service_date', sa.Date(), nullable=False),
        sa.Column('phone', sa.String(length=64), nullable=False),
        sa.Column('parameters', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_token', sa.String(length=32), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_as', sa.String(length=16), nullable=True),
        sa.Column('wamid', sa.String(length=255), nullable=True),
        sa.Column('error_code', sa.Integer(), nullable=True),
        sa.Column('error_title', sa.String(length=255), nullable=True),
        sa.Column('delivery', sa.String(length=16), nullable=True),
        sa.Column('delivery_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancel_reason', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], ondelete='CASCADE',
                                name=op.f('fk_notice_outbox_booking_id_bookings')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_outbox')),
        sa.UniqueConstraint('booking_id', 'kind', 'service_date',
                            name='uq_notice_outbox_booking_id_kind_service_date'),
    )
    op.create_index('ix_notice_outbox_state_next_attempt_at', 'notice_outbox',
                    ['state', 'next_attempt_at'])
    op.create_index('ix_notice_outbox_wamid', 'notice_outbox', ['wamid'])
    op.create_index('ix_notice_outbox_service_date', 'notice_outbox', ['service_date'])
    op.create_table(
        'notice_contacts',
        sa.Column('phone', sa.String(length=64), nullable=False),
        sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reminders_off_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('phone', name=op.f('pk_notice_contacts')),
    )
    op.add_column('bookings', sa.Column('attendance_confirmed_at', sa.DateTime(timezone=True),
                                        nullable=True))


def downgrade() -> None:
    # In place (SQLite ≥ 3.35): recreating `bookings` would cascade-delete the applicants.
    op.drop_column('bookings', 'attendance_confirmed_at')
    op.drop_table('notice_contacts')
    op.drop_index('ix_notice_outbox_service_date', table_name='notice_outbox')
    op.drop_index('ix_notice_outbox_wamid', table_name='notice_outbox')
    op.drop_index('ix_notice_outbox_state_next_attempt_at', table_name='notice_outbox')
    op.drop_table('notice_outbox')

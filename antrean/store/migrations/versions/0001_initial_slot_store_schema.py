"""Initial slot store schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=False),
    sa.Column('active_phone', sa.String(length=64), nullable=True),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('slot_time', sa.Time(), nullable=False),
    sa.Column('service_type', sa.String(length=16), nullable=False),
    sa.Column('passport_type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reschedule_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('active_phone', name=op.f('uq_bookings_active_phone')),
    sa.UniqueConstraint('code', name=op.f('uq_bookings_code'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_phone', ['phone'], unique=False)
        batch_op.create_index('ix_bookings_service_date', ['service_date'], unique=False)

    op.create_table('capacity_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('slot_time', sa.Time(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_capacity_overrides_capacity_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capacity_overrides'))
    )
    with op.batch_alter_table('capacity_overrides', schema=None) as batch_op:
        batch_op.create_index('ix_capacity_overrides_service_date', ['service_date'], unique=False)

    op.create_table('closures',
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service_date', name=op.f('pk_closures'))
    )
    op.create_table('slot_usage',
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('slot_time', sa.Time(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.CheckConstraint('taken >= 0', name=op.f('ck_slot_usage_taken_not_negative')),
    sa.PrimaryKeyConstraint('service_date', 'slot_time', name=op.f('pk_slot_usage'))
    )
    op.create_table('applicants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('nik_active', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'],
                            name=op.f('fk_applicants_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applicants')),
    sa.UniqueConstraint('nik_active', name=op.f('uq_applicants_nik_active'))
    )
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.create_index('ix_applicants_booking_id', ['booking_id'], unique=False)
        batch_op.create_index('ix_applicants_nik', ['nik'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_index('ix_applicants_nik')
        batch_op.drop_index('ix_applicants_booking_id')

    op.drop_table('applicants')
    op.drop_table('slot_usage')
    op.drop_table('closures')
    with op.batch_alter_table('capacity_overrides', schema=None) as batch_op:
        batch_op.drop_index('ix_capacity_overrides_service_date')

    op.drop_table('capacity_overrides')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_service_date')
        batch_op.drop_index('ix_bookings_phone')

    op.drop_table('bookings')

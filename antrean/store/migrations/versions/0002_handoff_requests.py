"""Handoff requests: conversations flagged for staff.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handoff_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_requests'))
    )
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.create_index('ix_handoff_requests_phone', ['phone'], unique=False)
        batch_op.create_index('ix_handoff_requests_resolved_at', ['resolved_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_handoff_requests_resolved_at')
        batch_op.drop_index('ix_handoff_requests_phone')
    op.drop_table('handoff_requests')

"""WhatsApp inbox: accepted messages stored before the webhook's 200, until answered.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'whatsapp_inbox',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('sender_id', sa.String(length=64), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_token', sa.String(length=32), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_inbox')),
        sa.UniqueConstraint('message_id', name=op.f('uq_whatsapp_inbox_message_id')),
    )
    op.create_index('ix_whatsapp_inbox_received_at', 'whatsapp_inbox', ['received_at'])
    op.create_index('ix_whatsapp_inbox_lease_until', 'whatsapp_inbox', ['lease_until'])


def downgrade() -> None:
    op.drop_index('ix_whatsapp_inbox_lease_until', table_name='whatsapp_inbox')
    op.drop_index('ix_whatsapp_inbox_received_at', table_name='whatsapp_inbox')
    op.drop_table('whatsapp_inbox')

"""WhatsApp channel tables: processed message ids and delivery reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Until this revision the channel created these tables itself, with ``create_all``, at its
first message. A database it has served already holds them (with the same columns, indexes
and constraint, built from the same definition), so each table and index is created only if
missing: upgrading such a database adopts the tables with their rows instead of failing.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PROCESSED = 'whatsapp_processed_messages'
STATUSES = 'whatsapp_statuses'
INDEXES = {
    PROCESSED: ('ix_whatsapp_processed_messages_received_at', ['received_at']),
    STATUSES: ('ix_whatsapp_statuses_recorded_at', ['recorded_at']),
}


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if PROCESSED not in present:
        op.create_table(PROCESSED,
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_whatsapp_processed_messages'))
        )
    if STATUSES not in present:
        op.create_table(STATUSES,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('error_code', sa.Integer(), nullable=True),
        sa.Column('error_title', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_statuses')),
        sa.UniqueConstraint('message_id', 'status', name='uq_whatsapp_statuses_message_id_status')
        )
    inspector = sa.inspect(op.get_bind())  # a fresh one: the first cached the table list
    for table, (name, columns) in INDEXES.items():
        if name not in {index['name'] for index in inspector.get_indexes(table)}:
            op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, (name, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_table(STATUSES)
    op.drop_table(PROCESSED)

"""channels: a person's accounts on Telegram and Zalo, and the channel of each outbox row

Revision ID: 0003
Revises: 0001
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - the tables use AutoString
import parbot.storage.tables  # noqa: F401 - UTCDateTime


revision: str = '0003'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'channel_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('notify', sa.Boolean(), nullable=False),
        sa.Column('unreachable_at', parbot.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column('unreachable_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('created_at', parbot.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_channel_account_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_account')),
        sa.UniqueConstraint('channel', 'account_id', name=op.f('uq_channel_account_channel_account_id')),
    )
    with op.batch_alter_table('channel_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_account_person_id'), ['person_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='telegram'))
        batch_op.add_column(sa.Column('chat_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    # Every existing person has a Telegram account: make it an account row, so all channels read alike.
    op.execute("INSERT INTO channel_account (person_id, channel, account_id, chat_id, display_name, notify, "
               "created_at) SELECT id, 'telegram', CAST(telegram_id AS VARCHAR(64)), "
               "CAST(COALESCE(chat_id, telegram_id) AS VARCHAR(64)), name, true, created_at FROM person")


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('chat_ref')
        batch_op.drop_column('channel')
    with op.batch_alter_table('channel_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_account_person_id'))
    op.drop_table('channel_account')

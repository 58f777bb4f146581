"""zalo chats: a person who joined on Zalo has no Telegram account (person.telegram_id nullable), and the
options each text-only chat has on view (channel_choice), so any process reads a typed "2" alike

Revision ID: 0012
Revises: 0009
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - the tables use AutoString
import parbot.storage.tables  # noqa: F401 - UTCDateTime


revision: str = '0012'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Their accounts are rows of channel_account; the unique constraint still holds (NULLs never clash).
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('telegram_id', existing_type=sa.BigInteger(), nullable=True)
    op.create_table(
        'channel_choice',
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('choices', sa.JSON(), nullable=False),
        sa.Column('updated_at', parbot.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'chat_id', name=op.f('pk_channel_choice')),
    )


def downgrade() -> None:
    op.drop_table('channel_choice')
    # Fails while Zalo-only people exist: remove them (`parbot members remove`) before going back.
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('telegram_id', existing_type=sa.BigInteger(), nullable=False)

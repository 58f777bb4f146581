"""one dedupe for every channel: handled_update (the webhook's) is dropped, the inbox keeps them all, and its
update_id becomes text because a Zalo update is named by its message id (a string)

Revision ID: 0014
Revises: 0013
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - the tables use AutoString
import parbot.storage.tables  # noqa: F401 - UTCDateTime


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.alter_column('update_id', existing_type=sa.BigInteger(),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=64), existing_nullable=False,
                              postgresql_using='update_id::varchar')
    # What it recorded is a day of webhook updates already handled: re-sent copies of those are not expected
    # across an upgrade, which restarts the processes anyway.
    with op.batch_alter_table('handled_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handled_update_handled_at'))
    op.drop_table('handled_update')


def downgrade() -> None:
    op.create_table(
        'handled_update',
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('update_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('handled_at', parbot.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'update_id', name=op.f('pk_handled_update')),
    )
    with op.batch_alter_table('handled_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handled_update_handled_at'), ['handled_at'], unique=False)
    # Zalo rows have no numeric id: the inbox goes back to Telegram's updates only.
    op.execute("DELETE FROM inbox WHERE channel <> 'telegram'")
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.alter_column('update_id', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
                              type_=sa.BigInteger(), existing_nullable=False,
                              postgresql_using='update_id::bigint')

"""handled_update: webhook updates already handled, so a re-sent one is not applied twice

Revision ID: 0009
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - the tables use AutoString
import parbot.storage.tables  # noqa: F401 - UTCDateTime


revision: str = '0009'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'handled_update',
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('update_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('handled_at', parbot.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'update_id', name=op.f('pk_handled_update')),
    )
    with op.batch_alter_table('handled_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handled_update_handled_at'), ['handled_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handled_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handled_update_handled_at'))
    op.drop_table('handled_update')

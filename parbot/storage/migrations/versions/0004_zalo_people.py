"""zalo people: a person who joined on Zalo has no Telegram account (person.telegram_id nullable)

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Their accounts are rows of channel_account; the unique constraint still holds (NULLs never clash).
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('telegram_id', existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    # Fails while Zalo-only people exist: remove them (`parbot members remove`) before going back.
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('telegram_id', existing_type=sa.BigInteger(), nullable=False)

"""instance networks: what a create asked of Networking and the server's ports (VIFs)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_networks', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('network_info', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('network_info')
        batch_op.drop_column('requested_networks')

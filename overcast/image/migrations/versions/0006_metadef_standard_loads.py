"""metadef standard loads

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('metadef_standard_loads',
    sa.Column('namespace', sa.String(length=80), nullable=False),
    sa.Column('loaded_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mariadb').with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('namespace', name=op.f('pk_metadef_standard_loads'))
    )


def downgrade() -> None:
    op.drop_table('metadef_standard_loads')

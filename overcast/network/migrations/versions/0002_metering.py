"""metering labels and rules

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _standard() -> list[sa.Column[object]]:
    stamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mariadb') \
        .with_variant(mysql.DATETIME(fsp=6), 'mysql')
    return [
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('created_at', stamp, nullable=False),
        sa.Column('updated_at', stamp, nullable=False),
        sa.Column('revision_number', sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table('metering_labels',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    *_standard(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_labels'))
    )
    with op.batch_alter_table('metering_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metering_labels_project_id'), ['project_id'], unique=False)

    op.create_table('metering_label_rules',
    sa.Column('metering_label_id', sa.String(length=36), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('remote_ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('source_ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('destination_ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    *_standard(),
    sa.ForeignKeyConstraint(['metering_label_id'], ['metering_labels.id'], name=op.f('fk_metering_label_rules_metering_label_id_metering_labels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_label_rules'))
    )
    with op.batch_alter_table('metering_label_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metering_label_rules_metering_label_id'), ['metering_label_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_metering_label_rules_project_id'), ['project_id'], unique=False)


def downgrade() -> None:
    op.drop_table('metering_label_rules')
    op.drop_table('metering_labels')

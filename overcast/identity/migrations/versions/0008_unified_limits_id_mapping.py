"""unified limits and the id mapping of external (LDAP) users and groups

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:00:00.000000

`registered_limit` and `limit` hold Keystone's unified limits; `id_mapping` gives users and
groups read from LDAP a stable public id, as Keystone's table of that name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('registered_limit',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('region_id', sa.String(length=255), nullable=True),
    sa.Column('resource_name', sa.String(length=255), nullable=False),
    sa.Column('default_limit', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registered_limit'))
    )
    with op.batch_alter_table('registered_limit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registered_limit_service_id'), ['service_id'],
                              unique=False)
    op.create_table('limit',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=True),
    sa.Column('domain_id', sa.String(length=64), nullable=True),
    sa.Column('registered_limit_id', sa.String(length=64), nullable=False),
    sa.Column('resource_limit', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['registered_limit_id'], ['registered_limit.id'],
                            name=op.f('fk_limit_registered_limit_id_registered_limit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_limit'))
    )
    with op.batch_alter_table('limit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_limit_domain_id'), ['domain_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_limit_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_limit_registered_limit_id'),
                              ['registered_limit_id'], unique=False)
    op.create_table('id_mapping',
    sa.Column('public_id', sa.String(length=64), nullable=False),
    sa.Column('domain_id', sa.String(length=64), nullable=False),
    sa.Column('local_id', sa.String(length=255), nullable=False),
    sa.Column('entity_type', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('public_id', name=op.f('pk_id_mapping')),
    sa.UniqueConstraint('domain_id', 'local_id', 'entity_type',
                        name=op.f('uq_id_mapping_domain_id_local_id_entity_type'))
    )
    with op.batch_alter_table('id_mapping', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_id_mapping_domain_id'), ['domain_id'], unique=False)


def downgrade() -> None:
    # Tables only: their indexes go with them.
    op.drop_table('id_mapping')
    op.drop_table('limit')
    op.drop_table('registered_limit')

"""credential blobs encrypted at rest

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000

Adds `encrypted_blob` and `key_hash` and lets `blob` be null. Existing rows keep their plain
`blob` here: the migration has no keys (they live outside the database), so bootstrap (every
`overcast up`) and `overcast credential migrate` encrypt them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.add_column(sa.Column('encrypted_blob', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('key_hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('blob', existing_type=sa.Text(), nullable=True)
        batch_op.create_index(batch_op.f('ix_credential_key_hash'), ['key_hash'], unique=False)


def downgrade() -> None:
    # Encrypted rows cannot go back without the keys: refuse rather than lose them.
    bind = op.get_bind()
    # "blob" is a reserved word in MariaDB: let SQLAlchemy quote it for each backend.
    credential = sa.table("credential", sa.column("blob"))
    if bind.execute(sa.select(sa.func.count()).select_from(credential)
                    .where(credential.c.blob.is_(None))).scalar():
        raise RuntimeError("credentials are encrypted; a downgrade would lose them")
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_key_hash'))
        batch_op.alter_column('blob', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('key_hash')
        batch_op.drop_column('encrypted_blob')

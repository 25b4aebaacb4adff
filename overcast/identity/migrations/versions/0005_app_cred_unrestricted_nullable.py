"""application credentials keep `unrestricted` as given

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00.000000

Keystone stores `unrestricted` as the request gave it, null when it was not given, and shows
it so (`"unrestricted": null`); the column becomes nullable. Existing rows keep their value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('application_credential', schema=None) as batch_op:
        batch_op.alter_column('unrestricted', existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    # null meant "not given", which is restricted
    op.execute(sa.text("UPDATE application_credential SET unrestricted = false "
                       "WHERE unrestricted IS NULL"))
    with op.batch_alter_table('application_credential', schema=None) as batch_op:
        batch_op.alter_column('unrestricted', existing_type=sa.Boolean(), nullable=False)

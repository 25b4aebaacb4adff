"""users keep what security compliance needs: lockout, password history, last login

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 11:20:00.000000

`[security_compliance]` (Keystone's PCI-DSS options) needs, per user: failed logins in a row
and when the last one was (lockout), earlier password hashes (unique_last_password_count),
whether the current password was set by its user (minimum_password_age) and the day of the
last login (disable_user_account_days_inactive). Keystone keeps them in its local_user and
password tables; here they are columns of the user row, so a login still reads one row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from overcast.common.db import Timestamp

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_self_service', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('password_history', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('failed_auth_count', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('failed_auth_at', Timestamp(), nullable=True))
        batch_op.add_column(sa.Column('last_active_at', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('last_active_at')
        batch_op.drop_column('failed_auth_at')
        batch_op.drop_column('failed_auth_count')
        batch_op.drop_column('password_history')
        batch_op.drop_column('password_self_service')

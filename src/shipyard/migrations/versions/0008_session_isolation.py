"""session isolation: per-user session accounts, resource group network modes, scratch sizes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unix_accounts",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("user_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("resource_groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "network_mode",
                sa.Enum(
                    "none",
                    "outbound",
                    name="network_mode",
                    native_enum=False,
                    length=16,
                    create_constraint=True,
                ),
                server_default="outbound",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("network_allow", sa.JSON(), server_default="[]", nullable=False)
        )
    with op.batch_alter_table("resource_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_session_scratch", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resource_policies", schema=None) as batch_op:
        batch_op.drop_column("max_session_scratch")
    with op.batch_alter_table("resource_groups", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_resource_groups_network_mode"), type_="check")
        batch_op.drop_column("network_allow")
        batch_op.drop_column("network_mode")
    op.drop_table("unix_accounts")

"""session logs kept on the manager, bounded by the policies' max_log_size

Revision ID: 0010_session_logs
Revises: 0009_admin_sessions
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_session_logs"
down_revision = "0009_admin_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_logs",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("kept_from", sa.BigInteger(), nullable=False),
        sa.Column("read_to", sa.BigInteger(), nullable=False),
        sa.Column("max_bytes", sa.BigInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "session_log_chunks",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stop", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["session_logs.session_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "start"),
    )
    with op.batch_alter_table("resource_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_log_size", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resource_policies", schema=None) as batch_op:
        batch_op.drop_column("max_log_size")
    op.drop_table("session_log_chunks")
    op.drop_table("session_logs")

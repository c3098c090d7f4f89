"""admin sessions list: indexes for every user's sessions, newest first, keyset-paged

Revision ID: 0009_admin_sessions
Revises: 0008
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009_admin_sessions"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_sessions_created": ["created_at", "id"],
    "ix_sessions_status_created": ["status", "created_at", "id"],
    "ix_sessions_group_created": ["resource_group_id", "created_at", "id"],
    "ix_sessions_project_created": ["project_id", "created_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "sessions", columns, unique=False)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="sessions")

"""folder invitations by email: an address without an account is invited like any other

Revision ID: 0011_invitations_by_email
Revises: 0010_session_logs
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_invitations_by_email"
down_revision = "0010_session_logs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("folder_invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invitee_email", sa.String(length=254), nullable=True))
    op.execute(
        "UPDATE folder_invitations SET invitee_email = "
        "(SELECT lower(users.email) FROM users WHERE users.id = folder_invitations.invitee_id)"
    )
    with op.batch_alter_table("folder_invitations", schema=None) as batch_op:
        batch_op.alter_column("invitee_email", existing_type=sa.String(length=254), nullable=False)
        batch_op.alter_column("invitee_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(
            "ix_folder_invitations_invitee_email_state", ["invitee_email", "state"], unique=False
        )


def downgrade() -> None:
    op.execute("DELETE FROM folder_invitations WHERE invitee_id IS NULL")
    with op.batch_alter_table("folder_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_folder_invitations_invitee_email_state")
        batch_op.alter_column("invitee_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("invitee_email")

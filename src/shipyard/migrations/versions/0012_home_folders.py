"""home folders: every user's own folder at /home/work in their sessions (issue 14)

Revision ID: 0012_home_folders
Revises: 0011_invitations_by_email
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_home_folders"
down_revision = "0011_invitations_by_email"
branch_labels = None
depends_on = None

KIND = sa.Enum(
    "folder", "home", name="folder_kind", native_enum=False, length=16, create_constraint=True
)


def upgrade() -> None:
    with op.batch_alter_table("folders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", KIND, nullable=False, server_default="folder"))


def downgrade() -> None:
    op.execute("DELETE FROM folders WHERE kind = 'home'")
    with op.batch_alter_table("folders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_folders_folder_kind"), type_="check")
        batch_op.drop_column("kind")

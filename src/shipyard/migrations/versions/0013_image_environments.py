"""image environments: an environment may be an OCI image, imported or built (issue 15)

Revision ID: 0013_image_environments
Revises: 0012_home_folders
Create Date: 2026-12-08 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shipyard.db

revision = "0013_image_environments"
down_revision = "0012_home_folders"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16, create_constraint=True)


KIND = _enum("environment_kind", "host", "image")
STATUS = _enum("environment_status", "ready", "importing", "building", "failed", "deleted")
SCOPE = _enum("environment_scope", "global", "project", "user")


def upgrade() -> None:
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", KIND, nullable=False, server_default="host"))
        batch_op.add_column(sa.Column("status", STATUS, nullable=False, server_default="ready"))
        batch_op.add_column(sa.Column("scope", SCOPE, nullable=False, server_default="global"))
        batch_op.add_column(sa.Column("owner_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("image_ref", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("image_digest", sa.String(length=71), nullable=True))
        batch_op.add_column(sa.Column("size", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("image_source", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(sa.Column("credentials", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lock", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("log", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("worker", sa.String(length=128), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("updated_at", shipyard.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_environments_owner_id_users"),
            "users",
            ["owner_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    op.execute("DELETE FROM environments WHERE kind = 'image'")
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_environments_owner_id_users"), type_="foreignkey")
        for check in ("environment_kind", "environment_status", "environment_scope"):
            batch_op.drop_constraint(op.f(f"ck_environments_{check}"), type_="check")
        for column in (
            "updated_at", "worker", "log", "progress", "error", "lock", "credentials",
            "image_source", "size", "image_digest", "image_ref", "owner_id", "scope",
            "status", "kind",
        ):  # fmt: skip
            batch_op.drop_column(column)

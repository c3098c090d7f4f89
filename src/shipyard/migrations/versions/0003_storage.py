"""storage: folders, shares, invitations, uploads in progress

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 13:20:02.059345
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shipyard.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "folders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("owner_project_id", sa.Uuid(), nullable=True),
        sa.Column(
            "usage_mode",
            sa.Enum(
                "general",
                "data",
                "model",
                name="usage_mode",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("max_size", sa.BigInteger(), nullable=True),
        sa.Column("used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("used_measured_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(owner_user_id IS NULL) <> (owner_project_id IS NULL)",
            name=op.f("ck_folders_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_folders_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_project_id"],
            ["projects.id"],
            name=op.f("fk_folders_owner_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_folders_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folders")),
        sa.UniqueConstraint("owner_project_id", "name", name="uq_folders_project_name"),
        sa.UniqueConstraint("owner_user_id", "name", name="uq_folders_user_name"),
    )
    with op.batch_alter_table("folders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_folders_owner_project_id"), ["owner_project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_folders_owner_user_id"), ["owner_user_id"], unique=False
        )

    op.create_table(
        "folder_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("folder_id", sa.Uuid(), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=False),
        sa.Column("invitee_id", sa.Uuid(), nullable=False),
        sa.Column(
            "perm",
            sa.Enum(
                "ro",
                "rw",
                "wd",
                name="folder_perm",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                "canceled",
                name="invitation_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("responded_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folders.id"],
            name=op.f("fk_folder_invitations_folder_id_folders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"],
            ["users.id"],
            name=op.f("fk_folder_invitations_invitee_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["users.id"],
            name=op.f("fk_folder_invitations_inviter_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folder_invitations")),
    )
    with op.batch_alter_table("folder_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_folder_invitations_folder_id"), ["folder_id"], unique=False
        )
        batch_op.create_index(
            "ix_folder_invitations_invitee_state", ["invitee_id", "state"], unique=False
        )

    op.create_table(
        "folder_permissions",
        sa.Column("folder_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "perm",
            sa.Enum(
                "ro",
                "rw",
                "wd",
                name="folder_perm",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("mount_name", sa.String(length=64), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folders.id"],
            name=op.f("fk_folder_permissions_folder_id_folders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"],
            ["users.id"],
            name=op.f("fk_folder_permissions_granted_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_folder_permissions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("folder_id", "user_id", name=op.f("pk_folder_permissions")),
    )
    with op.batch_alter_table("folder_permissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_folder_permissions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("folder_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("temp_name", sa.String(length=300), nullable=False),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folders.id"],
            name=op.f("fk_uploads_folder_id_folders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_uploads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_folder_id"), ["folder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_folder_id"))
        batch_op.drop_index(batch_op.f("ix_uploads_expires_at"))

    op.drop_table("uploads")
    with op.batch_alter_table("folder_permissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_folder_permissions_user_id"))

    op.drop_table("folder_permissions")
    with op.batch_alter_table("folder_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_folder_invitations_invitee_state")
        batch_op.drop_index(batch_op.f("ix_folder_invitations_folder_id"))

    op.drop_table("folder_invitations")
    with op.batch_alter_table("folders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_folders_owner_user_id"))
        batch_op.drop_index(batch_op.f("ix_folders_owner_project_id"))

    op.drop_table("folders")

"""compute: resource groups, policies, agents, environments, sessions, ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shipyard.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("interpreter", sa.String(length=1024), nullable=False),
        sa.Column("path_prefix", sa.String(length=1024), nullable=False),
        sa.Column("apps", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "builtin",
                "admin",
                "scan",
                name="environment_source",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environments")),
        sa.UniqueConstraint("name", name=op.f("uq_environments_name")),
    )
    op.create_table(
        "resource_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "placement",
            sa.Enum(
                "binpack",
                "spread",
                name="placement",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_resource_groups_name")),
    )
    op.create_table(
        "resource_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "user",
                "project",
                name="policy_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("total_slots", sa.JSON(), nullable=False),
        sa.Column("max_concurrent_sessions", sa.Integer(), nullable=True),
        sa.Column("max_pending_sessions", sa.Integer(), nullable=True),
        sa.Column("max_session_lifetime", sa.Integer(), nullable=True),
        sa.Column("idle_timeout", sa.Integer(), nullable=True),
        sa.Column("max_folder_count", sa.Integer(), nullable=True),
        sa.Column("max_folder_size", sa.BigInteger(), nullable=True),
        sa.Column(
            "on_quota",
            sa.Enum(
                "refuse",
                "queue",
                name="on_quota",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_policies")),
    )
    op.create_table(
        "resource_usage",
        sa.Column(
            "scope",
            sa.Enum(
                "user",
                "project",
                "group",
                "agent",
                name="usage_scope",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", "slot", name=op.f("pk_resource_usage")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_group_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ALIVE",
                "LOST",
                "TERMINATED",
                name="agent_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("schedulable", sa.Boolean(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("addr", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("capacity", sa.JSON(), nullable=False),
        sa.Column("utilization", sa.JSON(), nullable=False),
        sa.Column("enforcement", sa.JSON(), nullable=False),
        sa.Column("accelerators", sa.JSON(), nullable=False),
        sa.Column("desired_version", sa.Integer(), nullable=False),
        sa.Column("api_secret", sa.String(length=128), nullable=False),
        sa.Column("first_seen_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lost_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_group_id"],
            ["resource_groups.id"],
            name=op.f("fk_agents_resource_group_id_resource_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agents_resource_group_id"), ["resource_group_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agents_status"), ["status"], unique=False)

    op.create_table(
        "resource_group_projects",
        sa.Column("resource_group_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_resource_group_projects_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_group_id"],
            ["resource_groups.id"],
            name=op.f("fk_resource_group_projects_resource_group_id_resource_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "resource_group_id", "project_id", name=op.f("pk_resource_group_projects")
        ),
    )
    with op.batch_alter_table("resource_group_projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_group_projects_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("resource_group_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_agent_tokens_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resource_group_id"],
            ["resource_groups.id"],
            name=op.f("fk_agent_tokens_resource_group_id_resource_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_tokens_token_hash")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("resource_group_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "interactive",
                "batch",
                name="session_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("requested", sa.JSON(), nullable=False),
        sa.Column("mounts", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "SCHEDULED",
                "PREPARING",
                "RUNNING",
                "TERMINATING",
                "TERMINATED",
                "ERROR",
                "CANCELLED",
                name="session_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("status_info", sa.String(length=255), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("max_lifetime", sa.Integer(), nullable=True),
        sa.Column("idle_timeout", sa.Integer(), nullable=True),
        sa.Column("created_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", shipyard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", shipyard.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_sessions_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_sessions_environment_id_environments"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_sessions_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_sessions_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["resource_group_id"],
            ["resource_groups.id"],
            name=op.f("fk_sessions_resource_group_id_resource_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_agent_status", ["agent_id", "status"], unique=False)
        batch_op.create_index("ix_sessions_owner_status", ["owner_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            "ix_sessions_status_group_created",
            ["status", "resource_group_id", "created_at"],
            unique=False,
        )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource_policy_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_projects_resource_policy_id_resource_policies"),
            "resource_policies",
            ["resource_policy_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource_policy_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_resource_policy_id_resource_policies"),
            "resource_policies",
            ["resource_policy_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_users_resource_policy_id_resource_policies"), type_="foreignkey"
        )
        batch_op.drop_column("resource_policy_id")

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_projects_resource_policy_id_resource_policies"), type_="foreignkey"
        )
        batch_op.drop_column("resource_policy_id")

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_status_group_created")
        batch_op.drop_index(batch_op.f("ix_sessions_project_id"))
        batch_op.drop_index("ix_sessions_owner_status")
        batch_op.drop_index("ix_sessions_agent_status")

    op.drop_table("sessions")
    op.drop_table("agent_tokens")
    with op.batch_alter_table("resource_group_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_group_projects_project_id"))

    op.drop_table("resource_group_projects")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_status"))
        batch_op.drop_index(batch_op.f("ix_agents_resource_group_id"))

    op.drop_table("agents")
    op.drop_table("resource_usage")
    op.drop_table("resource_policies")
    op.drop_table("resource_groups")
    op.drop_table("environments")

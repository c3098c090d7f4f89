"""Audit entries. Rows are only ever added; the actor's email is kept as it was at the time."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.db import Base, UTCDateTime, new_id, utcnow


class Action(enum.StrEnum):
    """What was done; the value is stored, so never rename one (add new ones instead)."""

    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    PASSWORD_CHANGE = "auth.password_change"
    TWO_FACTOR_ENABLE = "auth.2fa_enable"
    TWO_FACTOR_DISABLE = "auth.2fa_disable"
    TWO_FACTOR_RESET = "auth.2fa_reset"
    TOKEN_CREATE = "auth.token_create"
    TOKEN_REVOKE = "auth.token_revoke"

    USER_CREATE = "user.create"
    USER_UPDATE = "user.update"
    USER_ROLE_CHANGE = "user.role_change"
    USER_POLICY_CHANGE = "user.policy_change"
    USER_ACTIVATE = "user.activate"
    USER_DEACTIVATE = "user.deactivate"
    USER_PASSWORD_RESET = "user.password_reset"

    PROJECT_CREATE = "project.create"
    PROJECT_UPDATE = "project.update"
    PROJECT_POLICY_CHANGE = "project.policy_change"
    PROJECT_MEMBER_ADD = "project.member_add"
    PROJECT_MEMBER_REMOVE = "project.member_remove"
    PROJECT_MEMBER_ROLE = "project.member_role"
    PROJECT_GROUPS_CHANGE = "project.groups_change"

    POLICY_CREATE = "policy.create"
    POLICY_UPDATE = "policy.update"
    POLICY_DELETE = "policy.delete"

    GROUP_CREATE = "group.create"
    GROUP_UPDATE = "group.update"
    GROUP_PROJECTS_CHANGE = "group.projects_change"
    AGENT_SCHEDULABLE = "agent.schedulable"
    AGENT_MOVE = "agent.move"
    AGENT_TOKEN_CREATE = "agent.token_create"
    AGENT_TOKEN_REVOKE = "agent.token_revoke"

    ENVIRONMENT_ADD = "environment.add"
    ENVIRONMENT_ENABLE = "environment.enable"
    ENVIRONMENT_DISABLE = "environment.disable"
    ENVIRONMENT_DELETE = "environment.delete"
    ENVIRONMENTS_RESCAN = "environment.rescan"

    USAGE_RECALCULATE = "maintenance.recalculate_usage"
    ANNOUNCEMENT_SET = "announcement.set"
    ANNOUNCEMENT_CLEAR = "announcement.clear"

    FOLDER_INVITE = "folder.invite"
    FOLDER_INVITE_ACCEPT = "folder.invite_accept"
    FOLDER_INVITE_DECLINE = "folder.invite_decline"
    FOLDER_INVITE_CANCEL = "folder.invite_cancel"
    FOLDER_SHARE_CHANGE = "folder.share_change"
    FOLDER_SHARE_REVOKE = "folder.share_revoke"
    FOLDER_SHARE_LEAVE = "folder.share_leave"
    FOLDER_DELETE = "folder.delete"

    SESSION_TERMINATE = "session.terminate"


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_action_at", "action", "at"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor_email: Mapped[str] = mapped_column(String(254), default="")  # as typed, for failures
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")  # user, project, folder ...
    target_id: Mapped[str] = mapped_column(String(64), default="")
    target_label: Mapped[str] = mapped_column(String(255), default="")  # e.g. an email, a name
    client_address: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(default=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

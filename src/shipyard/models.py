"""Every domain's tables, imported once so that Base.metadata knows them all."""

from __future__ import annotations

from shipyard.agents.models import Agent, AgentToken, ResourceGroup, ResourceGroupProject
from shipyard.announcements.models import Announcement
from shipyard.audit.models import AuditEntry
from shipyard.auth.models import (
    ApiToken,
    LoginChallenge,
    LoginFailure,
    RecoveryCode,
    SshKey,
    WebSession,
)
from shipyard.db import Base
from shipyard.environments.models import Environment
from shipyard.maintenance.models import AdminTask
from shipyard.policies.models import ResourcePolicy
from shipyard.projects.models import Project, ProjectMember
from shipyard.resources.models import Usage
from shipyard.sessions.models import ComputeSession
from shipyard.storage.models import Folder, FolderInvitation, FolderPermission, Upload
from shipyard.users.models import User

__all__ = [
    "AdminTask",
    "Agent",
    "AgentToken",
    "Announcement",
    "ApiToken",
    "AuditEntry",
    "Base",
    "ComputeSession",
    "Environment",
    "Folder",
    "FolderInvitation",
    "FolderPermission",
    "LoginChallenge",
    "LoginFailure",
    "Project",
    "ProjectMember",
    "RecoveryCode",
    "ResourceGroup",
    "ResourceGroupProject",
    "ResourcePolicy",
    "SshKey",
    "Upload",
    "Usage",
    "User",
    "WebSession",
]

"""Every domain's tables, imported once so that Base.metadata knows them all."""

from __future__ import annotations

from shipyard.auth.models import ApiToken, LoginFailure, WebSession
from shipyard.db import Base
from shipyard.projects.models import Project, ProjectMember
from shipyard.users.models import User

__all__ = ["ApiToken", "Base", "LoginFailure", "Project", "ProjectMember", "User", "WebSession"]

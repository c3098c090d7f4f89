"""Every user's sessions for administrators: the filtered list, a session's details, terminate."""

from __future__ import annotations

from shipyard.web.admin.sessions.routes import router

__all__ = ["router"]

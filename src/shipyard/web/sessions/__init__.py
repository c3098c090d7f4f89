"""The Sessions pages: the list, the START launcher and a session's page."""

from __future__ import annotations

from shipyard.web.sessions.routes import router

__all__ = ["router"]

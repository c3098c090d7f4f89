"""User administration: the list, creating a user, the edit page and its dialogs."""

from __future__ import annotations

from shipyard.web.admin.users.routes import router

__all__ = ["router"]

"""The maintenance page: start a task, watch its progress, see its result and history."""

from __future__ import annotations

from shipyard.web.admin.maintenance.routes import router

__all__ = ["router"]

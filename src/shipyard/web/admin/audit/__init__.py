"""The audit log: filter, page through, export as CSV."""

from __future__ import annotations

from shipyard.web.admin.audit.routes import router

__all__ = ["router"]

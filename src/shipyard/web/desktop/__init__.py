"""The console as a desktop app: manifest, service worker, offline page and native downloads."""

from __future__ import annotations

from shipyard.web.desktop.routes import router

__all__ = ["router"]

"""The browser terminal of an interactive session: its page and its WebSocket relay."""

from __future__ import annotations

from shipyard.web.terminal.routes import router, socket_router

__all__ = ["router", "socket_router"]

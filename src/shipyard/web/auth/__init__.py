"""Logging in (password, then a one-time password where 2FA is on) and out."""

from __future__ import annotations

from shipyard.web.auth.login import router

__all__ = ["router"]

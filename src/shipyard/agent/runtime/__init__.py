"""Session runtimes: the contract (base) and the sandboxed-process implementation."""

from __future__ import annotations

from shipyard.agent.runtime.base import (
    Enforcement,
    Mount,
    Runtime,
    SessionError,
    SessionNotFound,
    SessionSpec,
    SessionStartError,
    SessionStateError,
    SessionStatus,
    SessionUsage,
)
from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agent.runtime.terminal import TerminalClosed, TerminalConnection, attach

__all__ = [
    "Enforcement",
    "Mount",
    "ProcessRuntime",
    "Runtime",
    "SessionError",
    "SessionNotFound",
    "SessionSpec",
    "SessionStartError",
    "SessionStateError",
    "SessionStatus",
    "SessionUsage",
    "TerminalClosed",
    "TerminalConnection",
    "attach",
]

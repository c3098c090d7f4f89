"""The values the API accepts for the CLI's choice options, spelled out here.

The CLI imports no server module (they pull in SQLAlchemy and cost every command a second),
so these mirror the server's enums; a test holds them equal.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    SUPERADMIN = "superadmin"
    ADMIN = "admin"
    USER = "user"


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class AgentStatus(enum.StrEnum):
    ALIVE = "ALIVE"
    LOST = "LOST"
    TERMINATED = "TERMINATED"


class Placement(enum.StrEnum):
    BINPACK = "binpack"
    SPREAD = "spread"


class NetworkMode(enum.StrEnum):
    NONE = "none"
    OUTBOUND = "outbound"

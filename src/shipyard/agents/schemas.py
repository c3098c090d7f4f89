"""What agents and the manager say to each other (the agent protocol, see docs/agents.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AGENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnforcementReport(Strict):
    sandbox: Literal["bubblewrap", "none"]
    cgroups: Literal["v2", "v1", "none"]
    rlimits: bool
    session_uid: int | None = None
    warnings: list[str] = Field(default_factory=list, max_length=20)


class AcceleratorReport(Strict):
    kind: str = Field(max_length=32)  # "cuda"
    index: int = Field(ge=0, le=4095)
    name: str = Field(max_length=128)
    memory: int = Field(ge=0)
    mock: bool = False


class AgentRegister(Strict):
    agent_id: str = Field(pattern=AGENT_ID)
    hostname: str = Field(max_length=255)
    addr: str = Field(max_length=255)  # the agent's own API, for logs and terminals
    version: str = Field(max_length=32)
    capacity: dict[str, str]
    enforcement: EnforcementReport
    accelerators: list[AcceleratorReport] = Field(default_factory=list, max_length=64)
    instance: str = Field(pattern=r"^[0-9a-f]{32}$")  # drawn per agent process (signing.py)


class RegisterReply(BaseModel):
    agent_id: str
    resource_group: str
    heartbeat_interval: float
    lost_after: float


class PullProgress(Strict):
    """A session still being prepared: the bytes of its image the agent has, of `total`."""

    done: int = Field(ge=0)
    total: int = Field(ge=0)


class SessionReport(Strict):
    session_id: uuid.UUID
    running: bool
    exit_code: int | None = None
    oom_killed: bool = False
    error: str | None = Field(default=None, max_length=255)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: set while the agent pulls the session's image (it does not run yet, nor has it ended)
    pulling: PullProgress | None = None


class Heartbeat(Strict):
    agent_id: str = Field(pattern=AGENT_ID)
    utilization: dict[str, Any] = Field(default_factory=dict)
    sessions: list[SessionReport] = Field(default_factory=list, max_length=10000)


class HeartbeatReply(BaseModel):
    desired_version: int


class DesiredMount(BaseModel):
    """A folder to bind at /home/work/<name>; `source` is its path on the agent's host.

    `access` is what the session may do there now: "ro" read; "rw" also create, write,
    replace and rename; "full" also delete. A running session follows a lower one at once.
    `limit` is the folder's size limit in bytes (None: none), which the agent holds for
    what sessions write (shipyard.agent.quota).
    """

    source: str
    name: str
    access: Literal["ro", "rw", "full"]
    limit: int | None = None


class DesiredImage(BaseModel):
    """The OCI image a session runs in, as the agent fetches it from the manager by digest
    (GET /api/v1/agent/blobs/{digest}): its manifest's digest, and the bytes of all its
    blobs (manifest, config and layers; 0 when the manager does not know them)."""

    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    size: int = Field(ge=0)


class DesiredSession(BaseModel):
    """A session an agent should run. The agent builds its argv from `kind` and `command`:
    a terminal's shell for "interactive" (`command` None), the raw `command` through a shell
    for "batch" (shipyard.agent.daemon.argv)."""

    session_id: uuid.UUID
    kind: Literal["batch", "interactive"]
    command: str | None  # the user's command line as typed, for a batch session
    env: dict[str, str]
    interpreter: str  # offered as `python` inside the session when set
    path_prefix: str
    cpu: str
    mem: int
    gpus: int
    mounts: list[DesiredMount]
    uid: int  # the session account of its owner (shipyard.users.unix)
    user: str  # that account's name in the session's /etc/passwd
    network: Literal["none", "outbound"]
    network_allow: list[str]  # allow-listed site networks, "10.1.2.0/24" or "10.1.2.3:443"
    scratch: int  # bytes of scratch space: /tmp with a `home`, else /home/work
    #: the owner's home folder, bound at /home/work itself (its `name` is not used; None:
    #: no home, /home/work is scratch space that ends with the session)
    home: DesiredMount | None = None
    #: the image the session runs inside (None: the host's system, as before)
    image: DesiredImage | None = None


class DesiredState(BaseModel):
    version: int
    sessions: list[DesiredSession]

"""Resource groups, agent tokens, registration, heartbeats and lost agents."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shipyard.agents import signing
from shipyard.agents.models import (
    DEFAULT_GROUP,
    Agent,
    AgentStatus,
    AgentToken,
    ResourceGroup,
    ResourceGroupProject,
)
from shipyard.agents.notifier import BUMPED
from shipyard.agents.schemas import AgentRegister
from shipyard.auth import tokens
from shipyard.db import utcnow
from shipyard.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.projects.models import Project
from shipyard.resources.slots import SLOT_KINDS, ResourceSlots

AGENT_TOKEN_PREFIX = "sya_"  # noqa: S105 - a marker, not a secret


def default_group(db: Session) -> ResourceGroup:
    group = db.scalar(select(ResourceGroup).where(ResourceGroup.name == DEFAULT_GROUP))
    if group is None:
        group = ResourceGroup(name=DEFAULT_GROUP, description="Every project may use it.")
        db.add(group)
        db.flush()
    return group


def group_by_name(db: Session, name: str) -> ResourceGroup:
    group = db.scalar(select(ResourceGroup).where(ResourceGroup.name == name))
    if group is None or not group.is_active:
        raise NotFound(_("No such resource group: %(name)s.") % {"name": name})
    return group


def create_group(db: Session, *, name: str, description: str = "") -> ResourceGroup:
    if db.scalar(select(ResourceGroup).where(ResourceGroup.name == name)) is not None:
        raise Conflict(_("A resource group with this name already exists."))
    group = ResourceGroup(name=name, description=description)
    db.add(group)
    db.commit()
    return group


def allow_project(db: Session, *, group: ResourceGroup, project: Project) -> None:
    """Let a project use a resource group (idempotent)."""
    if db.get(ResourceGroupProject, (group.id, project.id)) is None:
        db.add(ResourceGroupProject(resource_group_id=group.id, project_id=project.id))
        db.flush()


def groups_of_project(db: Session, project_id: uuid.UUID) -> list[ResourceGroup]:
    return list(
        db.scalars(
            select(ResourceGroup)
            .join(ResourceGroupProject, ResourceGroupProject.resource_group_id == ResourceGroup.id)
            .where(
                ResourceGroupProject.project_id == project_id,
                ResourceGroup.is_active.is_(True),
            )
            .order_by(ResourceGroup.name)
        )
    )


def create_agent_token(
    db: Session, *, group_name: str, created_by: uuid.UUID | None = None
) -> tuple[str, AgentToken]:
    """A new secret for agents of one resource group; the raw value is returned once."""
    raw, token = new_agent_token(db, group=group_by_name(db, group_name), created_by=created_by)
    db.commit()
    return raw, token


def new_agent_token(
    db: Session, *, group: ResourceGroup, created_by: uuid.UUID | None = None
) -> tuple[str, AgentToken]:
    """create_agent_token() in the caller's transaction (the caller commits)."""
    raw = AGENT_TOKEN_PREFIX + tokens.new_secret()
    token = AgentToken(
        token_hash=tokens.digest(raw),
        prefix=raw[:12],
        resource_group_id=group.id,
        created_by=created_by,
    )
    db.add(token)
    db.flush()
    return raw, token


def group_of_token(db: Session, raw: str) -> ResourceGroup:
    """The resource group a raw agent token admits to, or AuthenticationFailed."""
    token = db.scalar(select(AgentToken).where(AgentToken.token_hash == tokens.digest(raw)))
    return _group_of(db, token)


@dataclass(frozen=True)
class AgentKey:
    """An agent token as the manager knows it: its row and digest (keys derive from it)."""

    token_id: uuid.UUID
    token_hash: str

    @property
    def manager_key(self) -> bytes:
        return signing.manager_key(self.token_hash)


# key id -> token, for every live token seen so far; a token never changes its digest, and
# revocation is checked on each request (group_of_key), so entries never go stale.
_keys: dict[str, AgentKey] = {}
_keys_lock = threading.Lock()


def cached_key(kid: str) -> AgentKey | None:
    """The token a request's key id names, if this process has met it (no database)."""
    return _keys.get(kid)


def find_key(db: Session, kid: str) -> AgentKey | None:
    """The token a key id names, looked up among all live tokens (refreshes the cache)."""
    rows = db.execute(
        select(AgentToken.id, AgentToken.token_hash).where(AgentToken.revoked_at.is_(None))
    ).all()
    found = {signing.key_id(row.token_hash): AgentKey(row.id, row.token_hash) for row in rows}
    with _keys_lock:
        _keys.update(found)
    return found.get(kid)


def group_of_key(db: Session, key: AgentKey) -> ResourceGroup:
    """The resource group the token behind a verified signature admits to, or
    AuthenticationFailed (revoked token, inactive group)."""
    token = db.get(AgentToken, key.token_id)
    return _group_of(db, token if token and token.token_hash == key.token_hash else None)


def _group_of(db: Session, token: AgentToken | None) -> ResourceGroup:
    group = db.get(ResourceGroup, token.resource_group_id) if token else None
    if token is None or token.revoked_at is not None or group is None or not group.is_active:
        raise AuthenticationFailed(_("The agent token is invalid or revoked."))
    return group


def register(
    db: Session,
    *,
    group: ResourceGroup,
    payload: AgentRegister,
    token_hash: str,
    unsandboxed_ok: bool = False,
) -> Agent:
    """Create or refresh an agent; an agent keeps its id (and sessions) across restarts.

    The key the manager signs its calls to the agent with derives from the agent's token
    (`token_hash`) and the instance the agent process drew: nothing secret is sent.
    An agent without a sandbox gets no sessions (it is made unschedulable) unless
    `unsandboxed_ok` (the manager listens on loopback alone).
    """
    capacity = _capacity(payload.capacity)
    agent = db.get(Agent, payload.agent_id)
    if agent is None:
        agent = Agent(id=payload.agent_id, resource_group_id=group.id)
        db.add(agent)
    if agent.resource_group_id != group.id:
        raise Conflict(_("This agent id is registered in another resource group."))
    if payload.enforcement.sandbox == "none" and not unsandboxed_ok:
        agent.schedulable = False
    agent.status = AgentStatus.ALIVE
    agent.hostname = payload.hostname
    agent.addr = payload.addr
    agent.version = payload.version
    agent.capacity = capacity.to_json()
    agent.enforcement = payload.enforcement.model_dump()
    agent.accelerators = [a.model_dump() for a in payload.accelerators]
    agent.api_secret = signing.agent_api_key(
        token_hash, agent_id=payload.agent_id, instance=payload.instance
    )
    agent.last_heartbeat_at = utcnow()
    agent.lost_at = None
    db.commit()
    return agent


def _capacity(raw: dict[str, str]) -> ResourceSlots:
    unknown = sorted(set(raw) - set(SLOT_KINDS))
    if unknown:
        raise InvalidInput(_("Unknown resource: %(slot)s.") % {"slot": unknown[0]})
    return ResourceSlots.from_json(raw)


def agent_of(db: Session, *, group: ResourceGroup, agent_id: str) -> Agent:
    agent = db.get(Agent, agent_id)
    if agent is None or agent.resource_group_id != group.id:
        raise NotFound(_("Unknown agent: register first."))
    return agent


def touch(db: Session, *, agent: Agent, utilization: dict[str, object]) -> bool:
    """Record a heartbeat; True when a LOST agent has just come back (capacity returns)."""
    agent.utilization = utilization
    agent.last_heartbeat_at = utcnow()
    if agent.status is not AgentStatus.LOST:
        return False
    agent.status = AgentStatus.ALIVE
    agent.lost_at = None
    return True


def lost_agents(db: Session, *, lost_after: float, watching_since: datetime) -> list[Agent]:
    """ALIVE agents silent for lost_after seconds, now marked LOST.

    Silence counts only from `watching_since` (when this manager started looking): after a
    manager restart, agents get the full timeout to reconnect before they are called lost.
    """
    now = utcnow()
    if now - watching_since < timedelta(seconds=lost_after):
        return []
    horizon = now - timedelta(seconds=lost_after)
    agents = list(
        db.scalars(
            select(Agent).where(
                Agent.status == AgentStatus.ALIVE, Agent.last_heartbeat_at < horizon
            )
        )
    )
    for agent in agents:
        agent.status = AgentStatus.LOST
        agent.lost_at = now
    return agents


def bump(db: Session, agent_id: str) -> None:
    """The agent's desired state changed: its long-poll must wake up."""
    bump_many(db, [agent_id])


def bump_many(db: Session, agent_ids: Iterable[str]) -> None:
    """bump() for several agents, in one statement; their long-polls wake once db commits
    (Notifier.watch)."""
    ids = sorted(set(agent_ids))
    if ids:
        db.execute(
            update(Agent).where(Agent.id.in_(ids)).values(desired_version=Agent.desired_version + 1)
        )
        db.info.setdefault(BUMPED, set()).update(ids)


def enforcement_notices(db: Session) -> list[str]:
    """What admins must know about live agents that cannot enforce everything.

    Runs on every admin page: the indexed `unenforced` column picks the few such agents."""
    notices = []
    query = select(Agent).where(Agent.unenforced.is_(True), Agent.status == AgentStatus.ALIVE)
    for agent in db.scalars(query.order_by(Agent.id)):
        enforcement = agent.enforcement or {}
        if enforcement.get("sandbox") == "none" and agent.schedulable:
            notices.append(
                _("Agent %(id)s runs sessions without a sandbox: install bubblewrap there.")
                % {"id": agent.id}
            )
        elif enforcement.get("sandbox") == "none":
            notices.append(
                _("Agent %(id)s has no sandbox and gets no sessions: install bubblewrap there.")
                % {"id": agent.id}
            )
        if enforcement.get("cgroups") == "none":
            notices.append(
                _("Agent %(id)s has no cgroups: limits are enforced with rlimits only.")
                % {"id": agent.id}
            )
    return notices


def largest_capacity(db: Session, group_id: uuid.UUID) -> ResourceSlots:
    """Per slot, the most any agent of the group offers (what one session could ever get)."""
    capacities = [
        agent.capacity_slots
        for agent in db.scalars(select(Agent).where(Agent.resource_group_id == group_id))
    ]
    slots = {slot for capacity in capacities for slot in capacity}
    return ResourceSlots({slot: max(c[slot] for c in capacities) for slot in slots})

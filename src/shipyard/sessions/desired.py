"""An agent's desired state: the sessions it should run, as the agent protocol sends them.

Each session goes as its kind and raw command; the agent builds the argv (docs/agents.md).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shipyard.agents import service as agents
from shipyard.agents.models import ResourceGroup
from shipyard.agents.schemas import DesiredImage, DesiredMount, DesiredSession, DesiredState
from shipyard.config import Settings
from shipyard.environments.models import Environment, EnvironmentKind
from shipyard.i18n import _
from shipyard.policies import service as policies
from shipyard.policies.models import PolicyKind
from shipyard.sessions import lifecycle
from shipyard.sessions.models import ComputeSession, SessionStatus, SessionType
from shipyard.storage import mounts as folder_mounts
from shipyard.storage.mounts import GrantedMount
from shipyard.users import unix
from shipyard.users.models import User

if TYPE_CHECKING:
    from shipyard.agents.notifier import Notifier
    from shipyard.db import Database

DESIRED = (SessionStatus.SCHEDULED, SessionStatus.PREPARING, SessionStatus.RUNNING)
RECHECK = 1.0  # seconds between looks while waiting, should a wake-up come from elsewhere


async def next_state(
    database: Database,
    settings: Settings,
    *,
    notifier: Notifier,
    group: ResourceGroup,
    agent_id: str,
    after: int,
    wait: float,
) -> DesiredState:
    """The agent's desired state once its version is newer than `after` (a long-poll).

    Waits up to `wait` seconds for a change, woken by the notifier as soon as one commits, so
    a START reaches the agent at once; then answers the current state whatever its version.
    """
    deadline = time.monotonic() + wait
    while True:
        state = await run_in_threadpool(
            load, database, settings, group=group, agent_id=agent_id, after=after
        )
        remaining = deadline - time.monotonic()
        if state is not None or remaining <= 0:
            break
        await notifier.wait(agent_id, timeout=min(RECHECK, remaining))
    if state is None:
        state = await run_in_threadpool(
            load, database, settings, group=group, agent_id=agent_id, after=-1
        )
    assert state is not None  # after=-1: every version is newer
    return state


def load(
    database: Database, settings: Settings, *, group: ResourceGroup, agent_id: str, after: int
) -> DesiredState | None:
    """The desired state, or None while its version is not newer than `after`.

    Sessions the agent is sent for the first time move from SCHEDULED to PREPARING.
    """
    with database.session() as db:
        agent = agents.agent_of(db, group=group, agent_id=agent_id)
        if agent.desired_version <= after:
            return None
        rows = list(
            db.scalars(
                select(ComputeSession).where(
                    ComputeSession.agent_id == agent.id, ComputeSession.status.in_(DESIRED)
                )
            )
        )
        for session in rows:
            if session.status is SessionStatus.SCHEDULED:
                lifecycle.move(db, session, SessionStatus.PREPARING, _("Starting on the agent."))
        version = agent.desired_version
        specs = _specs(db, settings, group, rows)
        db.commit()
        return DesiredState(version=version, sessions=specs)


def _specs(
    db: Session, settings: Settings, group: ResourceGroup, rows: list[ComputeSession]
) -> list[DesiredSession]:
    owners = {s.owner_id for s in rows}
    uids = unix.session_uids(db, settings, user_ids=owners)
    users = (
        db.execute(
            select(User.id, User.email, User.resource_policy_id).where(User.id.in_(owners))
        ).all()
        if rows
        else []
    )
    emails = {row.id: row.email for row in users}
    account = {owner: _Account(uid=uids[owner], user=login_name(emails[owner])) for owner in owners}
    scratch = _scratch_sizes(db, settings, {row.id: row.resource_policy_id for row in users})
    envs = (
        {
            env.id: env
            for env in db.scalars(
                select(Environment).where(Environment.id.in_({s.environment_id for s in rows}))
            )
        }
        if rows
        else {}
    )
    granted = folder_mounts.granted_now(db, rows)
    homes = folder_mounts.granted_homes(db, settings, owners=owners)
    return [
        _spec(
            session,
            envs[session.environment_id],
            account=account[session.owner_id],
            group=group,
            scratch=scratch[session.owner_id],
            mounts=granted[session.id],
            home=homes.get(session.owner_id),
        )
        for session in rows
    ]


def _scratch_sizes(
    db: Session, settings: Settings, policy_of: dict[uuid.UUID, uuid.UUID | None]
) -> dict[uuid.UUID, int]:
    """Each owner's scratch bytes: their user policy's (or the default one's), else the site's.

    At most two statements whatever the number of owners; none without owners.
    """
    if not policy_of:
        return {}
    found = policies.policies_by_id(db, PolicyKind.USER, {p for p in policy_of.values() if p})
    site = settings.session_scratch_mb * 2**20
    return {
        owner: (found.get(policy_id) or found[None]).max_session_scratch or site
        for owner, policy_id in policy_of.items()
    }


class _Account(NamedTuple):
    uid: int
    user: str


def login_name(email: str) -> str:
    """The session's /etc/passwd name: the email's local part, as far as it is a valid one."""
    local = re.sub(r"[^a-z0-9_-]", "", email.partition("@")[0].lower())[:32]
    valid = re.fullmatch(r"[a-z_][a-z0-9_-]*", local) and local not in ("root", "nobody")
    return local if valid else "work"


def _spec(
    session: ComputeSession,
    env: Environment,
    *,
    account: _Account,
    group: ResourceGroup,
    scratch: int,
    mounts: list[GrantedMount],
    home: GrantedMount | None,
) -> DesiredSession:
    slots = session.slots
    interactive = session.type is SessionType.INTERACTIVE
    return DesiredSession(
        uid=account.uid,
        user=account.user,
        network=group.network_mode.value,
        network_allow=list(group.network_allow),
        scratch=scratch,
        session_id=session.id,
        kind="interactive" if interactive else "batch",
        command=None if interactive else session.command,
        env={"SHIPYARD_SESSION_ID": str(session.id), "SHIPYARD_SESSION_NAME": session.name},
        interpreter=env.interpreter,
        path_prefix=env.path_prefix,
        cpu=format(slots["cpu"].normalize(), "f"),
        mem=int(slots["mem"]),
        gpus=int(slots["cuda.device"]),
        mounts=[_mount(mount) for mount in mounts],
        home=_mount(home) if home is not None else None,
        image=_image(env),
    )


def _image(env: Environment) -> DesiredImage | None:
    """The image a session of `env` runs in, by its manifest digest (None: the host's system).

    The agent fetches its blobs from the manager (GET /api/v1/agent/blobs/{digest}); `size`
    is what it shows as the pull's total until it has read the manifest.
    """
    if env.kind is not EnvironmentKind.IMAGE or not env.image_digest:
        return None
    return DesiredImage(digest=env.image_digest, size=env.size or 0)


def _mount(mount: GrantedMount) -> DesiredMount:
    """A folder as the owner may use it now (left out once they may not at all)."""
    return DesiredMount(
        source=mount.source, name=mount.name, access=mount.access, limit=mount.limit
    )

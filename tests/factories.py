"""Test data with unique names: users, projects, memberships (no cleanup needed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient

from shipyard.admin.bootstrap import ensure_defaults
from shipyard.agents import service as agents
from shipyard.agents.models import Agent
from shipyard.agents.notifier import Notifier
from shipyard.agents.schemas import AgentRegister, EnforcementReport
from shipyard.auth import service as auth
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.http.principal import SESSION_COOKIE
from shipyard.policies import service as policies
from shipyard.policies.models import OnQuota, PolicyKind, ResourcePolicy
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.resources.slots import ResourceSlots
from shipyard.scheduler.loop import SchedulerLoop
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionType
from shipyard.sessions.schemas import SessionCreate
from shipyard.storage import service as folders
from shipyard.storage import sharing
from shipyard.storage.models import Folder, Perm
from shipyard.storage.schemas import FolderCreate
from shipyard.users import service as users
from shipyard.users.models import Role, User
from shipyard.web.cookies import LANGUAGE_COOKIE
from tests.signed_agent import FACTORY_TOKEN_HASH, INSTANCE
from tests.webclient import set_cookie

_sequence = itertools.count(1)
PASSWORD = "correct-Horse-7"
# What Starlette's TestClient sends as the client's address and user agent.
TEST_CLIENT = "testclient"


@dataclass(frozen=True)
class Account:
    user: User
    email: str
    password: str


class Factory:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        with database.session() as db:
            ensure_defaults(db)

    def user(
        self, *, role: Role = Role.USER, password: str = PASSWORD, full_name: str = ""
    ) -> Account:
        number = next(_sequence)
        email = f"user{number}@example.org"
        with self.database.session() as db:
            user = users.create_user(
                db,
                email=email,
                password=password,
                settings=self.settings,
                full_name=full_name or f"User {number}",
                role=role,
            )
        return Account(user=user, email=email, password=password)

    def admin(self) -> Account:
        return self.user(role=Role.ADMIN)

    def web_login(self, client: TestClient, account: Account) -> str:
        """Log `client` in as the login form ends a login, without the form: a fresh web
        session (ending the one the client had) and its cookies. Returns its CSRF token.

        For tests whose subject is not the login itself (those post the real form).
        """
        with self.database.session() as db:
            user = db.get(User, account.user.id)
            assert user is not None, "the account is not in this test's database"
            raw, web_session = auth.start_web_session(
                db,
                user=user,
                settings=self.settings,
                client_address=TEST_CLIENT,
                user_agent=TEST_CLIENT,
                replaces=client.cookies.get(SESSION_COOKIE),
            )
        set_cookie(client, SESSION_COOKIE, raw)
        if user.language:
            set_cookie(client, LANGUAGE_COOKIE, user.language)
        return web_session.csrf_token

    def project(self, *, members: tuple[User, ...] = (), description: str = "") -> Project:
        with self.database.session() as db:
            project = projects.create_project(
                db, name=f"project-{next(_sequence)}", description=description
            )
            for member in members:
                projects.add_member(db, project=project, user=member)
            db.commit()
        return project

    def agent(
        self, *, group: str = "default", cpu: str = "8", mem: str = "16g", gpus: int = 0
    ) -> Agent:
        """A registered agent (no process behind it: tests report for it)."""
        capacity = {"cpu": cpu, "mem": str(ResourceSlots.parse([f"mem={mem}"])["mem"])}
        if gpus:
            capacity["cuda.device"] = str(gpus)
        payload = AgentRegister(
            agent_id=f"agent-{next(_sequence)}",
            hostname="test-node",
            addr="http://127.0.0.1:9",
            version="test",
            capacity=capacity,
            enforcement=EnforcementReport(sandbox="bubblewrap", cgroups="v1", rlimits=False),
            instance=INSTANCE,
        )
        with self.database.session() as db:
            return agents.register(
                db,
                group=agents.group_by_name(db, group),
                payload=payload,
                token_hash=FACTORY_TOKEN_HASH,
            )

    def session(
        self,
        owner: User,
        *,
        cpu: str = "1",
        mem: str = "1g",
        gpus: int = 0,
        kind: SessionType = SessionType.BATCH,
        command: str = "true",
        project: str | None = None,
    ) -> ComputeSession:
        resources = {"cpu": cpu, "mem": mem}
        if gpus:
            resources["cuda.device"] = str(gpus)
        spec = SessionCreate(type=kind, command=command, resources=resources, project=project)
        with self.database.session() as db:
            return sessions.create_session(db, self.settings, owner=db.merge(owner), spec=spec)

    def user_policy(
        self,
        user: User,
        *,
        slots: dict[str, str] | None = None,
        max_sessions: int | None = None,
        max_pending: int | None = None,
        on_quota: OnQuota = OnQuota.REFUSE,
    ) -> ResourcePolicy:
        with self.database.session() as db:
            policy = policies.create_policy(
                db,
                name=f"policy-{next(_sequence)}",
                kind=PolicyKind.USER,
                total_slots=slots,
                max_concurrent_sessions=max_sessions,
                max_pending_sessions=max_pending,
                on_quota=on_quota,
            )
            db.merge(user).resource_policy_id = policy.id
            db.commit()
        return policy

    def folder(self, owner: User, *, name: str | None = None, project: str | None = None) -> Folder:
        """A folder with its directory on the local storage host."""
        spec = FolderCreate(name=name or f"folder-{next(_sequence)}", project=project)
        with self.database.session() as db:
            access = folders.create_folder(db, self.settings, user=db.merge(owner), spec=spec)
            return access.folder

    def share(self, folder: Folder, owner: User, invitee: Account, perm: Perm) -> None:
        """Invite and accept: `invitee` gets `perm` on the owner's folder."""
        with self.database.session() as db:
            invitation = sharing.invite(
                db, user=db.merge(owner), ref=str(folder.id), email=invitee.email, perm=perm
            )
            sharing.accept(db, user=db.merge(invitee.user), invitation_id=invitation.id)


def watching_loop(database: Database) -> SchedulerLoop:
    """A scheduler loop that has been watching agents for an hour (30 s lost timeout)."""
    loop = SchedulerLoop(database, Notifier(), lost_after=30)
    loop.started_at = utcnow() - timedelta(hours=1)
    return loop

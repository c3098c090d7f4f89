"""Test data with unique names: users, projects, memberships (no cleanup needed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from shipyard.config import Settings
from shipyard.db import Database
from shipyard.projects import service as projects
from shipyard.projects.models import Project
from shipyard.users import service as users
from shipyard.users.models import Role, User

_sequence = itertools.count(1)
PASSWORD = "correct-Horse-7"


@dataclass(frozen=True)
class Account:
    user: User
    email: str
    password: str


class Factory:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

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

    def project(self, *, members: tuple[User, ...] = (), description: str = "") -> Project:
        with self.database.session() as db:
            project = projects.create_project(
                db, name=f"project-{next(_sequence)}", description=description
            )
            for member in members:
                projects.add_member(db, project=project, user=member)
            db.commit()
        return project

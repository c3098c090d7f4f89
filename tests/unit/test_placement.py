"""One placement rule: the service refuses what the launcher shows the nearest choice for."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from shipyard.agents import service as agents
from shipyard.agents.models import ResourceGroupProject
from shipyard.db import Database
from shipyard.errors import InvalidInput, NotFound
from shipyard.projects import service as projects
from shipyard.resources.slots import ResourceSlots
from shipyard.sessions import placement
from tests.factories import Factory


def test_a_request_without_names_goes_to_the_current_project_and_its_first_group(
    database: Database, factory: Factory
) -> None:
    account = factory.user()
    with database.session() as db:
        where = placement.resolve_placement(
            db, user=account.user, project=None, group=None, resources={}
        )
        assert where.project.name == projects.default_project(db).name
        assert where.group.name == "default"
        assert where.request == ResourceSlots.from_json({"cpu": "1", "mem": "1g"})


def test_a_project_the_user_is_not_in_is_refused_and_the_launcher_offers_the_current_one(
    database: Database, factory: Factory
) -> None:
    account = factory.user()
    elsewhere = factory.project()
    with database.session() as db:
        mine = projects.projects_of(db, account.user)
        choice = placement.choose(
            db, user=account.user, mine=mine, project=elsewhere.name, group=None
        )
        assert choice.project is not None
        assert choice.project.name == "default"
        assert [group.name for group in choice.groups] == ["default"]
        assert isinstance(choice.refusal, NotFound)
        assert choice.refusal.details == {"field": "project"}
        with pytest.raises(NotFound) as refused:
            placement.resolve_placement(
                db, user=account.user, project=elsewhere.name, group=None, resources={}
            )
        assert refused.value.message == f"No such project: {elsewhere.name}."


def test_a_group_the_project_may_not_use_is_refused_and_the_first_one_offered(
    database: Database, factory: Factory
) -> None:
    account = factory.user()
    with database.session() as db:
        agents.create_group(db, name="gpu-only")
        mine = projects.projects_of(db, account.user)
        choice = placement.choose(db, user=account.user, mine=mine, project=None, group="gpu-only")
        assert choice.group is not None
        assert choice.group.name == "default"
        assert isinstance(choice.refusal, NotFound)
        assert choice.refusal.details == {"field": "resource_group"}
        with pytest.raises(NotFound) as refused:
            choice.required()
        assert refused.value.message == "No such resource group for this project: gpu-only."


def test_a_project_without_groups_and_a_user_without_projects_are_refused(
    database: Database, factory: Factory
) -> None:
    account = factory.user()
    loner = factory.project()
    with database.session() as db:
        db.execute(delete(ResourceGroupProject).where(ResourceGroupProject.project_id == loner.id))
        db.commit()
        choice = placement.choose(db, user=account.user, mine=[loner], project=None, group=None)
        assert (choice.project, choice.groups, choice.group) == (loner, [], None)
        with pytest.raises(InvalidInput) as refused:
            choice.required()
        assert refused.value.message == "Your project may not use any resource group."
        nowhere = placement.choose(db, user=account.user, mine=[], project=None, group=None)
        assert (nowhere.project, nowhere.groups, nowhere.group) == (None, [], None)
        with pytest.raises(InvalidInput) as alone:
            nowhere.required()
        assert alone.value.message == "You are not a member of any active project."

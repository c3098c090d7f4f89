"""The Summary page's figures through the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shipyard.api.deps import ApiUser
from shipyard.http.deps import DbDep
from shipyard.summary import service as summary
from shipyard.summary.schemas import ResourceStatisticsPublic, SystemResourcesPublic

router = APIRouter(prefix="/summary", tags=["summary"])

Ref = Annotated[str | None, Query(max_length=64)]


@router.get("/resources")
def resources(
    user: ApiUser, db: DbDep, project: Ref = None, group: Ref = None
) -> ResourceStatisticsPublic:
    """Your, the resource group's and the project's use and limits (current project and its
    first group unless named); 404 for a project or group you may not use."""
    chosen = summary.project_of(db, user=user, ref=project)
    figures = summary.resource_statistics(
        db, user=user, project=chosen, group_name=group, strict=True
    )
    return ResourceStatisticsPublic.of(figures)


@router.get("/system")
def system(user: ApiUser, db: DbDep) -> SystemResourcesPublic:
    """Connected agents, unfinished sessions and the agents' reserved and used resources;
    a normal user gets only the number of their own unfinished sessions."""
    return SystemResourcesPublic.of(summary.system_resources(db, user=user))

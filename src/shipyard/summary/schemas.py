"""The Summary figures on the wire: exact amounts as strings, "inf" when unlimited."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shipyard.resources.slots import amount_text
from shipyard.summary.figures import Gauge, ResourceStatistics, SystemResources


class GaugePublic(BaseModel):
    used: str = Field(description="exact amount in use")
    total: str = Field(description='the limit or capacity; "inf" when unlimited')

    @classmethod
    def of(cls, gauge: Gauge) -> GaugePublic:
        return cls(**gauge.wire())


class SlotStatisticsPublic(BaseModel):
    slot: str
    user: GaugePublic
    resource_group: GaugePublic
    project: GaugePublic
    remaining: str = Field(
        description="what one more session could get now under every limit at once and the "
        "group's free capacity (the most free on one agent)"
    )
    remaining_set_by: str = Field(
        description='the limit that sets it: "user", "project", "group", "sessions", "pending"'
    )


class ResourceStatisticsPublic(BaseModel):
    project: str | None
    resource_group: str | None
    resource_groups: list[str] = Field(description="the groups the project may use")
    slots: list[SlotStatisticsPublic]
    sessions: GaugePublic = Field(description="occupying sessions of the maximum concurrent")

    @classmethod
    def of(cls, figures: ResourceStatistics) -> ResourceStatisticsPublic:
        return cls(
            project=figures.project,
            resource_group=figures.group,
            resource_groups=figures.groups,
            slots=[
                SlotStatisticsPublic(
                    slot=row.slot,
                    user=GaugePublic.of(row.user),
                    resource_group=GaugePublic.of(row.group),
                    project=GaugePublic.of(row.project),
                    remaining=amount_text(row.remaining),
                    remaining_set_by=row.bound,
                )
                for row in figures.slots
            ],
            sessions=GaugePublic.of(figures.sessions),
        )


class AgentSlotPublic(BaseModel):
    slot: str
    capacity: str = Field(description="of the live agents")
    reserved: str = Field(description="held by sessions on agents (the ledger)")
    used: str = Field(description="actually in use, as the agents last reported")


class SystemResourcesPublic(BaseModel):
    """For a normal user only `sessions` (their own unfinished sessions) is given."""

    sessions: int = Field(description="unfinished compute sessions (a user's own)")
    agents: int | None = Field(default=None, description="connected agents (administrators)")
    slots: list[AgentSlotPublic] | None = Field(default=None, description="(administrators)")

    @classmethod
    def of(cls, figures: SystemResources) -> SystemResourcesPublic:
        if not figures.admin:
            return cls(sessions=figures.sessions)
        return cls(
            sessions=figures.sessions,
            agents=figures.agents,
            slots=[
                AgentSlotPublic(
                    slot=row.slot,
                    capacity=amount_text(row.reserved.total),
                    reserved=amount_text(row.reserved.used),
                    used=amount_text(row.used.used),
                )
                for row in figures.slots
            ],
        )

"""The console's administration of agents and agent tokens (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from shipyard.admin import agents as admin
from shipyard.agents.admin_schemas import AgentTokenIssued
from shipyard.agents.models import Agent, AgentStatus
from shipyard.agents.schemas import AGENT_ID
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.i18n import _
from shipyard.validation import NO_NUL
from shipyard.web.admin.agents import view
from shipyard.web.deps import CurrentAdmin
from shipyard.web.htmx import is_htmx, render, trigger

router = APIRouter()

AgentId = Annotated[str, Path(max_length=64, pattern=AGENT_ID)]
Text = Annotated[str, Form(max_length=1024, pattern=NO_NUL)]
BACK = "/admin/agents"


@router.get("/admin/agents")
def agents_page(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    group: Annotated[str, Query(max_length=64, pattern=NO_NUL)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    """Agents with filters and paging, and the agent tokens; htmx refreshes get the lists."""
    state = AgentStatus(status) if status in {s.value for s in AgentStatus} else None
    page = admin.list_agents(db, group=group, status=state, offset=offset)
    filters = {"group": group, "status": state.value if state else ""}
    context = {
        "page": page,
        "filters": filters,
        "pager": view.pager(BACK, filters, offset=offset, limit=admin.PAGE_SIZE, count=page.count),
        "groups": admin.group_names(db),
        "tokens": admin.list_tokens(db),
        **view.looks(),
    }
    return render(
        request, "admin/agents.html", context, viewer=viewer, fragment="admin/_agents.html"
    )


# Drain / undrain ------------------------------------------------------------------------------


def _schedulable_context(db: Session, agent_id: str, schedulable: bool) -> dict[str, Any]:
    return {"agent": admin.get_agent(db, agent_id), "schedulable": schedulable, "back": BACK}


@router.get("/admin/agents/{agent_id}/schedulable")
def schedulable_dialog(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    agent_id: AgentId,
    value: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    context = _schedulable_context(db, agent_id, value)
    return view.DIALOGS.show(request, viewer, "admin/_agent_schedulable.html", context)


@router.post("/admin/agents/{agent_id}/schedulable")
def set_schedulable(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    settings: SettingsDep,
    agent_id: AgentId,
    schedulable: Annotated[bool, Form()] = False,
) -> Response:
    def done(agent: Agent) -> Response:
        message = (
            _("Agent %(id)s gets new sessions again.")
            if agent.schedulable
            else _("Agent %(id)s is draining: it gets no new sessions.")
        ) % {"id": agent.id}
        return view.done(request, message=message, back=BACK)

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_agent_schedulable.html",
        context=lambda: {**_schedulable_context(db, agent_id, schedulable), "form": {}},
        action=lambda: admin.set_schedulable(
            db,
            actor=viewer.user,
            agent_id=agent_id,
            schedulable=schedulable,
            unsandboxed_ok=settings.loopback_only,
        ),
        on_done=done,
    )


# Move to another group -------------------------------------------------------------------------


def _move_context(db: Session, agent_id: str, group: str) -> dict[str, Any]:
    agent = admin.get_agent(db, agent_id)
    return {
        "agent": agent,
        "groups": admin.group_names(db, active_only=True),
        "form": {"resource_group": group or agent.resource_group},
        "back": BACK,
    }


@router.get("/admin/agents/{agent_id}/move")
def move_dialog(request: Request, viewer: CurrentAdmin, db: DbDep, agent_id: AgentId) -> Response:
    context = _move_context(db, agent_id, "")
    return view.DIALOGS.show(request, viewer, "admin/_agent_move.html", context)


@router.post("/admin/agents/{agent_id}/move")
def move(
    request: Request,
    viewer: CurrentAdmin,
    db: DbDep,
    agent_id: AgentId,
    resource_group: Text = "",
) -> Response:
    def done(_moved: Agent) -> Response:
        message = _("Agent %(id)s moved to %(group)s.") % {"id": agent_id, "group": resource_group}
        return view.done(request, message=message, back=BACK)

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_agent_move.html",
        context=lambda: _move_context(db, agent_id, resource_group),
        action=lambda: admin.move_agent(
            db, actor=viewer.user, agent_id=agent_id, group_name=resource_group
        ),
        on_done=done,
    )


# Agent tokens ----------------------------------------------------------------------------------


def _token_context(db: Session, group: str) -> dict[str, Any]:
    return {
        "groups": admin.group_names(db, active_only=True),
        "form": {"resource_group": group or "default"},
        "back": BACK,
    }


@router.get("/admin/agent-tokens/new")
def new_token(request: Request, viewer: CurrentAdmin, db: DbDep) -> Response:
    context = _token_context(db, "")
    return view.DIALOGS.show(request, viewer, "admin/_agent_token_create.html", context)


@router.post("/admin/agent-tokens/new")
def create_token(
    request: Request, viewer: CurrentAdmin, db: DbDep, resource_group: Text = ""
) -> Response:
    """The token is shown once, in the dialog (or on a page of its own without htmx)."""

    def issued(token: AgentTokenIssued) -> Response:
        context = {"issued": token, "back": BACK, "manager": str(request.base_url).rstrip("/")}
        response = view.DIALOGS.show(request, viewer, "admin/_agent_token_issued.html", context)
        response.headers["Cache-Control"] = "no-store"
        return trigger(response, view.ADMIN_CHANGED, {}) if is_htmx(request) else response

    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_agent_token_create.html",
        context=lambda: _token_context(db, resource_group),
        action=lambda: admin.issue_token(db, actor=viewer.user, group_name=resource_group),
        on_done=issued,
    )


def _revoke_context(db: Session, token_id: uuid.UUID) -> dict[str, Any]:
    return {"token": admin.get_token(db, token_id), "form": {}, "back": BACK}


@router.get("/admin/agent-tokens/{token_id}/revoke")
def revoke_dialog(
    request: Request, viewer: CurrentAdmin, db: DbDep, token_id: uuid.UUID
) -> Response:
    context = _revoke_context(db, token_id)
    return view.DIALOGS.show(request, viewer, "admin/_agent_token_revoke.html", context)


@router.post("/admin/agent-tokens/{token_id}/revoke")
def revoke(request: Request, viewer: CurrentAdmin, db: DbDep, token_id: uuid.UUID) -> Response:
    return view.DIALOGS.submit(
        request,
        viewer,
        template="admin/_agent_token_revoke.html",
        context=lambda: _revoke_context(db, token_id),
        action=lambda: admin.revoke_token(db, actor=viewer.user, token_id=token_id),
        on_done=lambda token: view.done(
            request,
            message=_("Agent token %(prefix)s… revoked.") % {"prefix": token.prefix},
            back=BACK,
        ),
    )

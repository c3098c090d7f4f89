"""Answers to the folder invitations addressed to the viewer, on /data and the Summary page.

htmx swaps the invitation's card for its answer (or the reason it could not be given); a
plain form goes back to the page the invitation was shown on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shipyard.errors import ShipyardError
from shipyard.http.deps import DbDep
from shipyard.storage import sharing
from shipyard.storage.access import Access
from shipyard.storage.schemas import InvitationPublic
from shipyard.validation import NO_NUL
from shipyard.web import kit
from shipyard.web.data import view
from shipyard.web.data.folders import FOLDERS_CHANGED
from shipyard.web.deps import CurrentViewer, Viewer
from shipyard.web.htmx import is_htmx, render, trigger

router = APIRouter(prefix="/data")

NextPage = Annotated[str, Form(alias="next", max_length=1024, pattern=NO_NUL)]


def _card(
    request: Request,
    viewer: Viewer,
    db: Session,
    invitation_id: uuid.UUID,
    *,
    invitation: InvitationPublic | None,
    state: str = "",
    error: ShipyardError | None = None,
    access: Access | None = None,
) -> HTMLResponse:
    """An invitation's card after an answer (or the reason it could not be given); for htmx
    with the count of invitations still waiting, which the page's badge takes at once."""
    context = {
        "invitation_id": invitation_id,
        "invitation": invitation,
        "state": state,
        "error": error.message if error else "",
        "access": access,
        "pending_count": len(sharing.pending_for(db, viewer.user)),
        **view.looks(),
    }
    code = kit.refusal_status(request, error) if error else 200
    return render(
        request,
        "_invitation.html",
        context,
        viewer=viewer,
        status_code=code,
        fragment="_invitation_answer.html",
    )


def _pending(db: Session, viewer: Viewer, invitation_id: uuid.UUID) -> InvitationPublic | None:
    return next((i for i in sharing.pending_for(db, viewer.user) if i.id == invitation_id), None)


def _after_answer(next_page: str) -> RedirectResponse:
    """A plain form goes back to where the invitation was shown: /data or the Summary page."""
    return kit.see_other("/data" if next_page == "/data" else "/")


def _answer(
    request: Request,
    viewer: Viewer,
    db: Session,
    invitation_id: uuid.UUID,
    *,
    action: Callable[[], Access | None],
    state: str,
    next_page: str,
) -> Response:
    """Run the answer: the card says `state` (and an accepted folder refreshes the lists),
    a plain form goes back; a refusal shows the card with the reason."""
    invitation = _pending(db, viewer, invitation_id)

    def answered(access: Access | None) -> Response:
        if not is_htmx(request):
            return _after_answer(next_page)
        response = _card(
            request, viewer, db, invitation_id, invitation=invitation, state=state, access=access
        )
        return response if access is None else trigger(response, FOLDERS_CHANGED, {"tab": "shared"})

    return kit.attempt(
        action,
        on_done=answered,
        on_refused=lambda exc: _card(
            request, viewer, db, invitation_id, invitation=invitation, error=exc
        ),
    )


@router.post("/invitations/{invitation_id}/accept")
def accept(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    invitation_id: uuid.UUID,
    next_page: NextPage = "",
) -> Response:
    return _answer(
        request,
        viewer,
        db,
        invitation_id,
        action=lambda: sharing.accepted_folder(db, user=viewer.user, invitation_id=invitation_id),
        state="accepted",
        next_page=next_page,
    )


@router.post("/invitations/{invitation_id}/decline")
def decline(
    request: Request,
    viewer: CurrentViewer,
    db: DbDep,
    invitation_id: uuid.UUID,
    next_page: NextPage = "",
) -> Response:
    return _answer(
        request,
        viewer,
        db,
        invitation_id,
        action=lambda: sharing.decline(db, user=viewer.user, invitation_id=invitation_id),
        state="declined",
        next_page=next_page,
    )

"""The announcement through the API: everyone reads it, admins set, clear and preview it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from shipyard.announcements import service as announcements
from shipyard.announcements.schemas import (
    AnnouncementPreview,
    AnnouncementPublic,
    AnnouncementSet,
    PreviewPublic,
)
from shipyard.api.deps import AdminUser, ApiUser, require_admin
from shipyard.http.deps import DbDep

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])
public_router = APIRouter(tags=["announcement"])


@public_router.get(
    "/announcement",
    responses={204: {"description": "No announcement is shown"}},
    response_model=AnnouncementPublic,
)
def read(_user: ApiUser, db: DbDep) -> AnnouncementPublic | Response:
    """The announcement every page shows, or 204 when there is none."""
    found = announcements.get(db)
    if not found.enabled:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return found.model_copy(update={"updated_by": None})


@router.get("/announcement")
def read_for_editing(db: DbDep) -> AnnouncementPublic:
    """The announcement as saved, shown or not, with who saved it."""
    return announcements.get(db)


@router.put("/announcement")
def set_(body: AnnouncementSet, admin: AdminUser, db: DbDep) -> AnnouncementPublic:
    return announcements.set_(db, message=body.message, enabled=body.enabled, by=admin)


@router.delete("/announcement", status_code=status.HTTP_204_NO_CONTENT)
def clear(admin: AdminUser, db: DbDep) -> Response:
    announcements.clear(db, by=admin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/announcement/preview")
def preview(body: AnnouncementPreview) -> PreviewPublic:
    """The message rendered exactly as the banner would show it; nothing is saved."""
    return PreviewPublic(html=str(announcements.preview(body.message)))

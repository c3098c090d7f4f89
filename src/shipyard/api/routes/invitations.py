"""Folder-share invitations addressed to you, and withdrawing the ones you sent."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from shipyard.api.deps import ApiUser
from shipyard.http.deps import DbDep
from shipyard.storage import service as folders
from shipyard.storage import sharing
from shipyard.storage.schemas import FolderPublic, InvitationsPublic

router = APIRouter(prefix="/invitations", tags=["folders"])


@router.get("")
def pending(user: ApiUser, db: DbDep) -> InvitationsPublic:
    found = sharing.pending_for(db, user)
    return InvitationsPublic(data=found, count=len(found))


@router.post("/{invitation_id}/accept")
def accept(invitation_id: uuid.UUID, user: ApiUser, db: DbDep) -> FolderPublic:
    """Accept: the folder appears among yours, renamed if you have one of that name."""
    access = sharing.accepted_folder(db, user=user, invitation_id=invitation_id)
    return folders.present(db, [access])[0]


@router.post("/{invitation_id}/decline", status_code=status.HTTP_204_NO_CONTENT)
def decline(invitation_id: uuid.UUID, user: ApiUser, db: DbDep) -> Response:
    sharing.decline(db, user=user, invitation_id=invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel(invitation_id: uuid.UUID, user: ApiUser, db: DbDep) -> Response:
    """The inviter withdraws an invitation that has not been answered."""
    sharing.cancel(db, user=user, invitation_id=invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Storage folders and the files in them; sharing a folder with other users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from shipyard.api.deps import ApiUser
from shipyard.errors import PermissionDenied
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.i18n import _
from shipyard.storage import files, sharing
from shipyard.storage import service as folders
from shipyard.storage.schemas import (
    FilesPublic,
    FolderCreate,
    FolderPublic,
    FolderRename,
    FoldersPublic,
    InvitationCreate,
    InvitationPublic,
    MkdirRequest,
    MoveRequest,
    PermissionChange,
    SharePublic,
    SharesPublic,
)

router = APIRouter(prefix="/folders", tags=["folders"])

PathQuery = Annotated[str, Query(max_length=4096, description="relative to the folder")]


@router.get("")
def list_(
    user: ApiUser,
    db: DbDep,
    settings: SettingsDep,
    all: Annotated[bool, Query(description="every folder (administrators)")] = False,
) -> FoldersPublic:
    """Your folders, your projects' folders and folders shared with you."""
    if all and not user.is_admin:
        raise PermissionDenied(_("Only administrators may list every folder."))
    found = (
        folders.all_folders(db, admin=user)
        if all
        else folders.list_folders(db, settings, user=user)
    )
    return FoldersPublic(
        data=folders.present(db, found),
        count=len(found),
        max_folder_count=folders.max_folder_count(db, user),
        own_count=folders.own_folder_count(db, user),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: FolderCreate, user: ApiUser, db: DbDep, settings: SettingsDep) -> FolderPublic:
    access = folders.create_folder(db, settings, user=user, spec=body)
    return folders.present(db, [access])[0]


@router.get("/{ref}")
def info(ref: str, user: ApiUser, db: DbDep, settings: SettingsDep) -> FolderPublic:
    access = folders.folder_info(db, settings, user=user, ref=ref)
    return folders.present(db, [access])[0]


@router.patch("/{ref}")
def rename(ref: str, body: FolderRename, user: ApiUser, db: DbDep) -> FolderPublic:
    """The owner renames the folder; for a folder shared with you, only your name for it."""
    access = folders.rename_folder(db, user=user, ref=ref, name=body.name)
    return folders.present(db, [access])[0]


@router.delete("/{ref}", status_code=status.HTTP_204_NO_CONTENT)
def delete(ref: str, user: ApiUser, db: DbDep, settings: SettingsDep) -> Response:
    folders.delete_folder(db, settings, user=user, ref=ref)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{ref}/files")
def list_files(
    ref: str,
    user: ApiUser,
    db: DbDep,
    settings: SettingsDep,
    path: PathQuery = "",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = files.DEFAULT_PAGE,
) -> FilesPublic:
    """One page of a directory: folders first, then files, by name."""
    _access, page = files.list_files(
        db, settings, user=user, ref=ref, path=path, offset=offset, limit=limit
    )
    return page


@router.post("/{ref}/mkdir", status_code=status.HTTP_201_CREATED)
def mkdir(ref: str, body: MkdirRequest, user: ApiUser, db: DbDep, settings: SettingsDep) -> None:
    files.make_dir(db, settings, user=user, ref=ref, path=body.path)


@router.post("/{ref}/move", status_code=status.HTTP_204_NO_CONTENT)
def move(ref: str, body: MoveRequest, user: ApiUser, db: DbDep, settings: SettingsDep) -> Response:
    files.move(db, settings, user=user, ref=ref, source=body.source, target=body.target)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{ref}/files", status_code=status.HTTP_204_NO_CONTENT)
def delete_file(
    ref: str, path: PathQuery, user: ApiUser, db: DbDep, settings: SettingsDep
) -> Response:
    """Delete a file or a whole directory (needs the rw + delete permission)."""
    files.delete(db, settings, user=user, ref=ref, path=path)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{ref}/shares")
def shares(ref: str, user: ApiUser, db: DbDep) -> SharesPublic:
    found = sharing.shares_of(db, user=user, ref=ref)
    return SharesPublic(shares=found.shares, pending=found.pending)


@router.post("/{ref}/invitations", status_code=status.HTTP_201_CREATED)
def invite(ref: str, body: InvitationCreate, user: ApiUser, db: DbDep) -> InvitationPublic:
    """Invite by email; they accept or decline it. The answer is the same whether an account
    has the address (an invitation to one without waits for it): nobody learns who has one."""
    invitation = sharing.invite(db, user=user, ref=ref, email=body.email, perm=body.permission)
    return next(
        i for i in sharing.shares_of(db, user=user, ref=ref).pending if i.id == invitation.id
    )


@router.patch("/{ref}/shares/{email}")
def change_share(
    ref: str, email: str, body: PermissionChange, user: ApiUser, db: DbDep
) -> SharePublic:
    grant = sharing.change(db, user=user, ref=ref, email=email, perm=body.permission)
    return SharePublic(user=email, permission=grant.perm, since=grant.created_at)


@router.delete("/{ref}/shares/{email}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_share(ref: str, email: str, user: ApiUser, db: DbDep) -> Response:
    sharing.revoke(db, user=user, ref=ref, email=email)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{ref}/leave", status_code=status.HTTP_204_NO_CONTENT)
def leave(ref: str, user: ApiUser, db: DbDep) -> Response:
    """Give up your access to a folder shared with you."""
    sharing.leave(db, user=user, ref=ref)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

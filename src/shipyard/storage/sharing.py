"""Sharing a folder by invitation: invite, accept or decline, cancel, change or revoke access.

Only the owner of a user folder shares it (project folders are shared by project membership).
An invitation names an email address. The inviter is told the same whether an account has
that address or not (nobody learns from sharing who has an account): an invitation to an
address without an active account waits, and its account sees it once it exists and is
active. Accepting grants the invitation's permission under the folder's name, or under
`<name>-<owner>` (then `-2`, `-3` ...) when the invitee already has a folder or share of
that name, so every name a user sees, and mounts, stays unique.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from shipyard.audit.models import Action as Audited
from shipyard.audit.service import record
from shipyard.db import utcnow
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import homes, mounts
from shipyard.storage.access import Action, Via
from shipyard.storage.models import (
    Folder,
    FolderInvitation,
    FolderPermission,
    InvitationState,
    Perm,
)
from shipyard.storage.schemas import InvitationPublic, SharePublic
from shipyard.users.models import User, UserStatus

_MOUNT_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def _owned_user_folder(db: Session, user: User, ref: str) -> Folder:
    found = acl.require(db, user, ref, Action.INVITE)
    if found.via is not Via.OWN:
        raise InvalidInput(_("Project folders are shared through project membership."))
    homes.refuse_change(found.folder)
    return found.folder


def invite(db: Session, *, user: User, ref: str, email: str, perm: Perm) -> FolderInvitation:
    """Invite an address; the same work and answer whether an account has it (module doc).

    Refusals name only what the owner sees already: their own address, a share, a pending
    invitation of this folder.
    """
    folder = _owned_user_folder(db, user, ref)
    address = email.strip().lower()
    if address == user.email.lower():
        raise InvalidInput(_("You own this folder already."), details={"field": "email"})
    invitee = db.scalar(select(User).where(func.lower(User.email) == address))
    if _shared_with(db, folder.id, address):
        raise Conflict(
            _("%(email)s has access already; change the permission instead.") % {"email": address},
            details={"field": "email"},
        )
    if _pending(db, folder.id, address) is not None:
        raise Conflict(
            _("%(email)s has an invitation to this folder already.") % {"email": address},
            details={"field": "email"},
        )
    invitation = FolderInvitation(
        folder_id=folder.id,
        inviter_id=user.id,
        invitee_id=invitee.id if invitee is not None else None,
        invitee_email=address,
        perm=perm,
    )
    db.add(invitation)
    _record(db, Audited.FOLDER_INVITE, user, folder, invitee=address, perm=str(perm))
    db.commit()
    return invitation


def _record(db: Session, action: Audited, actor: User, folder: Folder, **details: str) -> None:
    """An audit entry about a folder; `details` say whom it concerns and how."""
    record(
        db,
        action,
        actor=actor,
        target_type="folder",
        target_id=folder.id,
        target_label=folder.name,
        details=details,
    )


def _grant(db: Session, folder_id: uuid.UUID, user_id: uuid.UUID) -> FolderPermission | None:
    return db.get(FolderPermission, (folder_id, user_id))


def _shared_with(db: Session, folder_id: uuid.UUID, address: str) -> bool:
    found = db.scalar(
        select(FolderPermission.user_id)
        .join(User, User.id == FolderPermission.user_id)
        .where(FolderPermission.folder_id == folder_id, func.lower(User.email) == address)
    )
    return found is not None


def _pending(db: Session, folder_id: uuid.UUID, address: str) -> FolderInvitation | None:
    return db.scalar(
        select(FolderInvitation).where(
            FolderInvitation.folder_id == folder_id,
            FolderInvitation.invitee_email == address,
            FolderInvitation.state == InvitationState.PENDING,
        )
    )


def _addressed_to(user: User) -> ColumnElement[bool]:
    """Invitations to this user: to their account, or to their address before it had one."""
    return or_(
        FolderInvitation.invitee_id == user.id,
        and_(
            FolderInvitation.invitee_id.is_(None),
            FolderInvitation.invitee_email == user.email.lower(),
        ),
    )


def _invitation_to(db: Session, user: User, invitation_id: uuid.UUID) -> FolderInvitation:
    """A pending invitation addressed to this user from an active inviter, or NotFound; one
    addressed to their email alone is theirs from now on."""
    invitation = db.scalar(
        select(FolderInvitation).where(FolderInvitation.id == invitation_id, _addressed_to(user))
    )
    if (
        invitation is None
        or invitation.state is not InvitationState.PENDING
        or not _active(db, invitation.inviter_id)
    ):
        raise _no_invitation()
    invitation.invitee_id = user.id
    return invitation


def _active(db: Session, user_id: uuid.UUID) -> bool:
    return db.scalar(select(User.status).where(User.id == user_id)) is UserStatus.ACTIVE


def _no_invitation() -> NotFound:
    return NotFound(_("This invitation is no longer open."), details={"field": "invitation"})


def accept(db: Session, *, user: User, invitation_id: uuid.UUID) -> FolderPermission:
    invitation = _invitation_to(db, user, invitation_id)
    db.execute(update(User).where(User.id == user.id).values(email=User.email))  # name lock
    folder = db.get(Folder, invitation.folder_id)
    if folder is None:
        raise _no_invitation()
    owner = db.get(User, folder.owner_user_id) if folder.owner_user_id else None
    grant = FolderPermission(
        folder_id=folder.id,
        user_id=user.id,
        perm=invitation.perm,
        mount_name=_free_name(db, user, folder.name, owner.email if owner else ""),
        granted_by=invitation.inviter_id,
    )
    db.add(grant)
    invitation.state = InvitationState.ACCEPTED
    invitation.responded_at = utcnow()
    inviter = owner.email if owner else ""
    _record(db, Audited.FOLDER_INVITE_ACCEPT, user, folder, inviter=inviter, perm=str(grant.perm))
    db.commit()
    return grant


def _free_name(db: Session, user: User, name: str, owner_email: str) -> str:
    own = set(db.scalars(select(Folder.name).where(Folder.owner_user_id == user.id)))
    shared = db.scalars(
        select(FolderPermission.mount_name).where(FolderPermission.user_id == user.id)
    )
    taken = own | set(shared)
    if name not in taken:
        return name
    owner = _MOUNT_CHARS.sub("-", owner_email.split("@", 1)[0]).strip("-.") or "shared"
    base = f"{name}-{owner}"[:60]
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def accepted_folder(db: Session, *, user: User, invitation_id: uuid.UUID) -> acl.Access:
    """Accept an invitation; the folder as the user now sees it."""
    grant = accept(db, user=user, invitation_id=invitation_id)
    folder = db.get(Folder, grant.folder_id)
    if folder is None:
        raise _no_invitation()
    return acl.access_to(db, user, folder)


def decline(db: Session, *, user: User, invitation_id: uuid.UUID) -> None:
    invitation = _invitation_to(db, user, invitation_id)
    invitation.state = InvitationState.DECLINED
    invitation.responded_at = utcnow()
    folder = db.get(Folder, invitation.folder_id)
    if folder is not None:
        _record(db, Audited.FOLDER_INVITE_DECLINE, user, folder, perm=str(invitation.perm))
    db.commit()


def cancel(db: Session, *, user: User, invitation_id: uuid.UUID) -> None:
    """The inviter (the folder's owner) withdraws an invitation that is still pending."""
    invitation = db.get(FolderInvitation, invitation_id)
    if invitation is None or invitation.state is not InvitationState.PENDING:
        raise _no_invitation()
    folder = db.get(Folder, invitation.folder_id)
    if folder is None or folder.owner_user_id != user.id:
        raise _no_invitation()
    invitation.state = InvitationState.CANCELED
    invitation.responded_at = utcnow()
    _record(db, Audited.FOLDER_INVITE_CANCEL, user, folder, invitee=invitation.invitee_email)
    db.commit()


def _grant_of(db: Session, folder: Folder, email: str) -> FolderPermission:
    grant = db.scalar(
        select(FolderPermission)
        .join(User, User.id == FolderPermission.user_id)
        .where(FolderPermission.folder_id == folder.id, func.lower(User.email) == email.lower())
    )
    if grant is None:
        raise NotFound(
            _("This folder is not shared with %(email)s.") % {"email": email},
            details={"field": "email"},
        )
    return grant


def change(db: Session, *, user: User, ref: str, email: str, perm: Perm) -> FolderPermission:
    folder = _owned_user_folder(db, user, ref)
    grant = _grant_of(db, folder, email)
    before = grant.perm
    grant.perm = perm
    _record(
        db,
        Audited.FOLDER_SHARE_CHANGE,
        user,
        folder,
        user=email.strip().lower(),
        perm=str(perm),
        was=str(before),
    )
    mounts.recheck(db, users=[grant.user_id])  # running sessions follow a lower permission
    db.commit()
    return grant


def revoke(db: Session, *, user: User, ref: str, email: str) -> None:
    folder = _owned_user_folder(db, user, ref)
    grant = _grant_of(db, folder, email)
    _record(
        db,
        Audited.FOLDER_SHARE_REVOKE,
        user,
        folder,
        user=email.strip().lower(),
        perm=str(grant.perm),
    )
    mounts.recheck(db, users=[grant.user_id])  # running sessions lose the folder
    db.delete(grant)
    db.commit()


def leave(db: Session, *, user: User, ref: str) -> None:
    """Someone a folder is shared with gives their access up."""
    found = acl.resolve(db, user, ref)
    if found.via is not Via.SHARED:
        raise InvalidInput(_("Only a folder shared with you can be left."))
    db.delete(_grant(db, found.folder.id, user.id))
    _record(db, Audited.FOLDER_SHARE_LEAVE, user, found.folder)
    mounts.recheck(db, users=[user.id])  # their running sessions lose the folder
    db.commit()


@dataclass(frozen=True)
class Shares:
    shares: list[SharePublic]
    pending: list[InvitationPublic]


def shares_of(db: Session, *, user: User, ref: str) -> Shares:
    """Who the folder is shared with, and the invitations still waiting for an answer."""
    folder = _owned_user_folder(db, user, ref)
    rows = db.execute(
        select(FolderPermission, User.email)
        .join(User, User.id == FolderPermission.user_id)
        .where(FolderPermission.folder_id == folder.id)
        .order_by(User.email)
    )
    shares = [
        SharePublic(user=email, permission=grant.perm, since=grant.created_at)
        for grant, email in rows
    ]
    pending = _invitations(
        db,
        FolderInvitation.folder_id == folder.id,
        FolderInvitation.state == InvitationState.PENDING,
    )
    return Shares(shares=shares, pending=pending)


def pending_for(db: Session, user: User) -> list[InvitationPublic]:
    """Invitations waiting for this user's answer, newest first, from active inviters only."""
    return _invitations(
        db,
        _addressed_to(user),
        FolderInvitation.state == InvitationState.PENDING,
    )


def _invitations(db: Session, *conditions: object) -> list[InvitationPublic]:
    inviter = aliased(User)
    rows = db.execute(
        select(FolderInvitation, Folder.name, inviter.email, FolderInvitation.invitee_email)
        .join(Folder, Folder.id == FolderInvitation.folder_id)
        .join(inviter, inviter.id == FolderInvitation.inviter_id)
        .where(*conditions, inviter.status == UserStatus.ACTIVE)  # type: ignore[arg-type]
        .order_by(FolderInvitation.created_at.desc())
    )
    return [
        InvitationPublic(
            id=invitation.id,
            folder_id=invitation.folder_id,
            folder=folder_name,
            inviter=inviter_email,
            invitee=invitee_email,
            permission=invitation.perm,
            state=invitation.state,
            created_at=invitation.created_at,
        )
        for invitation, folder_name, inviter_email, invitee_email in rows
    ]

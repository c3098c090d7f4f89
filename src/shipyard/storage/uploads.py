"""Resumable uploads into folders, the tus 1.0 way: create, ask the offset, append, finish.

An upload is a row and a staged file in its storage host's staging directory, where no
session can see it (`storage.staging`); the staged file's size is the offset. Room is
reserved at creation (the whole declared length counts against the folder's limit until the
upload ends), bytes are appended by `Appender`, and the last byte publishes the file into
the folder in one atomic step (`paths.publish`). No database connection is held while a
folder is touched or while bytes arrive. A finished upload's row stays until it expires so
a resuming client learns it is done; `expire` removes unfinished ones (row and staged file)
after `upload_expiry_hours`.

Uploads begun by an older version keep their temp file inside the folder, where a session
could have swapped it for a FIFO: they are ended when next asked about (404: tus clients
then start afresh) and never written to or published.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path, PurePosixPath

import anyio
from anyio import to_thread
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from shipyard.config import Settings
from shipyard.db import Database, new_id, utcnow
from shipyard.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, ShipyardError
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import hosts, paths, staging
from shipyard.storage import service as folders
from shipyard.storage.access import Action
from shipyard.storage.models import Folder, Upload
from shipyard.users.models import User

log = logging.getLogger(__name__)

WRITE_BATCH = 1 << 20  # bytes gathered before each write: few syscalls, flat memory
STALL_SECONDS = 30.0  # a body silent this long ends its request (and frees the upload)
EXPIRE_BATCH = 500
MAX_LENGTH = 1 << 50
#: A staged file without its row is an orphan once this old (rows follow files in ms).
STAGING_GRACE_SECONDS = 3600.0


def _file_name(raw: str | None) -> str:
    """The `filename` metadata: one plain name, no directory part."""
    if not raw:
        raise InvalidInput(
            _("Name the file: the upload's metadata needs a filename."),
            details={"field": "filename"},
        )
    name = paths.clean(raw)
    if "/" in raw or len(name.parts) != 1 or name.name.startswith(paths.TEMP_PREFIX):
        raise InvalidInput(
            _("The file name must be a single name without slashes."),
            details={"field": "filename"},
        )
    return name.name


def create(
    db: Session,
    settings: Settings,
    *,
    user: User,
    ref: str,
    length: int,
    metadata: Mapping[str, str],
) -> Upload:
    """Reserve room and stage the file for a new upload (needs write access).

    Refused before anything is written: a bad name or directory (`InvalidInput`,
    `NotFound`, `PermissionDenied` for a link on the way), an existing name without
    `replace` or a folder in the way (`Conflict`), too little room under the folder's limit
    (`QuotaExceeded`). An empty upload is published at once. Ends `db`'s transaction
    before looking into the folder.
    """
    if not 0 <= length <= MAX_LENGTH:
        raise InvalidInput(_("Upload-Length is out of range."), details={"field": "Upload-Length"})
    folder = acl.require(db, user, ref, Action.WRITE).folder
    name = _file_name(metadata.get("filename"))
    directory = paths.clean(metadata.get("path", ""))
    replace = metadata.get("replace") == "1"
    root, where = hosts.root(settings, folder), hosts.staging(settings, folder)
    folders.release(db)
    _check_target(root, directory / name, replace=replace)
    _check_staging(where, root)
    upload = Upload(
        id=new_id(),
        folder_id=folder.id,
        user_id=user.id,
        path=str(directory / name),
        length=length,
        replace=replace,
        expires_at=utcnow() + timedelta(hours=settings.upload_expiry_hours),
    )
    upload.temp_name = staging.name_for(upload.id)
    fd = staging.create(where, upload.temp_name, owner=root.owner)
    try:
        folders.check_room(db, settings, folder, adding=length)  # locks the folder until commit
        db.add(upload)
        db.commit()
        if length == 0:
            os.fsync(fd)
    except BaseException:
        db.rollback()
        staging.discard(where, upload.temp_name)
        raise
    finally:
        os.close(fd)
    if length == 0:
        _finish(db, root, where, upload)
    return upload


def _check_target(root: paths.FolderRoot, target: PurePosixPath, *, replace: bool) -> None:
    """The directory must exist (links refused); the name must be free, or a file to replace."""
    os.close(paths.open_dir(root, str(target.parent)))
    try:
        existing = paths.stat(root, str(target))
    except NotFound:
        return
    if existing.is_dir:
        raise Conflict(
            _("A folder called %(name)s is already there.") % {"name": target.name},
            details={"field": "filename"},
        )
    if not replace:
        raise Conflict(
            _("A file called %(name)s already exists; upload it with replace to overwrite it.")
            % {"name": target.name},
            details={"field": "filename"},
        )


def _check_staging(where: Path, root: paths.FolderRoot) -> None:
    """Refuse uploads that could not be published by a rename (an administrator's setup)."""
    if not staging.same_filesystem(where, root.path):
        log.error("%s and %s are on different filesystems: uploads refused", where, root.path)
        raise Conflict(
            _("Uploads into this folder are not possible: its storage host is misconfigured.")
        )


def _finish(db: Session, root: paths.FolderRoot, where: Path, upload: Upload) -> None:
    """Publish the complete staged file, then record it (no transaction open meanwhile).

    A name taken meanwhile (without replace), a folder in the way, or a directory gone or
    turned into a link ends the upload: its staged file and row go, the error says why.
    """
    folders.release(db)
    target = PurePosixPath(upload.path)
    try:
        with staging.opened(where) as staged_dir:
            paths.publish(
                root,
                str(target.parent),
                target.name,
                staged_dir=staged_dir,
                staged_name=upload.temp_name,
                replace=upload.replace,
            )
    except ShipyardError:
        _drop(db, where, upload)
        raise
    # Statements, not attribute changes: a DELETE that raced this one finds nothing to undo.
    db.execute(update(Upload).where(Upload.id == upload.id).values(completed_at=utcnow()))
    db.execute(update(Folder).where(Folder.id == upload.folder_id).values(used_measured_at=None))
    db.commit()


def find(db: Session, *, user: User, upload_id: str) -> Upload:
    """The caller's own unexpired upload; anything else is `NotFound`."""
    try:
        key = uuid.UUID(upload_id)
    except ValueError:
        raise _no_upload() from None
    upload = db.scalar(
        select(Upload).where(
            Upload.id == key, Upload.user_id == user.id, Upload.expires_at > utcnow()
        )
    )
    if upload is None:
        raise _no_upload()
    return upload


def _no_upload() -> NotFound:
    return NotFound(_("No such upload; it may have expired."), details={"field": "upload"})


def _folder(db: Session, upload: Upload) -> Folder:
    folder = db.get(Folder, upload.folder_id)
    if folder is None:
        raise _no_upload()
    return folder


def _unfinished(db: Session, settings: Settings, upload: Upload) -> Path:
    """The staging directory of an unfinished upload; an older version's upload ends here."""
    folder = _folder(db, upload)
    if staging.is_legacy(upload.temp_name):
        db.delete(upload)
        db.commit()
        _discard_quietly(settings, folder, upload)
        log.info("upload %s: begun by an older version, ended", upload.id)
        raise _no_upload()
    return hosts.staging(settings, folder)


def offset(db: Session, settings: Settings, *, user: User, upload_id: str) -> tuple[Upload, int]:
    """The upload and how many of its bytes have arrived (its length once complete)."""
    upload = find(db, user=user, upload_id=upload_id)
    if upload.completed_at is not None:
        return upload, upload.length
    where = _unfinished(db, settings, upload)
    folders.release(db)
    try:
        return upload, staging.size(where, upload.temp_name)
    except FileNotFoundError:
        raise _no_upload() from None


class Appender:
    """One request's bytes going onto the end of an upload's staged file, held locked.

    Made by `open_append`; the caller feeds it with `receive`, then calls `settle`, and
    always `close` (which releases the lock).
    """

    def __init__(
        self, upload: Upload, root: paths.FolderRoot, where: Path, *, fd: int, at: int
    ) -> None:
        self.upload_id = upload.id
        self.length = upload.length
        self.root = root
        self.where = where
        self.fd = fd
        self.start = at
        self.offset = at
        self.expires = expires_header(upload)

    def write(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.pwrite(self.fd, view, self.offset)
                self.offset += written
                view = view[written:]
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise QuotaExceeded(_("The storage host is full.")) from None
            raise

    def rewind(self) -> None:
        """Drop what this request wrote."""
        os.ftruncate(self.fd, self.start)
        self.offset = self.start

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def open_append(
    db: Session,
    settings: Settings,
    *,
    user: User,
    upload_id: str,
    at: int,
    declared: int | None = None,
) -> Appender:
    """Check and lock an upload for appending `declared` bytes (if known) at offset `at`.

    `Conflict` when `at` is not where the upload stands (details carry the real offset),
    when the bytes would go beyond its length, or while another request appends to it.
    Ends `db`'s transaction and releases its connection first: a body may take hours.
    """
    upload = find(db, user=user, upload_id=upload_id)
    folder = acl.require(db, user, str(upload.folder_id), Action.WRITE).folder
    if upload.completed_at is not None:
        raise Conflict(_("This upload is already complete."), details={"offset": upload.length})
    if declared is not None and at + declared > upload.length:
        raise _beyond_length()
    where = _unfinished(db, settings, upload)
    root = hosts.root(settings, folder)
    db.close()
    try:
        fd = staging.open_append(where, upload.temp_name)
    except FileNotFoundError:
        raise _no_upload() from None
    try:
        _lock(fd)
        size = os.fstat(fd).st_size
        if size != at:
            raise Conflict(
                _("The upload is at byte %(size)d, not %(at)d; ask for its offset and resume.")
                % {"size": size, "at": at},
                details={"offset": size},
            )
    except BaseException:
        os.close(fd)
        raise
    return Appender(upload, root, where, fd=fd, at=at)


def _lock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise Conflict(
            _("Another request is still sending bytes to this upload; try again shortly.")
        ) from None


def _beyond_length() -> Conflict:
    return Conflict(
        _("These bytes would go beyond the upload's declared length."),
        details={"field": "Upload-Length"},
    )


async def _until_stalled(chunks: AsyncIterator[bytes], upload_id: object) -> AsyncIterator[bytes]:
    """The body's chunks, ending early when none arrives for `STALL_SECONDS`.

    A client that vanished without closing its connection would otherwise keep the upload
    locked until the operating system notices; ending the request releases the lock so the
    client's next attempt can resume.
    """
    iterator = aiter(chunks)
    while True:
        with anyio.move_on_after(STALL_SECONDS) as waiting:
            try:
                chunk = await anext(iterator)
            except StopAsyncIteration:
                return
        if waiting.cancelled_caught:
            log.info("upload %s: no bytes for %s s, ending the request", upload_id, STALL_SECONDS)
            return
        yield chunk


async def receive(appender: Appender, chunks: AsyncIterator[bytes]) -> None:
    """Write a request body onto the upload in large batches, each from a worker thread.

    A dropped connection keeps every byte that arrived (the client resumes from the
    offset). Bytes beyond the upload's length undo this request's bytes: `Conflict`.
    """
    batch = bytearray()
    try:
        async for chunk in _until_stalled(chunks, appender.upload_id):
            if appender.offset + len(batch) + len(chunk) > appender.length:
                await to_thread.run_sync(appender.rewind)
                raise _beyond_length()
            batch += chunk
            if len(batch) >= WRITE_BATCH:
                await to_thread.run_sync(appender.write, batch)
                batch = bytearray()
    except ClientDisconnect:
        log.info(
            "upload %s: the client went away at byte %d",
            appender.upload_id,
            appender.offset + len(batch),
        )
    if batch:
        await to_thread.run_sync(appender.write, batch)


def settle(database: Database, appender: Appender) -> None:
    """Publish the file once its last byte is in, with short transactions around it.

    A name taken meanwhile (without replace) or a directory gone ends the upload: its staged
    file and row are removed and the error says why.
    """
    if appender.offset < appender.length:
        return
    with database.session() as db:
        upload = db.get(Upload, appender.upload_id)
        if upload is None or upload.completed_at is not None:
            raise _no_upload()
        folders.release(db)
        os.fsync(appender.fd)
        _finish(db, appender.root, appender.where, upload)


def _drop(db: Session, where: Path, upload: Upload) -> None:
    """Remove an unfinished upload's row (committed), then its staged file."""
    db.execute(delete(Upload).where(Upload.id == upload.id))
    db.commit()
    staging.discard(where, upload.temp_name)


def _discard_quietly(settings: Settings, folder: Folder, upload: Upload) -> None:
    """Delete an upload's file; a failure is logged, never in the way of removing the row."""
    try:
        if staging.is_legacy(upload.temp_name):
            directory = str(PurePosixPath(upload.path).parent)
            paths.discard_legacy_temp(hosts.root(settings, folder), directory, upload.temp_name)
        else:
            staging.discard(hosts.staging(settings, folder), upload.temp_name)
    except (ShipyardError, OSError) as error:
        log.warning("upload %s: file not removed: %s", upload.id, error)


def terminate(db: Session, settings: Settings, *, user: User, upload_id: str) -> None:
    """Stop an upload: its staged file and row go (a finished file stays where it is)."""
    upload = find(db, user=user, upload_id=upload_id)
    folder = _folder(db, upload)
    db.delete(upload)
    db.commit()
    if upload.completed_at is None:
        _discard_quietly(settings, folder, upload)


def expire(db: Session, settings: Settings) -> int:
    """Remove uploads past their expiry, unfinished ones with their files; how many."""
    rows = db.execute(
        select(Upload, Folder)
        .join(Folder, Folder.id == Upload.folder_id)
        .where(Upload.expires_at <= utcnow())
        .limit(EXPIRE_BATCH)
    ).all()
    if not rows:
        return 0
    db.execute(delete(Upload).where(Upload.id.in_([upload.id for upload, _f in rows])))
    db.commit()
    for upload, folder in rows:
        if upload.completed_at is None:
            _discard_quietly(settings, folder, upload)
    log.info("%d expired uploads removed", len(rows))
    return len(rows)


def sweep_staging(db: Session, settings: Settings) -> int:
    """Remove staged files that no upload owns (a crash between file and row, a folder
    deleted meanwhile) once `STAGING_GRACE_SECONDS` old; how many."""
    owned = set(db.scalars(select(Upload.temp_name)))
    folders.release(db)
    removed = [
        name
        for where in hosts.staging_dirs(settings)
        for name in staging.sweep(where, keep=owned, older_than=STAGING_GRACE_SECONDS)
    ]
    if removed:
        log.info("%d orphaned staged uploads removed", len(removed))
    return len(removed)


def expires_header(upload: Upload) -> str:
    """`Upload-Expires`: the expiry as an HTTP date (RFC 7231)."""
    return format_datetime(upload.expires_at, usegmt=True)

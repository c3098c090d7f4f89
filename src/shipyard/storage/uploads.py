"""Resumable uploads into folders, the tus 1.0 way: create, ask the offset, append, finish.

An upload is a row and a hidden temp file in its target directory; the temp file's size is
the offset. Room is reserved at creation (the whole declared length counts against the
folder's limit until the upload ends), bytes are appended by `Appender` without a database
connection held, and the last byte publishes the file atomically under its final name.
A finished upload's row stays until it expires so a resuming client learns it is done;
`expire` removes unfinished ones (row and temp file) after `upload_expiry_hours`.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import timedelta
from email.utils import format_datetime
from pathlib import PurePosixPath

import anyio
from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, ShipyardError
from shipyard.i18n import _
from shipyard.storage import access as acl
from shipyard.storage import hosts, paths
from shipyard.storage import service as folders
from shipyard.storage.access import Action
from shipyard.storage.models import Folder, Upload
from shipyard.users.models import User

log = logging.getLogger(__name__)

WRITE_BATCH = 1 << 20  # bytes gathered before each write: few syscalls, flat memory
STALL_SECONDS = 30.0  # a body silent this long ends its request (and frees the upload)
EXPIRE_BATCH = 500
MAX_LENGTH = 1 << 50


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
    """Reserve room and make the temp file for a new upload (needs write access).

    Refused before anything is written: a bad name or directory (`InvalidInput`,
    `NotFound`, `PermissionDenied` for a link on the way), an existing name without
    `replace` (`Conflict`), too little room under the folder's limit (`QuotaExceeded`).
    An empty upload is published at once.
    """
    if not 0 <= length <= MAX_LENGTH:
        raise InvalidInput(_("Upload-Length is out of range."), details={"field": "Upload-Length"})
    folder = acl.require(db, user, ref, Action.WRITE).folder
    name = _file_name(metadata.get("filename"))
    directory = paths.clean(metadata.get("path", ""))
    replace = metadata.get("replace") == "1"
    root = hosts.root(settings, folder)
    _check_target(root, directory / name, replace=replace)
    folders.check_room(db, settings, folder, adding=length)  # locks the folder until commit
    fd, temp = paths.create_temp(root, str(directory))
    os.close(fd)
    upload = Upload(
        folder_id=folder.id,
        user_id=user.id,
        path=str(directory / name),
        length=length,
        temp_name=temp,
        replace=replace,
        expires_at=utcnow() + timedelta(hours=settings.upload_expiry_hours),
    )
    try:
        db.add(upload)
        if length == 0:
            _publish(db, root, upload, folder)
        db.commit()
    except BaseException:
        db.rollback()
        paths.discard_temp(root, str(directory), temp)
        raise
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


def _publish(db: Session, root: paths.FolderRoot, upload: Upload, folder: Folder) -> None:
    """Give the complete temp file its final name; the caller commits."""
    target = PurePosixPath(upload.path)
    paths.commit_temp(
        root, str(target.parent), upload.temp_name, target.name, replace=upload.replace
    )
    upload.completed_at = utcnow()
    folder.used_measured_at = None


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


def offset(db: Session, settings: Settings, *, user: User, upload_id: str) -> tuple[Upload, int]:
    """The upload and how many of its bytes have arrived (its length once complete)."""
    upload = find(db, user=user, upload_id=upload_id)
    if upload.completed_at is not None:
        return upload, upload.length
    with _gone():
        directory = paths.open_dir(_root(db, settings, upload), _directory(upload))
        try:
            size = os.stat(upload.temp_name, dir_fd=directory, follow_symlinks=False).st_size
        finally:
            os.close(directory)
    return upload, size


def _directory(upload: Upload) -> str:
    return str(PurePosixPath(upload.path).parent)


def _root(db: Session, settings: Settings, upload: Upload) -> paths.FolderRoot:
    folder = db.get(Folder, upload.folder_id)
    if folder is None:
        raise _no_upload()
    return hosts.root(settings, folder)


@contextmanager
def _gone() -> Iterator[None]:
    """A temp file or directory gone from under an upload (moved, deleted) ends it."""
    try:
        yield
    except NotFound:
        raise _no_upload() from None
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise _no_upload() from None
        raise


class Appender:
    """One request's bytes going onto the end of an upload's temp file, held locked.

    Made by `open_append`; the caller feeds it with `receive`, then calls `settle`, and
    always `close` (which releases the lock).
    """

    def __init__(self, upload: Upload, root: paths.FolderRoot, *, fd: int, at: int) -> None:
        self.upload_id = upload.id
        self.length = upload.length
        self.root = root
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
    Ends `db`'s transaction and releases its connection: a body may take hours to arrive.
    """
    upload = find(db, user=user, upload_id=upload_id)
    acl.require(db, user, str(upload.folder_id), Action.WRITE)
    if upload.completed_at is not None:
        raise Conflict(_("This upload is already complete."), details={"offset": upload.length})
    if declared is not None and at + declared > upload.length:
        raise _beyond_length()
    root = _root(db, settings, upload)
    fd = _open_temp(root, upload)
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
    db.close()
    return Appender(upload, root, fd=fd, at=at)


def _open_temp(root: paths.FolderRoot, upload: Upload) -> int:
    with _gone():
        directory = paths.open_dir(root, _directory(upload))
        try:
            return os.open(upload.temp_name, _APPEND_FLAGS, dir_fd=directory)
        finally:
            os.close(directory)


_APPEND_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC


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
    """Publish the file once its last byte is in, in a short transaction of its own.

    A name taken meanwhile (without replace) or a directory gone ends the upload: its temp
    file and row are removed and the error says why.
    """
    if appender.offset < appender.length:
        return
    with database.session() as db:
        upload = db.get(Upload, appender.upload_id)
        folder = db.get(Folder, upload.folder_id) if upload is not None else None
        if upload is None or folder is None or upload.completed_at is not None:
            raise _no_upload()
        try:
            _publish(db, appender.root, upload, folder)
        except ShipyardError:  # the name was taken, or the directory moved or became a link
            _drop(db, appender.root, upload)
            raise
        db.commit()


def _drop(db: Session, root: paths.FolderRoot, upload: Upload) -> None:
    """Remove an unfinished upload's temp file and row (and commit)."""
    _discard_quietly(root, upload)
    db.delete(upload)
    db.commit()


def _discard_quietly(root: paths.FolderRoot, upload: Upload) -> None:
    """Delete the temp file; a failure is logged, never in the way of removing the row."""
    try:
        paths.discard_temp(root, _directory(upload), upload.temp_name)
    except (ShipyardError, OSError) as error:
        log.warning("upload %s: temp file not removed: %s", upload.id, error)


def terminate(db: Session, settings: Settings, *, user: User, upload_id: str) -> None:
    """Stop an upload: its temp file and row go (a finished file stays where it is)."""
    upload = find(db, user=user, upload_id=upload_id)
    if upload.completed_at is not None:
        db.delete(upload)
        db.commit()
        return
    _drop(db, _root(db, settings, upload), upload)


def expire(db: Session, settings: Settings) -> int:
    """Remove uploads past their expiry, unfinished ones with their temp files; how many."""
    rows = db.execute(
        select(Upload, Folder)
        .join(Folder, Folder.id == Upload.folder_id)
        .where(Upload.expires_at <= utcnow())
        .limit(EXPIRE_BATCH)
    ).all()
    for upload, folder in rows:
        if upload.completed_at is None:
            with suppress(NotFound):  # the folder's directory is gone, and the file with it
                _discard_quietly(hosts.root(settings, folder), upload)
    if rows:
        db.execute(delete(Upload).where(Upload.id.in_([upload.id for upload, _f in rows])))
        db.commit()
        log.info("%d expired uploads removed", len(rows))
    return len(rows)


def expires_header(upload: Upload) -> str:
    """`Upload-Expires`: the expiry as an HTTP date (RFC 7231)."""
    return format_datetime(upload.expires_at, usegmt=True)

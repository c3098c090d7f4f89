"""User paths inside a folder: cleaned as text, then resolved by file descriptor so none escapes.

Two layers. `clean` refuses hostile text (``..``, control characters, backslashes, encoded
dots and slashes, over-long names) and returns a normalised relative path. The operations
then walk that path one component at a time from the folder's directory with
``O_NOFOLLOW | O_DIRECTORY`` relative to the previous descriptor, so a symbolic link planted
anywhere inside the folder (by a sandboxed session, say) is refused, never followed, and a
directory swapped for a link mid-walk is caught by the kernel rather than by a prior check.
The last component is acted on with ``dir_fd`` and without following links either.

Errors: `InvalidInput` for a bad path, `NotFound` for a missing one (and for the hidden upload
temp files: the same message), `PermissionDenied` for a symbolic link on the way, `Conflict`
for an existing target. No `OSError` a user can trigger escapes; others (EIO, ...) do, as
server faults.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat as st
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, NoReturn, cast
from urllib.parse import unquote

from shipyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shipyard.i18n import _

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
MAX_PAGE = 1000
TEMP_PREFIX = ".shipyard-upload-"

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK so a FIFO planted in the folder cannot hang the reader at open().
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_ENCODED_SEPARATORS = ("%2e", "%2f", "%5c", "%00")


@dataclass(frozen=True)
class FolderRoot:
    """A folder's directory on the host: absolute and existing (it may itself be a link).

    `owner` (uid, gid), when given, is who new files and folders are handed to: the manager
    runs as root, sessions as an unprivileged uid that must be able to change them.
    """

    path: Path
    owner: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not self.path.is_absolute() or not self.path.is_dir():
            raise ValueError(f"folder root must be an existing absolute directory: {self.path}")


@dataclass(frozen=True)
class Entry:
    """One directory entry as seen without following links; `size` is 0 for folders."""

    name: str
    is_dir: bool
    is_symlink: bool
    size: int
    mtime: float


# --- text ---------------------------------------------------------------------------------


def _invalid(message: str) -> NoReturn:
    raise InvalidInput(message, details={"field": "path"})


def _check_text(text: str) -> None:
    if any(unicodedata.category(char) == "Cc" for char in text):
        _invalid(_("The path contains control characters."))
    if "\\" in text:
        _invalid(_("The path contains a backslash."))
    if any(part == ".." for part in text.split("/")):
        _invalid(_("The path may not go up a level."))


def clean(relative: str) -> PurePosixPath:
    """The normalised folder-relative form of a user path; ``PurePosixPath(".")`` is the folder.

    Leading, repeated and trailing slashes and ``.`` components are dropped; ``..``, control
    characters, backslashes and over-long names are refused. Percent-encoding is *not*
    decoded into the result (the web layer decodes URLs once); instead the text decoded once
    more must pass the same checks and may not still hold ``%2e``/``%2f``, so no later
    decoding anywhere can turn it into an escape. Unicode is normalised to NFC only: look-alikes
    such as U+2024 ONE DOT LEADER or U+FF0E FULLWIDTH FULL STOP are ordinary characters to the
    OS, not dots or separators, so they stay part of a name inside the folder.
    """
    text = unicodedata.normalize("NFC", relative)
    if len(text.encode()) > MAX_PATH_BYTES:
        _invalid(_("The path is too long."))
    _check_text(text)
    if "%" in text:
        try:
            decoded = unquote(text, errors="strict")
        except UnicodeDecodeError:
            _invalid(_("The path contains an invalid percent-encoding."))
        _check_text(decoded)
        if any(token in decoded.lower() for token in _ENCODED_SEPARATORS):
            _invalid(_("The path contains an invalid percent-encoding."))
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if any(len(part.encode()) > MAX_NAME_BYTES for part in parts):
        _invalid(_("A name in the path is too long."))
    return PurePosixPath(*parts)


def _named(relative: str) -> PurePosixPath:
    """`clean`, refusing the folder itself (operations that need a name)."""
    path = clean(relative)
    if not path.parts:
        _invalid(_("The path must name something inside the folder."))
    return path


# --- descriptors --------------------------------------------------------------------------


def _not_found() -> NoReturn:
    raise NotFound(_("No such file or folder."))


@contextmanager
def _translated() -> Iterator[None]:
    """Turn the OSErrors a user can cause into domain errors."""
    try:
        yield
    except FileNotFoundError:
        _not_found()
    except FileExistsError:
        raise Conflict(_("Something with that name already exists.")) from None
    except OSError as error:
        if error.errno in (errno.ENOTDIR, errno.ELOOP):
            _not_found()
        if error.errno in (errno.EACCES, errno.EPERM):
            raise PermissionDenied(_("You may not change this file or folder.")) from None
        if error.errno == errno.ENAMETOOLONG:
            _invalid(_("The path is too long."))
        if error.errno in (errno.ENOTEMPTY, errno.EISDIR, errno.EINVAL, errno.EXDEV):
            raise Conflict(_("That cannot be done to this file or folder.")) from None
        raise


def _step(fd: int, name: str) -> int:
    """Open the directory `name` under `fd`, refusing links and hidden temp files."""
    if name.startswith(TEMP_PREFIX):
        _not_found()
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=fd)
    except OSError as error:
        if error.errno in (errno.ENOTDIR, errno.ELOOP) and _is_link(fd, name):
            raise PermissionDenied(_("Symbolic links inside a folder are not followed.")) from None
        with _translated():
            raise


def _is_link(fd: int, name: str) -> bool:
    try:
        return st.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _open_parts(root: FolderRoot, parts: tuple[str, ...]) -> int:
    fd = os.open(root.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in parts:
            child = _step(fd, name)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_dir(root: FolderRoot, relative: str) -> int:
    """A read-only descriptor of the directory at `relative`; the caller must close it."""
    return _open_parts(root, clean(relative).parts)


@contextmanager
def _dir(root: FolderRoot, parts: tuple[str, ...]) -> Iterator[int]:
    fd = _open_parts(root, parts)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _parent(root: FolderRoot, relative: str) -> Iterator[tuple[int, str]]:
    """The parent directory's descriptor and the last name of a path that names something."""
    path = _named(relative)
    if path.name.startswith(TEMP_PREFIX):
        _not_found()
    with _dir(root, path.parts[:-1]) as fd:
        yield fd, path.name


def _entry(name: str, info: os.stat_result) -> Entry:
    is_dir = st.S_ISDIR(info.st_mode)
    return Entry(
        name=name,
        is_dir=is_dir,
        is_symlink=st.S_ISLNK(info.st_mode),
        size=0 if is_dir else info.st_size,
        mtime=info.st_mtime,
    )


# --- operations ---------------------------------------------------------------------------


def stat(root: FolderRoot, relative: str) -> Entry:
    """What is at `relative`, without following a link there (the folder itself for "")."""
    path = clean(relative)
    if not path.parts:
        with _dir(root, ()) as fd:
            return _entry("", os.fstat(fd))
    with _parent(root, relative) as (fd, name), _translated():
        return _entry(name, os.stat(name, dir_fd=fd, follow_symlinks=False))


def list_dir(
    root: FolderRoot, relative: str, *, offset: int = 0, limit: int = 200
) -> tuple[list[Entry], int]:
    """One page of a directory, folders first then by name, and the total count of entries."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(_("Invalid page."), details={"field": "offset"})
    with _dir(root, clean(relative).parts) as fd, _translated(), os.scandir(fd) as found:
        entries = [
            _entry(item.name, item.stat(follow_symlinks=False))
            for item in found
            if not item.name.startswith(TEMP_PREFIX)
        ]
    entries.sort(key=lambda entry: (not entry.is_dir, entry.name))
    return entries[offset : offset + limit], len(entries)


def open_read(root: FolderRoot, relative: str) -> BinaryIO:
    """A regular file opened for reading; links, folders, FIFOs and devices are refused."""
    with _parent(root, relative) as (dir_fd, name):
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise PermissionDenied(
                    _("Symbolic links inside a folder are not followed.")
                ) from None
            with _translated():
                raise
    if not st.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        _invalid(_("This is not a file."))
    os.set_blocking(fd, True)
    return cast(BinaryIO, open(fd, "rb"))


def _hand_over(root: FolderRoot, fd: int, name: str) -> None:
    if root.owner is not None:
        os.chown(name, *root.owner, dir_fd=fd, follow_symlinks=False)


def mkdir(root: FolderRoot, relative: str) -> None:
    """Create one folder; its parent must exist."""
    with _parent(root, relative) as (fd, name), _translated():
        os.mkdir(name, dir_fd=fd)
        _hand_over(root, fd, name)


def _exists(fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def rename(root: FolderRoot, source: str, target: str) -> None:
    """Move or rename within the folder; the target must not exist yet.

    The existence check and the rename are two steps: a concurrent writer in the same folder
    can still be overwritten, but never anything outside it.
    """
    src, dst = _named(source), _named(target)
    if dst == src or src in dst.parents:
        _invalid(_("A folder cannot be moved into itself."))
    with (
        _parent(root, source) as (src_fd, src_name),
        _parent(root, target) as (dst_fd, name),
        _translated(),
    ):
        os.stat(src_name, dir_fd=src_fd, follow_symlinks=False)
        if _exists(dst_fd, name):
            raise FileExistsError(name)
        os.rename(src_name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)


def remove(root: FolderRoot, relative: str) -> None:
    """Delete a file, a link (not its target) or a whole folder tree, never following links."""
    with _parent(root, relative) as (fd, name), _translated():
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if st.S_ISDIR(info.st_mode):
            shutil.rmtree(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)


def create_temp(root: FolderRoot, relative_dir: str) -> tuple[int, str]:
    """A new hidden file for an upload: its write descriptor (the caller closes it) and name.

    Temp names are invisible to `list_dir`, `stat` and `open_read`; pass the name to
    `commit_temp` to publish the file or to `discard_temp` to drop it.
    """
    name = TEMP_PREFIX + secrets.token_hex(12)
    with _dir(root, clean(relative_dir).parts) as dir_fd, _translated():
        fd = os.open(name, _TEMP_FLAGS, 0o644, dir_fd=dir_fd)
        if root.owner is not None:
            os.fchown(fd, *root.owner)
        return fd, name


def _temp_name(name: str) -> str:
    if not name.startswith(TEMP_PREFIX) or clean(name).parts != (name,):
        _invalid(_("Invalid upload."))
    return name


def commit_temp(
    root: FolderRoot, relative_dir: str, temp_name: str, final_name: str, *, replace: bool = False
) -> None:
    """Flush a temp file to disk and atomically give it `final_name` in the same directory.

    An existing `final_name` is a `Conflict` unless `replace`; readers see either nothing or
    the old file or the complete new one, never a partial upload.
    """
    temp, final = _temp_name(temp_name), _named(final_name)
    if len(final.parts) != 1 or final.name.startswith(TEMP_PREFIX):
        _invalid(_("Invalid file name."))
    with _dir(root, clean(relative_dir).parts) as dir_fd, _translated():
        fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.rename(temp, final.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        else:
            # link() refuses an existing name atomically, unlike a check before rename().
            os.link(temp, final.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            os.unlink(temp, dir_fd=dir_fd)
        os.fsync(dir_fd)


def discard_temp(root: FolderRoot, relative_dir: str, temp_name: str) -> None:
    """Delete an uncommitted temp file; a missing one is fine."""
    temp = _temp_name(temp_name)
    with _dir(root, clean(relative_dir).parts) as dir_fd, suppress(FileNotFoundError):
        os.unlink(temp, dir_fd=dir_fd)

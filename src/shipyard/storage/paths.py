"""User paths inside a folder: cleaned as text, then resolved by file descriptor so none escapes.

Two layers. `clean` refuses hostile text (``..``, control characters, backslashes, encoded
dots and slashes, over-long names) and returns a normalised relative path. The operations
then walk that path one component at a time from the folder's directory with
``O_NOFOLLOW | O_DIRECTORY`` relative to the previous descriptor, so a symbolic link planted
anywhere inside the folder (by a sandboxed session, say) is refused, never followed, and a
directory swapped for a link mid-walk is caught by the kernel rather than by a prior check.
The last component is acted on with ``dir_fd`` and without following links either.

Sessions can create FIFOs, sockets and links in a folder and swap any name at any moment, so
nothing here may block on what it finds: every open uses ``O_NOFOLLOW | O_NONBLOCK`` and checks
the type of what it got with ``fstat`` before using it (a file where a file is expected, a
directory where a directory is), and trees are walked and removed by descriptor with a bounded
number of them open.

Errors: `InvalidInput` for a bad path or something that is not a regular file where one is
needed, `NotFound` for a missing one (and for the upload temp files of older versions, which
stay hidden: the same message), `PermissionDenied` for a symbolic link on the way, `Conflict`
for an existing target. No `OSError` a user can trigger escapes; others (EIO, ...) do, as
server faults.
"""

from __future__ import annotations

import errno
import os
import stat as st
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, NoReturn, cast
from urllib.parse import unquote

from shipyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ShipyardError
from shipyard.i18n import _
from shipyard.storage import trees

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
MAX_PAGE = 1000
#: Names of the upload temp files that older versions kept inside folders: still hidden and
#: reserved, so such a file left behind never shows up half-written (see `storage.staging`).
TEMP_PREFIX = ".shipyard-upload-"

# O_NONBLOCK so a FIFO planted in the folder cannot hang open(); O_NOFOLLOW so a link is
# refused by the kernel, not checked beforehand; O_NOCTTY against a planted terminal.
SAFE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = trees.DIR_FLAGS
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
    """One directory entry as seen without following links; `size` is 0 for folders.

    Neither a folder, a link nor a regular file (`is_file`): a FIFO, socket or device.
    """

    name: str
    is_dir: bool
    is_symlink: bool
    size: int
    mtime: float
    is_file: bool = True


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
        is_file=st.S_ISREG(info.st_mode),
    )


def _not_a_file(name: str, mode: int) -> ShipyardError:
    if st.S_ISDIR(mode):
        return InvalidInput(
            _("%(name)s is a folder, not a file.") % {"name": name}, details={"field": "path"}
        )
    if st.S_ISLNK(mode):
        return _link_refused()
    return InvalidInput(
        _("%(name)s is not a regular file.") % {"name": name}, details={"field": "path"}
    )


def _link_refused() -> PermissionDenied:
    return PermissionDenied(_("Symbolic links inside a folder are not followed."))


def open_file(dir_fd: int, name: str, flags: int = os.O_RDONLY) -> int:
    """The regular file `name` in the directory `dir_fd`, opened with `flags` and `SAFE_FLAGS`.

    Whatever else is there (a folder, a link, a FIFO, a socket, a device) is refused with a
    domain error, never opened in a way that blocks or follows; what is checked is the
    descriptor itself, so a swap between a look and the open changes nothing. The
    descriptor is non-blocking (harmless for regular files); the caller closes it.
    """
    with _translated():
        found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    if not st.S_ISREG(found):  # refused without even opening it
        raise _not_a_file(name, found)
    try:
        fd = os.open(name, flags | SAFE_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _link_refused() from None
        if error.errno in (errno.ENXIO, errno.EISDIR, errno.ETXTBSY):  # swapped meanwhile
            raise _not_a_file(name, 0) from None
        with _translated():
            raise
    mode = os.fstat(fd).st_mode
    if not st.S_ISREG(mode):
        os.close(fd)
        raise _not_a_file(name, mode)
    return fd


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
    """One page of a directory, folders first then by name, and the total count of entries.

    Entries are looked at (lstat), never opened: FIFOs and sockets are listed, not touched.
    """
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(_("Invalid page."), details={"field": "offset"})
    with _dir(root, clean(relative).parts) as fd, _translated(), os.scandir(fd) as found:
        entries = [
            _entry(item.name, info)
            for item in found
            if not item.name.startswith(TEMP_PREFIX) and (info := _lstat_entry(item)) is not None
        ]
    entries.sort(key=lambda entry: (not entry.is_dir, entry.name))
    return entries[offset : offset + limit], len(entries)


def _lstat_entry(item: os.DirEntry[str]) -> os.stat_result | None:
    """An entry's own status; None when it vanished since the directory was read."""
    try:
        return item.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_read(root: FolderRoot, relative: str) -> BinaryIO:
    """A regular file opened for reading; links, folders, FIFOs, sockets, devices are refused."""
    with _parent(root, relative) as (dir_fd, name):
        fd = open_file(dir_fd, name)
    os.set_blocking(fd, True)
    return cast(BinaryIO, open(fd, "rb"))


def mkdir(root: FolderRoot, relative: str) -> None:
    """Create one folder; its parent must exist."""
    with _parent(root, relative) as (fd, name), _translated():
        os.mkdir(name, 0o755, dir_fd=fd)
        if root.owner is not None:
            # By descriptor: a folder swapped for a link or a FIFO at once is refused, not chowned.
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            try:
                os.fchown(child, *root.owner)
            finally:
                os.close(child)


def _exists(fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def rename(root: FolderRoot, source: str, target: str) -> None:
    """Move or rename within the folder; the target must not exist yet.

    Names are renamed, never opened, so a FIFO or a link moves like any file. The existence
    check and the rename are two steps: a concurrent writer in the same folder can still be
    overwritten, but never anything outside it.
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
    """Delete a file, a link (not its target) or a whole folder tree, never following links.

    A tree that keeps changing while it is removed (a session writing into it) is a
    `Conflict` once `trees.remove` gives up; what was removed stays removed.
    """
    with _parent(root, relative) as (fd, name), _translated():
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if not st.S_ISDIR(info.st_mode):
            os.unlink(name, dir_fd=fd)
            return
        if not trees.remove(fd, name):
            raise Conflict(
                _("%(name)s kept changing while it was being deleted; try again.") % {"name": name}
            )


def publish(
    root: FolderRoot,
    relative_dir: str,
    final_name: str,
    *,
    staged_dir: int,
    staged_name: str,
    replace: bool = False,
) -> None:
    """Give a complete file prepared outside the folder (`staged_name` in the directory open
    at `staged_dir`, on the same filesystem) the name `final_name` in `relative_dir`.

    One atomic step: readers see nothing, or the old entry, or the whole new file. Without
    `replace` an existing name of any kind is a `Conflict` (link() refuses it atomically,
    unlike a check before rename()); with it, anything but a folder is replaced, and what
    was there (a file, a link, a FIFO) is neither opened nor followed. The caller flushes
    the file first; the directory entry is flushed here.
    """
    final = _named(final_name)
    if len(final.parts) != 1 or final.name.startswith(TEMP_PREFIX):
        _invalid(_("Invalid file name."))
    with _dir(root, clean(relative_dir).parts) as dir_fd, _translated():
        if replace:
            try:
                os.rename(staged_name, final.name, src_dir_fd=staged_dir, dst_dir_fd=dir_fd)
            except IsADirectoryError:
                raise Conflict(
                    _("A folder called %(name)s is already there.") % {"name": final.name}
                ) from None
        else:
            os.link(
                staged_name,
                final.name,
                src_dir_fd=staged_dir,
                dst_dir_fd=dir_fd,
                follow_symlinks=False,
            )
            os.unlink(staged_name, dir_fd=staged_dir)
        os.fsync(dir_fd)


def discard_legacy_temp(root: FolderRoot, relative_dir: str, temp_name: str) -> None:
    """Delete an upload temp file an older version left inside the folder; a missing one,
    or one a session turned into a folder, is fine. Unlinked by name, never opened."""
    if not temp_name.startswith(TEMP_PREFIX) or clean(temp_name).parts != (temp_name,):
        _invalid(_("Invalid upload."))
    with (
        _dir(root, clean(relative_dir).parts) as dir_fd,
        suppress(FileNotFoundError, IsADirectoryError),
    ):
        os.unlink(temp_name, dir_fd=dir_fd)

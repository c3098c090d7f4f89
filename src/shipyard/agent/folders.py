"""A session's folders, each through a bindfs mount of its own (DESIGN §5, issue 12).

On disk, a folder's files belong to the storage owner (the owner of the folder's directory,
as the manager made it); a session runs as its user's uid. So every folder a session mounts
goes through bindfs, which shows the storage owner's files as the session uid's, writes the
files the session creates as the storage owner's, and holds the session's access level:

    ro     read only                                                      bindfs -r
    rw     create, write, replace and rename; no unlink, no rmdir         --delete-deny
    full   everything

It is mounted at `<session dir>/mounts/<name>`, which bubblewrap binds at /home/work/<name>.

The owner's home (the mount named `HOME`) is mounted the same way, and bubblewrap binds it
at /home/work itself. The other folders then have to appear inside it, on directories of a
tree that the owner's other sessions may change while this one starts: a directory there
swapped for a symlink would have a path-based mount (bubblewrap's, or ours) follow it,
onto the sandbox's /usr (where setpriv still runs as root) or anywhere on the host. So
`nest` binds each folder's mount into (a slave bind of) the home's by descriptor: the
mountpoint is opened without following links (O_NOFOLLOW, O_DIRECTORY) and the bind made
on /proc/self/fd/<n>, and bubblewrap binds the home with its folders in one recursive bind.
A home mounted anew in a running session (read-only, over its limit) has its folders bound
again on the host only: that session reaches them no longer; its next sessions do.
A file or link that a previous session left where a folder goes is renamed aside first.

bindfs runs as root and works by path: a session that swaps a directory for a symlink between
the kernel's lookup and bindfs's (through another mount of the same folder: its own second
session, someone it shares with, an upload) would have bindfs follow that symlink on the host.
So each bindfs is chrooted into a jail holding only /usr (read-only), the folder and its
mountpoint, and the jail is detached from the host once bindfs has mounted: whatever path it
is tricked into, bindfs finds nothing of the host but its own folder.

A running session's folders follow its access with `apply`: a folder no longer granted is
taken away at once, even from files held open (its FUSE connection is aborted); one
downgraded to `ro` is remounted read-only inside the session, or, where files are open for
writing there, replaced by a read-only mount (open files then fail); `full` downgraded to
`rw` is replaced by an `rw` mount the same way. More access waits for the next session.
What a session has is kept in `<session dir>/mounts.json`, so a restarted agent knows it.

Standard library only (the supervisor may import it), apart from the binaries it runs:
bindfs and chroot. Inside a session's mount namespace it runs no binary at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from shipyard.agent.runtime.base import (
    ACCESS_LEVELS,
    HOME,
    FolderAccess,
    Mount,
    SessionStartError,
)
from shipyard.agent.runtime.state import read_json

log = logging.getLogger(__name__)

MOUNTS = "mounts"
STATE_FILE = "mounts.json"
JAILS = "jails"
#: where the home's mount is bound again, with the folders in it (see `nest`)
WORK = f"{HOME}work"
WORKDIR = "/home/work"
CONNECTIONS = Path("/sys/fs/fuse/connections")
#: Big FUSE writes: ~650 MB/s through bindfs here, against 50 MB/s without.
BINDFS_OPTIONS = ("--multithreaded", "-o", "max_write=1048576,big_writes,allow_other")
#: What bindfs needs to run in its jail: its binary, loader and libraries.
SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32")
TIMEOUT = 10.0
PARALLEL = 8  # folders mounted at once
#: mounts (and bindfs processes) are labelled shipyard-folder:<session>:<folder>
FSNAME_PREFIX = "shipyard-folder:"

_MS_RDONLY, _MS_NOSUID, _MS_NODEV = 0x1, 0x2, 0x4
_MS_REMOUNT, _MS_BIND, _MS_PRIVATE, _MS_SLAVE, _MS_SHARED = 0x20, 0x1000, 0x40000, 0x80000, 0x100000
_MNT_DETACH, _UMOUNT_NOFOLLOW = 2, 8
_EINVAL, _ENOENT, _ETIMEDOUT = 22, 2, 110
_PATH_ONLY = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Mounted:
    """One line of /proc/self/mountinfo: a mount's point and its device."""

    path: Path
    fstype: str
    major: int
    minor: int

    @property
    def connection(self) -> Path:
        """The FUSE connection's control directory (named after the kernel's dev_t)."""
        return CONNECTIONS / str((self.major << 20) | self.minor)


# -- mounting --------------------------------------------------------------------------


def mount_all(
    session_root: Path, mounts: Sequence[Mount], *, uid: int, gid: int
) -> dict[str, Path]:
    """Mount each folder at `session_root/mounts/<name>` for the session's uid/gid.

    Returns name -> host mountpoint, for bubblewrap to bind at /home/work/<name>. All or
    nothing: on any failure what was mounted is unmounted again and SessionStartError says
    why. Folders are mounted side by side, each in a few ms (mostly bindfs's own start).
    """
    if not mounts:
        return {}
    tools = _tools()
    base = session_root / MOUNTS
    base.mkdir(mode=0o755, exist_ok=True)
    base.chmod(0o755)
    try:
        mounted = _mount_each(session_root, mounts, uid=uid, gid=gid, tools=tools)
        nest(session_root, mounts)
        _save(session_root, list(mounts), uid=uid, gid=gid)
    except BaseException:
        unmount_all(session_root)
        raise
    finally:
        with contextlib.suppress(OSError):
            (session_root / JAILS).rmdir()
    return mounted


def _mount_each(
    session_root: Path, mounts: Sequence[Mount], *, uid: int, gid: int, tools: dict[str, str]
) -> dict[str, Path]:
    """Mount the folders side by side (one at once: no thread to start)."""
    if len(mounts) == 1:
        return {mounts[0].name: _mount(session_root, mounts[0], uid=uid, gid=gid, tools=tools)}
    with ThreadPoolExecutor(max_workers=min(len(mounts), PARALLEL)) as pool:
        done = [pool.submit(_mount, session_root, m, uid=uid, gid=gid, tools=tools) for m in mounts]
    return {m.name: future.result() for m, future in zip(mounts, done, strict=True)}


def _tools() -> dict[str, str]:
    found = {name: shutil.which(name) for name in ("bindfs", "chroot")}
    if not found["bindfs"]:
        raise SessionStartError("bindfs is not installed on this agent: folders cannot be mounted")
    if not found["chroot"]:
        raise SessionStartError("chroot (coreutils) is not installed on this agent")
    bindfs = os.path.realpath(found["bindfs"])
    if not any(bindfs.startswith(f"{top}/") for top in SYSTEM_DIRS):
        raise SessionStartError(f"bindfs must be installed under /usr, not at {bindfs}")
    return {"bindfs": bindfs, "chroot": str(found["chroot"])}


def _mount(session_root: Path, mount: Mount, *, uid: int, gid: int, tools: dict[str, str]) -> Path:
    """Mount one folder, over what is mounted there already (`_downgrade`); its mountpoint."""
    owner = _storage_owner(mount)
    target = session_root / MOUNTS / mount.name
    with contextlib.suppress(FileExistsError):  # no stat: an aborted mount there fails it
        target.mkdir(mode=0o755)
    jail = session_root / JAILS / mount.name
    try:
        _build_jail(jail, mount)
        label = f"{FSNAME_PREFIX}{_LABEL_UNSAFE.sub('_', session_root.name)}:{mount.name}"
        _run_bindfs(jail, mount, tools=tools, map_ids=(owner, (uid, gid)), label=label)
        _mount_call(jail / "mnt", target, flags=_MS_BIND, what=mount.name)
        _mount_call(None, target, flags=_MS_SHARED, what=mount.name)  # later layers reach it
    finally:
        _detach_jail(jail)
    return target


def nest(session_root: Path, mounts: Sequence[Mount]) -> None:
    """Bind each folder's mount into the home's, at `mounts/~work/<name>`, by descriptor
    (see the module docstring); nothing without a home among `mounts`. A folder that has
    a mount there already is left as it is, so calling it again only fills what is missing.

    `~work` is a bind of the home's mount (`~`) made a slave of it: it follows what is
    mounted over the home (read-only, anew), but nothing done to its copies elsewhere
    reaches it. Its folders sit on it, not on the shared `~`: a process that copies this
    namespace and detaches its copy of the tree (slirp4netns --enable-sandbox does, as
    each outbound session starts) would otherwise unmount them here and in every sandbox.
    """
    home = next((mount for mount in mounts if mount.home), None)
    if home is None:
        return
    work = session_root / MOUNTS / WORK
    if not _is_mount(work):
        with contextlib.suppress(FileExistsError):
            work.mkdir(mode=0o755)
        _mount_call(session_root / MOUNTS / HOME, work, flags=_MS_BIND, what=HOME)
        _mount_call(None, work, flags=_MS_SLAVE, what=HOME)
    source = os.open(home.source, _PATH_ONLY)
    view = os.open(work, _PATH_ONLY)
    try:
        for mount in mounts:
            if not mount.home:
                _nest_one(session_root, mount, source=source, view=view)
    finally:
        os.close(view)
        os.close(source)


def _nest_one(session_root: Path, mount: Mount, *, source: int, view: int) -> None:
    """Make `<home>/<name>` a directory on disk, then bind the folder onto it through
    the home's mount, never following a link (ELOOP, ENOTDIR: the start fails)."""
    name = mount.name
    if "/" in name or name in {".", ".."}:  # check_spec refuses them; never reach out
        raise SessionStartError(f"folder {name}: not a name that can be mounted in the home")
    _make_mountpoint(source, name)
    try:
        point = os.open(name, _PATH_ONLY, dir_fd=view)
    except OSError as error:
        raise SessionStartError(
            f"folder {name}: ~/{name} cannot be mounted on: {error.strerror}"
        ) from None
    try:
        if os.fstat(point).st_dev != os.fstat(view).st_dev:
            return  # mounted there already
        here = Path(f"/proc/self/fd/{point}")
        _mount_call(session_root / MOUNTS / name, here, flags=_MS_BIND, what=name)
    finally:
        os.close(point)


def _make_mountpoint(source: int, name: str) -> None:
    """A directory `name` in the home on disk, the storage owner's; whatever else is
    there (a file, a link) is renamed to `<name>.moved-<time>` first."""
    try:
        found = os.stat(name, dir_fd=source, follow_symlinks=False)
    except FileNotFoundError:
        found = None
    if found is not None and stat.S_ISDIR(found.st_mode):
        return
    if found is not None:
        aside = f"{name}.moved-{time.time_ns()}"
        os.rename(name, aside, src_dir_fd=source, dst_dir_fd=source)
        log.warning("~/%s was not a directory: renamed to ~/%s", name, aside)
    owner = os.fstat(source)
    os.mkdir(name, mode=0o755, dir_fd=source)
    os.chown(name, owner.st_uid, owner.st_gid, dir_fd=source, follow_symlinks=False)


def _unnest(session_root: Path, name: str) -> None:
    """Detach a folder's bind inside the home's mount (the home itself stays)."""
    target = os.fsencode(session_root / MOUNTS / WORK / name)
    for _layer in range(64):
        if _libc().umount2(target, _MNT_DETACH | _UMOUNT_NOFOLLOW) != 0:
            break


def _is_mount(path: Path) -> bool:
    return any(mounted.path == path for mounted in mounts_under(path.parent, only=path))


def _storage_owner(mount: Mount) -> tuple[int, int]:
    try:
        info = mount.source.stat()
    except OSError as error:
        raise SessionStartError(
            f"folder {mount.name}: {mount.source} cannot be used: {error.strerror}"
        ) from None
    if not mount.source.is_dir():
        raise SessionStartError(f"folder {mount.name}: {mount.source} is not a directory")
    if info.st_uid == 0:
        raise SessionStartError(
            f"folder {mount.name}: {mount.source} belongs to root, not to the storage owner"
        )
    return info.st_uid, info.st_gid


def _build_jail(jail: Path, mount: Mount) -> None:
    """A read-only tmpfs with /usr and the libraries (read-only), /dev/null, /dev/fuse,
    the folder at /src and an empty /mnt for bindfs to mount on."""
    jail.mkdir(mode=0o700, parents=True, exist_ok=True)
    sealed = _MS_NOSUID | _MS_NODEV
    _mount_call("shipyard-jail", jail, fstype="tmpfs", flags=sealed, data="size=64k,mode=0755",
                what=mount.name)  # fmt: skip
    _mount_call(None, jail, flags=_MS_PRIVATE, what=mount.name)  # nothing in it propagates
    for top in SYSTEM_DIRS:
        inside = jail / top.lstrip("/")
        if os.path.islink(top):
            inside.symlink_to(os.readlink(top))
        elif os.path.isdir(top):
            inside.mkdir()
            _bind(top, inside, flags=sealed | _MS_RDONLY, what=mount.name)
    (jail / "dev").mkdir()
    for node in ("null", "fuse"):  # read-only: a descriptor open for writing (in a child
        # forked meanwhile for another folder's bindfs) would make the remount below fail
        os.close(os.open(jail / "dev" / node, os.O_CREAT | os.O_RDONLY | os.O_CLOEXEC, 0o644))
        _bind(f"/dev/{node}", jail / "dev" / node, flags=_MS_NOSUID, what=mount.name)
    (jail / "src").mkdir()
    (jail / "mnt").mkdir()
    read_only = _MS_RDONLY if mount.access == "ro" else 0
    _bind(mount.source, jail / "src", flags=sealed | read_only, what=mount.name)
    _mount_call(None, jail, flags=_MS_REMOUNT | _MS_RDONLY | sealed, what=mount.name)


def _bind(source: str | Path, target: Path, *, flags: int, what: str) -> None:
    """Bind `source` at `target`, then set the bind's own `flags` (MS_RDONLY, ...)."""
    _mount_call(source, target, flags=_MS_BIND, what=what)
    _mount_call(None, target, flags=_MS_REMOUNT | _MS_BIND | flags, what=what)


def _run_bindfs(
    jail: Path,
    mount: Mount,
    *,
    tools: dict[str, str],
    map_ids: tuple[tuple[int, int], ...],
    label: str,
) -> None:
    """Start bindfs chrooted in `jail`: it mounts /src on /mnt, then runs as a daemon.

    `label` names the mount (mountinfo's source, bindfs's argv): session and folder.
    """
    (owner_uid, owner_gid), (uid, gid) = map_ids
    argv = [tools["chroot"], str(jail), tools["bindfs"], *bindfs_options(mount.access)]
    argv += [f"--map={owner_uid}/{uid}:@{owner_gid}/@{gid}", "-o", f"fsname={label}"]
    argv += ["/src", "/mnt"]
    try:
        done = subprocess.run(  # noqa: S603 - our own argv, no shell
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env={},
            timeout=TIMEOUT,
            start_new_session=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SessionStartError(f"folder {mount.name}: bindfs did not start") from None
    if done.returncode != 0 or not os.path.ismount(jail / "mnt"):
        problem = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise SessionStartError(f"folder {mount.name}: bindfs failed: {problem[:200]}")


def bindfs_options(access: FolderAccess) -> list[str]:
    """bindfs's options for an access level (see the module docstring)."""
    level = {"ro": ["-r"], "rw": ["--delete-deny"], "full": []}[access]
    return [*BINDFS_OPTIONS, *level]


def _detach_jail(jail: Path) -> None:
    """Take the jail off the host; bindfs keeps its own view of it (its root, its folder)."""
    with contextlib.suppress(OSError):
        _umount(jail)
    with contextlib.suppress(OSError):
        jail.rmdir()


# -- unmounting ------------------------------------------------------------------------


def unmount_all(session_root: Path) -> None:
    """Unmount every folder of the session; bindfs processes end. Idempotent.

    Each FUSE connection is aborted first, so nothing can hold a folder open past this,
    then every mount under `session_root/mounts` is detached (lazily) and the mountpoints
    removed (rmdir: never a recursive delete, which could reach into a folder).
    """
    base = session_root / MOUNTS
    jails = session_root / JAILS
    if jails.is_dir():  # left by an agent that died while mounting
        for jail in jails.iterdir():
            _detach_jail(jail)
        with contextlib.suppress(OSError):
            jails.rmdir()
    if base.is_dir():
        for mounted in mounts_under(base):
            abort(mounted)
        for entry in sorted(base.iterdir()):
            _take_down(entry)
        base.rmdir()
    (session_root / STATE_FILE).unlink(missing_ok=True)


def _take_down(target: Path) -> None:
    """Detach every mount stacked at `target`, then remove the directory."""
    for _layer in range(64):
        try:
            _umount(target)
        except OSError as error:
            if error.errno in (_EINVAL, _ENOENT):  # nothing (more) mounted there
                break
            raise
    target.rmdir()


def abort(mounted: Mounted) -> bool:
    """Abort a FUSE connection: every access through it fails from now on, open files too.

    False (and an error in the log) when it cannot be: the fusectl filesystem is missing.
    """
    if not mounted.fstype.startswith("fuse"):
        return True
    try:
        if not os.path.ismount(CONNECTIONS):
            _mount_call("fusectl", CONNECTIONS, fstype="fusectl", flags=0, what="fusectl")
        (mounted.connection / "abort").write_text("1")
    except FileNotFoundError:  # the connection is gone already
        return True
    except (OSError, SessionStartError) as error:
        log.error("cannot abort the FUSE connection of %s: %s", mounted.path, error)
        return False
    return True


# -- a running session -----------------------------------------------------------------


def apply(session_root: Path, *, sandbox_pid: int | None, wanted: Sequence[Mount]) -> None:
    """Bring a running session's folders down to `wanted` (see the module docstring).

    `sandbox_pid` is any process inside the session's sandbox (its mount namespace; None
    before the sandbox exists). Folders in `wanted` that the session does not have, or has
    with less access, are left as they are. Idempotent; a session without folders has
    nothing to change.
    """
    state = _load(session_root)
    if state is None:
        return
    have, ids = state
    by_name = {mount.name: mount for mount in wanted}
    kept = []
    for mount in sorted(have, key=lambda m: m.home):  # the home last: folders are in it
        after = _follow(session_root, mount, by_name.get(mount.name), pid=sandbox_pid, ids=ids)
        if after is not None:
            kept.append(after)
    if any(mount.home for mount in kept):  # a home mounted anew has its folders bound again
        try:
            nest(session_root, kept)
        except (OSError, SessionStartError) as error:
            log.warning("session %s: folders not bound in the home: %s", session_root.name, error)
    if kept != have:
        _save(session_root, kept, uid=ids[0], gid=ids[1])


def _follow(
    session_root: Path,
    mount: Mount,
    want: Mount | None,
    *,
    pid: int | None,
    ids: tuple[int, int],
) -> Mount | None:
    """`mount` brought down to `want`: as it was, lower, or None when taken away."""
    if want is None or want.source != mount.source:
        _revoke(session_root, mount, sandbox_pid=pid)
        return None
    if _rank(want.access) < _rank(mount.access):
        return _downgrade(session_root, mount, want.access, sandbox_pid=pid, ids=ids)
    return mount


def _rank(access: FolderAccess) -> int:
    return ACCESS_LEVELS.index(access)


def _revoke(session_root: Path, mount: Mount, *, sandbox_pid: int | None) -> None:
    target = session_root / MOUNTS / mount.name
    for mounted in mounts_under(session_root / MOUNTS, only=target):
        abort(mounted)
    if sandbox_pid is not None:  # what the session still sees there fails already
        _in_session(sandbox_pid, "umount", mount.name)
    if mount.home:
        _take_down(session_root / MOUNTS / WORK)
    else:
        _unnest(session_root, mount.name)
    _take_down(target)
    log.info("session %s: folder %s revoked", session_root.name, mount.name)


def _downgrade(
    session_root: Path,
    mount: Mount,
    access: FolderAccess,
    *,
    sandbox_pid: int | None,
    ids: tuple[int, int],
) -> Mount | None:
    """The session's mount at `access`, or None when it had to be taken away."""
    lower = replace(mount, access=access)
    target = session_root / MOUNTS / mount.name
    if access == "ro" and _answers(target) and _read_only_inside(sandbox_pid, mount.name):
        log.info("session %s: folder %s is read-only now", session_root.name, mount.name)
        return lower
    old = mounts_under(session_root / MOUNTS, only=target)
    try:
        _mount(session_root, lower, uid=ids[0], gid=ids[1], tools=_tools())
    except SessionStartError as error:
        log.warning("session %s: %s; the folder is taken away", session_root.name, error.message)
        _revoke(session_root, mount, sandbox_pid=sandbox_pid)
        return None
    for mounted in old:  # files open through the old mount fail; new opens get the new one
        abort(mounted)
    log.info(
        "session %s: folder %s is %s now; files open in it were closed",
        session_root.name,
        mount.name,
        access,
    )
    return lower


def _answers(target: Path) -> bool:
    """Whether the mount at `target` still serves: not when its connection was aborted
    (shipyard.agent.quota does, to stop writes at once); it is then mounted anew."""
    try:
        os.statvfs(target)
    except OSError:
        return False
    return True


def _read_only_inside(sandbox_pid: int | None, name: str) -> bool:
    """Remount the session's folder read-only; False where files are open for writing."""
    return sandbox_pid is not None and _in_session(sandbox_pid, "ro", name) == 0


def _in_session(pid: int, operation: str, name: str) -> int:
    """Unmount ("umount") or make read-only ("ro") /home/work/<name> (/home/work for the
    home) in the sandbox of `pid`; 0, or the errno it failed with (EBUSY: files are open
    for writing there).

    A fresh interpreter does it with system calls alone: it enters the sandbox's mount
    namespace and root, where no binary it finds may be trusted (a session's image can
    hold any /usr/bin/umount), and it runs as root.
    """
    inside = WORKDIR if name == HOME else f"{WORKDIR}/{name}"
    flags = 0
    if operation == "ro":
        flags = _flags_in(pid, inside) | _MS_REMOUNT | _MS_BIND | _MS_RDONLY
    argv = [sys.executable, "-I", "-S", "-c", _NAMESPACE_CALL, str(pid), operation]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and code
            [*argv, inside, str(flags)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _ETIMEDOUT
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()[-200:] or os.strerror(done.returncode)
        log.info("folder %s: %s in the session failed: %s", name, operation, reason)
    return done.returncode


#: argv: pid, "umount" or "ro", path, mount flags. Exits with 0 or the errno.
_NAMESPACE_CALL = """
import ctypes, os, sys
pid, operation, path, flags = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
libc = ctypes.CDLL(None, use_errno=True)
namespace = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
root = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
if libc.setns(namespace, 0x20000) != 0:
    sys.exit(ctypes.get_errno())
os.fchdir(root)
os.chroot(".")
if operation == "umount":
    failed = libc.umount2(path, 2 | 8)
else:
    failed = libc.mount(None, path, None, flags, None)
sys.exit(ctypes.get_errno() if failed else 0)
"""

_KEPT_FLAGS = {
    b"nosuid": _MS_NOSUID,
    b"nodev": _MS_NODEV,
    b"noexec": 0x8,
    b"noatime": 0x400,
    b"nodiratime": 0x800,
    b"relatime": 0x200000,
}


def _flags_in(pid: int, path: str) -> int:
    """The per-mount flags of the top mount at `path` in the sandbox of `pid` (kept by a
    remount: some may be locked there)."""
    flags = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/mountinfo").read_bytes().splitlines():
            fields = line.split()
            if _unescape(fields[4]) == os.fsencode(path):
                options = fields[5].split(b",")
                flags = sum(_KEPT_FLAGS.get(option, 0) for option in set(options))
    return flags


# -- what is mounted, what the session has ---------------------------------------------


def mounts_under(base: Path, *, only: Path | None = None) -> list[Mounted]:
    """Mounts whose mount point lies under `base` (or is exactly `only`), deepest last."""
    prefix = os.fsencode(base) + b"/"
    found = []
    for line in Path("/proc/self/mountinfo").read_bytes().splitlines():
        fields = line.split()
        separator = fields.index(b"-")
        point = _unescape(fields[4])
        if not point.startswith(prefix) or (only is not None and point != os.fsencode(only)):
            continue
        major, minor = fields[2].split(b":")
        found.append(
            Mounted(
                path=Path(os.fsdecode(point)),
                fstype=fields[separator + 1].decode(),
                major=int(major),
                minor=int(minor),
            )
        )
    return found


def _unescape(field: bytes) -> bytes:
    """A mountinfo path: spaces, tabs, newlines and backslashes come octal-escaped."""
    return _OCTAL_ESCAPE.sub(lambda m: bytes([int(m[1], 8)]), field)


def applied(session_root: Path) -> list[Mount]:
    """The folders the session has now, with their access (empty: none)."""
    state = _load(session_root)
    return state[0] if state is not None else []


def _save(session_root: Path, mounts: list[Mount], *, uid: int, gid: int) -> None:
    """Write mounts.json atomically; no fsync: mounts do not outlive a reboot anyway."""
    record = {
        "uid": uid,
        "gid": gid,
        "mounts": [{"source": str(m.source), "name": m.name, "access": m.access} for m in mounts],
    }
    path = session_root / STATE_FILE
    temporary = path.with_name(f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_text(json.dumps(record))
    temporary.replace(path)


def _load(session_root: Path) -> tuple[list[Mount], tuple[int, int]] | None:
    record = read_json(session_root / STATE_FILE)
    if record is None:
        return None
    mounts = [
        Mount(source=Path(m["source"]), name=m["name"], access=m["access"])
        for m in record["mounts"]
    ]
    return mounts, (int(record["uid"]), int(record["gid"]))


# -- system calls ----------------------------------------------------------------------


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount_call(
    source: str | Path | None,
    target: Path,
    *,
    flags: int,
    what: str,
    fstype: str | None = None,
    data: str | None = None,
) -> None:
    encoded = None if source is None else os.fsencode(source)
    result = _libc().mount(
        encoded,
        os.fsencode(target),
        None if fstype is None else fstype.encode(),
        flags,
        None if data is None else data.encode(),
    )
    if result != 0:
        error = ctypes.get_errno()
        raise SessionStartError(f"folder {what}: cannot mount {target}: {os.strerror(error)}")


def _umount(target: Path) -> None:
    if _libc().umount2(os.fsencode(target), _MNT_DETACH) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error), str(target))

"""A session's own /etc: generated identity and name files, plus a short allow-list of the
host's (DESIGN §5). The host's /etc holds configuration, keys and accounts that are none of
a session's business, so the sandbox never sees it whole.

Generated per session (`write`): passwd and group naming only root, the session's user and
nobody; hostname and hosts; resolv.conf pointing at slirp4netns's DNS when the session has
outbound networking (none otherwise); nsswitch.conf. From the host, read-only, only what
programs need to run: the dynamic loader's cache, certificates, time zone, alternatives
symlinks, shell start-up files, terminfo, protocol and service names.

A session in an image sees the image's own /etc instead of the host's entries
(`prepare_image_base`), with the same generated files laid over it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from shipyard.agent.network import SLIRP_DNS

#: host /etc entries a session sees (read-only, where they exist)
HOST_ENTRIES = (
    "alternatives",
    "bash.bashrc",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "environment",
    "gai.conf",
    "host.conf",
    "inputrc",
    "issue",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "locale.alias",
    "magic",
    "magic.mime",
    "mime.types",
    "os-release",
    "profile",
    "profile.d",
    "protocols",
    "python3",
    "python3.11",
    "python3.12",
    "python3.13",
    "services",
    "skel",
    "ssl/certs",
    "ssl/openssl.cnf",
    "terminfo",
    "timezone",
    "vim",
    "nanorc",
    "gitconfig",
    "fonts",
)
GENERATED = ("passwd", "group", "hostname", "hosts", "resolv.conf", "nsswitch.conf")
#: an image's /etc entries a session never sees: every dynamic loader reads ld.so.preload,
#: the privileged step's (hostbin) included
HIDDEN = ("ld.so.preload",)
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
NOBODY = 65534


def user_name(text: str) -> str:
    """A login name for /etc/passwd: `text` if it is a valid one, else "work"."""
    return text if _USER.fullmatch(text) and text not in ("root", "nobody") else "work"


def write(directory: Path, *, user: str, uid: int, gid: int, hostname: str, outbound: bool) -> None:
    """Write the generated files into `directory` (created 0755, files 0644)."""
    directory.mkdir(mode=0o755)
    name = user_name(user)
    users = [
        "root:x:0:0:root:/root:/usr/sbin/nologin",
        f"{name}:x:{uid}:{gid}::/home/work:/bin/bash",
    ]
    groups = ["root:x:0:", f"{name}:x:{gid}:"]
    if uid != NOBODY:
        users.append(f"nobody:x:{NOBODY}:{NOBODY}:nobody:/nonexistent:/usr/sbin/nologin")
    if gid != NOBODY:
        groups.append(f"nogroup:x:{NOBODY}:")
    files = {
        "passwd": "\n".join(users),
        "group": "\n".join(groups),
        "hostname": hostname,
        "hosts": f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost",
        "resolv.conf": f"nameserver {SLIRP_DNS}" if outbound else "",
        "nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
        "networks: files\nprotocols: files\nservices: files",
    }
    for file_name, content in files.items():
        path = directory / file_name
        path.write_text(content + "\n", encoding="utf-8")
        path.chmod(0o644)


def prepare_base(state_dir: Path) -> Path:
    """A copy of the host's allow-listed /etc entries, with empty files where the generated
    ones go, shared read-only by every session (one bind instead of dozens per start).

    Named after what it holds, so a change on the host (a new certificate, a new time zone)
    makes a new copy for new sessions while running ones keep theirs.
    """
    entries = [(entry, Path("/etc") / entry) for entry in HOST_ENTRIES]
    present = [(entry, path) for entry, path in entries if os.path.lexists(path)]
    digest = hashlib.sha256()
    for _entry, path in present:
        for item in [
            path,
            *(sorted(path.rglob("*")) if path.is_dir() and not path.is_symlink() else []),
        ]:
            info = item.lstat()
            link = os.readlink(item) if item.is_symlink() else ""
            digest.update(
                f"{item}|{info.st_mode}|{info.st_size}|{info.st_mtime_ns}|{link}\n".encode()
            )
    base = state_dir / f"etc-{digest.hexdigest()[:16]}"
    if base.is_dir():
        return base
    staging = Path(tempfile.mkdtemp(prefix=".etc-", dir=state_dir))
    try:
        staging.chmod(0o755)
        for entry, path in present:
            target = staging / entry
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            if path.is_dir() and not path.is_symlink():
                shutil.copytree(path, target, symlinks=True)
            else:
                shutil.copy2(path, target, follow_symlinks=False)
        for file_name in GENERATED:
            (staging / file_name).touch(mode=0o644)
        staging.rename(base)
    except FileExistsError:  # another runtime made it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return base


def prepare_image_base(state_dir: Path, rootfs: Path) -> Path:
    """A copy of the image's /etc without HIDDEN entries, with empty files where the
    generated ones go, shared read-only by the sessions of that image.

    A copy, not the image's /etc itself: the generated files need mount points the image
    may lack (bwrap cannot create them in a read-only tree we must not write to), and
    binding each entry apart costs a mount apiece. Links are copied as links, never
    followed; anything but files, directories and links is left out. Named after the
    image's path and its /etc's identity (the store's images do not change in place), and
    kept until `discard_image_base`.
    """
    etc = rootfs / "etc"
    info = etc.lstat() if os.path.lexists(etc) else None
    source = etc if info is not None and stat.S_ISDIR(info.st_mode) else None
    identity = f"{info.st_dev}|{info.st_ino}|{info.st_mtime_ns}" if source and info else "-"
    base = state_dir / f"{_image_prefix(rootfs)}{hashlib.sha256(identity.encode()).hexdigest()[:8]}"
    if base.is_dir():
        return base
    staging = Path(tempfile.mkdtemp(prefix=".etc-image-", dir=state_dir))
    try:
        if source is not None:
            staging.rmdir()
            shutil.copytree(source, staging, symlinks=True, ignore=_not_copied(source))
        staging.chmod(0o755)
        for file_name in GENERATED:
            target = staging / file_name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
            target.touch(mode=0o644)
            target.chmod(0o644)
        staging.rename(base)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not base.is_dir():  # else another runtime made it meanwhile
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return base


def discard_image_base(state_dir: Path, rootfs: Path) -> None:
    """Remove the copies of the image's /etc (`prepare_image_base`) once the image is gone.

    Only when no session of the image runs: theirs is bound from these very files.
    """
    for base in state_dir.glob(f"{_image_prefix(rootfs)}*"):
        shutil.rmtree(base, ignore_errors=True)


def _image_prefix(rootfs: Path) -> str:
    return f"etc-image-{hashlib.sha256(str(rootfs).encode()).hexdigest()[:16]}-"


def _not_copied(top: Path) -> Callable[[str, list[str]], set[str]]:
    """copytree's filter for an image's /etc (`top`): HIDDEN entries at its top, and
    anything that is not a file, a directory or a link (a device node would be read)."""

    def left_out(directory: str, names: list[str]) -> set[str]:
        skipped = set(HIDDEN) if Path(directory) == top else set()
        for name in names:
            mode = os.lstat(os.path.join(directory, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                skipped.add(name)
        return skipped

    return left_out


def bwrap_args(base: Path, directory: Path) -> Iterator[str]:
    """bwrap arguments that make /etc: the shared `base`, the session's files over it."""
    yield from ("--ro-bind", str(base), "/etc")
    for file_name in GENERATED:
        yield from ("--ro-bind", str(directory / file_name), f"/etc/{file_name}")

"""Storage hosts: where folders live on disk, as the manager and as the agents see them.

A folder's directory is `<host path>/<folder id hex>`. Deleted folders are first renamed into
`<host path>/.trash/` (one atomic step, so the name is free at once) and removed from there
in the background; `sweep_trash` finishes what a restart interrupted. Uploads gather in
`<host path>/.staging/` (see `storage.staging`): same filesystem, no session's view.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shipyard.config import Settings
from shipyard.errors import NotFound
from shipyard.i18n import _
from shipyard.storage import staging as staged
from shipyard.storage import trees
from shipyard.storage.models import Folder
from shipyard.storage.paths import TEMP_PREFIX, FolderRoot

log = logging.getLogger(__name__)

LOCAL = "local"
TRASH = ".trash"


@dataclass(frozen=True)
class Host:
    name: str
    path: Path
    agent_path: Path
    description: str


def hosts(settings: Settings) -> dict[str, Host]:
    """Every configured host; "local" (under the data dir) unless the config defines it."""
    found = {
        name: Host(
            name=name,
            path=config.path,
            agent_path=config.agent_path or config.path,
            description=config.description,
        )
        for name, config in settings.storage_hosts.items()
    }
    if LOCAL not in found:
        local = (settings.data_dir / "storage").absolute()
        found[LOCAL] = Host(
            name=LOCAL, path=local, agent_path=local, description=_("Local disk of the manager")
        )
    return found


def host(settings: Settings, name: str) -> Host:
    found = hosts(settings).get(name)
    if found is None:
        raise NotFound(
            _("No such storage host: %(name)s.") % {"name": name}, details={"field": "host"}
        )
    return found


def owner(settings: Settings) -> tuple[int, int] | None:
    """Who new files belong to: the sessions' uid when the manager runs as root."""
    if os.geteuid() != 0:
        return None
    return settings.storage_owner_uid, settings.storage_owner_gid


def directory(settings: Settings, folder: Folder) -> Path:
    return host(settings, folder.host).path / folder.directory_name


def agent_directory(settings: Settings, folder: Folder) -> Path:
    return host(settings, folder.host).agent_path / folder.directory_name


def root(settings: Settings, folder: Folder) -> FolderRoot:
    """The folder's directory for path operations; a vanished directory is a `NotFound`."""
    path = directory(settings, folder)
    if not path.is_dir():
        log.error("folder %s: directory %s is missing", folder.id, path)
        raise NotFound(_("The folder's storage is not available right now."))
    return FolderRoot(path, owner=owner(settings))


def create_directory(settings: Settings, folder: Folder) -> None:
    path = directory(settings, folder)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    path.mkdir(mode=0o755)
    handed = owner(settings)
    if handed is not None:
        os.chown(path, *handed)


def staging(settings: Settings, folder: Folder) -> Path:
    """Where the folder's uploads gather: its host's staging directory, beside the folders."""
    return host(settings, folder.host).path / staged.DIRECTORY


def staging_dirs(settings: Settings) -> list[Path]:
    return [found.path / staged.DIRECTORY for found in hosts(settings).values()]


@dataclass(frozen=True)
class Survey:
    """What one walk of a folder found: bytes in its files, and upload temp files that older
    versions left in it."""

    bytes: int
    temps: list[tuple[str, str, float]]  # (directory relative to the folder, name, mtime)


def survey(path: Path) -> Survey:
    """Walk `path` by descriptor, never following links or opening files: bytes in regular
    files (older versions' upload temp files apart, returned so orphans can be removed)."""
    found = trees.measure(path, hidden_prefix=TEMP_PREFIX)
    return Survey(bytes=found.bytes, temps=found.hidden)


def trash(settings: Settings, folder: Folder) -> None:
    """Take a deleted folder's directory out of sight now and remove it in the background."""
    path = directory(settings, folder)
    bin_ = path.parent / TRASH
    bin_.mkdir(mode=0o700, exist_ok=True)
    target = bin_ / f"{folder.directory_name}-{time.time_ns()}"
    try:
        path.rename(target)
    except FileNotFoundError:
        return
    _remove_later(target)


def _remove_later(path: Path) -> None:
    """Remove a tree in a thread of its own; a session that still writes into it (through a
    directory it had open) can neither block nor redirect the removal."""

    def remove() -> None:
        try:
            if not trees.remove_path(path):
                log.warning("%s kept changing while being removed; left for the next start", path)
        except OSError as error:
            log.warning("%s not removed: %s", path, error)

    threading.Thread(target=remove, name="shipyard-trash", daemon=True).start()


def sweep_trash(settings: Settings) -> None:
    """Remove what earlier processes moved to the trash but did not finish removing."""
    for found in hosts(settings).values():
        bin_ = found.path / TRASH
        if bin_.is_dir():
            for entry in bin_.iterdir():
                _remove_later(entry)

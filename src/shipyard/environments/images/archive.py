"""Import an uploaded image archive: a `docker save` tar or an OCI archive (`oci-archive:`).

The format is read from the archive's own entries (`manifest.json` for docker-archive,
`oci-layout` + `index.json` for an OCI archive); anything else is refused before skopeo
runs. Newer `docker save` archives carry both; docker-archive is used for them.
"""

from __future__ import annotations

import enum
import tarfile
from pathlib import Path

from shipyard.environments.images.progress import OnProgress, run_tool, watch_bytes
from shipyard.environments.images.store import ImageInfo, ImageStore
from shipyard.errors import InvalidInput
from shipyard.i18n import _

STAGED_REF = "import"
# Enough headers to find the markers in any real archive, few enough to stop quickly on junk.
MAX_ENTRIES_READ = 100_000


class ArchiveFormat(enum.StrEnum):
    DOCKER = "docker-archive"
    OCI = "oci-archive"


def detect_format(path: Path) -> ArchiveFormat:
    """Which image archive `path` is; InvalidInput for anything that is not one."""
    names: set[str] = set()
    try:
        with tarfile.open(path, "r:*") as archive:
            for count, member in enumerate(archive):
                names.add(member.name.removeprefix("./"))
                if count >= MAX_ENTRIES_READ:
                    break
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _not_an_image() from error
    if "manifest.json" in names:
        return ArchiveFormat.DOCKER
    if {"oci-layout", "index.json"} <= names:
        return ArchiveFormat.OCI
    raise _not_an_image()


def import_archive(
    store: ImageStore,
    path: Path,
    *,
    ref: str,
    on_progress: OnProgress,
    replace: bool = False,
) -> ImageInfo:
    """Import the archive at `path` as `ref`; a failure raises and stores nothing."""
    store.ensure_free(ref, replace=replace)
    kind = detect_format(path)
    with store.staging() as work:
        # skopeo splits its argument at ':'; a link with a plain name avoids that.
        archive = work / "archive.tar"
        archive.symlink_to(path.resolve())
        layout = work / "oci"
        argv = ["skopeo", "copy", f"{kind}:{archive}", f"oci:{layout}:{STAGED_REF}"]
        with watch_bytes(layout, total=path.stat().st_size, on_progress=on_progress):
            run = run_tool(argv, on_progress=on_progress)
        if not run.ok:
            raise InvalidInput(
                _("The archive could not be read as an image: {reason}").format(
                    reason=run.tail[-1] if run.tail else run.returncode
                ),
                details={"log": list(run.tail)},
            )
        return store.commit(layout, staged_ref=STAGED_REF, ref=ref, replace=replace)


def _not_an_image() -> InvalidInput:
    return InvalidInput(
        _("This file is not an image archive: upload a `docker save` tar or an OCI archive.")
    )

"""Storage upkeep: usage measured in the background, orphaned upload files removed."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.storage import hosts, uploads
from shipyard.storage.models import Folder, Upload
from shipyard.storage.monitor import StorageMonitor
from shipyard.storage.paths import TEMP_PREFIX
from shipyard.users.models import User
from tests.api.folder_helpers import caller, folder_dir
from tests.api.test_uploads import TUS, metadata
from tests.factories import Factory


@pytest.mark.db
def test_usage_is_measured_in_the_background(
    client: TestClient, factory: Factory, settings: Settings, database: Database
) -> None:
    owner = factory.user()
    headers = caller(client, owner).headers
    folder = factory.folder(owner.user, name="grows")
    StorageMonitor(database, settings).run_once()
    (folder_dir(settings, folder) / "written-by-a-session").write_bytes(b"x" * 4096)

    def listed() -> int:
        data = client.get("/api/v1/folders", headers=headers).json()["data"]
        return int(data[0]["used_bytes"])

    assert listed() == 0  # the listing shows the last measurement: a session's writes wait
    StorageMonitor(database, settings).run_once()
    assert listed() == 0  # measured moments ago: not due yet
    with database.session() as db:
        row = db.get(Folder, folder.id)
        assert row is not None
        row.used_measured_at = utcnow() - timedelta(minutes=5)  # due again
        db.commit()
    StorageMonitor(database, settings).run_once()
    assert listed() == 4096
    client.delete(
        f"/api/v1/folders/{folder.id}/files",
        params={"path": "written-by-a-session"},
        headers=headers,
    )
    assert listed() == 0  # changed through Shipyard: measured again at once


def legacy_upload(database: Database, folder: Folder, owner: User, temp_name: str) -> None:
    """An upload row as an older version left it: its temp file inside the folder."""
    with database.session() as db:
        db.add(
            Upload(
                folder_id=folder.id,
                user_id=owner.id,
                path="live.bin",
                length=10,
                temp_name=temp_name,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        db.commit()


def test_orphaned_legacy_upload_files_are_removed_once_old(
    client: TestClient, factory: Factory, settings: Settings, database: Database
) -> None:
    owner = factory.user()
    folder = factory.folder(owner.user, name="crashy")
    directory = folder_dir(settings, folder)
    (directory / "sub").mkdir()
    owned = directory / f"{TEMP_PREFIX}0123abcd"
    legacy_upload(database, folder, owner.user, owned.name)
    old_orphan = directory / "sub" / f"{TEMP_PREFIX}deadbeef"
    young_orphan = directory / f"{TEMP_PREFIX}cafebabe"
    for path in (owned, old_orphan, young_orphan):
        path.write_bytes(b"partial")
    long_ago = time.time() - (settings.upload_expiry_hours + 1) * 3600
    for path in (owned, old_orphan):
        os.utime(path, (long_ago, long_ago))  # an old but owned upload stays
    StorageMonitor(database, settings).run_once()
    remaining = {p.name for p in directory.rglob(f"{TEMP_PREFIX}*")}
    assert remaining == {owned.name, young_orphan.name}


def test_staged_files_no_upload_owns_are_removed_once_old(
    client: TestClient, factory: Factory, settings: Settings, database: Database
) -> None:
    owner = factory.user()
    headers = caller(client, owner).headers
    folder = factory.folder(owner.user)
    created = client.post(
        f"/api/v1/folders/{folder.id}/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(filename="a"),
        },
    )
    assert created.status_code == 201
    staged = hosts.staging(settings, folder)
    (live,) = staged.iterdir()
    old_orphan, young_orphan = staged / f"upload-{'d' * 32}", staged / f"upload-{'e' * 32}"
    for path in (old_orphan, young_orphan):
        path.write_bytes(b"partial")
    long_ago = time.time() - 2 * uploads.STAGING_GRACE_SECONDS
    for path in (live, old_orphan):
        os.utime(path, (long_ago, long_ago))
    StorageMonitor(database, settings).run_once()
    assert sorted(p.name for p in staged.iterdir()) == sorted([live.name, young_orphan.name])

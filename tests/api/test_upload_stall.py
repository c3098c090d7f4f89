"""A client that stops sending mid-body without closing its connection does not lock the upload.

A raw socket sends a PATCH whose body stops half-way and stays open; the server ends that
request after the stall timeout (shortened here), keeps the bytes that arrived, and a second
PATCH from the reported offset completes the file.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.storage import uploads
from tests.api.folder_helpers import caller, folder_dir
from tests.api.test_uploads import TUS, metadata
from tests.factories import Factory


def stalled_patch(
    base: str, location: str, token: str, data: bytes, *, declared: int
) -> socket.socket:
    """Send the headers and `data` of a PATCH that promises `declared` bytes; leave it open."""
    address = urlsplit(base)
    connection = socket.create_connection((address.hostname, address.port))
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {declared}\r\n\r\n"
    )
    connection.sendall(head.encode() + data)
    return connection


def test_a_stalled_body_frees_the_upload(
    live_server: str,
    client: TestClient,
    factory: Factory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uploads, "STALL_SECONDS", 1.0)
    owner = factory.user()
    folder = factory.folder(owner.user, name="slow")
    headers = caller(client, owner).headers
    payload = bytes(range(256)) * 8192  # 2 MiB
    created = httpx.post(
        f"{live_server}/api/v1/folders/{folder.id}/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(payload)),
            "Upload-Metadata": metadata(filename="big.bin"),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    token = headers["Authorization"].split()[1]
    half = len(payload) // 2
    hanging = stalled_patch(live_server, location, token, payload[:half], declared=len(payload))
    try:
        deadline = time.monotonic() + 15
        while True:  # until the server gives the silent request up and reports the half
            offset = int(
                httpx.head(f"{live_server}{location}", headers={**headers, **TUS}).headers[
                    "Upload-Offset"
                ]
            )
            rest = httpx.patch(
                f"{live_server}{location}",
                headers={
                    **headers,
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
                content=payload[offset:],
            )
            if rest.status_code == 204:
                break
            assert rest.status_code == 409, rest.text
            assert time.monotonic() < deadline, "the stalled request kept the upload locked"
            time.sleep(0.2)
    finally:
        hanging.close()
    assert offset == half
    assert (folder_dir(settings, folder) / "big.bin").read_bytes() == payload

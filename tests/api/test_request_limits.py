"""Limits on what a client sends (finding 10): body sizes, slow headers, slow bodies.

A 150 MB unauthenticated login body used to be read whole into the manager's memory, and a
connection that sent half a request and then nothing stayed open for good.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.config import Settings
from tests.api.edge_helpers import read_until_closed, served
from tests.api.folder_helpers import caller, folder_dir
from tests.api.test_uploads import TUS, metadata
from tests.conftest import AppWith
from tests.factories import Factory

MIB = 1024 * 1024
LOGIN = "/api/v1/auth/login"


class CountingBody:
    """A request body of `chunks` MiB that notes how much of it the server pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"x" * MIB


def test_a_huge_declared_body_is_refused_unread(client: TestClient) -> None:
    body = CountingBody(150)
    answer = client.post(
        LOGIN,
        content=body,
        headers={"Content-Type": "application/json", "Content-Length": str(150 * MIB)},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert answer.headers["connection"] == "close"
    assert body.pulled == 0


def test_the_console_has_the_same_limit(client: TestClient) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    answer = client.post(
        "/login",
        data={"email": "a@example.org", "password": "x" * (2 * MIB), "csrf_token": token},
    )
    assert answer.status_code == 413


def test_a_malformed_content_length_is_a_clear_400(client: TestClient) -> None:
    answer = client.post(LOGIN, content=b"{}", headers={"Content-Length": "2, 2"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"


def test_the_limit_is_configurable(app_with: AppWith, factory: Factory) -> None:
    account = factory.user()
    small = TestClient(app_with(request_max_body_bytes=1024))
    body = {"email": account.email, "password": account.password, "token_name": "t" * 2000}
    assert small.post(LOGIN, json=body).status_code == 413
    assert small.post(LOGIN, json={**body, "token_name": "cli"}).status_code == 201


def test_upload_bodies_stream_past_the_limit(
    client: TestClient, factory: Factory, settings: Settings
) -> None:
    owner = factory.user()
    folder = factory.folder(owner.user, name="big")
    headers = caller(client, owner).headers
    payload = bytes(range(256)) * (3 * MIB // 256)  # three times the body limit
    created = client.post(
        f"/api/v1/folders/{folder.id}/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(payload)),
            "Upload-Metadata": metadata(filename="big.bin"),
        },
    )
    assert created.status_code == 201, created.text
    appended = client.patch(
        created.headers["Location"],
        headers={
            **headers,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        content=payload,
    )
    assert appended.status_code == 204, appended.text
    assert (folder_dir(settings, folder) / "big.bin").read_bytes() == payload


def test_a_huge_declared_body_gets_413_from_the_server(app: FastAPI) -> None:
    with served(app) as address, socket.create_connection(address) as connection:
        connection.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: manager\r\n"
            b"Content-Type: application/json\r\nContent-Length: 157286400\r\n\r\n"
        )
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_half_sent_headers_are_dropped(app_with: AppWith) -> None:
    app = app_with(request_header_timeout_seconds=0.3)
    with served(app) as address, socket.create_connection(address) as connection:
        connection.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: manager\r\nContent-")
        assert read_until_closed(connection) == b""  # closed without an answer


def test_a_silent_connection_is_dropped(app_with: AppWith) -> None:
    app = app_with(request_header_timeout_seconds=0.3)
    with served(app) as address, socket.create_connection(address) as connection:
        assert read_until_closed(connection) == b""


def test_a_half_sent_body_is_dropped(app_with: AppWith) -> None:
    app = app_with(request_body_timeout_seconds=0.3)
    with served(app) as address, socket.create_connection(address) as connection:
        connection.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: manager\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"email": '
        )
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request_timeout" in answer


def test_a_kept_alive_connection_still_serves_requests(app: FastAPI) -> None:
    """The header deadline restarts with each request; an answered client is not cut off."""
    with served(app) as (host, port), httpx.Client(base_url=f"http://{host}:{port}") as http:
        for _ in range(3):
            assert http.get("/healthz").status_code == 200

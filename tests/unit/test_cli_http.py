"""The CLI's one HTTP helper against a server faked in memory (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest
import typer

from shipyard.cli.http import ApiError, api, call, every_page, make_client, use_transport

ENDPOINT = "http://manager.test"


def answering(*responses: httpx.Response) -> httpx.MockTransport:
    """A server that gives these answers in turn."""
    left = list(responses)
    return httpx.MockTransport(lambda request: left.pop(0))


def test_the_servers_message_and_code_become_an_api_error() -> None:
    error = {"error": {"code": "not_found", "message": "No such folder."}}
    with (
        make_client(ENDPOINT, transport=answering(httpx.Response(404, json=error))) as client,
        pytest.raises(ApiError) as raised,
    ):
        call(client, "GET", "/api/v1/folders/x")
    assert (raised.value.message, raised.value.status, raised.value.code) == (
        "No such folder.",
        404,
        "not_found",
    )


def test_an_error_without_our_shape_reads_as_its_status() -> None:
    with (
        make_client(ENDPOINT, transport=answering(httpx.Response(502, text="<html>"))) as client,
        pytest.raises(ApiError, match="HTTP 502"),
    ):
        call(client, "GET", "/")


def test_an_unreachable_server_is_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with (
        make_client(ENDPOINT, transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(ApiError, match=f"cannot reach {ENDPOINT}: connection refused"),
    ):
        call(client, "GET", "/")


def test_no_content_is_none_and_the_token_is_sent() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with make_client(ENDPOINT, "sy_token", transport=httpx.MockTransport(record)) as client:
        assert call(client, "DELETE", "/api/v1/auth/token") is None
    assert seen[0].headers["Authorization"] == "Bearer sy_token"
    assert seen[0].headers["User-Agent"].startswith("shipyard-cli/")


def test_api_ends_the_command_with_the_servers_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = {"error": {"code": "permission_denied", "message": "Only administrators may do this."}}
    with (
        make_client(ENDPOINT, transport=answering(httpx.Response(403, json=error))) as client,
        pytest.raises(typer.Exit) as ended,
    ):
        api(client, "GET", "/api/v1/admin/users")
    assert ended.value.exit_code == 1
    assert "error: Only administrators may do this." in capsys.readouterr().err


def test_every_page_gathers_a_listing_from_the_offset_on() -> None:
    entries = [{"name": f"f{index}"} for index in range(5)]

    def page(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        assert request.url.params["path"] == "inbox"
        body = {"data": entries[offset : offset + limit], "count": 5, "offset": offset}
        return httpx.Response(200, json=body)

    with make_client(ENDPOINT, transport=httpx.MockTransport(page)) as client:
        found = every_page(client, "/files", params={"path": "inbox"}, offset=1, limit=2)
    assert [entry["name"] for entry in found["data"]] == ["f1", "f2", "f3", "f4"]
    assert (found["offset"], found["count"]) == (1, 5)


def test_clients_made_inside_use_transport_talk_through_it() -> None:
    served = answering(httpx.Response(200, json={"ok": True}))
    with use_transport(served), make_client("http://anywhere.test") as client:
        assert call(client, "GET", "/") == {"ok": True}
    with make_client("http://127.0.0.1:9") as client, pytest.raises(ApiError, match="cannot reach"):
        call(client, "GET", "/")  # afterwards: the network again

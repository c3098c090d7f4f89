"""The `shipyard` command line in-process: typer's CliRunner, the API served by this test's app.

The `served` fixture lends the test client's transport to every
client the CLI makes (`shipyard.cli.http.use_transport`), so commands reach the app without a
socket or a server thread. `Cli` is one user's command line: their API token and a home
(config, upload state) of their own. Tests whose subject is a process (Ctrl-C, `shipyard up`)
run the real executable instead. Import the fixtures you use (`served_fixture`,
`cli_as_fixture`, the latter needs the former) into the test module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from shipyard.cli.http import use_transport
from shipyard.cli.main import app
from tests.factories import Account

runner = CliRunner()


class Lent(httpx.BaseTransport):
    """The test client's transport, lent: closing a CLI client does not close it."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self.transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.transport.handle_request(request)


@pytest.fixture(name="served")
def served_fixture(client: TestClient) -> Iterator[str]:
    """The endpoint to give the CLI; its clients reach this test's app in-process."""
    with use_transport(Lent(client._transport)):
        yield str(client.base_url)


def token_of(client: TestClient, account: Account) -> str:
    """A personal API token, issued by logging in through the API."""
    body = {"email": account.email, "password": account.password}
    issued = client.post("/api/v1/auth/login", json=body)
    assert issued.status_code == 201, issued.text
    token: str = issued.json()["token"]
    return token


def invoke(args: list[str], *, env: Mapping[str, str | None], stdin: str | None = None) -> Result:
    """`shipyard ARGS` in this process; a crash fails the test instead of passing as exit 1."""
    result = runner.invoke(app, args, input=stdin, env={"COLUMNS": "200", **env})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@dataclass(frozen=True)
class Cli:
    """`shipyard` as one user, with a home (config, resume state) of their own."""

    endpoint: str
    token: str
    home: Path

    @property
    def email(self) -> str:
        return self.home.name.removeprefix("home-")

    def env(self) -> dict[str, str]:
        return {
            "SHIPYARD_ENDPOINT": self.endpoint,
            "SHIPYARD_TOKEN": self.token,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_STATE_HOME": str(self.home / "state"),
        }

    def run(self, *args: str, stdin: str | None = None) -> Result:
        return invoke(list(args), env=self.env(), stdin=stdin)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """What a command that succeeds prints on stdout."""
        result = self.run(*args, stdin=stdin)
        assert result.exit_code == 0, result.output
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """The error a failing command prints: one line on stderr, exit 1, no traceback."""
        result = self.run(*args, stdin=stdin)
        assert result.exit_code == 1, result.output
        assert "error:" in result.stderr
        return " ".join(result.stderr.split())


CliAs = Callable[[Account], Cli]


@pytest.fixture(name="cli_as")
def cli_as_fixture(served: str, client: TestClient, tmp_path: Path) -> CliAs:
    """Makes the command line of a user the factory made, logged in with an API token."""

    def command_line(account: Account) -> Cli:
        return Cli(served, token_of(client, account), tmp_path / f"home-{account.email}")

    return command_line

"""The CLI starts without the server: `import shipyard.cli.main` loads no server module."""

from __future__ import annotations

import enum
import json
import subprocess
import sys

import pytest

from shipyard.agents.models import AgentStatus, NetworkMode, Placement
from shipyard.cli import choices
from shipyard.users.models import Role, UserStatus

SERVER_PACKAGES = {"sqlalchemy", "fastapi", "starlette", "uvicorn", "alembic", "pydantic"}
# Shipyard modules outside the CLI that it may load: the ground floor, no server dependencies.
SERVER_FREE = {"shipyard", "shipyard.errors", "shipyard.i18n", "shipyard.resources"}
SERVER_FREE_PACKAGES = ("shipyard.cli", "shipyard.resources.slots")


def modules_after_import() -> set[str]:
    code = "import json, sys, shipyard.cli.main; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout))


def test_the_cli_imports_no_server_module() -> None:
    loaded = modules_after_import()
    assert {name.partition(".")[0] for name in loaded} & SERVER_PACKAGES == set()
    shipyard = {name for name in loaded if name == "shipyard" or name.startswith("shipyard.")}
    outside = {
        name
        for name in shipyard - SERVER_FREE
        if not any(name == p or name.startswith(p + ".") for p in SERVER_FREE_PACKAGES)
    }
    assert outside == set()
    assert "shipyard.cli.admin.users" in shipyard  # the command groups themselves did load


@pytest.mark.parametrize(
    ("mine", "servers"),
    [
        (choices.Role, Role),
        (choices.UserStatus, UserStatus),
        (choices.AgentStatus, AgentStatus),
        (choices.Placement, Placement),
        (choices.NetworkMode, NetworkMode),
    ],
)
def test_the_cli_offers_the_values_the_server_takes(
    mine: type[enum.StrEnum], servers: type[enum.StrEnum]
) -> None:
    assert [member.value for member in mine] == [member.value for member in servers]

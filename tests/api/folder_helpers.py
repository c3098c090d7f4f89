"""Shared setup for the folder API tests: accounts with API tokens and folder directories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from shipyard.config import Settings
from shipyard.storage import hosts
from shipyard.storage.models import Folder
from tests.api.test_sessions_api import bearer
from tests.factories import Account


@dataclass(frozen=True)
class Caller:
    account: Account
    headers: dict[str, str]


def caller(client: TestClient, account: Account) -> Caller:
    return Caller(account=account, headers=bearer(client, account))


def folder_dir(settings: Settings, folder: Folder) -> Path:
    return hosts.directory(settings, folder)


def tree(path: Path) -> set[str]:
    """Every path under `path`, relative, links included (not followed)."""
    return {str(item.relative_to(path)) for item in path.rglob("*")}

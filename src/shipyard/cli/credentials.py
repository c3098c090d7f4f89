"""Where the CLI keeps its API token: <user config dir>/shipyard/credentials.json (0600)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import typer

ENDPOINT_ENV = "SHIPYARD_ENDPOINT"
TOKEN_ENV = "SHIPYARD_TOKEN"  # noqa: S105 - a variable name


@dataclass(frozen=True)
class Credentials:
    endpoint: str
    token: str
    email: str = ""


def path() -> Path:
    return Path(typer.get_app_dir("shipyard")) / "credentials.json"


def save(creds: Credentials) -> Path:
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(asdict(creds), handle)
    os.chmod(target, 0o600)
    return target


def load() -> Credentials | None:
    """Env variables win over the stored file; None when neither names a token."""
    stored: dict[str, str] = {}
    if path().is_file():
        try:
            stored = json.loads(path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
    endpoint = os.environ.get(ENDPOINT_ENV) or stored.get("endpoint", "")
    token = os.environ.get(TOKEN_ENV) or stored.get("token", "")
    if not endpoint or not token:
        return None
    return Credentials(endpoint=endpoint, token=token, email=stored.get("email", ""))


def forget() -> bool:
    try:
        path().unlink()
    except FileNotFoundError:
        return False
    return True

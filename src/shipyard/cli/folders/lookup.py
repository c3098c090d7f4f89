"""How folder commands name a folder and the paths of its API."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from shipyard.cli.http import api, segment

RefArg = Annotated[str, typer.Argument(help="folder name or id")]


def folder_path(ref: str, *rest: str) -> str:
    """`/api/v1/folders/<ref>` and the given segments after it (as written, not quoted)."""
    return "/".join([f"/api/v1/folders/{segment(ref)}", *rest])


def files_path(ref: str, action: str = "files") -> str:
    return folder_path(ref, action)


def folder_of(client: httpx.Client, ref: str) -> dict[str, Any]:
    """A folder by name or id, as the caller sees it."""
    found: dict[str, Any] = api(client, "GET", folder_path(ref))
    return found

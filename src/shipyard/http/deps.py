"""Request dependencies every edge uses: the database session, the settings, the address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.db import Database


async def get_settings_dep(request: Request) -> Settings:  # async: no thread hop
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    database: Database = request.app.state.db
    with database.sessions() as db:
        yield db


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DbDep = Annotated[Session, Depends(get_db)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""

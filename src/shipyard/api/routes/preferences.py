"""The caller's preferences, personal API tokens and SSH public keys."""

from __future__ import annotations

import dataclasses
import uuid

from fastapi import APIRouter, status

from shipyard.api.deps import ApiUser
from shipyard.auth import personal_tokens, ssh_keys
from shipyard.auth import service as auth
from shipyard.config import Settings
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.users import preferences
from shipyard.users.models import User
from shipyard.users.preference_schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    ApiTokensPublic,
    PreferencesPublic,
    PreferencesUpdate,
    SshKeyCreate,
    SshKeyPublic,
    SshKeysPublic,
)

router = APIRouter(prefix="/me", tags=["me"])


def _preferences(user: User, settings: Settings) -> PreferencesPublic:
    return PreferencesPublic(
        language=user.language,
        theme=user.theme,
        notify_session_changes=user.notify_session_changes,
        idle_logout_minutes=user.idle_logout_minutes,
        idle_minutes_in_force=auth.idle_minutes(user, settings),
    )


@router.get("/preferences")
def read_preferences(user: ApiUser, settings: SettingsDep) -> PreferencesPublic:
    return _preferences(user, settings)


@router.put("/preferences")
def update_preferences(
    body: PreferencesUpdate, user: ApiUser, db: DbDep, settings: SettingsDep
) -> PreferencesPublic:
    """Change the fields sent; the others keep their values. Nothing changes on a refusal."""
    changed = body.model_dump(include=body.model_fields_set)
    merged = dataclasses.replace(preferences.of(user), **changed)
    preferences.save(db, user, preferences=merged)
    return _preferences(user, settings)


@router.get("/tokens")
def list_tokens(user: ApiUser, db: DbDep) -> ApiTokensPublic:
    tokens = personal_tokens.list_tokens(db, user=user)
    return ApiTokensPublic(
        data=[ApiTokenPublic.model_validate(t) for t in tokens], count=len(tokens)
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: ApiTokenCreate, user: ApiUser, db: DbDep, settings: SettingsDep
) -> ApiTokenCreated:
    """A new personal API token; the raw value is in this answer only."""
    raw, token = personal_tokens.create_token(
        db, user=user, name=body.name, days=body.expires_in_days, settings=settings
    )
    return ApiTokenCreated(token=raw, **ApiTokenPublic.model_validate(token).model_dump())


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: uuid.UUID, user: ApiUser, db: DbDep) -> None:
    personal_tokens.revoke_token(db, user=user, token_id=token_id)


@router.get("/ssh-keys")
def list_ssh_keys(user: ApiUser, db: DbDep) -> SshKeysPublic:
    keys = ssh_keys.list_keys(db, user=user)
    return SshKeysPublic(data=[SshKeyPublic.model_validate(k) for k in keys], count=len(keys))


@router.post("/ssh-keys", status_code=status.HTTP_201_CREATED)
def add_ssh_key(body: SshKeyCreate, user: ApiUser, db: DbDep) -> SshKeyPublic:
    """Keep a public key for SSH access to sessions; invalid and duplicate keys are refused."""
    key = ssh_keys.add_key(db, user=user, public_key=body.public_key, name=body.name)
    return SshKeyPublic.model_validate(key)


@router.delete("/ssh-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_ssh_key(key_id: uuid.UUID, user: ApiUser, db: DbDep) -> None:
    ssh_keys.delete_key(db, user=user, key_id=key_id)

"""The Preferences page: notifications, idle logout, API tokens and SSH keys through forms."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from shipyard.auth import personal_tokens, ssh_keys
from tests.factories import Account, Factory
from tests.webclient import session_csrf

ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlZjUtCmRszCrRUYzX4iWrmlLXnB002/tCU6TAL3qnb alice@laptop"
)
ED25519_FP = "SHA256:7DRcY934zSXs7Bn9yC21Itbt4XJY8aIJ2fLzWq+zpY4"
RAW_TOKEN = re.compile(r'value="(shy_[^"]+)"')
HTMX = {"HX-Request": "true"}


@pytest.fixture
def account(client: TestClient, factory: Factory) -> Account:
    account = factory.user()
    factory.web_login(client, account)
    return account


@pytest.fixture
def csrf(client: TestClient, account: Account) -> str:
    return session_csrf(client)


def settings_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {"language": "en", "theme": "system", "idle_logout": "", "csrf_token": csrf}
    return {**form, **changes}


def watch_attributes(client: TestClient) -> dict[str, str]:
    html = client.get("/").text
    tag = re.search(r'<div id="console-watch"[^>]*>', html)
    assert tag, "every console page carries the idle and notification settings"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0)))


# Notifications and idle logout ----------------------------------------------------------------


@pytest.mark.smoke
def test_notifications_and_idle_minutes_are_saved(client: TestClient, csrf: str) -> None:
    assert watch_attributes(client)["notify-sessions"] == "false"
    assert watch_attributes(client)["idle-minutes"] == "240"
    form = settings_form(csrf, notify_session_changes="on", idle_logout="30")
    saved = client.post("/preferences", data=form, follow_redirects=False)
    assert saved.status_code == 303
    watch = watch_attributes(client)
    assert (watch["idle-minutes"], watch["notify-sessions"]) == ("30", "true")
    page = client.get("/preferences").text
    assert re.search(r'name="notify_session_changes" value="on" checked', page)
    assert '<option value="30" selected>30 minutes</option>' in page


def test_other_idle_minutes_are_kept_and_the_server_limit_still_applies(
    client: TestClient, csrf: str
) -> None:
    form = settings_form(csrf, idle_logout="custom", idle_custom="45")
    client.post("/preferences", data=form)
    page = client.get("/preferences").text
    assert '<option value="custom" selected>' in page
    assert 'name="idle_custom" value="45"' in page
    assert watch_attributes(client)["idle-minutes"] == "45"
    client.post("/preferences", data=settings_form(csrf, idle_logout="custom", idle_custom="1440"))
    assert watch_attributes(client)["idle-minutes"] == "240"  # the server's limit is shorter


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"idle_logout": "custom", "idle_custom": "4"}, "Automatic logout takes 5 to 1440 minutes"),
        ({"idle_logout": "custom", "idle_custom": "1441"}, "Automatic logout takes 5 to 1440"),
        ({"idle_logout": "custom", "idle_custom": "soon"}, "Enter the minutes as a whole number"),
        ({"idle_logout": "custom", "idle_custom": ""}, "Enter the minutes as a whole number"),
        ({"idle_logout": "-1"}, "Automatic logout takes 5 to 1440 minutes"),
    ],
)
def test_bad_idle_minutes_change_nothing(
    client: TestClient, csrf: str, changes: dict[str, str], message: str
) -> None:
    form = settings_form(csrf, theme="dark", notify_session_changes="on", **changes)
    response = client.post("/preferences", data=form)
    assert response.status_code == 422
    assert message in response.text
    assert 'id="pref-idle-error"' in response.text  # next to the field it is about
    watch = watch_attributes(client)
    assert (watch["idle-minutes"], watch["notify-sessions"]) == ("240", "false")
    assert 'data-theme-preference="system"' in client.get("/preferences").text


# API tokens ---------------------------------------------------------------------------------------


def create_token(client: TestClient, csrf: str, name: str = "laptop", days: str = "30") -> str:
    response = client.post(
        "/preferences/tokens", data={"name": name, "expires_in_days": days, "csrf_token": csrf}
    )
    assert response.status_code == 201, response.text
    match = RAW_TOKEN.search(response.text)
    assert match, "the new token is shown"
    return match.group(1)


def test_a_new_token_is_shown_once_then_only_its_prefix(client: TestClient, csrf: str) -> None:
    raw = create_token(client, csrf)
    page = client.get("/preferences").text
    assert raw not in page
    assert f"<code>{raw[:12]}…</code>" in page
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_htmx_gets_only_the_tokens_section(client: TestClient, csrf: str) -> None:
    form = {"name": "ci", "expires_in_days": "7", "csrf_token": csrf}
    response = client.post("/preferences/tokens", data=form, headers=HTMX)
    assert response.status_code == 200
    assert response.text.startswith('<section id="tokens"')
    assert RAW_TOKEN.search(response.text)
    refused = client.post("/preferences/tokens", data={**form, "name": ""}, headers=HTMX)
    assert refused.status_code == 200  # htmx swaps the section with the message in it
    assert "A token name must have 1 to 64 characters." in refused.text


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("x" * 65, "30", "A token name must have 1 to 64 characters."),
        ("", "30", "A token name must have 1 to 64 characters."),
        ("ci", "91", "A token can last 1 to 90 days."),
        ("ci", "0", "A token can last 1 to 90 days."),
        ("ci", "forever", "Choose how long the token lasts."),
    ],
)
def test_bad_tokens_are_refused_next_to_the_field(
    client: TestClient, csrf: str, name: str, days: str, message: str
) -> None:
    form = {"name": name, "expires_in_days": days, "csrf_token": csrf}
    response = client.post("/preferences/tokens", data=form)
    assert response.status_code == 422
    assert f'class="invalid-feedback d-block">{message}</div>' in response.text
    assert "You have no API tokens." in response.text


def test_revoking_asks_first_and_then_the_token_stops_working(
    client: TestClient, csrf: str
) -> None:
    raw = create_token(client, csrf)
    token_id = client.get("/api/v1/me/tokens").json()["data"][0]["id"]
    dialog = client.get(f"/preferences/tokens/{token_id}/revoke")
    assert dialog.status_code == 200
    assert "Revoke laptop?" in dialog.text
    revoked = client.post(
        f"/preferences/tokens/{token_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/preferences#tokens"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert "You have no API tokens." in client.get("/preferences").text


def test_revoking_with_htmx_closes_the_dialog_and_refreshes_the_list(
    client: TestClient, csrf: str
) -> None:
    create_token(client, csrf)
    token_id = client.get("/api/v1/me/tokens").json()["data"][0]["id"]
    revoked = client.post(
        f"/preferences/tokens/{token_id}/revoke", data={"csrf_token": csrf}, headers=HTMX
    )
    assert revoked.status_code == 200
    assert "shipyard:tokens-changed" in revoked.headers["HX-Trigger"]
    assert "Token laptop revoked." in revoked.headers["HX-Trigger"]


def test_forms_without_the_csrf_token_change_nothing(client: TestClient, csrf: str) -> None:
    raw = create_token(client, csrf)
    token_id = client.get("/api/v1/me/tokens").json()["data"][0]["id"]
    for path, data in (
        ("/preferences/tokens", {"name": "forged", "expires_in_days": "7"}),
        (f"/preferences/tokens/{token_id}/revoke", {}),
        ("/preferences/ssh-keys", {"public_key": ED25519}),
        ("/preferences", {"language": "en", "theme": "dark", "idle_logout": "15"}),
    ):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "wrong"}).status_code == 403, path
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    assert client.get("/api/v1/me/tokens").json()["count"] == 1
    assert client.get("/api/v1/me/ssh-keys").json()["count"] == 0
    assert watch_attributes(client)["idle-minutes"] == "240"


def test_another_users_token_and_key_are_not_found(
    client: TestClient, factory: Factory, csrf: str
) -> None:
    other = factory.user().user
    with factory.database.session() as db:
        _raw, token = personal_tokens.create_token(
            db, user=other, name="theirs", days=None, settings=factory.settings
        )
        key = ssh_keys.add_key(db, user=other, public_key=ED25519)
        token_id, key_id = token.id, key.id
    for path in (
        f"/preferences/tokens/{token_id}/revoke",
        f"/preferences/ssh-keys/{key_id}/delete",
    ):
        assert client.get(path).status_code == 404
        assert client.post(path, data={"csrf_token": csrf}).status_code == 404
    page = client.get("/preferences").text
    assert "theirs" not in page
    assert ED25519_FP not in page


# SSH keys ---------------------------------------------------------------------------------------


def test_a_pasted_key_shows_its_fingerprint_and_can_be_deleted(
    client: TestClient, csrf: str
) -> None:
    added = client.post("/preferences/ssh-keys", data={"public_key": ED25519, "csrf_token": csrf})
    assert added.status_code == 201
    assert "Key alice@laptop added." in added.text
    assert ED25519_FP in client.get("/preferences").text
    key_id = client.get("/api/v1/me/ssh-keys").json()["data"][0]["id"]
    assert "Delete alice@laptop?" in client.get(f"/preferences/ssh-keys/{key_id}/delete").text
    deleted = client.post(
        f"/preferences/ssh-keys/{key_id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert "You have no SSH keys." in client.get("/preferences").text


@pytest.mark.parametrize(
    ("key", "name", "status", "message"),
    [
        ("ssh-ed25519 AAAAjunk", "", 422, "The key&#39;s data is damaged."),
        ("just some text", "", 422, "Not a supported public key."),
        ("", "", 422, "Paste a public key."),
        (ED25519, "n" * 65, 422, "A key name can have at most 64 characters."),
    ],
)
def test_bad_keys_are_refused_next_to_the_field(
    client: TestClient, csrf: str, key: str, name: str, status: int, message: str
) -> None:
    response = client.post(
        "/preferences/ssh-keys", data={"public_key": key, "name": name, "csrf_token": csrf}
    )
    assert response.status_code == status
    assert message in response.text
    assert "is-invalid" in response.text
    assert "You have no SSH keys." in response.text


@pytest.mark.db
def test_a_duplicate_key_is_refused(client: TestClient, csrf: str) -> None:
    form = {"public_key": ED25519, "csrf_token": csrf}
    client.post("/preferences/ssh-keys", data=form)
    again = client.post("/preferences/ssh-keys", data=form, headers=HTMX)
    assert again.status_code == 200
    assert "This key is already in your list, as alice@laptop." in again.text
    assert client.get("/api/v1/me/ssh-keys").json()["count"] == 1

"""The Summary page: its panels, their own refreshes, a failing panel, and its statement count."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.announcements import service as announcements
from shipyard.storage import sharing
from shipyard.storage.models import Perm
from shipyard.web.summary import page as summary_routes
from tests.factories import Account, Factory
from tests.querycount import QueryCounter

HTMX = {"HX-Request": "true"}
HEADING = re.compile(r"<h([12])[^>]*>([^<]+)</h\1>")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
PANEL_FAILED = "This panel could not be loaded. It will try again shortly."


def as_(client: TestClient, factory: Factory, account: Account) -> None:
    client.cookies.clear()
    factory.web_login(client, account)


def headings(html: str) -> list[str]:
    return [f"h{level} {text.strip()}" for level, text in HEADING.findall(html)]


def announce(factory: Factory, message: str) -> None:
    admin = factory.admin()
    with factory.database.session() as db:
        announcements.set_(db, message=message, enabled=True, by=db.merge(admin.user))


def invite(factory: Factory, invitee: Account, *names: str) -> list[uuid.UUID]:
    owner = factory.user()
    ids = []
    for name in names:
        folder = factory.folder(owner.user, name=name)
        with factory.database.session() as db:
            invitation = sharing.invite(
                db, user=db.merge(owner.user), ref=str(folder.id), email=invitee.email, perm=Perm.RO
            )
            ids.append(invitation.id)
    return ids


def refresh(client: TestClient, path: str, **headers: str) -> httpx.Response:
    response: httpx.Response = client.get(path, headers={**HTMX, **headers})
    return response


# The page ----------------------------------------------------------------------------------


@pytest.mark.smoke
def test_a_user_sees_every_panel_in_order_and_no_admin_shortcuts(
    client: TestClient, factory: Factory
) -> None:
    account = factory.user()
    as_(client, factory, account)
    html = client.get("/").text
    shown = headings(html)
    assert shown[0] == "h1 Summary"
    panels = [
        "h2 Start",
        "h2 Current project",
        "h2 Resource Statistics",
        "h2 System Resources",
        "h2 Announcement",
        "h2 Invitations",
    ]
    assert [h for h in shown if h in panels] == panels
    assert 'href="/sessions/launcher"' in html
    assert 'hx-get="/sessions/launcher"' in html
    assert 'href="/data"' in html
    assert "upload files" in html
    assert 'href="/admin/users"' not in html
    assert 'href="/admin/maintenance"' not in html
    assert "No announcement" in html
    assert "No pending invitations" in html
    assert PANEL_FAILED not in html


def test_an_admin_also_gets_the_users_and_maintenance_shortcuts(
    client: TestClient, factory: Factory
) -> None:
    as_(client, factory, factory.admin())
    html = client.get("/").text
    shortcuts = html[html.index('aria-label="Shortcuts"') :]
    assert 'href="/admin/users"' in shortcuts
    assert 'href="/admin/maintenance"' in shortcuts


def test_the_page_needs_no_inline_script_or_style(client: TestClient, factory: Factory) -> None:
    as_(client, factory, factory.user())
    html = client.get("/").text
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert not STYLE_ATTRIBUTE.search(html)
    assert "/static/js/summary.js" in html
    assert "/static/js/sessions.js" in html


def test_each_live_panel_refreshes_from_its_own_fragment(
    client: TestClient, factory: Factory
) -> None:
    as_(client, factory, factory.user())
    html = client.get("/").text
    for name, url in (
        ("resources", "/summary/resources"),
        ("system", "/summary/system"),
        ("announcement", "/summary/announcement"),
        ("invitations", "/summary/invitations"),
    ):
        wrapper = re.search(rf'<div class="summary-live" id="live-{name}"[^>]*>', html)
        assert wrapper, name
        assert f'hx-get="{url}"' in wrapper.group(0)
        assert "every 5s" in wrapper.group(0)
        assert 'data-etag="' in wrapper.group(0)
    resources = re.search(r'id="live-resources"[^>]*>', html)
    assert resources
    assert "shipyard:project-changed from:body" in resources.group(0)


def test_fragments_need_a_login(client: TestClient) -> None:
    for url in ("/summary/announcement", "/summary/invitations"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


# Announcement ------------------------------------------------------------------------------


def test_the_announcement_panel_shows_the_markdown_rendered_safely(
    client: TestClient, factory: Factory
) -> None:
    announce(factory, "**Maintenance** on Friday <script>alert(1)</script>")
    as_(client, factory, factory.user())
    html = client.get("/").text
    panel = html[html.index('id="summary-announcement"') :]
    panel = panel[: panel.index("</section>")]
    assert "<strong>Maintenance</strong> on Friday" in panel
    assert "<script>" not in panel
    assert "No announcement" not in panel


def test_an_unchanged_announcement_refresh_swaps_nothing(
    client: TestClient, factory: Factory
) -> None:
    as_(client, factory, factory.user())
    first = refresh(client, "/summary/announcement")
    assert first.status_code == 200
    assert "No announcement" in first.text
    assert first.headers["cache-control"] == "no-store"
    etag = first.headers["etag"]
    page = client.get("/").text
    assert f'data-etag="{etag.replace(chr(34), "&#34;")}"' in page
    assert refresh(client, "/summary/announcement", **{"If-None-Match": etag}).status_code == 204

    announce(factory, "New *cluster* online")
    changed = refresh(client, "/summary/announcement", **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert "New <em>cluster</em> online" in changed.text
    assert changed.headers["etag"] != etag


# Invitations -------------------------------------------------------------------------------


def test_the_invitation_panel_lists_only_the_viewers_invitations(
    client: TestClient, factory: Factory
) -> None:
    me, other = factory.user(), factory.user()
    invite(factory, me, "corpus")
    invite(factory, other, "secret-notes")
    as_(client, factory, me)
    html = client.get("/").text
    assert "corpus" in html
    assert "secret-notes" not in html
    assert html.count('name="pending"') == 1
    fragment = refresh(client, "/summary/invitations").text
    assert "corpus" in fragment
    assert "secret-notes" not in fragment


def test_an_invitation_refresh_keeps_answered_cards_until_new_ones_come(
    client: TestClient, factory: Factory
) -> None:
    me = factory.user()
    ids = invite(factory, me, "alpha", "beta", "gamma")
    as_(client, factory, me)
    shown = "&".join(f"pending={i}" for i in ids)
    assert refresh(client, f"/summary/invitations?listed=true&{shown}").status_code == 204

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert token
    answer = client.post(
        f"/data/invitations/{ids[0]}/accept",
        data={"csrf_token": token.group(1), "next": "/"},
        headers=HTMX,
    )
    assert "Accepted" in answer.text
    # The page now shows beta and gamma still waiting: nothing to swap, "Accepted" stays.
    rest = "&".join(f"pending={i}" for i in ids[1:])
    assert refresh(client, f"/summary/invitations?listed=true&{rest}").status_code == 204

    invite(factory, me, "delta")
    fresh = refresh(client, f"/summary/invitations?listed=true&{rest}")
    assert fresh.status_code == 200
    assert fresh.text.count('class="card card-sm invitation-card"') == 3
    assert "delta" in fresh.text
    assert "alpha" not in fresh.text


def test_a_malformed_invitation_refresh_is_refused_cleanly(
    client: TestClient, factory: Factory
) -> None:
    as_(client, factory, factory.user())
    response = refresh(client, "/summary/invitations?listed=true&pending=nope")
    assert response.status_code == 422


# A failing panel ---------------------------------------------------------------------------


def test_a_failing_panel_says_so_and_the_others_render(
    client: TestClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = factory.user()
    invite(factory, me, "corpus")
    announce(factory, "All systems go")

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the figures are gone")

    monkeypatch.setattr(summary_routes, "system_context", broken)
    as_(client, factory, me)
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert html.count(PANEL_FAILED) == 1
    system = html[html.index('id="live-system"') :]
    assert system.index(PANEL_FAILED) < system.index("</section>")
    assert '<h2 class="card-title" id="summary-system-error-title">System Resources</h2>' in html
    assert 'id="summary-resources"' in html
    assert "All systems go" in html
    assert "corpus" in html


def test_a_failing_fragment_answers_an_error_the_panel_can_show(
    client: TestClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the database is away")

    as_(client, factory, factory.user())
    monkeypatch.setattr(summary_routes.sharing, "pending_for", broken)
    response = refresh(client, "/summary/invitations")
    assert response.status_code == 500
    page = client.get("/")
    assert page.status_code == 200
    assert PANEL_FAILED in page.text
    assert "No announcement" in page.text


# Statements --------------------------------------------------------------------------------


def seed(factory: Factory, me: Account, times: int) -> None:
    """Data of every kind the panels count: agents, sessions, invitations, other users."""
    for _ in range(times):
        factory.agent()
        other = factory.user()
        factory.session(other.user)
        factory.session(me.user)
        invite(factory, me, f"shared-{uuid.uuid4().hex[:8]}")


@pytest.mark.parametrize("role", ["user", "admin"])
def test_the_page_runs_few_statements_whatever_the_data(
    client: TestClient, factory: Factory, queries: QueryCounter, role: str
) -> None:
    me = factory.admin() if role == "admin" else factory.user()
    factory.user_policy(me.user)  # no session limit: eleven sessions are admitted
    as_(client, factory, me)
    seed(factory, me, 1)
    client.get("/")
    queries.reset()
    assert client.get("/").status_code == 200
    few = queries.count
    assert few <= 15, queries.statements
    seed(factory, me, 10)
    queries.reset()
    html = client.get("/").text
    assert queries.count == few
    assert html.count('class="card card-sm invitation-card"') == 11

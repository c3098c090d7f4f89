"""The Summary page has no serious accessibility violations (axe-core from npm, injected),
for a user and for an admin, in the light and in the dark theme."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from shipyard.storage import sharing
from shipyard.storage.models import Perm
from tests.browser.conftest import log_in
from tests.factories import Account, Factory

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@pytest.fixture
def axe_page(browser: Browser) -> Iterator[Page]:
    """A page whose CSP lets the test inject axe (the app's own CSP stays as it is)."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1440, "height": 1000})
    yield context.new_page()
    context.close()


def violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document)).violations.map(v => ({
             id: v.id, impact: v.impact, help: v.help,
             nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"""
    )
    return [v for v in found if v["impact"] in SERIOUS]


def populate(factory: Factory, account: Account) -> None:
    """Every panel with something in it: an agent, a running session, an invitation."""
    factory.agent(cpu="8", mem="16g")
    factory.session(account.user, cpu="1", mem="1g")
    owner = factory.user()
    folder = factory.folder(owner.user, name="corpus")
    with factory.database.session() as db:
        sharing.invite(
            db, user=db.merge(owner.user), ref=str(folder.id), email=account.email, perm=Perm.RO
        )


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("role", ["user", "admin"])
def test_no_serious_violations(
    axe_page: Page, live_server: str, factory: Factory, role: str, theme: str
) -> None:
    account = factory.admin() if role == "admin" else factory.user()
    populate(factory, account)
    axe_page.emulate_media(color_scheme=theme)
    log_in(axe_page, live_server, account.email, account.password)
    expect(axe_page.locator("html")).to_have_attribute("data-bs-theme", theme)
    expect(axe_page.get_by_role("region", name="Invitations").get_by_role("article")).to_have_count(
        1
    )
    assert violations(axe_page) == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_violations_with_the_launcher_open(
    axe_page: Page, live_server: str, factory: Factory, theme: str
) -> None:
    account = factory.user()
    populate(factory, account)
    axe_page.emulate_media(color_scheme=theme)
    log_in(axe_page, live_server, account.email, account.password)
    axe_page.get_by_role("button", name="START").click()
    expect(axe_page.get_by_role("region", name="Start a session")).to_be_visible()
    expect(axe_page.get_by_text("Fits now")).to_be_visible()
    assert violations(axe_page) == []

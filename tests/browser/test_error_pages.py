"""Error pages in a real browser: a logged-in user keeps the navigation on a 403 or 404 page,
an anonymous visitor gets the page alone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.factories import Factory


def test_not_found_and_not_allowed_keep_the_navigation_for_a_logged_in_user(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    member = factory.user()
    log_in(page, live_server, member.email, member.password)
    for path, title in (("/no-such-page", "Page not found"), ("/admin/users", "Not allowed")):
        response = page.goto(f"{live_server}{path}")
        assert response is not None
        assert response.status == (404 if path == "/no-such-page" else 403)
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
        navigation = page.get_by_role("navigation", name="Main")
        expect(navigation.get_by_role("link", name="Data & Storage")).to_be_visible()
        expect(page.get_by_role("button", name="User menu")).to_be_visible()
    navigation.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()
    assert csp_violations == []


def test_an_anonymous_visitor_gets_the_page_alone(page: Page, live_server: str) -> None:
    response = page.goto(f"{live_server}/no-such-page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.get_by_role("link", name="Back to Summary")).to_be_visible()

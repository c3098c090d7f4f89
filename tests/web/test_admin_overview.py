"""The Administration menu and overview: every admin area one click away, for admins only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.factories import Factory

AREAS = {
    "/admin/users": "Users",
    "/admin/projects": "Projects",
    "/admin/policies": "Resource policies",
    "/admin/agents": "Agents",
    "/admin/resource-groups": "Resource groups",
    "/admin/environments": "Environments",
    "/admin/maintenance": "Maintenance",
    "/admin/announcement": "Announcement",
    "/admin/audit": "Audit log",
}


def _links(html: str) -> set[str]:
    return set(re.findall(r'href="(/admin[^"]*)"', html))


@pytest.mark.smoke
def test_the_overview_links_every_area_and_each_area_page_opens(
    client: TestClient, factory: Factory
) -> None:
    admin = factory.admin()
    factory.web_login(client, admin)
    home = client.get("/")
    assert 'href="/admin"' in home.text
    overview = client.get("/admin")
    assert overview.status_code == 200
    assert set(AREAS) <= _links(overview.text)
    for label in AREAS.values():
        assert label in overview.text
    for path in AREAS:
        page = client.get(path)
        assert page.status_code == 200, path
        menu = page.text.split('class="admin-menu"', 1)[1].split("</nav>", 1)[0]
        assert set(AREAS) <= _links(menu), path
        assert re.search(rf'href="{path}"[^>]*aria-current="page"', menu), path


def test_a_normal_user_sees_no_administration_and_gets_the_403_page(
    client: TestClient, factory: Factory
) -> None:
    user = factory.user()
    factory.web_login(client, user)
    home = client.get("/")
    assert "/admin" not in home.text
    refused = client.get("/admin")
    assert refused.status_code == 403
    assert "Not allowed" in refused.text

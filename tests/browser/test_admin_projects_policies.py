"""Project and policy administration in a real browser, found by role and label."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from shipyard.policies.models import ResourcePolicy
from shipyard.projects.models import Project, ProjectMember
from tests.browser.conftest import log_in
from tests.factories import Factory


def test_a_project_policy_assigned_to_a_project_with_a_new_member(
    page: Page, live_server: str, factory: Factory, csp_violations: list[str]
) -> None:
    admin = factory.admin()
    person = factory.user()
    project = factory.project()
    log_in(page, live_server, admin.email, admin.password)

    page.goto(f"{live_server}/admin/policies")
    page.get_by_role("link", name="New project policy").click()
    page.get_by_label("Name").fill("lab-quota")
    page.get_by_label("CPU").fill("4")
    expect(page.get_by_label("GPU")).to_have_attribute("placeholder", "Unlimited")
    page.get_by_role("button", name="Create policy").click()
    expect(page.get_by_role("status")).to_contain_text("Policy created.")
    projects = page.get_by_role("region", name="Project policies")
    row = projects.get_by_role("row").filter(has_text="lab-quota")
    expect(row).to_contain_text("4")
    expect(row).to_contain_text("∞")

    page.goto(f"{live_server}/admin/projects")
    page.get_by_role("searchbox", name="Search projects").fill(project.name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=project.name).click()
    page.get_by_label("Resource policy").select_option(label="lab-quota")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Changes saved.")
    expect(page.get_by_label("Resource policy")).to_have_value(
        str(_policy_id(factory, "lab-quota"))
    )

    page.get_by_label("Email of the user to add").fill(person.email)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_contain_text("Member added.")
    members = page.get_by_role("region", name="Members")
    expect(members.get_by_role("button", name=f"Remove {person.email}")).to_be_visible()
    expect(members.get_by_label(f"Role of {person.email}", exact=True)).to_have_value("member")

    page.get_by_label("Email of the user to add").fill("nobody@example.org")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert").or_(page.locator(".invalid-feedback"))).to_contain_text(
        "No active user has the email nobody@example.org."
    )
    with factory.database.session() as db:
        stored = db.get(Project, project.id)
        assert stored is not None
        assert stored.resource_policy_id == _policy_id(factory, "lab-quota")
        assert db.get(ProjectMember, (project.id, person.user.id)) is not None
    assert csp_violations == []


def _policy_id(factory: Factory, name: str) -> object:
    with factory.database.session() as db:
        return db.scalar(select(ResourcePolicy.id).where(ResourcePolicy.name == name))

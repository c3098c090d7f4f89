"""Sharing a folder in a real browser: the owner invites, the invitee answers on the Summary
page, each invitation card on its own, and an accepted folder appears under Shared with me."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from shipyard.storage import sharing
from shipyard.storage.models import Perm
from tests.browser.conftest import log_in
from tests.factories import Factory

WAITS = "If that address has no account yet, the invitation waits for it."


def test_share_in_the_console_then_decline_one_and_accept_the_other(
    page: Page,
    browser: Browser,
    live_server: str,
    factory: Factory,
    csp_violations: list[str],
) -> None:
    owner, invitee = factory.user(), factory.user()
    factory.folder(owner.user, name="corpus")
    other = factory.folder(owner.user, name="scratch")

    log_in(page, live_server, owner.email, owner.password)
    page.goto(f"{live_server}/data")
    page.get_by_role("button", name="Actions for corpus").click()
    page.get_by_role("menuitem", name="Share").click()
    dialog = page.get_by_role("dialog", name="Share corpus")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("Nobody else has access yet.")).to_be_visible()
    dialog.get_by_label("Invite by email").fill(invitee.email)
    dialog.get_by_label("read-write —").check()
    dialog.get_by_role("button", name="Send invitation").click()
    expect(dialog.get_by_role("status")).to_have_text(f"{invitee.email} is invited. {WAITS}")
    pending = dialog.get_by_role("list", name="Waiting for an answer")
    expect(pending.get_by_role("listitem")).to_contain_text(invitee.email)
    expect(pending.get_by_role("listitem")).to_contain_text("read-write")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    with factory.database.session() as db:
        sharing.invite(
            db, user=db.merge(owner.user), ref=str(other.id), email=invitee.email, perm=Perm.RO
        )

    context = browser.new_context()
    second = context.new_page()
    log_in(second, live_server, invitee.email, invitee.password)
    panel = second.get_by_role("region", name="Invitations")
    cards = panel.get_by_role("article")
    expect(cards).to_have_count(2)
    corpus = panel.get_by_role("article", name="corpus")
    scratch = panel.get_by_role("article", name="scratch")
    expect(corpus).to_contain_text(f"From {owner.email}")
    expect(corpus).to_contain_text("read-write")
    expect(scratch).to_contain_text("read-only")

    scratch.get_by_role("button", name="Decline").click()
    expect(scratch).to_contain_text("Declined.")
    expect(scratch.get_by_role("button")).to_have_count(0)
    expect(corpus.get_by_role("button", name="Accept")).to_be_enabled()
    corpus.get_by_role("button", name="Accept").click()
    expect(corpus.get_by_role("status")).to_contain_text(
        "Accepted: the folder is yours to use as corpus."
    )
    corpus.get_by_role("link", name="Open Data & Storage").click()

    expect(second.get_by_role("tab", name="Shared with me")).to_have_attribute(
        "aria-selected", "true"
    )
    row = (
        second.get_by_role("tabpanel", name="Shared with me")
        .get_by_role("row")
        .filter(has_text="corpus")
    )
    expect(row).to_contain_text(f"shared by {owner.email}")
    expect(row).to_contain_text("read-write")
    expect(second.get_by_role("row").filter(has_text="scratch")).to_have_count(0)
    second.goto(f"{live_server}/")
    expect(second.get_by_role("region", name="Invitations")).to_contain_text(
        "No pending invitations"
    )
    context.close()
    assert csp_violations == []


def test_accepting_on_the_data_page_lists_the_folder_at_once(
    page: Page, live_server: str, factory: Factory
) -> None:
    owner, invitee = factory.user(), factory.user()
    folder = factory.folder(owner.user, name="weights")
    factory.folder(invitee.user, name="weights")  # the invitee's own name clashes
    with factory.database.session() as db:
        sharing.invite(
            db, user=db.merge(owner.user), ref=str(folder.id), email=invitee.email, perm=Perm.WD
        )
    log_in(page, live_server, invitee.email, invitee.password)
    page.goto(f"{live_server}/data")
    card = page.get_by_role("article", name="weights")
    card.get_by_role("button", name="Accept").click()
    local = owner.email.split("@")[0]
    expect(card).to_contain_text(f"yours to use as weights-{local}")
    expect(page.get_by_role("tab", name="Shared with me")).to_have_attribute(
        "aria-selected", "true"
    )
    shared = page.get_by_role("tabpanel", name="Shared with me")
    expect(shared.get_by_role("row").filter(has_text=f"weights-{local}")).to_contain_text(
        "rw + delete"
    )


def test_the_invitations_badge_counts_down_as_each_is_answered(
    page: Page, live_server: str, factory: Factory
) -> None:
    owner, invitee = factory.user(), factory.user()
    with factory.database.session() as db:
        for name in ("alpha", "beta"):
            folder = factory.folder(owner.user, name=name)
            sharing.invite(
                db, user=db.merge(owner.user), ref=str(folder.id), email=invitee.email, perm=Perm.RO
            )
    log_in(page, live_server, invitee.email, invitee.password)
    panel = page.get_by_role("region", name="Invitations")
    badge = panel.get_by_test_id("invitations-count")
    expect(badge).to_have_text("2")
    panel.get_by_role("article", name="alpha").get_by_role("button", name="Decline").click()
    expect(panel.get_by_role("article", name="alpha")).to_contain_text("Declined.")
    expect(badge).to_have_text("1")
    panel.get_by_role("article", name="beta").get_by_role("button", name="Accept").click()
    expect(panel.get_by_role("article", name="beta")).to_contain_text("Accepted")
    expect(badge).to_be_hidden()


def test_sharing_with_an_address_without_an_account_looks_like_any_other(
    page: Page, live_server: str, factory: Factory
) -> None:
    owner, friend = factory.user(), factory.user()
    factory.folder(owner.user, name="corpus")
    log_in(page, live_server, owner.email, owner.password)
    page.goto(f"{live_server}/data")
    page.get_by_role("button", name="Actions for corpus").click()
    page.get_by_role("menuitem", name="Share").click()
    dialog = page.get_by_role("dialog", name="Share corpus")
    pending = dialog.get_by_role("list", name="Waiting for an answer")
    for email in ("nobody@example.org", friend.email):
        dialog.get_by_label("Invite by email").fill(email)
        dialog.get_by_role("button", name="Send invitation").click()
        expect(dialog.get_by_role("status")).to_have_text(f"{email} is invited. {WAITS}")
        expect(dialog.get_by_role("alert")).to_have_count(0)
        expect(pending.get_by_role("listitem").filter(has_text=email)).to_have_count(1)
    expect(dialog).not_to_contain_text("No active user")

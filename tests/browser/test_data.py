"""Data & Storage in a real browser: folders, uploads (tus) with progress, retry, cancel and
resume, downloads, and the file operations, found by role and label as a person would."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Error, Page, Request, Route, expect
from sqlalchemy import func, select, update

from shipyard.storage import hosts
from shipyard.storage.models import Folder, Perm, Upload
from shipyard.storage.paths import TEMP_PREFIX
from tests.browser.conftest import log_in
from tests.factories import Account, Factory

MIB = 2**20
DROP_SCRIPT = """([name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, {type: "text/plain"}));
  return transfer;
}"""


def some_file(directory: Path, name: str, size: int) -> Path:
    path = directory / name
    path.write_bytes(os.urandom(size))
    return path


def folder_dir(factory: Factory, folder: Folder) -> Path:
    return hosts.directory(factory.settings, folder)


def open_folder(page: Page, base: str, folder: Folder) -> None:
    page.goto(f"{base}/data/{folder.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(folder.name)


def choose_files(page: Page, *paths: Path) -> None:
    """Upload through the file chooser that the Upload button opens."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files([str(path) for path in paths])


def expect_uploaded(page: Page, name: str) -> None:
    bar = page.get_by_role("progressbar", name=f"Upload of {name}")
    expect(bar).to_have_attribute("value", "100", timeout=20000)
    row = page.get_by_role("listitem").filter(has=bar)
    expect(row).to_contain_text("Uploaded.")


def leftovers(factory: Factory, folder: Folder) -> tuple[list[str], int]:
    """Upload files left in the staging directory (or, as older versions put them, hidden in
    the folder) and upload rows still open for it."""
    staging = hosts.staging(factory.settings, folder)
    temps = [p.name for p in folder_dir(factory, folder).rglob(f"{TEMP_PREFIX}*")]
    temps += [p.name for p in staging.glob("upload-*")] if staging.is_dir() else []
    with factory.database.session() as db:
        rows = db.scalar(select(func.count()).where(Upload.folder_id == folder.id)) or 0
    return temps, rows


@pytest.fixture
def owner(page: Page, live_server: str, factory: Factory) -> Account:
    account = factory.user()
    log_in(page, live_server, account.email, account.password)
    return account


def test_create_a_folder_upload_download_and_manage_files(
    page: Page,
    live_server: str,
    factory: Factory,
    owner: Account,
    tmp_path: Path,
    csp_violations: list[str],
) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data & Storage").click()
    expect(page.get_by_role("heading", name="Data & Storage", level=1)).to_be_visible()
    expect(page.get_by_text("You have no folders yet")).to_be_visible()
    expect(page.get_by_test_id("folder-count")).to_have_text("0 / ∞ folders")

    page.get_by_role("button", name="New folder").first.click()
    dialog = page.get_by_role("dialog", name="New folder")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Name")).to_be_focused()
    dialog.get_by_label("Name").fill("bad name")
    dialog.get_by_role("button", name="Create folder").click()
    expect(dialog.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_contain_text("bad name is not a valid folder name.")
    dialog.get_by_label("Name").fill("results")
    dialog.get_by_label("Data").check()
    dialog.get_by_role("button", name="Create folder").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="Folder results created.")).to_be_visible()
    expect(page.get_by_test_id("folder-count")).to_have_text("1 / ∞ folders")
    row = page.get_by_role("row").filter(has_text="results")
    expect(row).to_contain_text("owner")
    expect(row).to_contain_text("0 B / ∞")

    row.get_by_role("link", name="results").click()
    expect(page.get_by_role("heading", name="results", level=1)).to_be_visible()
    expect(page.get_by_text("This folder is empty")).to_be_visible()
    with factory.database.session() as db:
        folder = db.scalars(select(Folder).where(Folder.name == "results")).one()
    root = folder_dir(factory, folder)

    small = some_file(tmp_path, "notes.txt", 3000)
    large = some_file(tmp_path, "data.bin", 3 * MIB // 2)
    choose_files(page, small, large)
    expect_uploaded(page, "notes.txt")
    expect_uploaded(page, "data.bin")
    listing = page.get_by_role("region", name="Files")
    expect(listing.get_by_role("row").filter(has_text="notes.txt")).to_contain_text("2.9 KiB")
    expect(listing.get_by_role("row").filter(has_text="data.bin")).to_contain_text("1.5 MiB")
    assert (root / "data.bin").read_bytes() == large.read_bytes()

    zone = page.locator("#dropzone")
    dropped = page.evaluate_handle(DROP_SCRIPT, ["dropped.txt", "hello " * 500])
    zone.dispatch_event("dragenter", {"dataTransfer": dropped})
    expect(zone).to_have_class(re.compile(r"\bis-dragover\b"))
    zone.dispatch_event("drop", {"dataTransfer": dropped})
    expect(zone).not_to_have_class(re.compile(r"\bis-dragover\b"))
    expect_uploaded(page, "dropped.txt")
    expect(listing.get_by_role("row").filter(has_text="dropped.txt")).to_contain_text("2.9 KiB")
    assert (root / "dropped.txt").read_text() == "hello " * 500

    with page.expect_download() as download:
        listing.get_by_role("link", name="Download data.bin").click()
    assert download.value.suggested_filename == "data.bin"
    assert Path(download.value.path()).read_bytes() == large.read_bytes()

    page.get_by_role("button", name="New folder").click()
    dialog = page.get_by_role("dialog", name="New folder")
    dialog.get_by_label("Folder name").fill("runs")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    expect(listing.get_by_role("link", name="runs")).to_be_visible()

    listing.get_by_role("button", name="Rename or move notes.txt").click()
    dialog = page.get_by_role("dialog", name="Rename or move notes.txt")
    expect(dialog.get_by_label("New path")).to_have_value("notes.txt")
    dialog.get_by_label("New path").fill("runs/first-notes.txt")
    dialog.get_by_role("button", name="Rename or move").click()
    expect(dialog).to_be_hidden()
    expect(listing.get_by_role("row").filter(has_text="notes.txt")).to_have_count(0)
    assert (root / "runs" / "first-notes.txt").read_bytes() == small.read_bytes()

    listing.get_by_role("button", name="Delete dropped.txt").click()
    dialog = page.get_by_role("dialog", name="Delete dropped.txt?")
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(listing.get_by_role("row").filter(has_text="dropped.txt")).to_have_count(0)
    assert not (root / "dropped.txt").exists()

    listing.get_by_role("link", name="runs").click()
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.get_by_role("link", name="runs")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("region", name="Files")).to_contain_text("first-notes.txt")
    crumbs.get_by_role("link", name="results").click()
    expect(page.get_by_role("region", name="Files")).to_contain_text("data.bin")
    assert csp_violations == []


def test_a_dropped_connection_is_retried_and_the_file_arrives_whole(
    page: Page, live_server: str, factory: Factory, owner: Account, tmp_path: Path
) -> None:
    folder = factory.folder(owner.user, name="flaky")
    dropped: list[str] = []

    def drop_first_patch(route: Route, request: Request) -> None:
        if request.method == "PATCH" and not dropped:
            dropped.append(request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/*", drop_first_patch)
    open_folder(page, live_server, folder)
    source = some_file(tmp_path, "model.pt", 2 * MIB)
    choose_files(page, source)
    expect_uploaded(page, "model.pt")
    assert dropped
    target = folder_dir(factory, folder) / "model.pt"
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    assert leftovers(factory, folder)[0] == []


def hold_second_patch(page: Page) -> list[Route]:
    """Let the first chunk through and hold the next one: the upload stays half done."""
    patches: list[str] = []
    held: list[Route] = []

    def handler(route: Route, request: Request) -> None:
        if request.method == "PATCH":
            patches.append(request.url)
            if len(patches) >= 2:
                held.append(route)
                return
        route.continue_()

    page.route("**/api/v1/uploads/*", handler)
    return held


def release(held: list[Route]) -> None:
    for route in held:
        with contextlib.suppress(Error):
            route.abort()


def test_cancel_an_upload_and_nothing_is_left(
    page: Page, live_server: str, factory: Factory, owner: Account, tmp_path: Path
) -> None:
    folder = factory.folder(owner.user, name="big")
    held = hold_second_patch(page)
    open_folder(page, live_server, folder)
    choose_files(page, some_file(tmp_path, "huge.bin", 20 * MIB))
    bar = page.get_by_role("progressbar", name="Upload of huge.bin")
    expect(bar).to_have_attribute("value", "80", timeout=20000)
    assert len(leftovers(factory, folder)[0]) == 1  # staged beside the folder, not in it
    assert leftovers(factory, folder)[1] == 1
    page.get_by_role("button", name="Cancel upload of huge.bin").click()
    expect(bar).to_have_count(0)
    expect(page.locator("#upload-status")).to_have_text("Upload of huge.bin canceled.")
    release(held)
    page.reload()
    expect(page.get_by_text("This folder is empty")).to_be_visible()
    assert leftovers(factory, folder) == ([], 0)
    assert list(folder_dir(factory, folder).iterdir()) == []


def test_a_file_chosen_again_after_a_reload_resumes_where_it_stopped(
    page: Page, live_server: str, factory: Factory, owner: Account, tmp_path: Path
) -> None:
    folder = factory.folder(owner.user, name="resumable")
    held = hold_second_patch(page)
    open_folder(page, live_server, folder)
    source = some_file(tmp_path, "video.mkv", 20 * MIB)
    choose_files(page, source)
    bar = page.get_by_role("progressbar", name="Upload of video.mkv")
    expect(bar).to_have_attribute("value", "80", timeout=20000)
    # Reload while the second chunk is still held: released first, the client's retry could
    # finish the upload before the reload (the file chosen again then asks to replace it).
    page.reload()
    page.unroute("**/api/v1/uploads/*")
    release(held)

    methods: list[str] = []
    page.on(
        "request",
        lambda request: methods.append(request.method) if "/uploads" in request.url else None,
    )
    choose_files(page, source)
    expect_uploaded(page, "video.mkv")
    assert methods[0] == "HEAD"  # asks the server where the upload stopped
    assert "POST" not in methods  # no new upload: the first 16 MiB are not sent again
    assert (folder_dir(factory, folder) / "video.mkv").read_bytes() == source.read_bytes()


def test_an_existing_name_asks_before_replacing(
    page: Page, live_server: str, factory: Factory, owner: Account, tmp_path: Path
) -> None:
    folder = factory.folder(owner.user, name="docs")
    (folder_dir(factory, folder) / "report.txt").write_text("old")
    open_folder(page, live_server, folder)
    source = tmp_path / "report.txt"
    source.write_text("new and longer")
    choose_files(page, source)
    row = page.get_by_role("listitem").filter(has_text="report.txt")
    expect(row).to_contain_text("A file called report.txt is here already.")
    assert (folder_dir(factory, folder) / "report.txt").read_text() == "old"
    row.get_by_role("button", name="Replace").click()
    expect_uploaded(page, "report.txt")
    assert (folder_dir(factory, folder) / "report.txt").read_text() == "new and longer"


def test_an_upload_over_the_folder_limit_says_why_on_its_row(
    page: Page, live_server: str, factory: Factory, owner: Account, tmp_path: Path
) -> None:
    folder = factory.folder(owner.user, name="tiny")
    with factory.database.session() as db:
        db.execute(update(Folder).where(Folder.id == folder.id).values(max_size=4096))
        db.commit()
    open_folder(page, live_server, folder)
    choose_files(page, some_file(tmp_path, "too-big.bin", 10000))
    row = page.get_by_role("listitem").filter(has_text="too-big.bin")
    expect(row).to_contain_text("over its size limit")
    assert list(folder_dir(factory, folder).iterdir()) == []


def test_a_read_only_share_shows_no_upload_or_delete_controls(
    page: Page, live_server: str, factory: Factory
) -> None:
    owner = factory.user()
    reader = factory.user()
    folder = factory.folder(owner.user, name="published")
    (folder_dir(factory, folder) / "paper.pdf").write_bytes(b"%PDF")
    factory.share(folder, owner.user, reader, Perm.RO)
    log_in(page, live_server, reader.email, reader.password)
    page.goto(f"{live_server}/data?tab=shared")
    row = page.get_by_role("row").filter(has_text="published")
    expect(row).to_contain_text(f"shared by {owner.email}")
    expect(row).to_contain_text("read-only")
    row.get_by_role("link", name="published").click()
    expect(page.get_by_role("note")).to_contain_text("This folder is read-only for you")
    expect(page.get_by_role("button", name="Upload")).to_have_count(0)
    expect(page.get_by_role("button", name="New folder")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete paper.pdf")).to_have_count(0)
    expect(page.get_by_role("button", name="Rename or move paper.pdf")).to_have_count(0)
    expect(page.get_by_role("link", name="Download paper.pdf")).to_be_visible()

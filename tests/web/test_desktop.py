"""The console as a desktop app: the manifest and its icons, the service worker, the offline
page, and the Summary page's Desktop app panel with the native downloads."""

from __future__ import annotations

import json
import re
import struct
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard import __version__
from shipyard.config import DesktopConfig
from tests.factories import Account, Factory

BASE = "https://downloads.example.com/shipyard"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/18.1 Safari"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131 Mobile"


class Panel(HTMLParser):
    """The Desktop app panel as a visitor perceives it: its links, buttons and text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.inside = 0  # depth inside <section id="summary-desktop">
        self.links: list[dict[str, str]] = []  # attributes plus "text"
        self.buttons: list[dict[str, str]] = []
        self.text: list[str] = []
        self._open: list[dict[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "section" and found.get("id") == "summary-desktop":
            self.inside = 1
        elif self.inside and tag == "section":
            self.inside += 1
        if self.inside and tag in ("a", "button"):
            found["text"] = ""
            (self.links if tag == "a" else self.buttons).append(found)
            self._open.append(found)

    def handle_endtag(self, tag: str) -> None:
        if self.inside and tag == "section":
            self.inside -= 1
        if self.inside and tag in ("a", "button") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text.append(data)
            for element in self._open:
                element["text"] += data

    @property
    def found(self) -> bool:
        return bool(self.text)

    def link(self, text: str) -> dict[str, str]:
        named = [a for a in self.links if " ".join(a["text"].split()) == text]
        assert len(named) == 1, f"{text!r} among {[a['text'] for a in self.links]}"
        return named[0]

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def png_size(body: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert body[:8] == PNG_SIGNATURE
    assert body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


@pytest.fixture
def member(client: TestClient, factory: Factory) -> Account:
    account = factory.user()
    factory.web_login(client, account)
    return account


@pytest.fixture
def downloads(app: FastAPI) -> None:
    """The server publishes native builds under BASE."""
    app.state.settings = app.state.settings.model_copy(
        update={"desktop": DesktopConfig(download_base_url=BASE + "/")}
    )


def summary_panel(client: TestClient, **headers: str) -> Panel:
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    return Panel(response.text)


# The installable web app ------------------------------------------------------------------


def test_the_manifest_describes_an_installable_app(client: TestClient) -> None:
    response = client.get("/manifest.webmanifest")  # browsers fetch it without cookies
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    assert manifest["name"] == "Shipyard"
    assert manifest["short_name"] == "Shipyard"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["id"] == "/"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    assert manifest["description"]
    assert {shortcut["url"] for shortcut in manifest["shortcuts"]} == {"/sessions", "/data"}


def test_every_manifest_icon_exists_with_its_declared_type_and_size(client: TestClient) -> None:
    icons = client.get("/manifest.webmanifest").json()["icons"]
    pngs = {
        (icon["sizes"], icon.get("purpose", "any")) for icon in icons if icon["type"] == "image/png"
    }
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= pngs
    for icon in icons:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.headers["content-type"] == icon["type"], icon["src"]
        if icon["type"] == "image/png":
            width, height = png_size(response.content)
            assert f"{width}x{height}" == icon["sizes"], icon["src"]
        else:
            assert icon["sizes"] == "any"
            assert response.text.startswith("<svg")


def test_the_manifest_speaks_the_visitors_language(client: TestClient) -> None:
    manifest = client.get("/manifest.webmanifest", headers={"Accept-Language": "ko"}).json()
    assert manifest["lang"] == "ko"


def test_the_service_worker_is_served_from_the_root_and_never_cached(
    client: TestClient,
) -> None:
    response = client.get("/service-worker.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/"
    assert f'"shipyard-{__version__}-' in response.text  # the cache is named by version


def test_everything_the_service_worker_precaches_exists(client: TestClient) -> None:
    """One missing file would make the worker's install fail, and the app not installable."""
    source = client.get("/service-worker.js").text
    match = re.search(r"const PRECACHE = (\[.*?\]);", source)
    assert match
    urls = json.loads(match.group(1))
    assert "/offline" in urls
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_the_service_worker_caches_only_static_assets_and_the_offline_page(
    client: TestClient,
) -> None:
    source = client.get("/service-worker.js").text
    # The only put into a cache is in cacheFirst, used for /static/ alone; navigations go to
    # the network and fall back to the offline page.
    assert source.count("cache.put(") == 1
    assert 'url.pathname.startsWith("/static/")' in source
    assert 'request.method !== "GET"' in source


def test_the_offline_page_needs_no_login_and_shows_no_one(client: TestClient) -> None:
    response = client.get("/offline")
    assert response.status_code == 200
    assert "Shipyard cannot be reached" in response.text
    again = re.search(r'<a href="" class="btn btn-primary">(.*?)</a>', response.text, re.S)
    assert again  # an empty href reloads the address that could not be fetched
    assert again.group(1).strip().endswith("Try again")
    assert 'name="csrf-token" content=""' in response.text


@pytest.mark.parametrize("path", ["/login", "/", "/offline"])
def test_pages_link_the_manifest_and_stay_free_of_inline_script(
    client: TestClient, member: Account, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#206bc4">' in html
    assert re.search(r'<link rel="apple-touch-icon" href="/static/img/apple-touch-icon.png', html)
    assert "/static/js/desktop.js" in html
    assert not INLINE_SCRIPT.search(html)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp


def test_the_apple_touch_icon_is_an_opaque_180px_png(client: TestClient) -> None:
    body = client.get("/static/img/apple-touch-icon.png").content
    assert png_size(body) == (180, 180)
    assert body[25] == 2  # colour type 2: RGB without alpha, so iOS draws no black corners


# The Desktop app panel on the Summary page ------------------------------------------------


def test_without_download_settings_the_panel_offers_installing_only(
    client: TestClient, member: Account
) -> None:
    panel = summary_panel(client, **{"User-Agent": WINDOWS})
    assert panel.found
    assert "Desktop app" in panel.words()
    assert "Native desktop app" not in panel.words()
    assert panel.links == []
    install = [b for b in panel.buttons if "Install app" in b["text"]]
    assert len(install) == 1
    assert "hidden" in install[0]  # until the browser offers installing
    assert install[0]["type"] == "button"


def test_downloads_preselect_the_visitors_windows(
    client: TestClient, member: Account, downloads: None
) -> None:
    panel = summary_panel(client, **{"User-Agent": WINDOWS})
    recommended = panel.link("Download for Windows (x64)")
    assert (
        recommended["href"]
        == f"{BASE}/{__version__}/shipyard-desktop-{__version__}-windows-x64.exe"
    )
    assert "hidden" not in recommended
    own = panel.link("Windows x64")
    assert own["href"] == recommended["href"]
    assert own["aria-current"] == "true"
    assert "btn-primary" in own["class"]
    other = panel.link("Windows Arm64")
    assert other["href"].endswith(f"/shipyard-desktop-{__version__}-windows-arm64.exe")
    assert "aria-current" not in other
    assert f"Version {__version__}, the same as this server." in panel.words()


def test_every_system_and_architecture_has_its_link(
    client: TestClient, member: Account, downloads: None
) -> None:
    panel = summary_panel(client, **{"User-Agent": MAC})
    names = {
        "Windows x64": "windows-x64.exe",
        "Windows Arm64": "windows-arm64.exe",
        "macOS Intel": "macos-x64.dmg",
        "macOS Apple silicon": "macos-arm64.dmg",
        "Linux x64": "linux-x64.AppImage",
        "Linux Arm64": "linux-arm64.AppImage",
    }
    for name, suffix in names.items():
        href = panel.link(name)["href"]
        assert href == f"{BASE}/{__version__}/shipyard-desktop-{__version__}-{suffix}"
    # A Mac's browser says "Intel" either way: Apple silicon is preselected.
    assert panel.link("Download for macOS (Apple silicon)")["href"].endswith("macos-arm64.dmg")
    assert panel.link("macOS Apple silicon")["aria-current"] == "true"
    everything = panel.link("All versions")
    assert everything["href"] == f"{BASE}/"
    assert everything["rel"] == "noopener noreferrer"


def test_client_hints_choose_the_intel_mac(
    client: TestClient, member: Account, downloads: None
) -> None:
    hints = {"User-Agent": MAC, "Sec-CH-UA-Platform": '"macOS"', "Sec-CH-UA-Arch": '"x86"'}
    panel = summary_panel(client, **hints)
    assert panel.link("Download for macOS (Intel)")["href"].endswith("macos-x64.dmg")
    assert panel.link("macOS Intel")["aria-current"] == "true"


def test_a_phone_gets_the_links_without_a_preselection(
    client: TestClient, member: Account, downloads: None
) -> None:
    panel = summary_panel(client, **{"User-Agent": ANDROID})
    assert not [a for a in panel.links if a["text"].strip().startswith("Download for")]
    assert not [a for a in panel.links if "aria-current" in a]
    hidden = [a for a in panel.links if "data-desktop-recommended" in a]
    assert len(hidden) == 1
    assert "hidden" in hidden[0]  # kept for the browser's own refinement
    assert len([a for a in panel.links if "data-os" in a]) == 6


def test_the_panel_is_part_of_the_summary_page_only_for_a_logged_in_visitor(
    client: TestClient, downloads: None
) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert BASE not in client.get("/login").text

"""The Desktop app panel's downloads: the visitor's platform from the User-Agent and client
hints, the links built from the configured base URL and the server's version, and the
settings that configure them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shipyard.config import CONFIG_ENV, DesktopConfig, Settings
from shipyard.web.desktop.downloads import Platform, detect_platform, file_url, panel

WINDOWS_X64 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
WINDOWS_ARM = "Mozilla/5.0 (Windows NT 10.0; ARM64; rv:133.0) Gecko/20100101 Firefox/133.0"
WINDOWS_ARM_EDGE_LEGACY = (
    "Mozilla/5.0 (Windows NT 10.0; ARM; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/52.0.2743.116 Safari/537.36 Edge/15.15063"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"
LINUX_X64 = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
LINUX_ARM = "Mozilla/5.0 (X11; Linux aarch64; rv:133.0) Gecko/20100101 Firefox/133.0"
LINUX_ARM32 = "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131"
UBUNTU_FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
CHROMEBOOK = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
BASE = "https://downloads.example.com/shipyard"


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (WINDOWS_X64, Platform("windows", "x64")),
        (WINDOWS_FIREFOX, Platform("windows", "x64")),
        (WINDOWS_ARM, Platform("windows", "arm64")),
        (WINDOWS_ARM_EDGE_LEGACY, Platform("windows", "arm64")),
        # Every Mac browser says "Intel": Apple silicon is the likelier Mac (module docstring).
        (MAC_SAFARI, Platform("macos", "arm64")),
        (MAC_FIREFOX, Platform("macos", "arm64")),
        (LINUX_X64, Platform("linux", "x64")),
        (UBUNTU_FIREFOX, Platform("linux", "x64")),
        (LINUX_ARM, Platform("linux", "arm64")),
        (LINUX_ARM32, Platform("linux", None)),
        (ANDROID, Platform()),
        (IPHONE, Platform()),
        (CHROMEBOOK, Platform()),
        ("curl/8.5.0", Platform()),
        ("", Platform()),
        (None, Platform()),
    ],
    ids=lambda value: str(value)[:40],
)
def test_platform_from_the_user_agent(user_agent: str | None, expected: Platform) -> None:
    assert detect_platform(user_agent) == expected


@pytest.mark.parametrize(
    ("user_agent", "platform_hint", "arch_hint", "expected"),
    [
        (MAC_SAFARI, '"macOS"', '"x86"', Platform("macos", "x64")),  # an Intel Mac, told
        (MAC_SAFARI, '"macOS"', '"arm"', Platform("macos", "arm64")),
        (WINDOWS_X64, '"Windows"', '"arm"', Platform("windows", "arm64")),  # frozen UA on ARM
        (WINDOWS_X64, '"Windows"', '""', Platform("windows", "x64")),  # hint not granted
        (LINUX_X64, '"Linux"', '"arm"', Platform("linux", "arm64")),
        (LINUX_X64, '"Android"', None, Platform()),
        (LINUX_X64, '"Chrome OS"', '"x86"', Platform()),
        (WINDOWS_X64, '"Unknown"', None, Platform("windows", "x64")),  # falls back to the UA
        ("", '"Windows"', '"x86"', Platform("windows", "x64")),
        ("", "Linux", None, Platform("linux", None)),  # unquoted still read; arch unknown
    ],
)
def test_client_hints_win_over_the_user_agent(
    user_agent: str, platform_hint: str, arch_hint: str | None, expected: Platform
) -> None:
    found = detect_platform(user_agent, platform_hint=platform_hint, arch_hint=arch_hint)
    assert found == expected


def test_file_urls_follow_the_naming_scheme() -> None:
    assert (
        file_url(BASE, version="1.2.3", os="windows", arch="x64")
        == f"{BASE}/1.2.3/shipyard-desktop-1.2.3-windows-x64.exe"
    )
    assert (
        file_url(BASE + "/", version="1.2.3", os="macos", arch="arm64")
        == f"{BASE}/1.2.3/shipyard-desktop-1.2.3-macos-arm64.dmg"
    )
    assert (
        file_url(BASE, version="1.2.3", os="linux", arch="arm64")
        == f"{BASE}/1.2.3/shipyard-desktop-1.2.3-linux-arm64.AppImage"
    )
    # A local version label stays one path segment, percent-encoded where it must be.
    assert (
        file_url(BASE, version="1.2.3+dev 1", os="linux", arch="x64")
        == f"{BASE}/1.2.3%2Bdev%201/shipyard-desktop-1.2.3%2Bdev%201-linux-x64.AppImage"
    )


def test_the_panel_lists_six_builds_and_marks_the_visitors_own() -> None:
    shown = panel(
        DesktopConfig(download_base_url=BASE),
        version="2.0.0",
        platform=Platform("macos", "arm64"),
    )
    rows = [
        (g.label, [(d.arch_label, d.url.rsplit("/", 1)[1]) for d in g.downloads])
        for g in shown.groups
    ]
    assert rows == [
        (
            "Windows",
            [
                ("x64", "shipyard-desktop-2.0.0-windows-x64.exe"),
                ("Arm64", "shipyard-desktop-2.0.0-windows-arm64.exe"),
            ],
        ),
        (
            "macOS",
            [
                ("Intel", "shipyard-desktop-2.0.0-macos-x64.dmg"),
                ("Apple silicon", "shipyard-desktop-2.0.0-macos-arm64.dmg"),
            ],
        ),
        (
            "Linux",
            [
                ("x64", "shipyard-desktop-2.0.0-linux-x64.AppImage"),
                ("Arm64", "shipyard-desktop-2.0.0-linux-arm64.AppImage"),
            ],
        ),
    ]
    mine = [d for g in shown.groups for d in g.downloads if d.mine]
    assert [(d.os, d.arch) for d in mine] == [("macos", "arm64")]
    assert shown.recommended == mine[0]
    assert shown.recommended.label == "Download for macOS (Apple silicon)"
    assert shown.all_versions_url == f"{BASE}/"


def test_an_unknown_platform_preselects_nothing() -> None:
    for platform in (Platform(), Platform("linux", None)):
        shown = panel(DesktopConfig(download_base_url=BASE), version="2.0.0", platform=platform)
        assert len(shown.groups) == 3
        assert shown.recommended is None


def test_without_a_base_url_there_are_no_downloads() -> None:
    shown = panel(DesktopConfig(), version="2.0.0", platform=Platform("windows", "x64"))
    assert shown.groups == []
    assert shown.recommended is None
    assert shown.all_versions_url is None


def test_an_all_versions_url_of_its_own() -> None:
    config = DesktopConfig(
        download_base_url="https://github.com/acme/shipyard/releases/download",
        all_versions_url="https://github.com/acme/shipyard/releases",
    )
    shown = panel(config, version="2.0.0", platform=Platform())
    assert shown.all_versions_url == "https://github.com/acme/shipyard/releases"
    assert shown.groups[0].downloads[0].url == (
        "https://github.com/acme/shipyard/releases/download/2.0.0/"
        "shipyard-desktop-2.0.0-windows-x64.exe"
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://downloads.example.com/shipyard",
        "javascript:alert(1)",
        "downloads.example.com/shipyard",
        "https://",
        "https://downloads.example.com/a b",
        "https://downloads.example.com/?v=1",
        "https://downloads.example.com/#top",
        "/relative/path",
    ],
)
def test_settings_refuse_a_bad_download_url(url: str) -> None:
    with pytest.raises(ValidationError, match=r"desktop\.download_base_url"):
        Settings(desktop={"download_base_url": url})
    with pytest.raises(ValidationError, match=r"desktop\.all_versions_url"):
        Settings(desktop={"download_base_url": BASE, "all_versions_url": url})


def test_settings_accept_an_http_url_and_drop_its_trailing_slash() -> None:
    settings = Settings(desktop={"download_base_url": " http://mirror.lan:8080/shipyard/ "})
    assert settings.desktop.download_base_url == "http://mirror.lan:8080/shipyard"
    assert Settings(desktop={"download_base_url": ""}).desktop.download_base_url is None
    assert Settings().desktop == DesktopConfig()


def test_settings_refuse_unknown_desktop_keys() -> None:
    with pytest.raises(ValidationError, match="download_url"):
        Settings(desktop={"download_url": BASE})


def test_the_environment_sets_nested_desktop_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_DESKTOP__DOWNLOAD_BASE_URL", BASE + "/")
    monkeypatch.setenv("SHIPYARD_STORAGE_HOSTS", '{"nfs": {"path": "/mnt/nfs"}}')
    settings = Settings()
    assert settings.desktop.download_base_url == BASE
    # The nested delimiter leaves the JSON form of the storage hosts working, and adds another.
    assert str(settings.storage_hosts["nfs"].path) == "/mnt/nfs"
    monkeypatch.delenv("SHIPYARD_STORAGE_HOSTS")
    monkeypatch.setenv("SHIPYARD_STORAGE_HOSTS__SCRATCH__PATH", "/scratch")
    assert str(Settings().storage_hosts["scratch"].path) == "/scratch"


def test_the_environment_refuses_a_bad_download_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_DESKTOP__DOWNLOAD_BASE_URL", "file:///etc/passwd")
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings()


def test_a_toml_file_sets_the_desktop_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "shipyard.toml"
    config.write_text(
        '[desktop]\ndownload_base_url = "https://downloads.example.com/shipyard/"\n'
        '\n[storage_hosts.nfs]\npath = "/mnt/nfs"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(CONFIG_ENV, str(config))
    settings = Settings()
    assert settings.desktop.download_base_url == BASE
    assert str(settings.storage_hosts["nfs"].path) == "/mnt/nfs"

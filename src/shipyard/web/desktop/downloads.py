"""The Desktop app panel: which computer the visitor uses, and the native downloads for it.

Native builds exist for Windows, macOS and Linux, each for x64 and arm64, and are published
as `{download_base_url}/{version}/shipyard-desktop-{version}-{os}-{arch}.{ext}` (ext: exe,
dmg, AppImage), the version being the server's own. The server's guess of the visitor's
platform comes from the User-Agent and the Sec-CH-UA-Platform / Sec-CH-UA-Arch client hints;
the browser refines it (static/js/desktop.js) where it offers `navigator.userAgentData`.
Chromium sends Sec-CH-UA-Arch only to a site that asked for it with `Accept-CH`.

A Mac's User-Agent says "Intel" even on Apple silicon (browsers froze it), so a Mac counts as
arm64 unless a client hint says x86: every Mac sold since 2023 is Apple silicon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from starlette.requests import Request

from shipyard import __version__
from shipyard.config import DesktopConfig, Settings
from shipyard.i18n import _

Os = Literal["windows", "macos", "linux"]
Arch = Literal["x64", "arm64"]
OSES: tuple[Os, ...] = ("windows", "macos", "linux")
ARCHES: tuple[Arch, ...] = ("x64", "arm64")
EXTENSIONS: dict[Os, str] = {"windows": "exe", "macos": "dmg", "linux": "AppImage"}

_HINT_OS: dict[str, Os | None] = {
    "windows": "windows",
    "macos": "macos",
    "linux": "linux",
    "android": None,
    "chrome os": None,
    "chromeos": None,
    "ios": None,
}
_HINT_ARCH: dict[str, Arch] = {"x86": "x64", "arm": "arm64"}
_MOBILE = re.compile(r"android|iphone|ipad|ipod|cros\b", re.I)
_ARM64 = re.compile(r"\b(arm64|aarch64|arm)\b", re.I)  # not armv7l/armv8l: 32-bit userland
_X64 = re.compile(r"\b(x86_64|x64|amd64|win64|wow64|i[3-6]86)\b", re.I)


@dataclass(frozen=True)
class Platform:
    """An operating system and architecture we build for; None where we could not tell."""

    os: Os | None = None
    arch: Arch | None = None


def _hint(value: str | None) -> str:
    """A client hint's structured-header string without its quotes, lower case."""
    return (value or "").strip().strip('"').strip().lower()


def _os_from_agent(user_agent: str) -> Os | None:
    if _MOBILE.search(user_agent):
        return None
    if "Windows" in user_agent:
        return "windows"
    if "Macintosh" in user_agent or "Mac OS X" in user_agent:
        return "macos"
    if "Linux" in user_agent:
        return "linux"
    return None


def _arch_from_agent(os: Os, user_agent: str) -> Arch | None:
    if os == "macos":
        return "arm64"  # the User-Agent says Intel either way (see the module docstring)
    if _ARM64.search(user_agent):
        return "arm64"
    if os == "windows" or _X64.search(user_agent):
        return "x64"  # Windows without a token is x64; arm64 Windows runs x64 builds too
    return None  # Linux on 32-bit arm or without a token: no build to suggest


def detect_platform(
    user_agent: str | None, *, platform_hint: str | None = None, arch_hint: str | None = None
) -> Platform:
    """The visitor's platform from the User-Agent, client hints winning where they are sent.

    Phones, tablets and Chromebooks give Platform(None, None): we offer them no native build.
    """
    agent = user_agent or ""
    hinted = _hint(platform_hint)
    os = _HINT_OS[hinted] if hinted in _HINT_OS else _os_from_agent(agent)
    if os is None:
        return Platform()
    arch = _HINT_ARCH.get(_hint(arch_hint)) or _arch_from_agent(os, agent)
    return Platform(os=os, arch=arch)


def platform_of(request: Request) -> Platform:
    """The requesting browser's platform (see detect_platform)."""
    headers = request.headers
    return detect_platform(
        headers.get("user-agent"),
        platform_hint=headers.get("sec-ch-ua-platform"),
        arch_hint=headers.get("sec-ch-ua-arch"),
    )


def file_url(base_url: str, *, version: str, os: Os, arch: Arch) -> str:
    """Where the build of `version` for `os`/`arch` is published (naming scheme above)."""
    release = quote(version, safe="")
    name = quote(f"shipyard-desktop-{version}-{os}-{arch}.{EXTENSIONS[os]}", safe="")
    return f"{base_url.rstrip('/')}/{release}/{name}"


def os_label(os: Os) -> str:
    return {"windows": "Windows", "macos": "macOS", "linux": "Linux"}[os]


def arch_label(os: Os, arch: Arch) -> str:
    """How people name the architecture on that system (a Mac is Intel or Apple silicon)."""
    if os == "macos":
        return "Intel" if arch == "x64" else _("Apple silicon")
    return "x64" if arch == "x64" else "Arm64"


@dataclass(frozen=True)
class Download:
    """One native build: the link, and what the button says."""

    os: Os
    arch: Arch
    url: str
    arch_label: str
    label: str  # "Download for macOS (Apple silicon)"
    mine: bool  # the visitor's own platform, as far as the server can tell


@dataclass(frozen=True)
class DownloadGroup:
    os: Os
    label: str
    downloads: list[Download]


def downloads(base_url: str, *, version: str, platform: Platform) -> list[DownloadGroup]:
    """Every build of `version`, by operating system, the visitor's own marked `mine`."""
    groups = []
    for os in OSES:
        items = [
            Download(
                os=os,
                arch=arch,
                url=file_url(base_url, version=version, os=os, arch=arch),
                arch_label=arch_label(os, arch),
                label=_("Download for %(os)s (%(arch)s)")
                % {"os": os_label(os), "arch": arch_label(os, arch)},
                mine=platform == Platform(os=os, arch=arch),
            )
            for arch in ARCHES
        ]
        groups.append(DownloadGroup(os=os, label=os_label(os), downloads=items))
    return groups


@dataclass(frozen=True)
class DesktopPanel:
    """What the Desktop app panel shows; `groups` is empty when downloads are not configured."""

    version: str
    groups: list[DownloadGroup]
    all_versions_url: str | None

    @property
    def recommended(self) -> Download | None:
        return next((d for group in self.groups for d in group.downloads if d.mine), None)


def panel(config: DesktopConfig, *, version: str, platform: Platform) -> DesktopPanel:
    """The panel for these settings; no base URL means no downloads part."""
    base = config.download_base_url
    if base is None:
        return DesktopPanel(version=version, groups=[], all_versions_url=None)
    return DesktopPanel(
        version=version,
        groups=downloads(base, version=version, platform=platform),
        all_versions_url=config.all_versions_url or f"{base}/",
    )


def desktop_context(request: Request) -> dict[str, Any]:
    """The template context of `_summary_desktop.html` for this request."""
    settings: Settings = request.app.state.settings
    return {"desktop": panel(settings.desktop, version=__version__, platform=platform_of(request))}

"""The console as an installable web app: its manifest and its service worker.

The service worker (templates/service-worker.js) must be served from the site root to control
every page; it caches only the versioned /static assets and the offline page. Pages and the
API are per-user, so they always go to the network.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from shipyard import __version__
from shipyard.i18n import _, current_language
from shipyard.web.templating import STATIC, static_url

BRAND_COLOUR = "#206bc4"  # the logo's blue; also the title bar of the installed app
LIGHT_BACKGROUND = "#f6f8fb"  # Tabler's light page background: the splash screen
DARK_BACKGROUND = "#151f2c"  # Tabler's dark page background
OFFLINE_PATH = "/offline"
CACHE_PREFIX = "shipyard-"
# What the offline page (base.html) loads, fetched when the service worker installs.
OFFLINE_ASSETS = (
    "vendor/tabler/tabler.min.css",
    "css/shipyard.css",
    "js/theme.js",
    "vendor/htmx/htmx.min.js",
    "vendor/tabler/tabler.min.js",
    "js/app.js",
    "js/desktop.js",
    "img/shipyard.svg",
)
ICONS = (
    ("img/icon-192.png", "192x192", "any"),
    ("img/icon-512.png", "512x512", "any"),
    ("img/icon-maskable-192.png", "192x192", "maskable"),
    ("img/icon-maskable-512.png", "512x512", "maskable"),
)


def manifest() -> dict[str, Any]:
    """The web app manifest (served as /manifest.webmanifest) in the request's language."""
    icons = [
        {"src": static_url(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
        for path, sizes, purpose in ICONS
    ]
    icons.append({"src": static_url("img/shipyard.svg"), "sizes": "any", "type": "image/svg+xml"})
    return {
        "id": "/",
        "name": "Shipyard",
        "short_name": "Shipyard",
        "description": _("Compute sessions, storage folders and resource usage in one console."),
        "lang": current_language(),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": BRAND_COLOUR,
        "background_color": LIGHT_BACKGROUND,
        "icons": icons,
        "shortcuts": [
            {"name": _("Sessions"), "url": "/sessions"},
            {"name": _("Data & Storage"), "url": "/data"},
        ],
    }


@cache
def assets_digest() -> str:
    """A digest of every file under /static, computed once per process.

    Static URLs carry only the version, so the digest goes into the cache name: changed assets
    (a development build, a patched install) then make a new worker and a fresh cache, and
    managers serving the same files agree on it.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def service_worker_context() -> dict[str, Any]:
    """What templates/service-worker.js is rendered with. Another cache name (new version or
    assets) changes the worker's bytes, so browsers install it and it drops the old cache."""
    return {
        "cache_name": f"{CACHE_PREFIX}{__version__}-{assets_digest()}",
        "cache_prefix": CACHE_PREFIX,
        "offline_url": OFFLINE_PATH,
        "precache": [OFFLINE_PATH, *(static_url(path) for path in OFFLINE_ASSETS)],
    }

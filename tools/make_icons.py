"""Render the web app's PNG icons from static/img/shipyard.svg (run once; the PNGs are committed).

No image library is installed, so the system Chromium (through Playwright) draws the SVG and
screenshots it at each size:

- icon-192.png, icon-512.png: the logo as it is, transparent corners ("any" purpose);
- icon-maskable-192.png, icon-maskable-512.png: full-bleed background with the logo inside
  the central safe zone, for launchers that cut icons into circles or squircles;
- apple-touch-icon.png (180): the maskable art, since iOS fills transparency with black.

Usage: .venv/bin/python tools/make_icons.py  (CHROMIUM_PATH overrides /usr/bin/chromium)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

IMG = Path(__file__).resolve().parent.parent / "src" / "shipyard" / "web" / "static" / "img"
SAFE_SCALE = 0.7  # the logo's far corner then lies well inside the 80 % safe-zone circle


def maskable(svg: str) -> str:
    """The logo's marks, shrunk around the centre, on a square of its background colour."""
    colour = re.search(r'<rect[^>]*fill="([^"]+)"', svg)
    marks = re.sub(r"<rect[^>]*/>", "", re.sub(r"^<svg[^>]*>|</svg>\s*$", "", svg.strip()))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
        f'<rect width="32" height="32" fill="{colour.group(1) if colour else "#206bc4"}"/>'
        f'<g transform="translate(16 16) scale({SAFE_SCALE}) translate(-16 -16)">{marks}</g>'
        "</svg>"
    )


def page(svg: str, size: int) -> str:
    sized = svg.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
    return (
        "<!doctype html><html><head><style>html,body{margin:0;background:transparent}"
        f"svg{{display:block}}</style></head><body>{sized}</body></html>"
    )


def main() -> None:
    logo = (IMG / "shipyard.svg").read_text(encoding="utf-8")
    jobs = [
        (logo, 192, "icon-192.png"),
        (logo, 512, "icon-512.png"),
        (maskable(logo), 192, "icon-maskable-192.png"),
        (maskable(logo), 512, "icon-maskable-512.png"),
        (maskable(logo), 180, "apple-touch-icon.png"),
    ]
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        for svg, size, name in jobs:
            tab = browser.new_page(viewport={"width": size, "height": size})
            tab.set_content(page(svg, size))
            tab.screenshot(path=str(IMG / name), omit_background=True)
            tab.close()
            print(f"wrote {IMG / name} ({size}x{size})")
        browser.close()


if __name__ == "__main__":
    main()

"""Copy web assets from node_modules into the package and compile the message catalogs.

Run by `make assets` and by the wheel build hook. Vendored files are never committed;
`npm ci` installs exactly what package-lock.json pins.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "shipyard"
VENDOR = PACKAGE / "web" / "static" / "vendor"
TEMPLATES = PACKAGE / "web" / "templates"
NODE = ROOT / "node_modules"

FILES = {
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    "htmx.org/LICENSE": "htmx/LICENSE",
    "@tabler/core/dist/css/tabler.min.css": "tabler/tabler.min.css",
    "@tabler/core/dist/js/tabler.min.js": "tabler/tabler.min.js",
    "@tabler/core/package.json": "tabler/package.json",  # states the MIT license
    "@tabler/icons/LICENSE": "icons/LICENSE",
    "@xterm/xterm/lib/xterm.js": "xterm/xterm.js",
    "@xterm/xterm/css/xterm.css": "xterm/xterm.css",
    "@xterm/xterm/LICENSE": "xterm/LICENSE",
    "@xterm/addon-fit/lib/addon-fit.js": "xterm/addon-fit.js",
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui/swagger-ui.css",
    "swagger-ui-dist/LICENSE": "swagger-ui/LICENSE",
    "tus-js-client/dist/tus.min.js": "tus/tus.min.js",
    "tus-js-client/LICENSE": "tus/LICENSE",
}
ICON_USE = re.compile(r"""icon\(\s*["']([a-z0-9-]+)["']""")


def ensure_node_modules() -> None:
    if not (NODE / "htmx.org").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to fetch the web assets (apt-get install nodejs npm)")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=ROOT, check=True
        )


def used_icons() -> set[str]:
    """Icons named by templates through the icon() macro; only these ship."""
    names: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        names.update(ICON_USE.findall(template.read_text(encoding="utf-8")))
    return names


def copy_vendor() -> None:
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    for source, target in FILES.items():
        destination = VENDOR / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(NODE / source, destination)
    for name in sorted(used_icons()):
        source = NODE / "@tabler/icons/icons/outline" / f"{name}.svg"
        if not source.is_file():
            sys.exit(f"templates use an icon that @tabler/icons lacks: {name}")
        shutil.copyfile(source, VENDOR / "icons" / f"{name}.svg")


def compile_catalogs() -> None:
    for po_path in (PACKAGE / "locale").glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog)


def main() -> None:
    ensure_node_modules()
    copy_vendor()
    compile_catalogs()
    print(f"assets: {sum(1 for _ in VENDOR.rglob('*') if _.is_file())} files in {VENDOR}")


if __name__ == "__main__":
    main()

"""Hatch build hook: a wheel must carry the vendored web assets and compiled catalogs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class AssetsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Run tools/build_assets.py before a (non-editable) wheel is built."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        script = Path(self.root) / "tools" / "build_assets.py"
        subprocess.run([sys.executable, str(script)], check=True, cwd=self.root)

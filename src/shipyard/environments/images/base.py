"""Debian base root filesystems built with `mmdebstrap`, cached by what went into them.

A base is one tar (mmdebstrap's own output) under `<cache>/bases/<key>.tar`, the key a
hash of suite, variant, mirror and the sorted package list, so a second build with the
same packages reuses it. A base is written under a temporary name and renamed when
complete; a package list with a typo is caught by a dry run (seconds) before the real one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from shipyard.environments.images.progress import OnProgress, Progress, ToolRun, run_tool
from shipyard.errors import InvalidInput
from shipyard.i18n import _

VARIANTS = frozenset({"extract", "custom", "essential", "apt", "required", "minbase", "buildd"})
DEFAULT_SUITE = "bookworm"
DEFAULT_VARIANT = "minbase"
DEFAULT_PACKAGES = ("python3",)
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]{0,99}$")
_SUITE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,39}$")
_MIRROR = re.compile(r"^https?://[^\s]+$")
_MISSING = re.compile(r"Unable to locate package (\S+)")


@dataclass(frozen=True)
class BaseSpec:
    """What a Debian base holds: suite, mmdebstrap variant, extra packages, mirror."""

    packages: tuple[str, ...] = DEFAULT_PACKAGES
    suite: str = DEFAULT_SUITE
    variant: str = DEFAULT_VARIANT
    mirror: str | None = None

    def __post_init__(self) -> None:
        if not _SUITE.match(self.suite):
            raise InvalidInput(_("Not a Debian suite name: {suite}").format(suite=self.suite[:40]))
        if self.variant not in VARIANTS:
            raise InvalidInput(
                _("Unknown variant {variant}; use one of: {known}.").format(
                    variant=self.variant[:40], known=", ".join(sorted(VARIANTS))
                )
            )
        for package in self.packages:
            if not _PACKAGE.match(package):
                raise InvalidInput(
                    _("Not a Debian package name: {package}").format(package=package[:100])
                )
        if self.mirror is not None and not _MIRROR.match(self.mirror):
            raise InvalidInput(_("A mirror is an http:// or https:// address."))

    @property
    def key(self) -> str:
        """The cache key: the same suite, variant, mirror and package set give the same key."""
        facts = [self.suite, self.variant, self.mirror, sorted(set(self.packages))]
        return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:32]

    def argv(self, output: Path, *, simulate: bool = False) -> list[str]:
        argv = ["mmdebstrap", f"--variant={self.variant}", "--mode=auto"]
        if self.packages:
            argv.append("--include=" + ",".join(sorted(set(self.packages))))
        if simulate:
            argv.append("--simulate")
        argv += [self.suite, str(output)]
        return [*argv, self.mirror] if self.mirror else argv


def ensure_base(spec: BaseSpec, *, cache_dir: Path, on_progress: OnProgress) -> Path:
    """The cached base tar for `spec`, built first if there is none."""
    bases = cache_dir / "bases"
    target = bases / f"{spec.key}.tar"
    if target.is_file():
        on_progress(Progress(line=f"reusing the cached Debian base {spec.key}"))
        return target
    bases.mkdir(parents=True, exist_ok=True)
    partial = bases / f".{spec.key}.{uuid.uuid4().hex}.partial.tar"
    try:
        _check(run_tool(spec.argv(partial, simulate=True), on_progress=on_progress), spec)
        _check(run_tool(spec.argv(partial), on_progress=on_progress), spec)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    (bases / f"{spec.key}.json").write_text(json.dumps(spec.__dict__ | {"key": spec.key}))
    return target


def _check(run: ToolRun, spec: BaseSpec) -> None:
    """Raise a clear error for a failed mmdebstrap run: a missing package is named."""
    if run.ok:
        return
    details = {"log": list(run.tail)}
    missing = sorted({m.group(1) for m in _MISSING.finditer(run.text())})
    if missing:
        raise InvalidInput(
            _("Debian {suite} has no package named: {packages}.").format(
                suite=spec.suite, packages=", ".join(missing)
            ),
            details=details,
        )
    raise InvalidInput(
        _("Building the Debian base failed: {reason}").format(
            reason=run.tail[-1] if run.tail else run.returncode
        ),
        details=details,
    )

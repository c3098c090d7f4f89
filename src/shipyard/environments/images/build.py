"""Images built by Shipyard: a cached Debian base layer plus an optional uv Python layer.

The image is assembled with `umoci` in a staging layout (`init`, `new`, the base tar added
verbatim as the first layer, `/opt/venv` inserted as the second, then `config` for the
command, environment and labels) and committed to the store only when every step has
passed, so a failed build leaves nothing behind but the cached base it may have made.

Labels: `org.opencontainers.image.{title,description,base.name,vendor}`, and ours:
`ai.shipyard.apps` (comma-separated app names), `ai.shipyard.source` (`build`),
`ai.shipyard.debian.{suite,variant,packages}`, `ai.shipyard.python.lock` (the lock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shipyard.environments.images.base import BaseSpec, ensure_base
from shipyard.environments.images.progress import OnProgress, run_tool
from shipyard.environments.images.python import VENV, PythonSpec, install_requirements
from shipyard.environments.images.store import ImageInfo, ImageStore
from shipyard.errors import InvalidInput
from shipyard.i18n import _

STAGED_REF = "build"
LABEL_APPS = "ai.shipyard.apps"
LABEL_LOCK = "ai.shipyard.python.lock"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WORKING_DIR = "/home/work"


@dataclass(frozen=True)
class BuildSpec:
    """What to build: the Debian base, an optional Python layer, and how to describe it."""

    base: BaseSpec = field(default_factory=BaseSpec)
    python: PythonSpec | None = None
    description: str = ""
    apps: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildResult:
    """The stored image and its Python lock (empty without requirements)."""

    image: ImageInfo
    lock: str


def build_image(
    store: ImageStore,
    spec: BuildSpec,
    *,
    ref: str,
    cache_dir: Path,
    on_progress: OnProgress,
    replace: bool = False,
) -> BuildResult:
    """Build `spec` and store it as `ref`; bases and uv downloads are cached in `cache_dir`."""
    store.ensure_free(ref, replace=replace)
    base_tar = ensure_base(spec.base, cache_dir=cache_dir, on_progress=on_progress)
    with store.staging() as work:
        image = f"{work / 'oci'}:{STAGED_REF}"
        _step(["umoci", "init", "--layout", str(work / "oci")], on_progress)
        _step(["umoci", "new", "--image", image], on_progress)
        _step(["umoci", "raw", "add-layer", "--image", image, str(base_tar)], on_progress)
        lock = ""
        if spec.python is not None:
            rootfs = work / "rootfs"
            rootfs.mkdir()
            # /dev comes from the sandbox, so its nodes need not be made here.
            tar = ["tar", "-xpf", str(base_tar), "-C", str(rootfs), "--numeric-owner"]
            _step([*tar, "--exclude=./dev/*"], on_progress)
            lock = install_requirements(
                rootfs,
                spec.python,
                work=work / "python",
                cache_dir=cache_dir / "uv",
                on_progress=on_progress,
            )
            _step(["umoci", "insert", "--image", image, str(rootfs / VENV[1:]), VENV], on_progress)
        _step(["umoci", "config", "--image", image, *_config_args(spec, ref, lock)], on_progress)
        info = store.commit(work / "oci", staged_ref=STAGED_REF, ref=ref, replace=replace)
    return BuildResult(image=info, lock=lock)


def _config_args(spec: BuildSpec, ref: str, lock: str) -> list[str]:
    """umoci's flags for the command, environment, working directory and labels."""
    path = f"{VENV}/bin:{SYSTEM_PATH}" if spec.python else SYSTEM_PATH
    env = [f"PATH={path}", "LANG=C.UTF-8"]
    if spec.python:
        env.append(f"VIRTUAL_ENV={VENV}")
    labels = {
        "org.opencontainers.image.title": ref,
        "org.opencontainers.image.description": spec.description,
        "org.opencontainers.image.vendor": "Shipyard",
        "org.opencontainers.image.base.name": f"debian:{spec.base.suite}",
        "ai.shipyard.source": "build",
        LABEL_APPS: ",".join(spec.apps),
        "ai.shipyard.debian.suite": spec.base.suite,
        "ai.shipyard.debian.variant": spec.base.variant,
        "ai.shipyard.debian.packages": ",".join(sorted(set(spec.base.packages))),
    }
    if lock:
        labels[LABEL_LOCK] = lock
    args = ["--author=Shipyard", "--config.cmd=/bin/bash", f"--config.workingdir={WORKING_DIR}"]
    args += [f"--config.env={item}" for item in env]
    return args + [f"--config.label={name}={value}" for name, value in labels.items()]


def _step(argv: list[str], on_progress: OnProgress) -> None:
    """Run one assembly step; these fail only on a broken host, said plainly."""
    run = run_tool(argv, on_progress=on_progress)
    if not run.ok:
        raise InvalidInput(
            _("Assembling the image failed at {step}: {reason}").format(
                step=" ".join(argv[:2]), reason=run.tail[-1] if run.tail else run.returncode
            ),
            details={"log": list(run.tail)},
        )

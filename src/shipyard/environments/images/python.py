"""A Python layer: requirements resolved and installed with `uv` into `/opt/venv`.

uv runs inside the image's own root filesystem (bubblewrap, network shared, nothing else
of the host visible but uv itself, its cache and the given wheel folders), so the
resolution uses the image's Python and its platform, and scripts point at
`/opt/venv/bin/python`. A virtual environment rather than the system site-packages:
Debian marks its Python externally managed (PEP 668), and a directory of its own keeps
the layer to exactly `/opt/venv`, apart from what dpkg owns. The resolved versions
(`uv pip compile`) are installed with `uv pip sync` and returned as the lock, which is
also kept in the image at `/opt/venv/requirements.lock`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

from shipyard.environments.images.progress import OnProgress, ToolRun, run_tool
from shipyard.errors import InvalidInput
from shipyard.i18n import _

VENV = "/opt/venv"
LOCK_IN_IMAGE = f"{VENV}/requirements.lock"
IMAGE_PYTHON = "/usr/bin/python3"
_UV = "/run/shipyard/uv"
_WORK = "/run/shipyard/work"
_CACHE = "/run/shipyard/cache"
_LINKS = "/run/shipyard/links"
_CA = "/run/shipyard/ca-certificates.crt"
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")
# uv's error report draws a tree with these; the message reads better without them.
_DECORATION = " \N{MULTIPLICATION SIGN}\u2570\u2500\u25b6"
_PREFIX = re.compile(r"^(error|caused by|cause|hint):\s*", re.IGNORECASE)
_NO_SOLUTION = re.compile(r"no solution found|unsatisfiable|not found in the package registry")


@dataclass(frozen=True)
class PythonSpec:
    """Requirements (PEP 508 lines) and where to find them: an index and/or wheel folders."""

    requirements: tuple[str, ...]
    find_links: tuple[Path, ...] = ()
    index_url: str | None = None
    no_index: bool = False

    def __post_init__(self) -> None:
        for line in self.requirements:
            if not line.strip() or line.lstrip().startswith("-") or "\n" in line:
                raise InvalidInput(
                    _("Not a Python requirement: {line}").format(line=line.strip()[:100] or "''")
                )
        if self.index_url is not None and not re.match(r"^https?://\S+$", self.index_url):
            raise InvalidInput(_("A package index is an http:// or https:// address."))

    def source_args(self) -> list[str]:
        args = [f"--find-links={_LINKS}/{n}" for n in range(len(self.find_links))]
        if self.index_url:
            args.append(f"--index-url={self.index_url}")
        return [*args, "--no-index"] if self.no_index else args


def install_requirements(
    rootfs: Path, spec: PythonSpec, *, work: Path, cache_dir: Path, on_progress: OnProgress
) -> str:
    """Resolve and install `spec` into `<rootfs>/opt/venv`; return the lock (name==version)."""
    if not (rootfs / IMAGE_PYTHON.lstrip("/")).exists():
        raise InvalidInput(_("Python requirements need python3 in the Debian package list."))
    work.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    (work / "requirements.in").write_text("\n".join(spec.requirements) + "\n")
    sandbox = _sandbox(rootfs, spec, work=work, cache_dir=cache_dir)
    compile_args = ["pip", "compile", f"{_WORK}/requirements.in", "--python", IMAGE_PYTHON]
    compile_args += ["--no-header", "--no-annotate", "-o", f"{_WORK}/requirements.lock"]
    _check(run_tool([*sandbox, *compile_args, *spec.source_args()], on_progress=on_progress))
    _check(run_tool([*sandbox, "venv", VENV, "--python", IMAGE_PYTHON], on_progress=on_progress))
    sync_args = ["pip", "sync", f"{_WORK}/requirements.lock", "--python", f"{VENV}/bin/python"]
    sync_args += ["--compile-bytecode", *spec.source_args()]
    _check(run_tool([*sandbox, *sync_args], on_progress=on_progress))
    lock = (work / "requirements.lock").read_text()
    (rootfs / LOCK_IN_IMAGE.lstrip("/")).write_text(lock)
    return lock


def _sandbox(rootfs: Path, spec: PythonSpec, *, work: Path, cache_dir: Path) -> list[str]:
    """bwrap with the rootfs as / and uv, its cache, the work dir and wheel folders bound."""
    argv = ["bwrap", "--bind", str(rootfs), "/", "--dev", "/dev", "--proc", "/proc"]
    argv += ["--tmpfs", "/tmp", "--tmpfs", "/run"]  # noqa: S108 - the sandbox's own tmpfs
    argv += ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
    argv += ["--ro-bind", find_uv_bin(), _UV, "--bind", str(work), _WORK]
    argv += ["--bind", str(cache_dir), _CACHE]
    for number, folder in enumerate(spec.find_links):
        argv += ["--ro-bind", str(folder.resolve()), f"{_LINKS}/{number}"]
    argv += ["--unshare-all", "--share-net", "--cap-drop", "ALL", "--new-session"]
    argv += ["--die-with-parent", "--clearenv"]
    argv += _trust_args()  # after --clearenv, which drops variables set before it
    argv += _env(
        PATH="/usr/local/bin:/usr/bin:/bin",
        HOME="/tmp",  # noqa: S108 - inside the sandbox, a private tmpfs
        UV_CACHE_DIR=_CACHE,
        UV_PYTHON_DOWNLOADS="never",
        UV_LINK_MODE="copy",
        UV_NO_PROGRESS="1",
    )
    return [*argv, _UV]


def _trust_args() -> list[str]:
    """The host's CA bundle and proxy settings, so uv reaches the index as the host does.

    A minimal image has no CA certificates, and a site may reach its index through a
    proxy with its own CA: the manager's trust store is the one an admin configured.
    """
    args: list[str] = []
    bundle = Path(os.environ.get("SSL_CERT_FILE") or HOST_CA_BUNDLE)
    if bundle.is_file():
        args += ["--ro-bind", str(bundle), _CA, "--setenv", "SSL_CERT_FILE", _CA]
    for name in PROXY_VARIABLES:
        if name in os.environ:
            args += ["--setenv", name, os.environ[name]]
    return args


def _env(**values: str) -> Sequence[str]:
    return [arg for name, value in values.items() for arg in ("--setenv", name, value)]


def _explain(tail: Sequence[str]) -> str:
    """uv's reason after "No solution found", without its tree drawing and prefixes."""
    start = max(
        (n for n, line in enumerate(tail) if "no solution found" in line.lower()), default=-1
    )
    lines = (_PREFIX.sub("", line.strip(_DECORATION)) for line in tail[start + 1 :])
    return " ".join(line for line in lines if line)


def _check(run: ToolRun) -> None:
    if run.ok:
        return
    details = {"log": list(run.tail)}
    reason = run.tail[-1] if run.tail else str(run.returncode)
    if _NO_SOLUTION.search(run.text().lower()):
        explanation = _explain(run.tail)
        raise InvalidInput(
            _("The Python requirements cannot be satisfied: {reason}").format(
                reason=explanation.strip()
            ),
            details=details,
        )
    raise InvalidInput(
        _("Installing the Python requirements failed: {reason}").format(reason=reason),
        details=details,
    )

"""Copy an image from an OCI registry into the store with `skopeo copy`.

Credentials go to skopeo in an auth file (0600, inside the operation's private staging
directory, removed with it), never on its command line, where `ps` would show them.
TLS is verified unless a source is explicitly marked insecure (plain HTTP), which is
meant for a loopback or test registry.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.environments.images.progress import OnProgress, ToolRun, run_tool, watch_bytes
from shipyard.environments.images.store import ImageInfo, ImageStore
from shipyard.errors import AuthenticationFailed, InvalidInput, NotFound, ShipyardError
from shipyard.i18n import _

STAGED_REF = "copy"
_REFERENCE = re.compile(r"^[a-z0-9][A-Za-z0-9._:/@+-]{0,511}$")
DOCKER_HUB = "docker.io"
PASSED_THROUGH = frozenset(
    {"PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY"}
    | {"http_proxy", "NO_PROXY", "no_proxy"}
)


@dataclass(frozen=True)
class RegistryCredentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RegistrySource:
    """Where to copy from: `host[:port]/name[:tag|@digest]` (Docker Hub if no host)."""

    reference: str
    credentials: RegistryCredentials | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        if not _REFERENCE.match(self.reference) or "//" in self.reference:
            raise InvalidInput(
                _("Not an image reference: {reference}").format(reference=self.reference[:100])
            )

    @property
    def host(self) -> str:
        """The registry's host as containers' auth files key it."""
        first, _sep, rest = self.reference.partition("/")
        is_host = rest and ("." in first or ":" in first or first == "localhost")
        return first if is_host else DOCKER_HUB


def copy_from_registry(
    store: ImageStore,
    source: RegistrySource,
    *,
    ref: str,
    on_progress: OnProgress,
    replace: bool = False,
) -> ImageInfo:
    """Copy `source` into the store as `ref`; a failure raises and stores nothing."""
    store.ensure_free(ref, replace=replace)
    with store.staging() as work:
        layout = work / "oci"
        argv = ["skopeo", "copy", "--retry-times", "2"]
        argv += [f"--src-tls-verify={'false' if source.insecure else 'true'}"]
        argv += _credential_args(source, work)
        argv += [f"docker://{source.reference}", f"oci:{layout}:{STAGED_REF}"]
        with watch_bytes(layout, total=None, on_progress=on_progress):
            run = run_tool(argv, on_progress=on_progress, env=_skopeo_env(work))
        if not run.ok:
            raise _copy_error(run, source)
        return store.commit(layout, staged_ref=STAGED_REF, ref=ref, replace=replace)


def _credential_args(source: RegistrySource, work: Path) -> list[str]:
    """`--src-authfile` for the given credentials, or anonymous access (not the host's)."""
    if source.credentials is None:
        return ["--src-no-creds"]
    pair = f"{source.credentials.username}:{source.credentials.password}"
    document = {"auths": {source.host: {"auth": base64.b64encode(pair.encode()).decode()}}}
    path = work / "auth.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(document, out)
    return ["--src-authfile", str(path)]


def _skopeo_env(work: Path) -> dict[str, str]:
    """No host auth or per-user config leaks in: HOME and XDG dirs point into staging.

    PATH, proxies and CA locations pass through: they are how this host reaches anything.
    """
    kept = {name: value for name, value in os.environ.items() if name in PASSED_THROUGH}
    return kept | {"HOME": str(work), "XDG_RUNTIME_DIR": str(work), "XDG_CONFIG_HOME": str(work)}


def _copy_error(run: ToolRun, source: RegistrySource) -> ShipyardError:
    """Turn skopeo's last words into a message a user can act on."""
    lowered = run.text().lower()
    words = {"host": source.host, "reference": source.reference}
    details = {"log": list(run.tail)}
    for needles, error, message in _COPY_ERRORS:
        if any(needle in lowered for needle in needles):
            return error(message().format(**words), details=details)
    reason = run.tail[-1] if run.tail else str(run.returncode)
    return InvalidInput(
        _("Copying {reference} failed: {reason}").format(reason=reason, **words), details=details
    )


# What skopeo says -> the error to raise; the first match wins.
_COPY_ERRORS: tuple[tuple[tuple[str, ...], type[ShipyardError], Callable[[], str]], ...] = (
    (
        ("unauthorized", "authentication required", "denied"),
        AuthenticationFailed,
        lambda: _(
            "The registry {host} refused access to {reference}: check the user name and password."
        ),
    ),
    (("no such host",), InvalidInput, lambda: _("Unknown registry host: {host}.")),
    (
        ("http response to https client",),
        InvalidInput,
        lambda: _(
            "The registry {host} answers plain HTTP only; mark the source insecure only for a "
            "registry you trust on a trusted network."
        ),
    ),
    (
        ("x509", "certificate"),
        InvalidInput,
        lambda: _("The TLS certificate of the registry {host} is not trusted."),
    ),
    (
        ("manifest unknown", "name unknown", "not found"),
        NotFound,
        lambda: _("The registry {host} has no image {reference}."),
    ),
    (
        ("connection refused", "timeout", "unreachable"),
        InvalidInput,
        lambda: _("Could not connect to the registry {host}."),
    ),
)

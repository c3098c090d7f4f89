"""Environments: the built-in host Python, admin definitions and a rescan of directories."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.audit import service as audit
from shipyard.audit.models import Action
from shipyard.environments.models import Environment, EnvironmentSource, EnvironmentStatus
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.i18n import _
from shipyard.users.models import User

DEFAULT_ENVIRONMENT = "python"
TERMINAL = "terminal"
KNOWN_APPS = frozenset({TERMINAL})


def host_python() -> Path | None:
    """A system interpreter every sandbox can see (/usr is bound read-only into it)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).is_file():
            return Path(candidate)
    found = shutil.which("python3")
    return Path(found) if found else None


def ensure_builtin(db: Session) -> Environment:
    env = db.scalar(select(Environment).where(Environment.name == DEFAULT_ENVIRONMENT))
    if env is None:
        python = host_python()
        env = Environment(
            name=DEFAULT_ENVIRONMENT,
            description=_("The host's Python with a terminal."),
            interpreter=str(python) if python else "",
            path_prefix=str(python.parent) if python else "",
            apps=[TERMINAL],
            source=EnvironmentSource.BUILTIN,
        )
        db.add(env)
        db.flush()
    return env


def usable(db: Session, name: str) -> Environment:
    """An environment new sessions may use: enabled and, for an image, ready."""
    env = db.scalar(select(Environment).where(Environment.name == name))
    if env is None or not env.enabled or env.status is EnvironmentStatus.DELETED:
        raise NotFound(
            _("Unknown environment: %(name)s.") % {"name": name}, details={"field": "environment"}
        )
    if env.status is not EnvironmentStatus.READY:
        raise InvalidInput(
            _("The environment %(name)s is not ready (%(status)s).")
            % {"name": name, "status": status_label(env.status)},
            details={"field": "environment"},
        )
    return env


def status_label(status: EnvironmentStatus) -> str:
    labels = {
        EnvironmentStatus.READY: _("ready"),
        EnvironmentStatus.IMPORTING: _("importing"),
        EnvironmentStatus.BUILDING: _("building"),
        EnvironmentStatus.FAILED: _("failed"),
        EnvironmentStatus.DELETED: _("deleted"),
    }
    return labels[status]


def list_enabled(db: Session) -> list[Environment]:
    return list(
        db.scalars(
            select(Environment).where(Environment.enabled.is_(True)).order_by(Environment.name)
        )
    )


def list_all(db: Session) -> list[Environment]:
    return list(db.scalars(select(Environment).order_by(Environment.name)))


def register(
    db: Session,
    *,
    name: str,
    description: str = "",
    interpreter: str = "",
    apps: tuple[str, ...] = (TERMINAL,),
    actor: User | None = None,
) -> Environment:
    """An admin-defined environment; the interpreter must be an absolute path.

    With `actor` (an admin), the addition is audited."""
    if interpreter and not Path(interpreter).is_absolute():
        raise InvalidInput(
            _("The interpreter must be an absolute path."), details={"field": "interpreter"}
        )
    unknown = sorted(set(apps) - KNOWN_APPS)
    if unknown:
        raise InvalidInput(
            _("Unknown app: %(app)s.") % {"app": unknown[0]}, details={"field": "apps"}
        )
    if db.scalar(select(Environment).where(Environment.name == name)) is not None:
        raise Conflict(_("An environment with this name already exists."))
    env = Environment(
        name=name,
        description=description,
        interpreter=interpreter,
        path_prefix=str(Path(interpreter).parent) if interpreter else "",
        apps=list(apps),
        source=EnvironmentSource.ADMIN,
    )
    db.add(env)
    db.flush()
    if actor is not None:
        _audit(db, Action.ENVIRONMENT_ADD, actor=actor, env=env)
    db.commit()
    return env


def _audit(db: Session, action: Action, *, actor: User, env: Environment) -> None:
    audit.record(
        db, action, actor=actor, target_type="environment", target_id=env.id, target_label=env.name
    )


def by_name(db: Session, name: str) -> Environment:
    """An environment, enabled or not (for admins)."""
    env = db.scalar(select(Environment).where(Environment.name == name))
    if env is None:
        raise NotFound(_("Unknown environment: %(name)s.") % {"name": name})
    return env


def set_enabled(db: Session, *, actor: User, name: str, enabled: bool) -> Environment:
    """Offer an environment to new sessions again, or stop offering it (running ones go on)."""
    env = by_name(db, name)
    env.disabled_by_admin = not enabled
    if env.enabled != enabled:
        env.enabled = enabled
        action = Action.ENVIRONMENT_ENABLE if enabled else Action.ENVIRONMENT_DISABLE
        _audit(db, action, actor=actor, env=env)
    db.commit()
    return env


@dataclass(frozen=True)
class ScanResult:
    added: list[str]
    kept: list[str]
    disabled: list[str]


def rescan(db: Session, directories: list[Path], *, actor: User | None = None) -> ScanResult:
    """Virtual environments (a dir with pyvenv.cfg and bin/python) under the given dirs.

    New ones are added, ones that vanished are disabled and come back when found again
    (unless an admin disabled them); admin and built-in ones are kept.
    With `actor` (an admin), the rescan and what it found are audited.
    """
    found: dict[str, Path] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for candidate in sorted(directory.iterdir()):
            python = candidate / "bin" / "python"
            if (candidate / "pyvenv.cfg").is_file() and python.exists():
                found.setdefault(candidate.name[:64], python)
    existing = {
        env.name: env
        for env in db.scalars(
            select(Environment).where(Environment.source == EnvironmentSource.SCAN)
        )
    }
    taken = set(
        db.scalars(select(Environment.name).where(Environment.source != EnvironmentSource.SCAN))
    )
    found = {name: python for name, python in found.items() if name not in taken}
    added = [name for name in found if name not in existing]
    for name in added:
        db.add(
            Environment(
                name=name,
                description=_("Virtual environment at %(path)s")
                % {"path": found[name].parent.parent},
                interpreter=str(found[name]),
                path_prefix=str(found[name].parent),
                apps=[TERMINAL],
                source=EnvironmentSource.SCAN,
            )
        )
    disabled = [name for name, env in existing.items() if name not in found and env.enabled]
    for name in disabled:
        existing[name].enabled = False
    for name in found:
        if name in existing and not existing[name].disabled_by_admin:
            existing[name].enabled = True
    result = ScanResult(added=added, kept=sorted(set(found) - set(added)), disabled=disabled)
    if actor is not None:
        audit.record(
            db,
            Action.ENVIRONMENTS_RESCAN,
            actor=actor,
            target_type="environment",
            details={"added": result.added, "kept": result.kept, "disabled": result.disabled},
        )
    db.commit()
    return result

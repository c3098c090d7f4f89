"""Image environments' jobs: import from a registry or an archive, or build, off the request.

Each job runs in a daemon thread of the manager that started it, with its own transactions:
it reads what to do from the environment's row, reports progress and log lines into it (at
most every FLUSH_SECONDS), and ends it READY (digest, size, lock) or FAILED (error). The
image sources leave nothing in the store when they fail. A manager that restarts marks the
jobs it was running as failed (`mark_interrupted`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.environments import secrets
from shipyard.environments.images.archive import import_archive
from shipyard.environments.images.base import BaseSpec
from shipyard.environments.images.build import BuildSpec, build_image
from shipyard.environments.images.progress import Progress
from shipyard.environments.images.python import PythonSpec
from shipyard.environments.images.registry import (
    RegistryCredentials,
    RegistrySource,
    copy_from_registry,
)
from shipyard.environments.images.store import ImageStore
from shipyard.environments.models import Environment, EnvironmentStatus
from shipyard.errors import InvalidInput, NotFound, ShipyardError
from shipyard.i18n import _

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:128]
RUNNING = frozenset({EnvironmentStatus.IMPORTING, EnvironmentStatus.BUILDING})
LOG_BYTES = 64 * 1024
FLUSH_SECONDS = 0.5
UPLOADS = "image-uploads"


def image_store(settings: Settings) -> ImageStore:
    return ImageStore.in_data_dir(settings.data_dir)


def uploads_dir(settings: Settings) -> Path:
    """Where image archives wait to be imported (put there by an admin, or an upload)."""
    return settings.data_dir / UPLOADS


def upload_path(settings: Settings, name: str) -> Path:
    """The archive `name` in the uploads folder: a regular file (a link is refused)."""
    path = uploads_dir(settings) / name
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = 0
    if "/" in name or not stat.S_ISREG(mode):
        raise InvalidInput(
            _("There is no uploaded file %(name)s.") % {"name": name},
            details={"field": "source.archive.file"},
        )
    return path


def build_cache(settings: Settings) -> Path:
    return settings.image_build_cache or settings.data_dir / "image-cache"


def registry_source(source: dict[str, Any], credentials: str | None) -> RegistrySource:
    """The registry source of a row (`credentials` decrypted: "user\\0password")."""
    pair = None
    if credentials is not None:
        username, _sep, password = credentials.partition("\0")
        pair = RegistryCredentials(username=username, password=password)
    return RegistrySource(
        reference=source["reference"], credentials=pair, insecure=bool(source.get("insecure"))
    )


def build_spec(source: dict[str, Any], *, description: str) -> BuildSpec:
    requirements = tuple(source.get("requirements") or ())
    return BuildSpec(
        base=BaseSpec(packages=tuple(source.get("packages") or ()), suite=source["suite"]),
        python=PythonSpec(requirements=requirements) if requirements else None,
        description=description,
        apps=("terminal",),
    )


def _trimmed(text: str) -> str:
    """The last LOG_BYTES of a log, from a line's start."""
    if len(text) <= LOG_BYTES:
        return text
    cut = text[-LOG_BYTES:]
    return cut[cut.find("\n") + 1 :]


class Reporter:
    """An OnProgress writing a job's progress and log into its row, at most every 0.5 s.

    Called from the job's thread and from the sources' byte watchers: a lock keeps order."""

    def __init__(self, database: Database, env_id: uuid.UUID) -> None:
        self.database = database
        self.env_id = env_id
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._progress: dict[str, Any] = {"done": None, "total": None, "line": ""}
        self._flushed = 0.0

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            if progress.line is not None:
                self._lines.append(progress.line[:1000])
                self._progress["line"] = progress.line[:300]
            if progress.done is not None:
                self._progress["done"], self._progress["total"] = progress.done, progress.total
            if time.monotonic() - self._flushed >= FLUSH_SECONDS:
                self._flush()

    def line(self, text: str) -> None:
        with self._lock:
            self._lines.append(text)
            self._flush()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        self._flushed = time.monotonic()
        lines, self._lines = self._lines, []
        with self.database.session() as db:
            env = db.get(Environment, self.env_id)
            if env is None:
                return
            if lines:
                env.log = _trimmed(env.log + "".join(f"{line}\n" for line in lines))
            env.progress = dict(self._progress)
            env.updated_at = utcnow()
            db.commit()


@dataclass(frozen=True)
class _Outcome:
    digest: str
    size: int
    lock: str = ""


class ImageJobs:
    """Runs image environments' jobs, each in a daemon thread with its own transactions."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.store = image_store(settings)
        self._threads: list[threading.Thread] = []

    def submit(self, env_id: uuid.UUID) -> None:
        """Start the environment's job in the background (the request's language goes along)."""
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(self.run, env_id), name=f"image-{env_id}", daemon=True
        )
        self._threads = [alive for alive in self._threads if alive.is_alive()] + [thread]
        thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the jobs this runner started to end (shutdown, tests)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def run(self, env_id: uuid.UUID) -> None:
        """Run one environment's job to its end (the thread's body; tests may call it)."""
        try:
            self._run(env_id)
        except Exception:  # the row could not be written: a restart will mark it failed
            log.exception("image job for environment %s could not be recorded", env_id)

    def _run(self, env_id: uuid.UUID) -> None:
        reporter = Reporter(self.database, env_id)
        try:
            outcome = self._work(env_id, reporter)
        except Exception as exc:  # every failure ends the job with a message
            if not isinstance(exc, ShipyardError):
                log.exception("image job for environment %s failed", env_id)
            message = _message_of(exc)
            reporter.line(message)
            self._end(env_id, failure=message)
            return
        if outcome is not None:
            reporter.flush()
            self._end(env_id, outcome=outcome)

    def _work(self, env_id: uuid.UUID, reporter: Reporter) -> _Outcome | None:
        with self.database.session() as db:
            env = db.get(Environment, env_id)
            if env is None or env.status not in RUNNING or env.image_ref is None:
                return None
            env.worker, env.updated_at = WORKER, utcnow()
            db.commit()
            source, ref, description = dict(env.image_source), env.image_ref, env.description
            credentials = (
                secrets.decrypt(self.settings, env.credentials) if env.credentials else None
            )
        if "registry" in source:
            info = copy_from_registry(
                self.store, registry_source(source["registry"], credentials),
                ref=ref, on_progress=reporter,
            )  # fmt: skip
            return _Outcome(digest=info.digest, size=info.size)
        if "archive" in source:
            path = upload_path(self.settings, source["archive"]["file"])
            info = import_archive(self.store, path, ref=ref, on_progress=reporter)
            return _Outcome(digest=info.digest, size=info.size)
        built = build_image(
            self.store, build_spec(source["build"], description=description),
            ref=ref, cache_dir=build_cache(self.settings), on_progress=reporter,
        )  # fmt: skip
        return _Outcome(digest=built.image.digest, size=built.image.size, lock=built.lock)

    def _end(
        self, env_id: uuid.UUID, *, outcome: _Outcome | None = None, failure: str = ""
    ) -> None:
        with self.database.session() as db:
            env = db.get(Environment, env_id, with_for_update=True)
            if env is None or env.status not in RUNNING:
                db.rollback()  # declared interrupted meanwhile: that verdict stands
                if outcome is not None and env is None:
                    self._forget(env_id)
                return
            env.updated_at = utcnow()
            if outcome is None:
                env.status, env.error = EnvironmentStatus.FAILED, failure
            else:
                env.status, env.error = EnvironmentStatus.READY, ""
                env.image_digest, env.size, env.lock = outcome.digest, outcome.size, outcome.lock
            db.commit()

    def _forget(self, env_id: uuid.UUID) -> None:
        with contextlib.suppress(NotFound):
            self.store.delete(f"env-{env_id.hex}")


def _message_of(exc: Exception) -> str:
    if isinstance(exc, ShipyardError):
        return exc.message
    return _("The job failed unexpectedly; the manager's log has the details.")


def mark_interrupted(database: Database) -> int:
    """Jobs that an earlier process on this host was running: failed, "interrupted by a
    restart". Jobs of managers on other hosts go on. Returns how many were marked."""
    host = WORKER.rsplit(":", 1)[0]
    with database.session() as db:
        stale = select(Environment.id).where(
            Environment.status.in_(RUNNING),
            Environment.worker != WORKER,
            (Environment.worker == "") | Environment.worker.startswith(f"{host}:"),
        )
        ids = list(db.scalars(stale))
        if ids:
            db.execute(
                update(Environment)
                .where(Environment.id.in_(ids))
                .values(
                    status=EnvironmentStatus.FAILED,
                    error=_("Interrupted by a restart of the manager; start it again."),
                    updated_at=utcnow(),
                )
            )
            db.commit()
        return len(ids)


_lock = threading.Lock()


def jobs_of(state: Any) -> ImageJobs:
    """The app's image jobs (app.state.image_jobs), made on first use; tests may put one."""
    with _lock:
        jobs: ImageJobs | None = getattr(state, "image_jobs", None)
        if jobs is None:
            jobs = ImageJobs(state.db, state.settings)
            state.image_jobs = jobs
        return jobs

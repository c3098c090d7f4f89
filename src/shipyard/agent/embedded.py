"""The agent `shipyard up` runs beside the manager: same protocol, over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import threading

import uvicorn

from shipyard.admin.bootstrap import write_secret
from shipyard.agent.daemon import AgentConfig, AgentDaemon
from shipyard.agent.runtime.base import Runtime
from shipyard.agent.server import create_agent_api
from shipyard.agents import service as agents
from shipyard.config import Settings
from shipyard.db import Database

log = logging.getLogger(__name__)


def agent_token(settings: Settings, database: Database) -> str:
    """The embedded agent's token: kept in the data dir, re-issued if it no longer works."""
    path = settings.data_dir / "agent" / "token"
    with database.session() as db:
        if path.is_file():
            raw = path.read_text(encoding="utf-8").strip()
            try:
                agents.group_of_token(db, raw)
                return raw
            except Exception:
                log.info("the embedded agent's token is no longer valid; issuing a new one")
        raw, _token = agents.create_agent_token(db, group_name="default")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_secret(path, raw)
    return raw


def make_runtime(settings: Settings) -> Runtime:
    from shipyard.agent.runtime.process import ProcessRuntime  # noqa: PLC0415 - heavy, agent only

    missing = shutil.which("bwrap") is None
    unsandboxed_ok = missing and settings.allow_unsandboxed_sessions and settings.loopback_only
    if unsandboxed_ok:
        log.warning(
            "bubblewrap is missing: sessions run WITHOUT a sandbox, as allow_unsandboxed_sessions "
            "says (and only because the manager listens on loopback alone); install bubblewrap"
        )
    elif missing:
        log.error(
            "bubblewrap is missing: sessions are refused. Install it (apt-get install "
            "bubblewrap slirp4netns nftables), or set SHIPYARD_ALLOW_UNSANDBOXED_SESSIONS=true "
            "to run them WITHOUT a sandbox on a loopback-only manager"
        )
    return ProcessRuntime(
        settings.data_dir / "agent" / "sessions",
        allow_unsandboxed=unsandboxed_ok,
        scratch=settings.session_scratch_mb * 2**20,
    )


def _megabytes(count: int | None) -> int | None:
    return None if count is None else count * 2**20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedAgent:
    """Runs the agent daemon and its API in a thread with its own event loop."""

    def __init__(self, settings: Settings, database: Database, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
        port = free_port()
        self.config = AgentConfig(
            manager_url=f"http://{host}:{settings.port}",
            token=agent_token(settings, database),
            data_dir=settings.data_dir / "agent",
            advertise_url=f"http://127.0.0.1:{port}",
            disk_reserve=_megabytes(settings.session_disk_reserve_mb),
            image_budget=settings.image_cache_mb * 2**20,
        )
        self.port = port
        self._thread: threading.Thread | None = None
        self.daemon: AgentDaemon | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="shipyard-agent", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self.daemon = AgentDaemon(self.config, self.runtime)
        api = create_agent_api(self.runtime, secret=self.daemon.api_secret)
        server = uvicorn.Server(
            uvicorn.Config(api, host="127.0.0.1", port=self.port, log_level="warning")
        )
        await asyncio.gather(server.serve(), self.daemon.run())

"""`shipyard agent`: run a node's agent against a manager."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli.output import console, fail

if TYPE_CHECKING:
    from shipyard.agent.daemon import AgentDaemon


def agent(
    manager: Annotated[str, typer.Option("--manager", help="the manager's URL")],
    token: Annotated[
        str, typer.Option("--token", envvar="SHIPYARD_AGENT_TOKEN", help="an agent token")
    ],
    resource_group: Annotated[
        str | None, typer.Option("--resource-group", help="expected group (the token decides)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="agent state: id, sessions, logs")
    ] = None,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT of the agent API")] = (
        "127.0.0.1:6020"
    ),
    advertise: Annotated[
        str | None, typer.Option("--advertise", help="URL the manager uses to reach this agent")
    ] = None,
    mock_gpus: Annotated[
        int, typer.Option("--mock-gpus", min=0, max=64, help="mock accelerators (labelled)")
    ] = 0,
    allow_unsandboxed: Annotated[
        bool,
        typer.Option("--allow-unsandboxed", help="run sessions without bubblewrap (unsafe)"),
    ] = False,
    disk_reserve_mb: Annotated[
        int | None,
        typer.Option(
            "--disk-reserve-mb",
            min=0,
            help="free MiB kept on disks holding writable folders (default: 2 GiB or 5 %)",
        ),
    ] = None,
    image_cache_mb: Annotated[
        int,
        typer.Option(
            "--image-cache-mb",
            min=0,
            help="MiB of unpacked images kept on this node (least recently used go first)",
        ),
    ] = 20480,
) -> None:
    """Register with the manager and run the sessions it assigns to this node."""
    from shipyard.agent.daemon import (  # noqa: PLC0415 - agent modules load only here
        AgentConfig,
        AgentConfigError,
        AgentDaemon,
    )
    from shipyard.agent.runtime.process import ProcessRuntime  # noqa: PLC0415
    from shipyard.config import default_data_dir  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    host, _sep, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit():
        fail("--listen takes HOST:PORT, for example 127.0.0.1:6020")
    if shutil.which("bwrap") is None and not allow_unsandboxed:
        fail("bubblewrap (bwrap) is not installed; install it, or pass --allow-unsandboxed")
    state = data_dir or default_data_dir().parent / "shipyard-agent"
    runtime = ProcessRuntime(state / "sessions", allow_unsandboxed=allow_unsandboxed)
    config = AgentConfig(
        manager_url=manager,
        token=token,
        data_dir=state,
        advertise_url=advertise or f"http://{host}:{port_text}",
        mock_gpus=mock_gpus,
        resource_group=resource_group,
        disk_reserve=None if disk_reserve_mb is None else disk_reserve_mb * 2**20,
        image_budget=image_cache_mb * 2**20,
    )
    daemon = AgentDaemon(config, runtime)
    console.print(f"agent {daemon.agent_id} -> {manager} (state in {state})")
    try:
        asyncio.run(_serve(daemon, host=host, port=int(port_text)))
    except AgentConfigError as exc:
        fail(str(exc))


async def _serve(daemon: AgentDaemon, *, host: str, port: int) -> None:
    import uvicorn  # noqa: PLC0415

    from shipyard.agent.server import create_agent_api  # noqa: PLC0415

    api = create_agent_api(daemon.runtime, secret=daemon.api_secret)
    server = uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="warning"))
    await asyncio.gather(server.serve(), daemon.run())

"""Image blobs for agents: GET /api/v1/agent/blobs/{digest}, from the manager's image store.

Agents fetch the images their sessions run in by digest (manifest, config, layers), signed
like every agent-protocol request (api/agent_auth.py). The answers are not signed: a blob
may be large and is streamed, and the agent trusts none of its bytes before they hash to
the digest it asked for (shipyard.agent.images.pull). HTTP Range requests resume a blob
whose download was cut (206 with Content-Range).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from shipyard.api.agent_auth import AgentKeyDep
from shipyard.environments.images.store import ImageStore
from shipyard.http.deps import SettingsDep

router = APIRouter(prefix="/api/v1/agent", tags=["agent protocol"])
DIGEST = r"^sha256:[0-9a-f]{64}$"


@router.get(
    "/blobs/{digest}",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The whole blob."},
        206: {"description": "The bytes a Range header asked for (Content-Range says which)."},
        404: {"description": "The manager's image store has no such blob."},
    },
)
async def blob(
    digest: Annotated[str, PathParam(pattern=DIGEST)],
    key: AgentKeyDep,
    settings: SettingsDep,
) -> FileResponse:
    """One blob of the manager's image store by its digest (sha256 only); Range resumes."""
    store = ImageStore.in_data_dir(settings.data_dir)
    path = await run_in_threadpool(store.blob_path, digest)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-store", "Docker-Content-Digest": digest},
    )

"""A real sandboxed session's coloured output, kept by the manager after the agent's cleanup."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shipyard.agent.runtime.process import ProcessRuntime
from shipyard.agents.models import Agent
from shipyard.agents.schemas import SessionReport
from shipyard.db import Database
from shipyard.sessions import service as sessions
from shipyard.sessions.collector import LogCollector
from shipyard.sessions.models import SessionType
from tests.agent.helpers import wait_exited
from tests.agent.test_agent_auth import agent_api
from tests.api.test_sessions_api import bearer
from tests.factories import Factory

COMMAND = r"""sh -c 'printf "\033[31mred\033[0m plain\n"; printf "50%%\r100%%\n"'"""


def test_coloured_output_outlives_the_agents_cleanup(
    client: TestClient, database: Database, factory: Factory, runtime: ProcessRuntime
) -> None:
    with agent_api(database, factory, runtime, kind=SessionType.BATCH, command=COMMAND) as api:
        session_id = api.session.id.hex
        status = wait_exited(runtime, session_id)
        with database.session() as db:
            report = SessionReport(session_id=api.session.id, running=False, exit_code=0)
            sessions.apply_reports(db, agent=db.get_one(Agent, api.agent.id), reports=[report])
            db.commit()
        LogCollector(database, factory.settings).run_once()
        runtime.remove(session_id)  # what the agent does 24 h after the session ended
        assert runtime.status(session_id) is None
        user = bearer(client, api.owner)
        path = f"/api/v1/sessions/{api.session.id}"
        raw = client.get(f"{path}/logs", headers=user).json()
        end = client.get(f"{path}/logs?offset={raw['offset']}", headers=user).json()
        plain = client.get(f"{path}/logs.txt", headers=user)
    assert status.exit_code == 0
    assert raw["data"] == "\x1b[31mred\x1b[0m plain\n50%\r100%\n"
    assert end == {"data": "", "offset": raw["offset"], "finished": True}
    assert plain.text == "red plain\n100%\n"

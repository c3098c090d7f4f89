"""A session's output kept on the manager: it outlives the agent's copy, stays within the
policy's size (the last bytes, with a note), comes as plain text on request, and goes with
the session."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from shipyard.agents.models import Agent
from shipyard.agents.schemas import SessionReport
from shipyard.db import Database
from shipyard.policies.models import ResourcePolicy
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.collector import LogCollector
from shipyard.sessions.models import ComputeSession, SessionLogChunk
from tests.agent_logs import serving
from tests.api.test_sessions_api import bearer
from tests.cli_helpers import CliAs, cli_as_fixture, served_fixture  # noqa: F401
from tests.factories import Account, Factory

COLOURED = (
    b"\x1b[?2004h\x1b[H\x1b[2J\x1b]0;title\x07"
    b"\x1b[31mred\x1b[0m and plain\r\nloading 10%\rloading 100%\n"
)
PLAIN = "red and plain\nloading 100%\n"


def placed(factory: Factory, account: Account) -> tuple[ComputeSession, Agent]:
    agent = factory.agent()
    session = factory.session(account.user)
    with factory.database.session() as db:
        schedule_once(db)
    return session, agent


def ended(database: Database, session: ComputeSession, agent: Agent) -> None:
    """The agent's heartbeat says the session's process exited."""
    with database.session() as db:
        report = SessionReport(session_id=session.id, running=False, exit_code=0)
        sessions.apply_reports(db, agent=db.get_one(Agent, agent.id), reports=[report])
        db.commit()


def test_output_outlives_the_agents_cleanup(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    session, agent = placed(factory, account)
    path = f"/api/v1/sessions/{session.id}"
    with serving(database, agent, COLOURED[:20], chunk=16) as node:
        first = client.get(f"{path}/logs", headers=headers).json()
        assert first["data"] == COLOURED[:20].decode()
        assert not first["finished"]
        node.output = COLOURED
        ended(database, session, agent)
        LogCollector(database, factory.settings).run_once()  # the rest, at the end
        node.forget()
        reads = node.reads
        chunk = client.get(f"{path}/logs?offset=20", headers=headers).json()
        assert chunk["data"] == COLOURED[20:].decode()
        assert client.get(f"{path}/logs?offset={len(COLOURED)}", headers=headers).json() == {
            "data": "",
            "offset": len(COLOURED),
            "finished": True,
        }
        text = client.get(f"{path}/logs.txt", headers=headers)
        assert node.reads == reads  # a complete copy never asks the agent again
    assert text.status_code == 200
    assert text.text == PLAIN
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["content-disposition"].startswith(f'attachment; filename="{session.name}')


def test_plain_reads_come_in_whole_lines_without_control_codes(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    headers = bearer(client, account)
    session, agent = placed(factory, account)
    with serving(database, agent, COLOURED + b"\x1b[32mhalf a li"):
        chunk = client.get(f"/api/v1/sessions/{session.id}/logs?plain=1", headers=headers).json()
    assert chunk == {"data": PLAIN, "offset": len(COLOURED), "finished": False}


def test_the_kept_copy_is_the_last_bytes_within_the_policy(
    client: TestClient, factory: Factory, database: Database
) -> None:
    account = factory.user()
    with database.session() as db:
        policy = db.get_one(ResourcePolicy, factory.user_policy(account.user).id)
        policy.max_log_size = 64 * 1024
        db.commit()
    headers = bearer(client, account)
    session, agent = placed(factory, account)
    lines = b"".join(b"line %06d\n" % n for n in range(20_000))  # 240,000 bytes
    with serving(database, agent, lines) as node:
        ended(database, session, agent)
        LogCollector(database, factory.settings).run_once()
        node.forget()
    with database.session() as db:
        kept = db.scalar(
            select(func.sum(func.length(SessionLogChunk.data))).where(
                SessionLogChunk.session_id == session.id
            )
        )
    assert kept == 64 * 1024
    first = client.get(f"/api/v1/sessions/{session.id}/logs", headers=headers).json()
    assert first["data"].startswith("… earlier output dropped\r\n")
    assert first["offset"] == len(lines)
    assert first["data"].endswith("line 019999\n")
    text = client.get(f"/api/v1/sessions/{session.id}/logs.txt", headers=headers).text
    assert text.startswith("… earlier output dropped\n")
    assert text.endswith("line 019999\n")
    assert len(text.encode()) < 64 * 1024 + 100


def test_the_copy_goes_with_the_session(factory: Factory, database: Database) -> None:
    account = factory.user()
    session, agent = placed(factory, account)
    with serving(database, agent, b"hello\n"):
        LogCollector(database, factory.settings).run_once()
    with database.session() as db:
        mine = SessionLogChunk.session_id == session.id
        assert db.scalar(select(func.count()).where(mine)) == 1
        db.execute(delete(ComputeSession).where(ComputeSession.id == session.id))
        db.commit()
        assert db.scalar(select(func.count()).where(mine)) == 0


def test_strangers_get_no_output(client: TestClient, factory: Factory, database: Database) -> None:
    session, agent = placed(factory, factory.user())
    stranger = bearer(client, factory.user())
    with serving(database, agent, b"secret\n"):
        for path in ("logs", "logs.txt", "logs?plain=1"):
            answer = client.get(f"/api/v1/sessions/{session.id}/{path}", headers=stranger)
            assert answer.status_code == 404, path
            assert "secret" not in answer.text
    missing = client.get(f"/api/v1/sessions/{uuid.uuid4()}/logs.txt", headers=stranger)
    assert missing.status_code == 404


def test_the_cli_prints_plain_output(cli_as: CliAs, factory: Factory, database: Database) -> None:
    account = factory.user()
    session, agent = placed(factory, account)
    cli = cli_as(account)
    with serving(database, agent, COLOURED):
        ended(database, session, agent)
        assert cli.ok("session", "logs", str(session.id), "--plain") == PLAIN
        raw = cli.ok("session", "logs", str(session.id))
    assert "loading 10%\rloading 100%" in raw  # without --plain, as the terminal got it

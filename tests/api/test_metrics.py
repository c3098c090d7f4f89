"""/metrics: who may scrape it, and that its figures are the platform's own."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from shipyard.agents import service as agents
from shipyard.agents.models import Agent, AgentStatus
from shipyard.app import create_app
from shipyard.config import Settings
from shipyard.db import Database
from shipyard.sessions import lifecycle
from shipyard.sessions.models import ComputeSession, SessionStatus
from tests.conftest import AppWith
from tests.factories import Factory
from tests.querycount import QueryCounter
from tests.signed_agent import auth_of, registration

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
GIB = 2**30
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, with a metrics token configured."""
    return settings.model_copy(update={"metrics_token": TOKEN})


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


def group_named(database: Database, name: str) -> None:
    with database.session() as db:
        agents.create_group(db, name=name)


def set_agent(database: Database, agent: Agent, **values: object) -> None:
    with database.session() as db:
        db.execute(update(Agent).where(Agent.id == agent.id).values(**values))
        db.commit()


# --- access ---------------------------------------------------------------------------


def test_refused_without_a_token_from_an_address_not_allowed(client: TestClient) -> None:
    response = client.get("/metrics")  # TestClient's address is "testclient": not an IP
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert "token or an allowed address" in response.text
    assert "shipyard_" not in response.text


@pytest.mark.parametrize(
    "authorization", [f"Bearer {TOKEN}x", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}"]
)
def test_a_wrong_token_gets_401(client: TestClient, authorization: str) -> None:
    response = client.get("/metrics", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Wrong metrics token" in response.text
    assert "shipyard_" not in response.text


def test_the_right_token_gets_the_text_format(client: TestClient) -> None:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE shipyard_http_request_duration_seconds histogram" in response.text
    assert "shipyard_database_up 1.0" in response.text


def test_metrics_are_not_part_of_the_api_description(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert not [path for path in paths if "metrics" in path]


@pytest.mark.parametrize("admin", [False, True])
def test_a_console_login_does_not_open_metrics(
    client: TestClient, factory: Factory, admin: bool
) -> None:
    account = factory.admin() if admin else factory.user()
    factory.web_login(client, account)
    assert client.get("/").status_code == 200  # the cookie is in use
    assert client.get("/metrics").status_code == 403


@pytest.mark.parametrize(
    ("address", "status"),
    [("10.1.2.3", 200), ("2001:db8::7", 200), ("192.168.0.9", 403), ("2001:db9::7", 403)],
)
def test_the_allow_list_admits_by_client_address(
    app_with: AppWith, address: str, status: int
) -> None:
    app = app_with(metrics_allow=["10.0.0.0/8", "2001:db8::/32"])
    with TestClient(app, client=(address, 40000)) as client:
        response = client.get("/metrics")
    assert response.status_code == status
    assert ("shipyard_database_up" in response.text) is (status == 200)


def test_loopback_is_allowed_by_default_over_real_http(live_server: str) -> None:
    response = httpx.get(f"{live_server}/metrics")  # from 127.0.0.1, no token
    assert response.status_code == 200
    assert "shipyard_database_up 1.0" in response.text


# --- figures --------------------------------------------------------------------------


@pytest.fixture
def seeded(database: Database, factory: Factory) -> dict[str, Agent]:
    """Two groups: default (two free agents, one lost, one drained) and a GPU group."""
    group_named(database, "gpu")
    fleet = {
        "small": factory.agent(cpu="4", mem="8g"),
        "large": factory.agent(cpu="8", mem="16g"),
        "lost": factory.agent(cpu="2", mem="4g"),
        "drained": factory.agent(cpu="16", mem="64g"),
        "gpu": factory.agent(group="gpu", cpu="8", mem="32g", gpus=2),
    }
    set_agent(database, fleet["lost"], status=AgentStatus.LOST)
    set_agent(database, fleet["drained"], schedulable=False)
    return fleet


@pytest.mark.db
def test_gauges_show_agents_sessions_and_slots_per_group(
    client: TestClient, app: FastAPI, factory: Factory, seeded: dict[str, Agent]
) -> None:
    owner = factory.user().user
    factory.session(owner, cpu="2", mem="2g")  # binpack: onto "small"
    factory.session(owner, cpu="3", mem="4g")  # onto "large"
    factory.session(owner, cpu="8", mem="1g")  # fits no agent's free capacity now: waits
    app.state.scheduler.run_round()
    samples = scrape(client)

    def sessions(status: str, group: str = "default") -> float:
        return value(samples, "shipyard_sessions", status=status, resource_group=group)

    assert sessions("SCHEDULED") == 2
    assert sessions("PENDING") == 1
    assert sessions("RUNNING") == 0
    assert [sessions(status, "gpu") for status in ("PENDING", "SCHEDULED", "RUNNING")] == [0] * 3
    finished = [
        key for key in samples if key[0] == "shipyard_sessions" and "TERMINATED" in str(key)
    ]
    assert not finished
    assert value(samples, "shipyard_scheduler_pending_sessions") == 1

    assert value(samples, "shipyard_agents", status="ALIVE", resource_group="default") == 3
    assert value(samples, "shipyard_agents", status="LOST", resource_group="default") == 1
    assert value(samples, "shipyard_agents", status="TERMINATED", resource_group="default") == 0
    assert value(samples, "shipyard_agents", status="ALIVE", resource_group="gpu") == 1
    assert value(samples, "shipyard_agents_schedulable", resource_group="default") == 2
    assert value(samples, "shipyard_agents_schedulable", resource_group="gpu") == 1

    def slots(kind: str, slot: str, group: str = "default") -> float:
        return value(samples, f"shipyard_slots_{kind}", slot=slot, resource_group=group)

    # capacity counts live schedulable agents only: small + large
    assert (slots("capacity", "cpu"), slots("capacity", "mem")) == (12, 24 * GIB)
    assert (slots("allocated", "cpu"), slots("allocated", "mem")) == (5, 6 * GIB)
    assert slots("capacity", "cuda.device", "gpu") == 2
    assert slots("allocated", "cuda.device", "gpu") == 0
    assert (slots("capacity", "mem", "gpu"), slots("allocated", "cpu", "gpu")) == (32 * GIB, 0)

    assert value(samples, "shipyard_scheduler_placements_total") == 2
    assert value(samples, "shipyard_session_start_wait_seconds_count") == 2
    assert value(samples, "shipyard_scheduler_round_seconds_count") == 1
    assert value(samples, "shipyard_agent_heartbeat_age_seconds", resource_group="gpu") >= 0


@pytest.mark.db
def test_allocated_follows_the_ledger_as_sessions_end(
    client: TestClient, app: FastAPI, database: Database, factory: Factory
) -> None:
    factory.agent(cpu="4", mem="8g", gpus=1)
    session = factory.session(factory.user().user, cpu="1.5", mem="512m", gpus=1)
    app.state.scheduler.run_round()

    def allocated(samples: Samples, slot: str) -> float:
        return value(samples, "shipyard_slots_allocated", slot=slot, resource_group="default")

    before = scrape(client)
    assert (allocated(before, "cpu"), allocated(before, "mem")) == (1.5, 512 * 2**20)
    assert allocated(before, "cuda.device") == 1
    with database.session() as db:  # what an agent's report does when the session exits
        found = db.get(ComputeSession, session.id)
        assert found is not None
        lifecycle.move(db, found, SessionStatus.TERMINATED, "exited", exit_code=0)
        db.commit()
    after = scrape(client)
    assert (allocated(after, "cpu"), allocated(after, "mem")) == (0, 0)
    assert allocated(after, "cuda.device") == 0
    assert value(after, "shipyard_sessions", status="SCHEDULED", resource_group="default") == 0


def test_a_scrape_runs_the_same_few_statements_whatever_the_data(
    client: TestClient, app: FastAPI, factory: Factory, queries: QueryCounter
) -> None:
    factory.agent()
    scrape(client)  # warm up (first connection)
    queries.reset()
    scrape(client)
    small = queries.count
    owner = factory.user().user
    factory.user_policy(owner)  # no session limit: twenty sessions are admitted
    for _ in range(6):
        factory.agent(cpu="2", mem="4g")
    for _ in range(20):
        factory.session(owner, cpu="1", mem="1g")
    app.state.scheduler.run_round()
    queries.reset()
    samples = scrape(client)
    assert queries.count == small <= 5
    counts = [
        value(samples, "shipyard_sessions", status=status, resource_group="default")
        for status in ("PENDING", "SCHEDULED")
    ]
    assert sum(counts) == 20


def test_the_heartbeat_histogram_counts_agent_heartbeats(
    client: TestClient, database: Database, factory: Factory
) -> None:
    """(The factory fixture creates the default group the agent joins.)"""
    with database.session() as db:
        raw, _token = agents.create_agent_token(db, group_name="default")
    auth = auth_of(raw)
    body = registration("node-m")
    assert client.post("/api/v1/agent/register", json=body, auth=auth).is_success
    count = "shipyard_agent_heartbeat_seconds_count"
    assert value(scrape(client), count) == 0
    for _ in range(2):
        beat = client.post(
            "/api/v1/agent/heartbeat", json={"agent_id": "node-m", "sessions": []}, auth=auth
        )
        assert beat.status_code == 200
    samples = scrape(client)
    assert value(samples, count) == 2
    assert value(samples, "shipyard_agent_heartbeat_age_seconds", resource_group="default") < 60


def test_http_latency_is_labelled_by_route_template_not_raw_path(client: TestClient) -> None:
    session_id = str(uuid.uuid4())
    assert client.get(f"/api/v1/sessions/{session_id}").status_code == 401
    client.get("/static/no-such-file.css")
    client.get(f"/no/such/page/{session_id}")
    response = client.get("/metrics", headers=BEARER)
    assert session_id not in response.text
    samples = scrape(client)
    duration = "shipyard_http_request_duration_seconds_count"
    labels = {"method": "GET", "status_class": "4xx"}
    assert value(samples, duration, route="/api/v1/sessions/{ref}", **labels) == 1
    assert value(samples, duration, route="/static/{path}", **labels) == 1
    assert value(samples, duration, route="unmatched", **labels) == 1
    assert value(samples, duration, route="/metrics", method="GET", status_class="2xx") == 1
    assert value(samples, "shipyard_http_requests_in_flight") == 1  # the scrape itself


def test_an_unreachable_database_still_answers_with_process_metrics(
    settings: Settings, tmp_path: Path
) -> None:
    broken = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'shipyard.db'}")
    app = create_app(settings, database=broken, run_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        samples = scrape(client)
    assert value(samples, "shipyard_database_up") == 0
    assert value(samples, "process_cpu_seconds_total") > 0
    assert not [key for key in samples if key[0] == "shipyard_sessions"]

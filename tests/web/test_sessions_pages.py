"""The Sessions pages: the list, the START launcher and its fit check, a session's page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shipyard.agents.models import Agent
from shipyard.agents.schemas import SessionReport
from shipyard.db import Database
from shipyard.environments import service as environments
from shipyard.environments.models import EnvironmentStatus
from shipyard.scheduler.service import schedule_once
from shipyard.sessions import service as sessions
from shipyard.sessions.models import ComputeSession, SessionType
from tests.agent_logs import serving
from tests.factories import Account, Factory
from tests.querycount import QueryCounter
from tests.webclient import session_csrf

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
HTMX = {"HX-Request": "true"}
LAUNCH = {
    "environment": "python",
    "type": "batch",
    "command": "echo hello",
    "cpu": "1",
    "mem": "1",
    "gpus": "0",
    "project": "",
    "resource_group": "",
    "name": "",
}


@pytest.fixture
def agent(factory: Factory) -> Agent:
    return factory.agent(cpu="8", mem="16g", gpus=2)


@pytest.fixture
def account(client: TestClient, factory: Factory, agent: Agent) -> Account:
    account = factory.user()
    factory.web_login(client, account)
    return account


def count_sessions(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(ComputeSession)) or 0


def schedule(database: Database) -> None:
    with database.session() as db:
        schedule_once(db)


def post(
    client: TestClient,
    path: str,
    data: dict[str, str],
    *,
    headers: dict[str, str] | None = None,
    follow_redirects: bool = True,
) -> httpx.Response:
    """POST a form with the CSRF token the Sessions page carries."""
    token = session_csrf(client)
    return client.post(
        path,
        data={**data, "csrf_token": token},
        headers=headers,
        follow_redirects=follow_redirects,
    )


def slider_max(html: str, field: str) -> str:
    match = re.search(rf'id="launch-{field}-range"[^>]*\smax="([^"]*)"', html, re.S)
    assert match, f"no {field} slider"
    return match.group(1)


# The list -----------------------------------------------------------------------------


def test_empty_list_offers_to_start_one(client: TestClient, account: Account) -> None:
    html = client.get("/sessions").text
    assert "Nothing is running or waiting" in html
    assert 'href="/sessions/launcher"' in html
    assert "Start a session" in html
    assert 'aria-current="page"' in html.split('href="/sessions"', 1)[1].split(">", 1)[0]


@pytest.mark.db
def test_list_shows_sessions_newest_first(
    client: TestClient, account: Account, factory: Factory
) -> None:
    older = factory.session(account.user, cpu="1.5", mem="2g", gpus=1)
    newer = factory.session(account.user, kind=SessionType.INTERACTIVE, command="")
    html = client.get("/sessions").text
    assert html.index(f'href="/sessions/{newer.id}"') < html.index(f'href="/sessions/{older.id}"')
    assert "1.5 CPU · 2 GiB · 1 GPU" in html
    assert "1 CPU · 1 GiB" in html
    assert ">PENDING<" in html
    assert "Waiting to be scheduled." in html
    assert "default / default" in html
    assert ">Interactive<" in html
    assert ">Batch<" in html
    assert '<div class="table-responsive">' in html


def test_finished_sessions_show_only_when_asked(
    client: TestClient, account: Account, factory: Factory, database: Database
) -> None:
    ended = factory.session(account.user)
    with database.session() as db:
        sessions.terminate(db, viewer=db.merge(account.user), session_id=ended.id)
    assert str(ended.id) not in client.get("/sessions").text
    html = client.get("/sessions?all=true").text
    assert f'href="/sessions/{ended.id}"' in html
    assert ">CANCELLED<" in html
    assert "Cancelled by the user." in html


def test_htmx_polls_get_only_the_table_body(
    client: TestClient, account: Account, factory: Factory
) -> None:
    factory.session(account.user)
    body = client.get("/sessions?all=true", headers=HTMX).text
    assert body.startswith('<tbody id="sessions-rows" hx-get="/sessions?all=true"')
    assert 'hx-trigger="every 3s"' in body
    assert "<thead" not in body
    assert ">PENDING<" in body


def test_other_users_sessions_are_not_listed(
    client: TestClient, account: Account, factory: Factory
) -> None:
    stranger = factory.user()
    theirs = factory.session(stranger.user)
    assert str(theirs.id) not in client.get("/sessions?all=true").text


def test_list_statements_do_not_grow_with_sessions(
    client: TestClient, account: Account, factory: Factory, queries: QueryCounter
) -> None:
    factory.user_policy(account.user, max_pending=100)
    for _ in range(3):
        factory.session(account.user, cpu="0.1", mem="64m")
    client.get("/sessions")
    queries.reset()
    client.get("/sessions")
    few = queries.count
    for _ in range(27):
        factory.session(account.user, cpu="0.1", mem="64m")
    queries.reset()
    html = client.get("/sessions").text
    assert queries.count == few
    assert html.count('<a href="/sessions/') == 30


# The launcher ------------------------------------------------------------------------


def test_launcher_is_a_fragment_for_htmx_and_a_page_otherwise(
    client: TestClient, account: Account
) -> None:
    fragment = client.get("/sessions/launcher", headers=HTMX).text
    assert fragment.startswith('<section id="launcher"')
    page = client.get("/sessions/launcher").text
    assert "<html" in page
    assert 'id="launcher"' in page
    assert 'id="sessions-rows"' in page
    for label in ("Environment", "Command", "CPU cores", "Memory (GiB)", "GPUs", "Project"):
        assert f">{label}</label>" in page, label
    assert ">Resource group</label>" in page
    assert 'aria-labelledby="launch-cpu-label"' in page
    assert '<option value="python" selected>' in page
    assert 'hx-post="/sessions/check"' in page
    assert 'hx-trigger="input changed delay:300ms from:closest form"' in page
    assert "Fits now" in page


def test_sliders_end_at_what_the_limits_leave(
    client: TestClient, account: Account, factory: Factory, database: Database
) -> None:
    factory.user_policy(account.user, slots={"cpu": "4", "mem": "8g"})
    factory.session(account.user, cpu="1", mem="1g")
    schedule(database)
    html = client.get("/sessions/launcher", headers=HTMX).text
    assert slider_max(html, "cpu") == "3"
    assert slider_max(html, "mem") == "7"
    assert "Up to 3 cores: what your limit still allows." in html
    assert "Up to 7 GiB: what your limit still allows." in html
    assert slider_max(html, "gpus") == "2"
    assert "Up to 2 GPUs: the most free on one agent of this resource group now." in html


def test_without_limits_the_sliders_end_at_the_largest_agent(
    client: TestClient, account: Account, factory: Factory
) -> None:
    factory.agent(cpu="32", mem="64g")
    html = client.get("/sessions/launcher", headers=HTMX).text
    assert slider_max(html, "cpu") == "32"
    assert slider_max(html, "mem") == "64"
    assert "Up to 32 cores: the most free on one agent of this resource group now." in html


def test_check_says_it_fits(client: TestClient, account: Account) -> None:
    response = post(client, "/sessions/check", LAUNCH, headers=HTMX)
    assert response.status_code == 200
    assert "Fits now" in response.text


@pytest.mark.db
@pytest.mark.parametrize(
    ("cpu", "limit", "names"),
    [
        (
            "2",
            {"cpu": "1"},
            [
                "Your limit:",
                "CPU: this asks for 2 cores, but your limit of 1 core leaves 1 core "
                "(0 cores in use).",
            ],
        ),
        (
            "100",
            None,
            [
                "Resource group capacity:",
                "CPU: this asks for 100 cores, but the most free on one agent of this "
                "resource group is 8 cores.",
            ],
        ),
    ],
)
def test_check_names_what_blocks(
    client: TestClient,
    account: Account,
    factory: Factory,
    cpu: str,
    limit: dict[str, str] | None,
    names: list[str],
) -> None:
    if limit:
        factory.user_policy(account.user, slots=limit)
    html = post(client, "/sessions/check", {**LAUNCH, "cpu": cpu}, headers=HTMX).text
    assert "Does not fit now" in html
    assert "Fits now" not in html
    for name in names:
        assert name in html


def test_check_counts_sessions(client: TestClient, account: Account, factory: Factory) -> None:
    factory.user_policy(account.user, max_sessions=1)
    factory.session(account.user)
    html = post(client, "/sessions/check", LAUNCH).text
    assert "Fits now" in html  # a pending session holds no slot yet
    with factory.database.session() as db:
        schedule_once(db)
    html = post(client, "/sessions/check", LAUNCH).text
    assert "Session count:" in html
    assert "You already have 1 of at most 1 session." in html


def test_check_explains_bad_numbers(client: TestClient, account: Account) -> None:
    html = post(client, "/sessions/check", {**LAUNCH, "mem": "lots"}).text
    assert "Enter a number, for example 1 or 0.5." in html


def test_a_project_change_redraws_the_launcher_with_its_groups(
    client: TestClient, account: Account, factory: Factory
) -> None:
    other = factory.project(members=(account.user,))
    data = {**LAUNCH, "project": str(other.id), "resource_group": "gone", "command": "kept"}
    html = post(client, "/sessions/launcher", data, headers=HTMX).text
    assert html.startswith('<section id="launcher"')
    assert f'<option value="{other.id}" selected>' in html
    assert '<option value="default" selected>default</option>' in html
    assert ">kept</textarea>" in html


def test_an_environment_without_terminal_offers_batch_only(
    client: TestClient, account: Account, database: Database
) -> None:
    with database.session() as db:
        environments.register(db, name="plain", apps=())
    html = post(client, "/sessions/launcher", {**LAUNCH, "environment": "plain"}).text
    assert re.search(r'value="interactive" id="launch-type-interactive"[^>]* disabled', html)
    assert "This environment offers no terminal." in html


def test_the_launcher_offers_only_environments_ready_for_sessions(
    client: TestClient, account: Account, database: Database
) -> None:
    with database.session() as db:
        for name, status in (("broken", "failed"), ("coming", "importing"), ("fine", "ready")):
            env = environments.register(db, name=name, apps=())
            env.status = EnvironmentStatus(status)
    html = client.get("/sessions/launcher", headers=HTMX).text
    assert '<option value="fine"' in html
    assert '<option value="broken"' not in html
    assert '<option value="coming"' not in html


# Creating ----------------------------------------------------------------------------


@pytest.mark.smoke
def test_create_goes_to_the_session_page_and_it_is_pending(
    client: TestClient, account: Account, database: Database
) -> None:
    response = post(client, "/sessions", {**LAUNCH, "name": "hello"}, follow_redirects=False)
    assert response.status_code == 303
    target = response.headers["location"]
    assert re.fullmatch(r"/sessions/[0-9a-f-]{36}", target)
    page = client.get(target).text
    assert '<h1 class="page-title">hello</h1>' in page
    assert 'data-testid="session-status">PENDING<' in page
    assert "Waiting to be scheduled." in page
    assert "1 CPU · 1 GiB" in page
    assert "echo hello" in page
    assert ">hello</a>" in client.get("/sessions").text


def test_create_through_htmx_redirects_with_a_header(client: TestClient, account: Account) -> None:
    response = post(client, "/sessions", LAUNCH, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/sessions/")


@pytest.mark.parametrize(
    ("change", "field", "message", "status"),
    [
        ({"environment": "nope"}, "environment", "Unknown environment: nope.", 404),
        ({"cpu": "-1"}, "cpu", "Enter zero or more.", 422),
        ({"cpu": "lots"}, "cpu", "Enter a number, for example 1 or 0.5.", 422),
        ({"cpu": "0.0001"}, "cpu", "CPU takes at most three decimal places, such as 0.125.", 422),
        ({"cpu": "1e999999"}, "cpu", "That is more than any agent could have.", 422),
        ({"mem": "NaN"}, "mem", "Enter a number, for example 1 or 0.5.", 422),
        ({"gpus": "1.5"}, "gpus", "Enter a whole number of GPUs.", 422),
        ({"cpu": "0"}, "resources", "A session needs some CPU and memory.", 422),
        ({"cpu": "64"}, "resources", "No agent in resource group default is large enough", 422),
        ({"command": "  "}, "command", "A batch session needs a command.", 422),
        ({"type": "daemon"}, "type", "Choose batch or interactive.", 422),
        ({"name": "no spaces"}, "name", "A name starts with a letter or digit", 422),
        ({"resource_group": "elsewhere"}, "resource_group", "No such resource group", 404),
        ({"project": "elsewhere"}, "project", "No such project: elsewhere.", 404),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_creates_nothing(
    client: TestClient,
    account: Account,
    database: Database,
    change: dict[str, str],
    field: str,
    message: str,
    status: int,
) -> None:
    typed = {**LAUNCH, "command": "echo <kept>", **change}
    response = post(client, "/sessions", typed)
    assert response.status_code == status
    html = response.text
    assert re.search(rf'id="launch-{field}-error"[^>]*>[^<]*{re.escape(message)}', html), html
    assert count_sessions(database) == 0
    if "command" not in change:
        assert "echo &lt;kept&gt;</textarea>" in html
    if field in ("cpu", "mem", "gpus"):
        assert f'value="{change[field]}"' in html
        assert re.search(rf'id="launch-{field}"[^>]*aria-invalid="true"', html, re.S)


@pytest.mark.db
def test_over_quota_is_refused_with_the_limit_and_creates_nothing(
    client: TestClient, account: Account, factory: Factory, database: Database
) -> None:
    factory.user_policy(account.user, slots={"cpu": "1"})
    response = post(client, "/sessions", {**LAUNCH, "cpu": "2"})
    assert response.status_code == 409
    html = response.text
    assert re.search(
        r'id="launch-cpu-error"[^>]*>CPU: this asks for 2 cores, but your limit of 1 core '
        r"leaves 1 core \(0 cores in use\)\.<",
        html,
    )
    assert 'role="alert"' not in html
    assert 'value="2"' in html
    assert count_sessions(database) == 0


def test_refusals_through_htmx_swap_the_launcher(client: TestClient, account: Account) -> None:
    response = post(client, "/sessions", {**LAUNCH, "cpu": "lots"}, headers=HTMX)
    assert response.status_code == 200
    assert response.text.startswith('<section id="launcher"')
    assert "Enter a number" in response.text
    assert "autofocus" in response.text.split('id="launch-cpu"', 1)[1].split(">", 1)[0]


def test_create_needs_csrf(client: TestClient, account: Account, database: Database) -> None:
    assert client.post("/sessions", data=LAUNCH).status_code == 403
    assert count_sessions(database) == 0


# A session's page --------------------------------------------------------------------


def test_session_page_polls_its_logs_while_active(
    client: TestClient, account: Account, factory: Factory
) -> None:
    session = factory.session(account.user)
    html = client.get(f"/sessions/{session.id}").text
    assert f'hx-get="/sessions/{session.id}/logs?offset=0&amp;seen=1"' in html
    assert 'hx-trigger="load, every 2s"' in html
    assert '<pre id="log-output" class="mb-0" role="log" aria-live="polite"' in html
    assert ">Terminate</button>" in html
    assert 'id="terminate-dialog"' in html
    assert "Open terminal" not in html


def test_a_logs_poll_without_agent_keeps_polling_and_sends_no_status(
    client: TestClient, account: Account, factory: Factory
) -> None:
    session = factory.session(account.user)
    body = client.get(f"/sessions/{session.id}/logs?offset=0&seen=1", headers=HTMX).text
    assert body.startswith('<div id="log-poller" hx-get=')
    assert 'hx-trigger="every 2s"' in body
    assert "No output yet." in body
    assert "session-status" not in body


def test_a_logs_poll_brings_a_changed_status(
    client: TestClient, account: Account, factory: Factory, database: Database
) -> None:
    session = factory.session(account.user)
    schedule(database)
    body = client.get(f"/sessions/{session.id}/logs?offset=0&seen=1", headers=HTMX).text
    assert '<section id="session-status"' in body
    assert 'hx-swap-oob="true"' in body
    assert 'data-testid="session-status">SCHEDULED<' in body
    assert "The session&#39;s agent cannot be reached right now." in body
    assert "seen=2" in body


@pytest.fixture
def agent_logs(database: Database, agent: Agent) -> Iterator[Agent]:
    """The test agent serves two reads of output from a real HTTP server on loopback."""
    with serving(database, agent, b"hello <b>\nworld\n", chunk=10):
        yield agent


def test_logs_are_appended_escaped_and_read_to_the_end_once_finished(
    client: TestClient, account: Account, factory: Factory, database: Database, agent_logs: Agent
) -> None:
    session = factory.session(account.user)
    schedule(database)
    response = client.get(f"/sessions/{session.id}/logs?offset=0&seen=2", headers=HTMX)
    assert response.headers["HX-Reswap"] == "beforeend scroll:#log-output:bottom"
    first = response.text
    assert first.startswith('hello &lt;b&gt;\nworld\n<div id="log-poller"')
    assert "offset=16&amp;seen=2" in first
    assert 'hx-trigger="every 2s"' in first
    with database.session() as db:
        report = SessionReport(session_id=session.id, running=False, exit_code=0)
        sessions.apply_reports(db, agent=db.get_one(Agent, agent_logs.id), reports=[report])
        db.commit()
    again = client.get(f"/sessions/{session.id}/logs?offset=10&seen=2", headers=HTMX).text
    assert again.startswith('world\n<div id="log-poller"')  # a reload reads from the copy
    assert 'hx-trigger="load"' in again
    second = client.get(f"/sessions/{session.id}/logs?offset=16&seen=2", headers=HTMX).text
    assert 'data-testid="session-status">TERMINATED<' in second
    assert 'data-testid="exit-code">0<' in second
    assert ">Terminate</button>" not in second
    response = client.get(f"/sessions/{session.id}/logs?offset=16&seen=3", headers=HTMX)
    assert "HX-Reswap" not in response.headers  # no new output: a reader keeps their place
    assert response.text.startswith('<div id="log-poller" hx-swap-oob="true"></div>')
    assert not response.text.endswith((" ", "\n"))


def test_interactive_running_sessions_link_their_terminal(
    client: TestClient, account: Account, factory: Factory, database: Database, agent: Agent
) -> None:
    session = factory.session(account.user, kind=SessionType.INTERACTIVE, command="")
    schedule(database)
    with database.session() as db:
        report = SessionReport(session_id=session.id, running=True)
        sessions.apply_reports(db, agent=db.get_one(Agent, agent.id), reports=[report])
        db.commit()
    html = client.get(f"/sessions/{session.id}").text
    assert f'href="/sessions/{session.id}/terminal"' in html
    assert "Open terminal" in html
    assert ">RUNNING<" in html


def test_terminate_needs_csrf_then_ends_the_session(
    client: TestClient, account: Account, factory: Factory
) -> None:
    session = factory.session(account.user)
    refused = client.post(f"/sessions/{session.id}/terminate", follow_redirects=False)
    assert refused.status_code == 403
    assert ">PENDING<" in client.get(f"/sessions/{session.id}").text
    token = session_csrf(client)
    ended = client.post(
        f"/sessions/{session.id}/terminate", data={"csrf_token": token}, follow_redirects=False
    )
    assert ended.status_code == 303
    assert ended.headers["location"] == f"/sessions/{session.id}"
    html = client.get(f"/sessions/{session.id}").text
    assert 'data-testid="session-status">CANCELLED<' in html
    assert "Cancelled by the user." in html
    assert ">Terminate</button>" not in html
    assert 'hx-trigger="load"' in html


def test_other_users_sessions_are_a_404(client: TestClient, factory: Factory, agent: Agent) -> None:
    owner = factory.user()
    session = factory.session(owner.user)
    stranger = factory.user()
    factory.web_login(client, stranger)
    for path in (f"/sessions/{session.id}", f"/sessions/{session.id}/logs", "/sessions/nope"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.text
    token = session_csrf(client)
    response = client.post(f"/sessions/{session.id}/terminate", data={"csrf_token": token})
    assert response.status_code == 404
    admin = factory.admin()
    factory.web_login(client, admin)
    assert client.get(f"/sessions/{session.id}").status_code == 200


@pytest.mark.parametrize("path", ["/sessions", "/sessions/launcher", "session"])
def test_pages_carry_no_inline_script_or_style(
    client: TestClient, account: Account, factory: Factory, path: str
) -> None:
    if path == "session":
        path = f"/sessions/{factory.session(account.user).id}"
    html = client.get(path).text
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert not STYLE_ATTRIBUTE.search(html)


def test_the_console_offers_the_output_as_plain_text(
    client: TestClient, account: Account, factory: Factory, database: Database, agent: Agent
) -> None:
    session = factory.session(account.user)
    schedule(database)
    page = client.get(f"/sessions/{session.id}").text
    assert f'href="/sessions/{session.id}/logs.txt" download>' in page
    assert 'id="log-screen"' in page
    assert "vendor/xterm/xterm.js" in page
    with serving(database, agent, b"\x1b[?2004h\x1b[31mred\x1b[0m <b>\r\n"):
        text = client.get(f"/sessions/{session.id}/logs.txt")
    assert text.text == "red <b>\n"
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["content-disposition"].startswith("attachment;")
    stranger = factory.user()
    factory.web_login(client, stranger)
    assert client.get(f"/sessions/{session.id}/logs.txt").status_code == 404


def test_list_rows_carry_their_actions(
    client: TestClient, account: Account, factory: Factory, database: Database, agent: Agent
) -> None:
    shell = factory.session(account.user, kind=SessionType.INTERACTIVE, command="")
    waiting = factory.session(account.user)
    schedule(database)
    with database.session() as db:
        report = SessionReport(session_id=shell.id, running=True)
        sessions.apply_reports(db, agent=db.get_one(Agent, agent.id), reports=[report])
        db.commit()
    html = client.get("/sessions").text
    assert html.count('class="btn btn-sm js-copy-id"') == 2
    assert f'data-copy-id="{shell.id}"' in html
    assert f'data-copy-id="{waiting.id}"' in html
    assert html.count('href="/sessions/') >= 2
    assert f'href="/sessions/{shell.id}/terminal"' in html
    assert f'href="/sessions/{waiting.id}/terminal"' not in html
    assert f'data-terminate="/sessions/{waiting.id}/terminate"' in html
    assert 'id="terminate-dialog"' in html


def test_terminating_from_the_list_comes_back_to_the_list(
    client: TestClient, account: Account, factory: Factory
) -> None:
    session = factory.session(account.user)
    token = session_csrf(client)
    ended = client.post(
        f"/sessions/{session.id}/terminate",
        data={"csrf_token": token, "back": "list"},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert ended.headers["location"] == "/sessions"
    elsewhere = client.post(
        f"/sessions/{session.id}/terminate",
        data={"csrf_token": token, "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == f"/sessions/{session.id}"
    html = client.get("/sessions?all=true").text
    assert f'data-terminate="/sessions/{session.id}/terminate"' not in html

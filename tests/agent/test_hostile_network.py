"""A session as an attacker: what it can reach on the network, who it is, what it sees.

Real sandboxed sessions (bubblewrap, slirp4netns, nftables) on this machine. The "outside
world" is a network namespace this test makes, joined to the host by veth pairs: a public
(documentation) address, and a private one that only an allow-list opens. Nothing leaves
this machine.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from shipyard.agent import network
from shipyard.agent.runtime.process import ProcessRuntime
from tests.agent.helpers import make_spec, run_batch, wait_for

PUBLIC_HOST, PUBLIC_PEER = "198.51.100.1", "198.51.100.2"  # TEST-NET-2: "the internet"
PRIVATE_HOST, PRIVATE_PEER = "10.203.0.1", "10.203.0.2"  # a site service on a private range
SERVICE_PORT = 8080

#: a session's probe: connect to each HOST:PORT argument, say what happened, send "ping"
PROBE = r"""
import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
        s.sendall(b"ping\n")
        answer = s.recv(64).decode(errors="replace").strip()
        print(target, "answered", answer or "nothing")
    except OSError as error:
        print(target, "refused", type(error).__name__)
    finally:
        s.close()
"""


def probe(runtime: ProcessRuntime, *targets: str, **fields: object) -> dict[str, str]:
    """What a session sees when it connects to each target: "answered X" or "refused"."""
    status, output = run_batch(
        runtime, make_spec("python3", "-c", PROBE, *targets, **fields), timeout=30
    )
    assert status.exit_code == 0, output
    results = dict(line.split(" ", 1) for line in output.splitlines() if line.strip())
    assert set(results) == set(targets), output
    return results


class Listener:
    """A TCP server in this (host) network namespace answering "pong" to anyone."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    self.received.append(conn.recv(64))
                    conn.sendall(b"pong\n")

    def close(self) -> None:
        self.sock.close()


@dataclass
class Outside:
    """A network namespace standing for the world outside the host, with a service on
    PUBLIC_PEER and PRIVATE_PEER port SERVICE_PORT."""

    name: str
    server: subprocess.Popen[bytes]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def outside() -> Iterator[Outside]:
    name = f"sy-out-{uuid.uuid4().hex[:6]}"
    links = [(f"sy{name[-6:]}a", f"sy{name[-6:]}b", PUBLIC_HOST, PUBLIC_PEER)]
    links.append((f"sy{name[-6:]}c", f"sy{name[-6:]}d", PRIVATE_HOST, PRIVATE_PEER))
    _ip("netns", "add", name)
    server = None
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        for host_end, peer_end, host_addr, peer_addr in links:
            _ip("link", "add", host_end, "type", "veth", "peer", "name", peer_end)
            _ip("link", "set", peer_end, "netns", name)
            _ip("addr", "add", f"{host_addr}/30", "dev", host_end)
            _ip("link", "set", host_end, "up")
            _ip("-n", name, "addr", "add", f"{peer_addr}/30", "dev", peer_end)
            _ip("-n", name, "link", "set", peer_end, "up")
        serve = (
            "import socketserver\n"
            "class H(socketserver.StreamRequestHandler):\n"
            "    def handle(self):\n"
            "        self.rfile.readline(); self.wfile.write(b'hello from outside\\n')\n"
            f"socketserver.ThreadingTCPServer(('0.0.0.0', {SERVICE_PORT}), H).serve_forever()\n"
        )
        server = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", serve])
        wait_for(lambda: _serving(name), what="the outside service")
        yield Outside(name=name, server=server)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for host_end, *_ in links:
            subprocess.run(["ip", "link", "del", host_end], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _serving(name: str) -> bool:
    listening = subprocess.run(
        ["ip", "netns", "exec", name, "ss", "-ltn"], capture_output=True, text=True, check=False
    ).stdout
    return f":{SERVICE_PORT}" in listening


@pytest.fixture
def host_listener() -> Iterator[Listener]:
    """A service on every host address (as a manager on 0.0.0.0 would be)."""
    listener = Listener("0.0.0.0")  # noqa: S104 - the point: a host service a session must not reach
    yield listener
    listener.close()


def test_outbound_reaches_the_outside_but_nothing_of_the_host(
    runtime: ProcessRuntime, outside: Outside, host_listener: Listener
) -> None:
    port = host_listener.port
    host_addresses = [a for a in network.host_addresses() if not a.startswith("127.")]
    targets = [
        f"{PUBLIC_PEER}:{SERVICE_PORT}",  # the internet: allowed
        f"127.0.0.1:{port}",  # the host's loopback (the manager, the agent API, PostgreSQL)
        f"10.0.2.2:{port}",  # slirp's gateway, which is the host
        f"{PRIVATE_PEER}:{SERVICE_PORT}",  # a private range, not allow-listed
        "169.254.169.254:80",  # cloud metadata
        *(f"{address}:{port}" for address in host_addresses),  # the host's own addresses
    ]

    results = probe(runtime, *targets)

    assert results.pop(f"{PUBLIC_PEER}:{SERVICE_PORT}") == "answered hello from outside"
    assert all(result.startswith("refused") for result in results.values()), results
    assert PUBLIC_HOST in host_addresses  # the veth made it one of the host's own
    assert host_listener.received == []


def test_an_allow_listed_site_service_is_reachable(
    runtime: ProcessRuntime, outside: Outside
) -> None:
    allowed = f"{PRIVATE_PEER}:{SERVICE_PORT}"

    results = probe(runtime, allowed, f"{PRIVATE_PEER}:22", network_allow=(allowed,))

    assert results[allowed] == "answered hello from outside"
    assert results[f"{PRIVATE_PEER}:22"].startswith("refused")


def test_without_network_a_session_reaches_nothing(
    runtime: ProcessRuntime, outside: Outside, host_listener: Listener
) -> None:
    targets = (f"{PUBLIC_PEER}:{SERVICE_PORT}", f"127.0.0.1:{host_listener.port}")

    results = probe(runtime, *targets, network="none")

    assert all(result.startswith("refused") for result in results.values()), results


def test_a_session_cannot_reach_another_sessions_loopback_service(
    runtime: ProcessRuntime,
) -> None:
    secret = uuid.uuid4().hex
    server = make_spec(
        "sh", "-c", f"echo {secret} > s.txt && exec python3 -u -m http.server -b 127.0.0.1 8000",
        uid=200101, user="alice",
    )  # fmt: skip
    runtime.start(server)
    wait_for(lambda: b"Serving" in runtime.read_logs(server.session_id)[0], what="alice's server")

    results = probe(runtime, "127.0.0.1:8000", uid=200102, user="bob")

    assert results["127.0.0.1:8000"].startswith("refused")


def test_the_network_rules_cannot_be_changed_from_inside(runtime: ProcessRuntime) -> None:
    script = "nft flush ruleset; echo nft=$?; ip link set tap0 down; echo ip=$?"

    status, output = run_batch(runtime, make_spec("sh", "-c", script))

    assert "nft=0" not in output, output
    assert "ip=0" not in output, output
    assert status.exit_code == 0


def test_each_user_runs_as_their_own_uid_with_a_name(runtime: ProcessRuntime) -> None:
    show = "id -u; id -g; id -un; id -G"

    _, alice = run_batch(runtime, make_spec("sh", "-c", show, uid=200201, user="alice"))
    _, bob = run_batch(runtime, make_spec("sh", "-c", show, uid=200202, user="bob"))

    assert alice.split() == ["200201", "200201", "alice", "200201"]
    assert bob.split() == ["200202", "200202", "bob", "200202"]


def test_a_uid_outside_the_agents_range_is_refused(runtime: ProcessRuntime) -> None:
    from shipyard.agent.runtime.base import SessionStartError  # noqa: PLC0415

    for uid in (0, 1, 1000):
        with pytest.raises(SessionStartError, match="outside this agent's range"):
            runtime.start(make_spec("true", uid=uid))
    assert runtime.list() == []


@pytest.mark.parametrize(("cpu", "expected"), [("1", 1), ("0.5", 1), ("1.5", 2)])
def test_a_session_sees_as_many_cpus_as_it_was_given(
    runtime: ProcessRuntime, cpu: str, expected: int
) -> None:
    script = "nproc; python3 -c 'import os; print(os.cpu_count(), len(os.sched_getaffinity(0)))'"
    shown = min(expected, os.cpu_count() or 1)

    _, output = run_batch(runtime, make_spec("sh", "-c", script, cpu=Decimal(cpu)))

    assert output.split() == [str(shown)] * 3


def test_user_namespaces_are_refused_inside_a_session(runtime: ProcessRuntime) -> None:
    script = "unshare -Ur id -u; echo unshare=$?; unshare -n true; echo net=$?"

    _, output = run_batch(runtime, make_spec("sh", "-c", script))

    assert "unshare=0" not in output, output
    assert "net=0" not in output, output
    assert "\n0\n" not in f"\n{output}"  # never uid 0


def test_the_hosts_etc_and_opt_stay_out_of_sight(runtime: ProcessRuntime) -> None:
    script = (
        "for f in /etc/shadow /etc/gshadow /etc/sudoers /etc/ssh /etc/machine-id /opt "
        "/etc/shipyard /etc/postgresql; do test -e $f && echo seen $f; done; "
        "cat /etc/passwd | cut -d: -f1 | tr '\\n' ' '; echo; "
        "python3 -c 'import ssl, urllib.request; print(\"ok\")'"
    )

    status, output = run_batch(runtime, make_spec("sh", "-c", script, uid=200301, user="carol"))

    assert status.exit_code == 0, output
    assert "seen" not in output, output
    lines = output.splitlines()
    assert lines[0].split() == ["root", "carol", "nobody"]
    assert lines[1] == "ok"  # certificates, the loader cache and Python still work


def test_scratch_space_is_bounded_and_off_the_hosts_disk(
    runtime: ProcessRuntime, tmp_path: Path
) -> None:
    script = (
        "dd if=/dev/zero of=big bs=1M count=64 2>/tmp/e; echo dd=$?; cat /tmp/e; df -k . | tail -1"
    )

    _, output = run_batch(
        runtime, make_spec("sh", "-c", script, scratch=16 * 2**20, mem=256 * 2**20)
    )

    assert "dd=0" not in output, output
    assert "No space left on device" in output, output
    size_kib = int(output.splitlines()[-1].split()[1])
    assert size_kib == 16 * 1024

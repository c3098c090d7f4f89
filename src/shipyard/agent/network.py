"""A session's network (DESIGN §5): always a namespace of its own, never the host's.

Mode "none": loopback alone. Mode "outbound": slirp4netns gives the namespace a tap device
behind user-mode NAT (the session's connections leave as the agent's own), and nftables
rules, installed in the namespace before the command starts, refuse what the NAT could
otherwise reach of the site: the host's own addresses on every interface, loopback,
link-local (cloud metadata), private, shared and multicast ranges, and IPv6 altogether —
except the networks an admin allow-listed. slirp4netns runs with --disable-host-loopback,
so its gateway (10.0.2.2) is no way to the host's 127.0.0.1 either. The session has no
capabilities in its namespace and cannot create another one, so it cannot change the rules.

The agent decides the plan here; the supervisor carries it out (shipyard.agent.netns).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from shipyard.validation import parse_allow

#: slirp4netns's DNS forwarder inside the namespace
SLIRP_DNS = "10.0.2.3"
#: ranges a session never reaches unless allow-listed (RFC 6890 special-purpose, RFC 1918)
BLOCKED_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
)


class NetworkSetupError(Exception):
    """The session's network could not be set up; the session must not start."""


def host_addresses() -> list[str]:
    """Every IPv4 address of this host's interfaces, read from the kernel (no tools)."""
    addresses: set[str] = set()
    try:
        fib = Path("/proc/net/fib_trie").read_text(encoding="ascii").splitlines()
    except OSError:
        return []
    for index, line in enumerate(fib):
        if "/32 host LOCAL" in line and index > 0:
            addresses.add(fib[index - 1].split()[-1])
    return sorted(addresses, key=ipaddress.IPv4Address)


def rules(*, allow: tuple[str, ...], host: list[str]) -> str:
    """The nftables ruleset for an "outbound" namespace (see the module docstring)."""
    accepted = []
    for entry in allow:
        network, port = parse_allow(entry)
        match = f"ip daddr {network}"
        if port is None:
            accepted.append(f"    {match} accept")
        else:
            accepted.append(f"    {match} meta l4proto {{ tcp, udp }} th dport {port} accept")
    ranges = [ipaddress.IPv4Network(network) for network in BLOCKED_V4]
    # nftables refuses overlapping intervals in one set
    own = [a for a in host if not any(ipaddress.IPv4Address(a) in r for r in ranges)]
    blocked = ", ".join([*BLOCKED_V4, *own])
    return "\n".join(
        [
            "table inet shipyard {",
            "  chain output {",
            "    type filter hook output priority 0; policy accept;",
            '    oif "lo" accept',
            f"    ip daddr {SLIRP_DNS} meta l4proto {{ tcp, udp }} th dport 53 accept",
            *accepted,
            f"    ip daddr {{ {blocked} }} reject with icmpx type admin-prohibited",
            "    meta nfproto ipv6 reject with icmpx type admin-prohibited",
            "  }",
            "}",
            "",
        ]
    )


def plan(
    mode: str, *, allow: tuple[str, ...], tools: dict[str, str | None]
) -> dict[str, Any] | None:
    """What the supervisor does to the namespace (None: nothing, loopback alone).

    `tools` maps "slirp4netns", "nft", "nsenter" and "unshare" to their paths (None: missing).
    Raises NetworkSetupError when a tool "outbound" needs is missing.
    """
    if mode == "none":
        return None
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        raise NetworkSetupError(
            f"{', '.join(missing)} not installed on this agent: sessions with outbound "
            "networking cannot start (install slirp4netns and nftables)"
        )
    return {"tools": tools, "rules": rules(allow=allow, host=host_addresses())}

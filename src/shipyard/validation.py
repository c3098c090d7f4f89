"""Input rules shared by the API schemas and the console forms."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# PostgreSQL text cannot hold NUL; refuse it at the edge instead of failing in the database.
NO_NUL = r"^[^\x00]*$"


def has_nul(*values: str) -> bool:
    return any("\x00" in value for value in values)


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """IP networks from allow-list entries ("10.0.0.0/8", "::1", "192.168.1.7").

    Raises ValueError naming the first bad entry; an entry with host bits set
    ("10.0.0.1/8") is refused rather than silently widened.
    """
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip()))
        except ValueError as exc:
            raise ValueError(
                f"metrics_allow entry {entry!r} is not an IP address or network "
                f"such as 10.0.0.0/8 or ::1 ({exc})"
            ) from None
    return networks


def parse_allow(entry: str) -> tuple[ipaddress.IPv4Network, int | None]:
    """A session network allow-list entry, "NETWORK" or "NETWORK:PORT" (IPv4). Raises ValueError."""
    network, _sep, port = entry.partition(":")
    parsed = ipaddress.ip_network(network.strip(), strict=False)
    if not isinstance(parsed, ipaddress.IPv4Network):
        raise ValueError(f"{entry!r}: only IPv4 networks can be allow-listed")
    if not port:
        return parsed, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return parsed, int(port)

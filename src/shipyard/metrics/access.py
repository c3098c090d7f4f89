"""Who may read /metrics: a scraper with the bearer token, or one from an allowed address.

Pure functions of the request's facts and the settings, so the rules are tested without
an app. A session cookie plays no part: the console login never opens /metrics.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
from collections.abc import Iterable

from shipyard.validation import Network, parse_networks


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    UNAUTHORIZED = "unauthorized"  # credentials were sent and are wrong: 401
    FORBIDDEN = "forbidden"  # no credentials, and the address is not allowed: 403


def address_allowed(address: str, networks: Iterable[Network]) -> bool:
    """The client address lies in one of the networks; anything not an IP is refused."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)  # ::ffff:10.1.2.3 from a dual-stack socket
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in networks
    )


def token_matches(authorization: str, token: str | None) -> bool:
    """`Authorization: Bearer <token>` carries the configured token (constant-time compare)."""
    scheme, _sep, sent = authorization.partition(" ")
    if token is None or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode(), token.encode())


def decide(
    *, authorization: str | None, address: str, token: str | None, allow: Iterable[str]
) -> Verdict:
    """Sent credentials must be right (else 401); without any, the address decides (403)."""
    if authorization:
        return Verdict.ALLOWED if token_matches(authorization, token) else Verdict.UNAUTHORIZED
    if address_allowed(address, parse_networks(allow)):
        return Verdict.ALLOWED
    return Verdict.FORBIDDEN

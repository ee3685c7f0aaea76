"""Which addresses a source may reach: the rule that keeps the server from being a proxy.

A server open to others fetches only from public addresses; loopback, private-network,
link-local and other non-global addresses are refused, unless the server was started for local
use (the sandbox, or ``nexosis-pandas serve --allow-private-addresses``).
"""

from __future__ import annotations

import ipaddress

__all__ = ["private_address_error", "refusal"]


def refusal(address: str) -> str | None:
    """Why ``address`` may not be reached by a server open to others, or ``None``.

    Examples
    --------
    >>> refusal("127.0.0.1"), refusal("::ffff:10.1.2.3"), refusal("93.184.216.34")
    ('a loopback address', 'a private-network address', None)
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_reserved:
        return "a private-network address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


def private_address_error(host: str, address: str, kind: str) -> str:
    """The message for an address that the server refuses to reach."""
    return (
        f"The host {host!r} is at {address}, {kind}: this server does not fetch from loopback "
        "or private-network addresses, so that it cannot be used to reach its own network. "
        "Use a public address, or run the server for local use (nexosis_pandas.sandbox(), or "
        "nexosis-pandas serve --allow-private-addresses)"
    )

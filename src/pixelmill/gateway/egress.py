"""Egress policy: which addresses the server may send requests to on a user's behalf (webhooks).

A webhook URL is chosen by any user, so without a check the server could be made to POST to its
own internal services (server-side request forgery): loopback, private networks, link-local
cloud metadata (``169.254.169.254``), and so on. Contract:

- :func:`is_public_address` is True only for globally routable unicast addresses. Loopback,
  private (RFC 1918, ``fc00::/7``), carrier-grade NAT, link-local (``169.254/16``, ``fe80::/10``),
  unspecified (``0.0.0.0``, ``::``), multicast, broadcast, reserved and documentation ranges are
  not public. IPv6 forms that carry an IPv4 address (``::ffff:a.b.c.d`` mapped, ``::a.b.c.d``
  compatible, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) are public only if the IPv4
  address inside is.
- :func:`host_literal` reads a URL host the way the C resolver does (``inet_aton``): besides
  dotted quads it accepts ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1`` and a trailing dot.
- :func:`check_url` raises :class:`EgressDenied` (a ``ValueError``; its message says what to fix)
  when ``url``'s host is not allowed. With ``allow_private`` it allows everything (operators who
  post to their own LAN; ``PIXELMILL_WEBHOOK_ALLOW_PRIVATE``). Otherwise the host must not be
  ``localhost``/``*.localhost`` nor a non-public IP literal; with a ``resolve`` function (the
  signature of :func:`socket.getaddrinfo`) every address the host resolves to must be public too.
  ``resolve=None`` checks without DNS (fast; used at submit). A resolver error (``OSError``)
  propagates: it is a network failure, not a policy answer.

The URL is parsed with :class:`httpx.URL`, the parser of the transport that sends the webhook, so
the host checked is the host connected to. A gap remains (DNS rebinding): the resolver may answer
differently between :func:`check_url` and the transport's own lookup a moment later. Closing it
would mean connecting to the checked address itself, which this module does not do.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

ALLOW_PRIVATE_SETTING = "PIXELMILL_WEBHOOK_ALLOW_PRIVATE"

# Explicit ranges on top of ``is_global``: Python's lists differ between patch releases and call
# multicast (224/4, ff00::/8) and IPv4-compatible IPv6 "global".
_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
_COMPAT = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_OCTAL = re.compile(r"0[0-7]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class EgressDenied(ValueError):
    """The server must not send to this URL; the message says why and what to change."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress | str) -> bool:
    """True if ``ip`` is a globally routable unicast address (see the module contract)."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(addr, ipaddress.IPv6Address):
        addr = ipaddress.IPv6Address(int(addr))  # drop a zone id ("fe80::1%eth0")
        inner = _embedded_ipv4(addr)
        if inner is not None and not is_public_address(inner):
            return False
    if any(addr.version == net.version and addr in net for net in _BLOCKED):
        return False
    return addr.is_global and not addr.is_multicast


def _inet_aton_part(part: str) -> int:
    if _HEX.fullmatch(part):
        return int(part[2:] or "0", 16)
    if _OCTAL.fullmatch(part):
        return int(part, 8)
    if _DECIMAL.fullmatch(part):
        return int(part)
    raise ValueError(part)


def host_literal(host: str) -> IPAddress | None:
    """The IP address ``host`` (a URL host, IPv6 without brackets) denotes, or None for a name."""
    host = unquote(host)
    host = host[:-1] if host.endswith(".") else host  # "127.0.0.1." is 127.0.0.1 to the resolver
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    try:
        values = [_inet_aton_part(p) for p in parts]
    except ValueError:
        return None
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (5 - len(parts))):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    return ipaddress.IPv4Address(number << (8 * (5 - len(parts))) | last)


def _deny(what: str) -> EgressDenied:
    return EgressDenied(
        f"webhook_url must point to a public internet address; {what} is not one. Operators who "
        f"deliver to their own network can allow private addresses with {ALLOW_PRIVATE_SETTING}=1")


def check_url(url: str, *, allow_private: bool, resolve: Resolver | None = socket.getaddrinfo) -> None:
    """Raise :class:`EgressDenied` unless the server may send to ``url`` (see the module docs)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise EgressDenied(f"webhook_url is not a valid URL ({exc}); send an absolute http(s) URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise EgressDenied("webhook_url must be an absolute http:// or https:// URL")
    if allow_private:
        return
    host = parsed.host.lower()
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise _deny(f"the host {host!r} (this machine)")
    literal = host_literal(host)
    if literal is not None:
        if not is_public_address(literal):
            raise _deny(f"{host!r} (= {literal})")
        return
    if resolve is None:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    for info in resolve(host, port, 0, socket.SOCK_STREAM):
        address = str(info[4][0])
        if not is_public_address(address):
            raise _deny(f"the host {host!r}, which resolves to {address},")

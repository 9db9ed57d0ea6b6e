"""Where a probe may go: URLs parsed for the request line, shown without their passwords,
and the kinds of address a redirect hop may connect to. Pure, no I/O.

`parse_url` turns any URL into a `Target` or a `ProbeError` (never another exception):
hosts are IDNA-encoded and checked (labels, characters, punycode that decodes), `:0` stays
port 0 (never dialled; not the default port). `Target.shown` and `mask_userinfo` are the
forms evidence stores: `user:***@`, never the password.

`address_category` sorts an IP address into public, loopback, private (RFC 1918, ULA),
link-local, multicast, unspecified or reserved; `allowed_from` says which categories the
redirects of a site may reach (public, and the site's own), and `screen` keeps only the
resolved addresses of a hop that are allowed, refusing the hop when none is. The address
screened is the one the socket connects to, after DNS, so a public name pointing into a
private network is refused as surely as an IP literal.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit


class ProbeError(Exception):
    """A failed exchange, or a URL no probe can follow. `kind` is an Observation error kind
    (refused, dns, timeout, protocol, redirect_refused, ...)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


# A resolved address: (socket family, sockaddr as `socket.connect` takes it).
Address = tuple[int, tuple[Any, ...]]
# `resolver(host, port)`: the addresses of a name (raises socket.gaierror or returns none).
Resolver = Callable[[str, int], Awaitable[Sequence[Address]]]
# `connector(family, sockaddr)`: a connected non-blocking socket (raises OSError).
Connector = Callable[[int, tuple[Any, ...]], Awaitable[socket.socket]]


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed URL, ready to connect to and to put on the request line."""

    url: str
    scheme: str
    host: str  # IDNA-encoded, brackets stripped
    port: int
    target: str  # path and query, percent-encoded
    host_header: str
    ip: bool  # host is an IP literal: no DNS
    shown: str = ""  # the URL as requested, printable ASCII, any password masked

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)


_URL_SAFE = "/%:@!$&'()*+,;=-._~"
# A host name as DNS and TLS take it: letters, digits, hyphens (underscores, which some
# hosting panels use), dot-separated labels of 1-63, an optional final dot.
_HOST_NAME = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?"
)
# The authority of a URL, absolute or scheme-relative; a backslash counts as a slash
# because browsers read it so.
_AUTHORITY = re.compile(r"[/\\]{2}([^/\\?#]*)")


def _mask_one(m: re.Match[str]) -> str:
    authority = m.group(1)
    userinfo, at, host_port = authority.rpartition("@")
    if not at:
        return m.group(0)
    user, colon, _password = userinfo.partition(":")
    return f"{m.group(0)[:2]}{user + ':***' if colon else '***'}@{host_port}"


def mask_userinfo(url: str) -> str:
    """`url` with the password of its userinfo replaced by `***` (`user:***@host`).

    The userinfo is what precedes the last "@" of the authority, as urlsplit reads it; one
    without a password (often a token itself) becomes `***@`. Every URL in the text is
    masked (two Location headers arrive joined by a comma); text that is no URL passes.
    """
    if "@" not in url:
        return url
    return _AUTHORITY.sub(_mask_one, url)


def _host(raw: str) -> tuple[str, bool]:
    """The host as DNS and TLS take it (IDNA), and whether it is an IP literal."""
    if ":" in raw:  # only an IPv6 literal has colons once urlsplit took the port off
        try:
            ipaddress.IPv6Address(raw.split("%", 1)[0])
        except ValueError:
            raise ProbeError("dns", f"invalid IPv6 address {raw[:80]!r}") from None
        return raw, True
    try:
        ipaddress.IPv4Address(raw)
        return raw, True
    except ValueError:
        pass
    host = raw
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ProbeError("dns", f"{raw[:80]!r} is not a valid domain name ({exc})") from None
    if len(host) > 254 or not _HOST_NAME.fullmatch(host):
        raise ProbeError("dns", f"{raw[:80]!r} is not a valid host name")
    if "xn--" in host.lower():
        try:
            host.encode("ascii").decode("idna")  # punycode labels must decode
        except UnicodeError as exc:
            raise ProbeError(
                "dns", f"{raw[:80]!r} has a label that does not decode ({exc})"
            ) from None
    return host, False


@lru_cache(maxsize=8192)
def parse_url(url: str) -> Target:
    """Split an http(s) URL; raises ProbeError for anything that is not one.

    The kind says what a visitor would meet: "dns" for a host no resolver could look up (not
    valid IDNA, forbidden characters), "protocol" for a URL that is not http(s) or not
    well-formed (bad syntax, port out of range). The detail says why without repeating the
    URL (it may carry a password): callers name the URL in their own words.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError as exc:
        raise ProbeError("protocol", f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"scheme {parts.scheme[:20]!r}" if parts.scheme else "no scheme"
        raise ProbeError("protocol", f"not an http(s) URL ({shown})")
    if not hostname:
        raise ProbeError("protocol", "no host in the URL")
    host, ip = _host(hostname)
    default = 443 if scheme == "https" else 80
    if port is None:  # not `port or default`: ":0" is port 0, never dialled, not port 80
        port = default
    target = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_URL_SAFE + "?")
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if port == default else f"{bracketed}:{port}"
    userinfo = ""
    if parts.username is not None or parts.password is not None:
        user = quote(parts.username or "", safe="")
        userinfo = f"{user}:***@" if parts.password is not None else "***@"
    shown = mask_userinfo(f"{scheme}://{userinfo}{host_header}{target}")  # and in the query
    return Target(url, scheme, host, port, target, host_header, ip, shown)


def basic_authorization(user: str, password: str) -> str:
    """The `Authorization` value for HTTP Basic (RFC 7617, UTF-8)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


# --- where a probe may connect --------------------------------------------------------------

PUBLIC = "public"
_PRIVATE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix maps onto IPv4


@lru_cache(maxsize=4096)
def address_category(address: str) -> str:
    """What kind of network an IP address is in: "public", "loopback", "private" (RFC 1918,
    ULA fc00::/7), "link-local" (169.254/16, fe80::/10), "multicast", "unspecified", or
    "reserved" (every other range that is not globally routable: shared 100.64/10,
    documentation, benchmarking, 240/4, broadcast, ...). An IPv6 address that carries an
    IPv4 one (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is what it carries.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return address_category(str(inner))
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if any(ip in net for net in _PRIVATE_NETS if net.version == ip.version):
        return "private"
    if ip.is_global and not ip.is_reserved:
        return PUBLIC
    return "reserved"


def allowed_from(site_address: str | None) -> frozenset[str]:
    """Where the redirects of a site on `site_address` may lead: public addresses, and the
    site's own category (a site on loopback to loopback, on a private network to it)."""
    if site_address is None:
        return frozenset({PUBLIC})
    return frozenset({PUBLIC, address_category(site_address)})


def screen(t: Target, addrs: Sequence[Address], allowed: frozenset[str]) -> list[Address]:
    """The addresses of `t` a redirect hop may connect to; redirect_refused if none."""
    if t.port == 0:
        raise ProbeError("redirect_refused", f"to {t.shown}: port 0 is never dialled")
    kept = []
    refused = []
    for family, addr in addrs:
        category = address_category(addr[0])
        if category in allowed:
            kept.append((family, addr))
        else:
            refused.append((addr[0], category))
    if kept:
        return kept
    ip, category = refused[0]
    kind = f"{'an' if category[0] in 'aeiou' else 'a'} {category} address"
    why = f"{ip} is {kind}" if t.ip else f"{t.host} resolves to {ip}, {kind}"
    raise ProbeError("redirect_refused", f"to {t.shown}: {why}")

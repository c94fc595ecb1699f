"""Safe HTTP(S) download: redirects followed by hand, an SSRF guard, size and time limits.

Every failure is a :class:`~retrieval.errors.FetchError` (or its :class:`BlockedURLError`
subclass) with a one-line message naming the URL; raw httpx exceptions never escape.

The SSRF guard (unless ``FetchPolicy.allow_private``) runs at three points for every hop,
redirect targets included:

1. before connecting, the host is resolved with :func:`socket.getaddrinfo` and refused if
   *any* address is private, loopback, link-local, reserved, multicast or unspecified
   (IPv4-mapped, 6to4, Teredo and NAT64 IPv6 forms are unwrapped and checked too);
2. right after the TCP connection opens (an httpcore ``trace`` hook), the peer address is
   checked again, so a DNS answer that changed since step 1 (DNS rebinding) is refused
   before the request is even sent;
3. when the response headers arrive, the peer address is checked once more (this also
   covers a pooled keep-alive connection opened outside :func:`fetch`). If the address
   cannot be read at all (a custom transport), the page is refused: the guard fails closed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from retrieval.errors import BlockedURLError, FetchError

logger = logging.getLogger(__name__)

#: Media types accepted for an article page.
HTML_TYPES: tuple[str, ...] = ("text/html", "application/xhtml+xml")
#: Media types accepted for an RSS/Atom feed (text/html too: some servers mislabel feeds).
FEED_TYPES: tuple[str, ...] = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "text/html",
)

#: Content codings accepted (at most one per response), and the Accept-Encoding we send.
CODINGS: dict[str, int] = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ACCEPT_ENCODING = "gzip, deflate"

_SCHEMES = frozenset({"http", "https"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one download.

    ``timeout`` is a budget for the whole fetch (connect, redirects and reading the body),
    in seconds. ``allow_private`` switches the SSRF guard off (tests, intranet use).
    """

    timeout: float = 15.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allow_private: bool = False
    user_agent: str = "factdiff/0.1 (newsroom fact-check tool)"


@dataclass(frozen=True)
class FetchedPage:
    """A downloaded page: 2xx status, accepted media type, body within the size limit."""

    url: str
    requested_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes = field(repr=False)

    def text(self) -> str:
        """The body decoded with the declared charset.

        When the server declared no charset, or one Python does not know, the body is read
        as UTF-8; undecodable bytes become U+FFFD instead of raising. (HTML pages that
        declare their charset only in ``<meta>`` are better handed to the extractor as
        bytes: it sniffs the document itself.)
        """
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:
                logger.debug("unknown charset %r for %s, reading as UTF-8", self.charset, self.url)
        return self.body.decode("utf-8", errors="replace")


def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    accept: tuple[str, ...] = HTML_TYPES,
    client: httpx.Client | None = None,
) -> FetchedPage:
    """Download ``url`` within ``policy``, following at most ``policy.max_redirects`` redirects.

    ``client`` is used as given (its redirect setting is overridden per request); without
    one, a short-lived client is made and closed here. That default client ignores proxy
    and ``.netrc`` settings from the environment (``trust_env=False``): the SSRF guard checks
    the address actually connected to, and through a proxy that would be the proxy.
    """
    if client is None:
        with httpx.Client(follow_redirects=False, trust_env=False) as own_client:
            return fetch(url, policy, accept=accept, client=own_client)
    trip = _Trip(url, policy, accept, time.monotonic() + policy.timeout)
    return _follow(client, trip)


@dataclass(frozen=True)
class _Trip:
    """One call to :func:`fetch`: what was asked for and the limits that apply."""

    requested: str
    policy: FetchPolicy
    accept: tuple[str, ...]
    deadline: float

    def error(self, reason: str, hop: httpx.URL | None = None) -> FetchError:
        """A one-line FetchError naming the requested URL (and the redirect hop, if any)."""
        return FetchError(self.message(reason, hop))

    def blocked(self, reason: str, hop: httpx.URL | None = None) -> BlockedURLError:
        """A one-line BlockedURLError, logged because it may be an attack."""
        message = self.message(reason, hop)
        logger.info("SSRF guard: %s", message)
        return BlockedURLError(message)

    def message(self, reason: str, hop: httpx.URL | None) -> str:
        """The one-line message: where it failed (and via which redirect) and why."""
        where = self.requested
        if hop is not None and str(hop) != self.requested:
            where = f"{self.requested} (redirected to {hop})"
        return f"could not fetch {where}: {reason}"

    def timed_out(self, hop: httpx.URL | None = None) -> FetchError:
        """The error for an exhausted time budget."""
        return self.error(f"timed out after {self.policy.timeout:g}s", hop)

    def remaining(self, hop: httpx.URL) -> float:
        """Seconds left in the budget; raises the timeout error when none are left."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out(hop)
        return left


def _follow(client: httpx.Client, trip: _Trip) -> FetchedPage:
    """Request hop after hop until a non-redirect response, refusing loops and long chains."""
    hop = _parse_url(trip.requested, trip, None)
    seen: set[str] = set()
    while True:
        seen.add(_loop_key(hop))
        with _open(client, hop, trip) as response:
            target = _redirect_target(response, hop, trip)
            if target is None:
                return _read_page(response, hop, trip)
        if _loop_key(target) in seen:
            raise trip.error(f"redirect loop ({hop} redirects back to {target})", hop)
        if len(seen) > trip.policy.max_redirects:
            raise trip.error(f"too many redirects (more than {trip.policy.max_redirects})", hop)
        logger.debug("redirect %s -> %s", hop, target)
        hop = target


def _parse_url(raw: str, trip: _Trip, hop: httpx.URL | None) -> httpx.URL:
    """An absolute http(s) URL with a host, or a FetchError naming it."""
    try:
        url = httpx.URL(raw) if hop is None else hop.join(raw)
    except (httpx.InvalidURL, ValueError) as exc:
        raise trip.error(f"{raw!r} is not a valid URL ({exc})", hop) from exc
    what = "URL" if hop is None else "redirect target"
    if url.scheme not in _SCHEMES:
        raise trip.error(f"only http and https URLs can be fetched ({what} {raw!r})", hop)
    if not url.host:
        raise trip.error(f"{what} {raw!r} has no host name", hop)
    return url


def _loop_key(url: httpx.URL) -> str:
    """The URL as the server sees it (fragments are never sent)."""
    return str(url.copy_with(fragment=None))


@contextmanager
def _open(client: httpx.Client, hop: httpx.URL, trip: _Trip) -> Iterator[httpx.Response]:
    """Send one GET for ``hop`` and yield the streaming response (closed on exit)."""
    guard = not trip.policy.allow_private
    if guard:
        _check_host(hop, trip)
    request = client.build_request(
        "GET",
        hop,
        headers={
            "User-Agent": trip.policy.user_agent,
            "Accept": ", ".join(trip.accept),
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=httpx.Timeout(trip.remaining(hop)),
        extensions={"trace": _connect_guard(hop, trip)} if guard else {},
    )
    try:
        response = client.send(request, stream=True, follow_redirects=False)
    except httpx.InvalidURL as exc:  # httpx builds the next request of a redirect, and may choke on it
        raise trip.error(f"it redirects to an address that is not an http(s) URL ({exc})", hop) from exc
    except (httpx.HTTPError, httpx.StreamError) as exc:
        raise _translate(exc, hop, trip) from exc
    try:
        if guard:
            _check_peer(response.extensions.get("network_stream"), hop, trip)
        yield response
    except (httpx.HTTPError, httpx.StreamError) as exc:
        raise _translate(exc, hop, trip) from exc
    finally:
        response.close()


def _translate(exc: httpx.HTTPError | httpx.StreamError, hop: httpx.URL, trip: _Trip) -> FetchError:
    """Turn an httpx exception into a one-line FetchError."""
    if isinstance(exc, httpx.TimeoutException):
        return trip.timed_out(hop)
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return trip.error(f"could not connect ({detail})", hop)
    return trip.error(f"connection failed ({detail})", hop)


def _redirect_target(response: httpx.Response, hop: httpx.URL, trip: _Trip) -> httpx.URL | None:
    """Where a redirect response points (checked like any URL), or None if it is no redirect."""
    if response.status_code not in _REDIRECT_CODES:
        return None
    location = response.headers.get("location")
    if not location:
        raise trip.error(f"HTTP {response.status_code} redirect without a Location header", hop)
    return _parse_url(location, trip, hop)


def _read_page(response: httpx.Response, hop: httpx.URL, trip: _Trip) -> FetchedPage:
    """Check status and media type, then read the body within the size and time limits."""
    if not 200 <= response.status_code < 300:
        reason = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        raise trip.error(reason, hop)
    media_type, charset = _parse_content_type(response.headers.get("content-type", ""))
    if media_type not in trip.accept:
        got = media_type or "no Content-Type"
        raise trip.error(f"{_expected(trip.accept)} (got {got})", hop)
    body = _read_body(response, hop, trip)
    return FetchedPage(
        url=str(hop),
        requested_url=trip.requested,
        status=response.status_code,
        content_type=media_type,
        charset=charset,
        body=body,
    )


def _expected(accept: tuple[str, ...]) -> str:
    """How to say what we wanted, e.g. "not an HTML page"."""
    if accept == HTML_TYPES:
        return "not an HTML page"
    if accept == FEED_TYPES:
        return "not an RSS or Atom feed"
    return f"not one of {', '.join(accept)}"


def _parse_content_type(header: str) -> tuple[str, str | None]:
    """("text/html", "utf-8") from 'text/html; charset="UTF-8"'; lower-case."""
    media_type, *params = header.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower() or None
    return media_type.strip().lower(), charset


def _read_body(response: httpx.Response, hop: httpx.URL, trip: _Trip) -> bytes:
    """The body, decoded from at most one content coding with a hard limit on the output:
    refused when the declared, the received or the decoded size is over the cap."""
    limit = trip.policy.max_bytes
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise trip.error(f"page too large ({int(declared):,} bytes; the limit is {limit:,})", hop)
    decoder = _decoder(response.headers.get("content-encoding", ""), hop, trip)
    chunks: list[bytes] = []
    size = received = 0
    for raw in response.iter_raw():
        received += len(raw)
        try:
            chunk = decoder.decode(raw, limit - size) if decoder else raw
        except zlib.error as exc:
            raise trip.error(f"the page's {decoder.coding if decoder else ''} data is corrupt ({exc})", hop) from exc
        size += len(chunk)
        if size > limit or received > limit:
            raise trip.error(f"page too large (stopped reading at {limit:,} bytes)", hop)
        if time.monotonic() > trip.deadline:
            raise trip.timed_out(hop)
        chunks.append(chunk)
    return b"".join(chunks)


def _decoder(header: str, hop: httpx.URL, trip: _Trip) -> _Inflater | None:
    """The decoder for a Content-Encoding header: one of CODINGS, or none (identity)."""
    codings = [c.strip().lower() for c in header.split(",") if c.strip() and c.strip().lower() != "identity"]
    if len(codings) > 1:
        raise trip.error(f"the page is encoded more than once ({header.strip()}); one coding is accepted", hop)
    if not codings:
        return None
    if codings[0] not in CODINGS:
        raise trip.error(f"unsupported content encoding {codings[0]!r} (accepted: {ACCEPT_ENCODING})", hop)
    return _Inflater(codings[0])


class _Inflater:
    """gzip or deflate, decoded with a bound on the output of every call (no bomb gets far)."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._wbits = CODINGS[coding]
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False

    def decode(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; stops once more than ``room`` bytes came out (the caller refuses)."""
        out = bytearray()
        if not self._started and data:
            self._started = True
            data = self._sniff(data)
        while data and len(out) <= room:
            out += self._obj.decompress(data, room + 1 - len(out))
            data = self._obj.unconsumed_tail
            if self._obj.eof:
                rest = self._obj.unused_data
                if not (rest and self._wbits > zlib.MAX_WBITS):
                    break  # trailing bytes after a deflate stream are ignored
                self._obj = zlib.decompressobj(self._wbits)  # a further gzip member
                data = rest
        return bytes(out)

    def _sniff(self, data: bytes) -> bytes:
        """Servers often send raw deflate for 'deflate' (it should be zlib-wrapped)."""
        if self.coding == "deflate" and (len(data) < 2 or (data[0] & 0x0F) != 8 or int.from_bytes(data[:2]) % 31):
            self._wbits = -zlib.MAX_WBITS
            self._obj = zlib.decompressobj(self._wbits)
        return data


# --- SSRF guard ----------------------------------------------------------------------------


def _check_host(hop: httpx.URL, trip: _Trip) -> None:
    """Resolve the hop's host and refuse it if any address is not public."""
    host = hop.raw_host.decode("ascii")
    port = hop.port or (443 if hop.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise trip.error(f"could not resolve host {hop.host!r}", hop) from exc
    for info in infos:
        address = _ip_of(info[4])
        if address is None or is_forbidden_address(address):
            raise trip.blocked(_not_public(hop.host, address or info[4]), hop)


def _not_public(host: str, address: object) -> str:
    """Why a host is refused, e.g. "10.0.0.1 is not a public address"."""
    if host == str(address):
        return f"{host} is not a public address"
    return f"{host} resolves to {address}, which is not a public address"


def _connect_guard(hop: httpx.URL, trip: _Trip) -> Callable[[str, dict[str, Any]], None]:
    """An httpcore trace hook that checks the peer as soon as a TCP connection opens."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("connect_tcp.complete"):
            stream = info.get("return_value")
            try:
                _check_peer(stream, hop, trip)
            except BlockedURLError:
                if stream is not None:
                    stream.close()
                raise

    return trace


def _check_peer(stream: Any, hop: httpx.URL, trip: _Trip) -> None:
    """Refuse the hop unless the connected peer's address is known and public."""
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    address = _ip_of(peer)
    if address is None:
        raise trip.blocked("could not confirm which address the connection went to", hop)
    if is_forbidden_address(address):
        raise trip.blocked(f"the connection went to {address}, which is not a public address", hop)


def _ip_of(sockaddr: object) -> IPAddress | None:
    """The IP address of a socket address tuple, or None if it is not one."""
    if not isinstance(sockaddr, tuple) or not sockaddr or not isinstance(sockaddr[0], str):
        return None
    try:
        return ipaddress.ip_address(sockaddr[0])
    except ValueError:
        return None


def is_forbidden_address(address: IPAddress) -> bool:
    """True if ``address`` is not a public unicast address (or wraps one that is not)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and is_forbidden_address(embedded):
            return True
        if address.is_site_local:
            return True
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None

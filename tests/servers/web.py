"""A scripted web server on 127.0.0.1 for fetch/extract/feed tests, plus a fake internet.

``WebServer`` runs ``http.server.ThreadingHTTPServer`` on port 0 in a background thread,
serves the routes in ``default_routes()`` (pages, redirects, errors, slow and oversized
bodies, feeds) and records every request it receives::

    with WebServer() as server:
        page = fetch(server.url("/article"), FetchPolicy(allow_private=True))
        assert server.paths() == ["/article"]

``FakeInternet`` lets SSRF tests use public-looking host names: a fake DNS answers them
with public addresses, and an httpcore network backend carries their connections to a
loopback ``WebServer`` while reporting the public address as the peer. Connections to any
other host are recorded and refused, so a test never sends traffic off this machine.
All page and feed texts here are invented.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpcore
import httpx

#: A route writes a whole response to the handler.
Route = Callable[["_Handler"], None]

_REAL_GETADDRINFO = socket.getaddrinfo

ARTICLE_TITLE = "Riverton council approves record budget"

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Riverton council approves record budget | Riverton Ledger</title>
<meta property="og:site_name" content="Riverton Ledger">
<meta name="author" content="Dana Whitfield">
<meta property="article:published_time" content="2024-03-05T18:30:00-05:00">
<link rel="canonical" href="https://ledger.example/news/2024/budget-vote">
</head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/sport">Sport</a></nav>
<article>
<h1>Riverton council approves record budget</h1>
<p>The Riverton city council voted 7-2 on Tuesday to approve a $48.2 million budget for
2024, the largest in the city's history.</p>
<p>Mayor Ellen Park said the plan adds 12 firefighters, repaves 30 miles of road and repairs
the three bridges over the Mill River that inspectors flagged last autumn.</p>
<p>Council member Luis Ortega, who voted against it, said property taxes would rise by
3.5 percent and that the city had not explained how it would pay for the new positions
after federal grants run out in 2026.</p>
<p>The budget takes effect on July 1.</p>
</article>
<footer>Copyright 2024 Riverton Ledger. All rights reserved. Privacy policy.</footer>
</body></html>
"""

OTHER_ARTICLE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Harbor ferry service to resume in May</title></head>
<body><article><h1>Harbor ferry service to resume in May</h1>
<p>The Eastport harbor ferry will resume service on May 4 after a two-year pause, the port
authority said on Friday, with six crossings a day and fares unchanged at $3.</p>
<p>The authority said the new hull passed its final safety inspection last week and that
crews had completed 40 hours of training on the redesigned docking system.</p>
</article></body></html>
"""

# Items: good relative link, no link, javascript: link, duplicate, mailto: link, good absolute.
RSS_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Riverton Ledger - News</title>
<link>https://ledger.example/</link>
<item><title>Riverton council approves record budget</title><link>/article</link>
<pubDate>Tue, 05 Mar 2024 23:30:00 -0500</pubDate></item>
<item><title>Water main break closes Elm Street</title>
<description>No link on this one.</description></item>
<item><title>Click here</title><link>javascript:alert(1)</link></item>
<item><title>Budget vote, again</title><link>/article</link></item>
<item><title>Write to the desk</title><link>mailto:desk@ledger.example</link></item>
<item><title>Harbor ferry service to resume in May</title><link>https://wire.example/ferry</link>
<pubDate>Fri, 12 Apr 2024 09:00:00 GMT</pubDate></item>
</channel></rss>
"""

# Entries: relative link with an ISO date, no link, ftp: link, good absolute link.
ATOM_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Eastport Wire</title>
<id>urn:example:eastport-wire</id>
<updated>2024-04-12T09:00:00Z</updated>
<entry><title>Harbor ferry service to resume in May</title>
<link rel="alternate" href="ferry"/><id>urn:example:1</id>
<published>2024-04-12T00:30:00+02:00</published><updated>2024-04-12T00:30:00+02:00</updated></entry>
<entry><title>Tide tables for the week</title><id>urn:example:2</id>
<updated>2024-04-11T08:00:00Z</updated></entry>
<entry><title>Archive</title><link rel="alternate" href="ftp://files.example/archive"/>
<id>urn:example:3</id><updated>2024-04-10T08:00:00Z</updated></entry>
<entry><title>Council approves budget</title><link rel="alternate" href="https://ledger.example/news/2024/budget-vote"/>
<id>urn:example:4</id><updated>2024-03-06T08:00:00Z</updated></entry>
</feed>
"""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    """Looks the path up in the server's routes and lets the route answer."""

    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        web = self.server.web
        web.record(RecordedRequest(self.command, self.path, dict(self.headers.items())))
        route = web.routes.get(self.path) or web.routes.get(self.path.split("?")[0])
        # The client may hang up mid-answer (timeout, size limit): that is the point of the test.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            (route or not_found)(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr access log."""

    def send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Send a complete response with a Content-Length."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_chunked(self, status: int, chunks: Iterable[bytes], content_type: str) -> None:
        """Send a chunked response (no Content-Length), one chunk per item."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def stopping(self) -> threading.Event:
        """Set when the server shuts down, so slow routes stop waiting."""
        return self.server.web.stopping


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    web: WebServer


# --- route builders -------------------------------------------------------------------------


def page(
    body: str | bytes,
    content_type: str = "text/html; charset=utf-8",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Route:
    """A fixed response."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    all_headers = {"Content-Type": content_type, **(headers or {})}
    return lambda handler: handler.send(status, data, all_headers)


def redirect(location: str, status: int = 302) -> Route:
    """A redirect to ``location`` (sent as given: relative, absolute, another host...)."""
    return page(b"", status=status, headers={"Location": location})


def not_found(handler: _Handler) -> None:
    """The answer for unknown paths."""
    handler.send(404, b"<h1>Not found</h1>", {"Content-Type": "text/html"})


def slow(seconds: float, then: Route) -> Route:
    """Wait ``seconds`` (or until shutdown) before answering with ``then``."""

    def route(handler: _Handler) -> None:
        if not handler.stopping().wait(seconds):
            then(handler)

    return route


def chunked(body: bytes, content_type: str = "text/html", chunk_size: int = 4096) -> Route:
    """``body`` sent chunked, without a Content-Length header."""
    pieces = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    return lambda handler: handler.send_chunked(200, pieces, content_type)


def drip(interval: float, chunks: int = 200) -> Route:
    """A chunked page that sends a few bytes every ``interval`` seconds, for a long time."""

    def pieces(handler: _Handler) -> Iterable[bytes]:
        yield b"<html><body>"
        for _ in range(chunks):
            if handler.stopping().wait(interval):
                return
            yield b"<p>still going</p>"

    return lambda handler: handler.send_chunked(200, pieces(handler), "text/html")


def lying_length(declared: int) -> Route:
    """Declares a huge Content-Length but sends a short body (a client must not trust it)."""

    def route(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(declared))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"<html>short</html>")
        handler.close_connection = True

    return route


def compressed(body: bytes, *codings: str, raw_deflate: bool = False) -> Route:
    """``body`` compressed with each coding in turn (``gzip``, ``deflate``, or any name, which
    is then sent as given without compressing), declared in one Content-Encoding header."""
    data = body
    for coding in codings:
        if coding == "gzip":
            data = gzip.compress(data, compresslevel=9, mtime=0)
        elif coding == "deflate":
            packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)
            data = packer.compress(data) + packer.flush()
    return page(data, headers={"Content-Encoding": ", ".join(codings)})


def default_routes() -> dict[str, Route]:
    """The scripted site every WebServer starts with."""
    big = b"<html><body>" + b"<p>Padding paragraph for size tests.</p>" * 2000 + b"</body></html>"
    routes: dict[str, Route] = {
        "/article": page(ARTICLE_HTML),
        "/other": page(OTHER_ARTICLE_HTML),
        "/latin1": page(
            "<html><body><p>Caf\u00e9 owner: \u00a32 rise</p></body></html>".encode("latin-1"),
            content_type="text/html; charset=ISO-8859-1",
        ),
        "/xhtml": page(ARTICLE_HTML, content_type="application/xhtml+xml"),
        "/redirect": redirect("/article"),
        "/redirect-permanent": redirect("/article", status=301),
        "/redirect-relative": redirect("article"),
        "/redirect-no-location": page(b"", status=302),
        "/redirect-to-file": redirect("file:///etc/passwd"),
        "/loop/a": redirect("/loop/b"),
        "/loop/b": redirect("/loop/a"),
        "/self": redirect("/self#again"),
        "/missing": not_found,
        "/broken": page(b"<h1>Internal error</h1>", status=500),
        "/slow": slow(5.0, page(ARTICLE_HTML)),
        "/drip": drip(0.1),
        "/report.pdf": page(b"%PDF-1.4\n% invented test file\n", content_type="application/pdf"),
        "/no-content-type": lambda handler: handler.send(200, b"<html></html>", {}),
        "/big": page(big),
        "/big-chunked": chunked(big),
        "/lying-length": lying_length(50_000_000),
        "/feed.rss": page(RSS_FEED, content_type="application/rss+xml"),
        "/feed.atom": page(ATOM_FEED, content_type="application/atom+xml; charset=utf-8"),
        "/feed-as-html": page(RSS_FEED, content_type="text/html"),
        "/feed-moved": redirect("/feeds/feed.atom"),
        "/feeds/feed.atom": page(ATOM_FEED, content_type="application/atom+xml"),
        "/feed-empty": page(
            '<rss version="2.0"><channel><title>Quiet desk</title></channel></rss>',
            content_type="application/rss+xml",
        ),
    }
    for hop in range(1, 9):  # /hop/3 -> /hop/2 -> /hop/1 -> /hop/0 (the article)
        routes[f"/hop/{hop}"] = redirect(f"/hop/{hop - 1}")
    routes["/hop/0"] = page(ARTICLE_HTML)
    return routes


# --- the server -----------------------------------------------------------------------------


class WebServer:
    """A scripted HTTP/1.1 server on 127.0.0.1 (port 0) that records what it receives."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = {**default_routes(), **(routes or {})}
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.web = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, route: Route) -> None:
        """Add or replace a route."""
        self.routes[path] = route

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        with self._lock:
            return [request.path for request in self.requests]

    def start(self) -> WebServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --- a fake internet for the SSRF guard -------------------------------------------------------


class FakeDNS:
    """A ``socket.getaddrinfo`` replacement: scripted answers for some names, real for others.

    Each name has a list of IPv4 answers used in turn; the last one repeats (so
    ``["93.184.215.14", "127.0.0.1"]`` plays a DNS-rebinding attacker). Install it with
    ``monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)``.
    """

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = dict(answers or {})
        self.queries: list[str] = []

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.queries.append(name)
        answers = self.answers.get(name)
        if not answers:
            return _REAL_GETADDRINFO(host, port, family, type, proto, flags)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]


class _PublicStream(httpcore.NetworkStream):
    """A loopback connection that reports a public peer address, like a real remote host."""

    def __init__(self, inner: httpcore.NetworkStream, peer: tuple[str, int]) -> None:
        self._inner = inner
        self._peer = peer

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def get_extra_info(self, info: str) -> Any:
        return self._peer if info == "server_addr" else self._inner.get_extra_info(info)


class FakeInternet(httpcore.NetworkBackend):
    """Public-looking host names served by loopback WebServers.

    ``add("news.example", "93.184.215.14", server)`` makes the fake DNS answer that address
    and routes connections for the name to ``server``. Every connection attempt is recorded
    in ``connections``; attempts to hosts that were not added fail without touching the
    network.
    """

    def __init__(self) -> None:
        self.dns = FakeDNS()
        self.connections: list[str] = []
        self._sites: dict[str, tuple[str, WebServer]] = {}
        self._loopback = httpcore.SyncBackend()

    def add(self, name: str, public_ip: str, server: WebServer) -> None:
        self.dns.answers[name] = [public_ip]
        self._sites[name] = (public_ip, server)

    def client(self) -> httpx.Client:
        """An httpx client whose connections go through this fake internet."""
        return httpx.Client(transport=_FakeInternetTransport(self), trust_env=False)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.connections.append(host)
        if host not in self._sites:
            raise httpcore.ConnectError(f"{host} is not on the fake internet")
        public_ip, server = self._sites[host]
        inner = self._loopback.connect_tcp("127.0.0.1", server.port, timeout=timeout)
        return _PublicStream(inner, (public_ip, port))


class _FakeInternetTransport(httpx.HTTPTransport):
    """httpx's own transport with the connection pool's network backend swapped."""

    def __init__(self, internet: FakeInternet) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(network_backend=internet)

"""retrieval.fetch against a real scripted server on 127.0.0.1 (see tests/servers/web.py)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import httpx
import pytest

from retrieval.errors import BlockedURLError, FetchError
from retrieval.fetch import (
    FEED_TYPES,
    FetchedPage,
    FetchPolicy,
    fetch,
    is_forbidden_address,
)
from tests.servers.web import ARTICLE_HTML, FakeDNS, FakeInternet, WebServer, compressed, page, redirect

#: The test server is on loopback, so everything except the SSRF tests allows private URLs.
OPEN = FetchPolicy(timeout=5.0, allow_private=True)
#: The production setting: the SSRF guard is on.
GUARDED = FetchPolicy(timeout=5.0)
#: A public address we pretend our fake hosts have; nothing is ever sent to it.
PUBLIC_IP = "93.184.215.14"


@pytest.fixture
def server() -> Iterator[WebServer]:
    with WebServer() as web:
        yield web


@pytest.fixture
def internet(server: WebServer, monkeypatch: pytest.MonkeyPatch) -> FakeInternet:
    """news.example and wire.example are public-looking hosts served by ``server``."""
    fake = FakeInternet()
    fake.add("news.example", PUBLIC_IP, server)
    fake.add("wire.example", "151.101.1.1", server)
    monkeypatch.setattr(socket, "getaddrinfo", fake.dns.getaddrinfo)
    return fake


# --- pages --------------------------------------------------------------------------------


def test_html_page_is_downloaded_with_media_type_and_charset(server: WebServer) -> None:
    fetched = fetch(server.url("/article"), OPEN)

    assert fetched.status == 200
    assert fetched.url == fetched.requested_url == server.url("/article")
    assert fetched.content_type == "text/html"
    assert fetched.charset == "utf-8"
    assert fetched.body == ARTICLE_HTML.encode("utf-8")
    assert fetched.text() == ARTICLE_HTML


def test_policy_user_agent_and_accepted_types_are_sent(server: WebServer) -> None:
    fetch(server.url("/article"), OPEN)

    headers = server.requests[0].headers
    assert headers["User-Agent"] == OPEN.user_agent
    assert headers["Accept"] == "text/html, application/xhtml+xml"


def test_xhtml_page_is_accepted_as_html(server: WebServer) -> None:
    assert fetch(server.url("/xhtml"), OPEN).content_type == "application/xhtml+xml"


def test_page_text_is_decoded_with_the_declared_charset(server: WebServer) -> None:
    fetched = fetch(server.url("/latin1"), OPEN)

    assert fetched.charset == "iso-8859-1"
    assert "Caf\u00e9 owner: \u00a32 rise" in fetched.text()


@pytest.mark.parametrize("charset", [None, "x-no-such-charset"])
def test_page_text_falls_back_to_utf8_with_replacement_characters(charset: str | None) -> None:
    fetched = FetchedPage(
        "http://a.example/",
        "http://a.example/",
        200,
        "text/html",
        charset,
        b"caf\xc3\xa9 and caf\xe9",
    )

    assert fetched.text() == "caf\u00e9 and caf\ufffd"


def test_passed_in_client_is_used_and_left_open(server: WebServer) -> None:
    with httpx.Client(trust_env=False) as client:
        fetch(server.url("/article"), OPEN, client=client)
        assert not client.is_closed
        assert fetch(server.url("/other"), OPEN, client=client).status == 200


def test_connection_refused_is_a_fetch_error() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(FetchError, match=r"could not connect") as caught:
        fetch(f"http://127.0.0.1:{port}/", OPEN)
    assert f"127.0.0.1:{port}" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example/a.html",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ledger.example/news",
    ],
)
def test_non_http_urls_are_refused_with_a_message_naming_them(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https") as caught:
        fetch(url, OPEN)
    assert url in str(caught.value)


@pytest.mark.parametrize("url", ["http://", "http://[::1/", "http://exa mple.com/"])
def test_malformed_urls_are_a_fetch_error(url: str) -> None:
    with pytest.raises(FetchError, match="could not fetch"):
        fetch(url, OPEN)


# --- statuses, media types, limits ----------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/missing", "HTTP 404"), ("/broken", "HTTP 500")])
def test_error_status_is_reported_with_its_code(server: WebServer, path: str, status: str) -> None:
    with pytest.raises(FetchError, match=status) as caught:
        fetch(server.url(path), OPEN)
    assert server.url(path) in str(caught.value)


def test_slow_page_times_out_with_a_clear_message(server: WebServer) -> None:
    with pytest.raises(FetchError, match=r"timed out after 0\.5s"):
        fetch(server.url("/slow"), FetchPolicy(timeout=0.5, allow_private=True))


def test_slowly_dripping_body_hits_the_overall_timeout(server: WebServer) -> None:
    # Every read succeeds quickly; only the budget for the whole fetch can stop this.
    with pytest.raises(FetchError, match=r"timed out after 0\.5s"):
        fetch(server.url("/drip"), FetchPolicy(timeout=0.5, allow_private=True))


def test_pdf_is_refused_as_not_an_html_page(server: WebServer) -> None:
    with pytest.raises(FetchError, match=r"not an HTML page \(got application/pdf\)"):
        fetch(server.url("/report.pdf"), OPEN)


def test_page_without_content_type_is_refused(server: WebServer) -> None:
    with pytest.raises(FetchError, match=r"got no Content-Type"):
        fetch(server.url("/no-content-type"), OPEN)


def test_feed_types_are_accepted_when_asked_for(server: WebServer) -> None:
    assert fetch(server.url("/feed.rss"), OPEN, accept=FEED_TYPES).content_type == ("application/rss+xml")
    with pytest.raises(FetchError, match="not an HTML page"):
        fetch(server.url("/feed.rss"), OPEN)


def test_declared_oversized_body_is_refused_without_reading_it(server: WebServer) -> None:
    # The server claims 50 MB but sends a few bytes: the header alone must stop us.
    with pytest.raises(FetchError, match=r"page too large \(50,000,000 bytes; the limit is 5,000"):
        fetch(server.url("/lying-length"), OPEN)


def test_oversized_body_with_content_length_is_refused(server: WebServer) -> None:
    policy = FetchPolicy(max_bytes=10_000, allow_private=True)
    with pytest.raises(FetchError, match=r"page too large \(80,026 bytes; the limit is 10,000\)"):
        fetch(server.url("/big"), policy)


def test_oversized_body_without_content_length_is_cut_off(server: WebServer) -> None:
    policy = FetchPolicy(max_bytes=10_000, allow_private=True)
    with pytest.raises(FetchError, match=r"stopped reading at 10,000 bytes"):
        fetch(server.url("/big-chunked"), policy)


def test_body_exactly_at_the_limit_is_accepted(server: WebServer) -> None:
    size = len(ARTICLE_HTML.encode("utf-8"))
    policy = FetchPolicy(max_bytes=size, allow_private=True)

    assert len(fetch(server.url("/article"), policy).body) == size


# --- redirects ------------------------------------------------------------------------------


def test_redirect_is_followed_and_the_final_url_reported(server: WebServer) -> None:
    fetched = fetch(server.url("/redirect"), OPEN)

    assert fetched.url == server.url("/article")
    assert fetched.requested_url == server.url("/redirect")
    assert server.paths() == ["/redirect", "/article"]


@pytest.mark.parametrize("path", ["/redirect-permanent", "/redirect-relative"])
def test_permanent_and_relative_redirects_are_followed(server: WebServer, path: str) -> None:
    assert fetch(server.url(path), OPEN).url == server.url("/article")


def test_redirect_chain_up_to_the_limit_is_followed(server: WebServer) -> None:
    fetched = fetch(server.url("/hop/5"), OPEN)  # five redirects, the default limit

    assert fetched.url == server.url("/hop/0")
    assert server.paths() == [f"/hop/{n}" for n in range(5, -1, -1)]


def test_too_many_redirects_are_refused(server: WebServer) -> None:
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
        fetch(server.url("/hop/6"), OPEN)
    assert "/hop/0" not in server.paths()


def test_redirect_limit_comes_from_the_policy(server: WebServer) -> None:
    policy = FetchPolicy(max_redirects=0, allow_private=True)
    with pytest.raises(FetchError, match=r"too many redirects \(more than 0\)"):
        fetch(server.url("/redirect"), policy)
    assert server.paths() == ["/redirect"]


def test_redirect_loop_is_refused_with_a_clear_message(server: WebServer) -> None:
    with pytest.raises(FetchError, match="redirect loop") as caught:
        fetch(server.url("/loop/a"), OPEN)
    assert server.url("/loop/a") in str(caught.value)
    assert server.paths() == ["/loop/a", "/loop/b"]


def test_redirect_to_the_same_page_with_a_fragment_is_a_loop(server: WebServer) -> None:
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(server.url("/self"), OPEN)
    assert server.paths() == ["/self"]


def test_client_that_follows_redirects_itself_is_still_checked(server: WebServer) -> None:
    with (
        httpx.Client(follow_redirects=True, trust_env=False) as client,
        pytest.raises(FetchError, match="redirect loop"),
    ):
        fetch(server.url("/loop/a"), OPEN, client=client)


def test_redirect_to_another_host_and_port_is_followed(server: WebServer) -> None:
    with WebServer() as other:
        server.route("/moved", redirect(other.url("/other")))
        fetched = fetch(server.url("/moved"), OPEN)

        assert fetched.url == other.url("/other")
        assert other.paths() == ["/other"]


def test_redirect_to_a_file_url_is_refused(server: WebServer) -> None:
    with pytest.raises(FetchError, match=r"redirect target 'file:///etc/passwd'"):
        fetch(server.url("/redirect-to-file"), OPEN)


def test_redirect_without_location_is_an_error(server: WebServer) -> None:
    with pytest.raises(FetchError, match="HTTP 302 redirect without a Location header"):
        fetch(server.url("/redirect-no-location"), OPEN)


# --- SSRF guard -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "2130706433", "0x7f.0.0.1"])
def test_loopback_address_is_blocked_without_allow_private(server: WebServer, host: str) -> None:
    url = f"http://{host}:{server.port}/article"

    with pytest.raises(BlockedURLError, match="not a public address") as caught:
        fetch(url, GUARDED)
    assert url in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
    ],
)
def test_private_and_link_local_addresses_are_blocked_before_connecting(internet: FakeInternet, url: str) -> None:
    with internet.client() as client, pytest.raises(BlockedURLError):
        fetch(url, GUARDED, client=client)
    assert internet.connections == []


def test_public_host_passes_the_guard(internet: FakeInternet, server: WebServer) -> None:
    with internet.client() as client:
        fetched = fetch("http://news.example/article", GUARDED, client=client)

    assert fetched.body == ARTICLE_HTML.encode("utf-8")
    assert internet.connections == ["news.example"]
    assert server.requests[0].headers["Host"] == "news.example"


def test_redirect_between_public_hosts_is_followed(internet: FakeInternet, server: WebServer) -> None:
    server.route("/to-wire", redirect("http://wire.example/other"))
    with internet.client() as client:
        fetched = fetch("http://news.example/to-wire", GUARDED, client=client)

    assert fetched.url == "http://wire.example/other"
    assert internet.connections == ["news.example", "wire.example"]


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://localhost/",
        "http://2130706433/",
        "LOOPBACK_SERVER",
    ],
)
def test_redirect_to_private_address_is_blocked(internet: FakeInternet, server: WebServer, target: str) -> None:
    target = server.url("/article") if target == "LOOPBACK_SERVER" else target
    server.route("/go", redirect(target))

    with internet.client() as client, pytest.raises(BlockedURLError) as caught:
        fetch("http://news.example/go", GUARDED, client=client)
    assert f"redirected to {target}" in str(caught.value)
    assert internet.connections == ["news.example"]  # no connection to the target at all
    assert server.paths() == ["/go"]


def test_dns_rebinding_is_caught_after_connecting(server: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard's lookup sees a public address; the connection's own lookup gets loopback.
    dns = FakeDNS({"rebind.example": [PUBLIC_IP, "127.0.0.1"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)

    with pytest.raises(BlockedURLError, match=r"connection went to 127\.0\.0\.1"):
        fetch(f"http://rebind.example:{server.port}/article", GUARDED)
    assert dns.queries == ["rebind.example", "rebind.example"]
    assert server.requests == []  # refused before the request was even sent


def test_guard_fails_closed_when_the_peer_address_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A transport without a network stream (here httpx's in-memory one) cannot be verified.
    dns = FakeDNS({"news.example": [PUBLIC_IP]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, html=ARTICLE_HTML))

    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(BlockedURLError, match="could not confirm which address"),
    ):
        fetch("http://news.example/article", GUARDED, client=client)


def test_host_that_does_not_resolve_is_a_fetch_error_not_a_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = FakeDNS({"gone.example": []})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)

    with pytest.raises(FetchError, match="could not resolve host 'gone.example'") as caught:
        fetch("http://gone.example/", GUARDED)
    assert not isinstance(caught.value, BlockedURLError)


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("93.184.215.14", False),
        ("2606:4700:4700::1111", False),
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.0.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("192.0.2.1", True),  # documentation
        ("224.0.0.1", True),  # multicast
        ("240.0.0.1", True),  # reserved
        ("255.255.255.255", True),
        ("0.0.0.0", True),
        ("::", True),
        ("::1", True),
        ("fe80::1", True),
        ("fec0::1", True),  # site-local
        ("fd12:3456::1", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped
        ("2002:7f00:1::", True),  # 6to4 around 127.0.0.1
        ("2002:a00:1::", True),  # 6to4 around 10.0.0.1
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 around 169.254.169.254
    ],
)
def test_address_classification(address: str, forbidden: bool) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address)) is forbidden


# --- content codings and redirects nobody can follow ---------------------------------------


@pytest.mark.parametrize(
    ("codings", "raw_deflate"),
    [(("gzip",), False), (("deflate",), False), (("deflate",), True), (("identity",), False)],
)
def test_gzip_and_deflate_pages_are_decoded(server: WebServer, codings: tuple[str, ...], raw_deflate: bool) -> None:
    server.route("/packed", compressed(ARTICLE_HTML.encode(), *codings, raw_deflate=raw_deflate))
    page = fetch(server.url("/packed"), OPEN)
    assert page.body == ARTICLE_HTML.encode()
    assert server.requests[-1].headers["Accept-Encoding"] == "gzip, deflate"


def test_stacked_compression_is_refused_before_decoding(server: WebServer) -> None:
    bomb = b"\0" * 50_000_000  # 50 MB of zeros: a few kB after two rounds of gzip
    server.route("/bomb", compressed(bomb, "gzip", "gzip"))
    with pytest.raises(FetchError, match=r"encoded more than once \(gzip, gzip\); one coding is accepted"):
        fetch(server.url("/bomb"), OPEN)


def test_unknown_content_coding_is_refused(server: WebServer) -> None:
    server.route("/br", compressed(b"not really brotli", "br"))
    with pytest.raises(FetchError, match="unsupported content encoding 'br'"):
        fetch(server.url("/br"), OPEN)


def test_gzip_bomb_stops_at_the_size_limit_while_decoding(server: WebServer) -> None:
    server.route("/bomb", compressed(b"<p>" + b"a" * 40_000_000, "gzip"))  # ~40 kB on the wire
    with pytest.raises(FetchError, match=r"page too large \(stopped reading at 1,000,000 bytes\)"):
        fetch(server.url("/bomb"), FetchPolicy(timeout=5.0, allow_private=True, max_bytes=1_000_000))


def test_corrupt_gzip_is_a_fetch_error(server: WebServer) -> None:
    server.route("/corrupt", page(b"\x1f\x8b\x08\x00garbage-not-gzip", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="gzip data is corrupt"):
        fetch(server.url("/corrupt"), OPEN)


@pytest.mark.parametrize(
    "location", ["mailto:desk@example.org", "javascript:alert(1)", "data:text/html,hello", "foo:bar", "http://"]
)
def test_redirect_to_a_non_web_address_is_a_fetch_error(server: WebServer, location: str) -> None:
    server.route("/odd", redirect(location))
    with pytest.raises(FetchError, match=r"could not fetch .*/odd"):
        fetch(server.url("/odd"), OPEN)

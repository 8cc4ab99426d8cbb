"""The Transport section: the public seam (Transport, MockTransport) and HTTPTransport's bounds.

Fault injection: every way a server or the network can misbehave gives a typed
error that names the cause, within the timeout, with no secret in it. Each case
runs against a loopback ``FaultServer`` (tests/faultkit.py) with retries off
(tests/test_retry.py covers retrying) and records what it saw for RELIABILITY.md
(tests/reliability_log.py), as does the fuzzing of raw bytes on a real socket.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import logging
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wp_rest
from faultkit import (
    SECRET,
    SECRETS,
    TIMEOUT,
    USER,
    Conn,
    FaultServer,
    Hit,
    Sleeps,
    answer,
    client_for,
    describe,
    echo_credentials,
    echo_in_status_line,
    echo_in_wp_error,
    fault_server,
    free_port,
    gzipped,
    http_date,
    leaks,
    response,
    self_signed_cert,
    tls_server_context,
    wp_error,
)
from fuzzkit import AUTH, Counter, fuzz
from reliability_log import observe
from stub import Answer, json_answer, serve

ROOT = "http://127.0.0.1:9/wp-json/"


def test_mock_transport_serves_the_client_and_records_requests() -> None:
    def answer(request: wp_rest.Request) -> wp_rest.Response:
        return wp_rest.Response(200, {"X-WP-Total": "1", "X-WP-TotalPages": "1"}, b'[{"id": 7}]')

    transport = wp_rest.MockTransport(answer)
    client = wp_rest.Client(ROOT, transport=transport, auth=wp_rest.ApplicationPassword("a", "b" * 24))
    assert [p["id"] for p in client.iter_posts()] == [7]
    assert transport.requests[0].headers["Authorization"].startswith("Basic ")
    assert client.transport is transport


def test_a_transport_error_from_the_handler_reaches_the_caller() -> None:
    def down(request: wp_rest.Request) -> wp_rest.Response:
        raise wp_rest.TransportError("refused", request_sent=False)

    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(down), retry=False)
    with pytest.raises(wp_rest.TransportError, match="refused"):
        client.get_post(1)


def test_a_mock_transport_closes_with_its_client() -> None:
    with wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: json_response({"id": 1}))) as client:
        assert client.get_post(1) == {"id": 1}


# --- Bounds: every hostile answer ends in a typed error, in bounded time ---------------------


def test_gzip_followed_by_junk_is_refused_without_reading_it_all() -> None:
    junk = b"\0" * (8 * 1024 * 1024)

    def handler(seen: Any) -> Answer:
        return Answer(200, gzip.compress(b"[]") + junk,
                      {"Content-Type": "application/json", "Content-Encoding": "gzip"})

    with serve(handler) as server:
        client = wp_rest.Client(server.url + "/wp-json/", timeout=20)
        started = time.monotonic()
        with pytest.raises(wp_rest.InvalidResponse, match="data follows the end of its gzip stream"):
            client.request("GET", "/x")
        assert time.monotonic() - started < 5


def json_response(value: Any) -> wp_rest.Response:
    return wp_rest.Response(200, {"Content-Type": "application/json"}, json.dumps(value).encode())


# --- Loopback means loopback -----------------------------------------------------------------


def test_localhost_is_pinned_to_the_loopback_address_checked() -> None:
    with serve(lambda seen: json_answer({"host": seen.headers.get("Host")})) as server:
        port = server.server_address[1]
        client = wp_rest.Client(f"http://localhost:{port}/wp-json/", auth=wp_rest.ApplicationPassword("a", "b" * 24))
        assert client.request("GET", "/x") == {"host": f"localhost:{port}"}


def test_a_request_http_client_refuses_to_write_is_reported_as_not_sent() -> None:
    with serve(lambda seen: json_answer({})) as server:
        client = wp_rest.Client(server.url + "/wp-json/", retry=False)
        with pytest.raises(wp_rest.TransportError) as info:
            client.send(client.build_request("POST", server.url + "/wp-json/é"))
        assert info.value.request_sent is False and "was not sent" in str(info.value)
        assert server.seen == []


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".example"], ids=["empty-label", "label-over-63"])
def test_a_host_name_that_cannot_be_looked_up_is_a_config_error(host: str) -> None:
    with pytest.raises(wp_rest.ConfigError) as info:
        wp_rest.Client(f"http://{host}/wp-json/").get_post(1)
    assert f"cannot connect to {host!r}" in str(info.value) and "check the host name" in str(info.value)


def test_a_malformed_basic_header_is_kept_out_of_a_network_error() -> None:
    """A caller's ``Authorization: Basic`` that is not base64 is still a secret to mask."""
    value = "Basic not*base64*" + SECRET.replace(" ", "")
    client = wp_rest.Client(f"http://127.0.0.1:{free_port()}/wp-json/", retry=False)
    with pytest.raises(wp_rest.TransportError, match="connection refused") as info:
        client.request("GET", "/wp/v2/posts", headers={"Authorization": value})
    assert leaks([value], info.value) == []


def test_keep_alive_survives_descriptors_beyond_select_s_reach() -> None:
    """With over 1024 descriptors open, select() would refuse the idle socket (ValueError); poll()
    checks it, so the second request reuses the connection."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("the descriptor limit is below 1200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    spare = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with serve(lambda seen: json_answer({"path": seen.path})) as server:
            client = wp_rest.Client(server.url + "/wp-json/", retry=False)
            assert client.request("GET", "/a") == {"path": "/wp-json/a"}
            assert client.request("GET", "/b") == {"path": "/wp-json/b"}
            assert client.transport.connections_opened == 1
    finally:
        for fd in spare:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test__connection_dropped_tells_a_live_idle_socket_from_a_closed_or_missing_one() -> None:
    import http.client
    import socket

    ours, theirs = socket.socketpair()
    conn = http.client.HTTPConnection("127.0.0.1")
    conn.sock = ours
    try:
        assert not wp_rest._connection_dropped(conn)  # idle, nothing to read: reusable
        theirs.close()  # the server closed it: readable at end of file
        assert wp_rest._connection_dropped(conn)
        conn.sock = None  # http.client let go of the socket: not reusable, and no TypeError
        assert wp_rest._connection_dropped(conn)
    finally:
        ours.close()


# --- Fault injection: a loopback server misbehaving in every way (tests/faultkit.py) ----------


SLACK = 0.4
#: For a big answer that arrives at once nothing can stall: its time is this machine's CPU (decoding
#: 10 MB, inflating 64 MiB), which a loaded 2-core machine stretched to 1.9 s. The bound proves it ends.
BULKY_SLACK = 5.0


def call(client: wp_rest.Client, method: str) -> Any:
    if method == "GET":
        return client.get_post(1)
    return client.create_post(title="Fault test")


def reset(hit: Hit, conn: Conn) -> None:
    conn.reset()


def close(hit: Hit, conn: Conn) -> None:
    conn.close()


def headers_then(after: Callable[[Conn], None], *, length: int = 1000, chunked: bool = False) -> Callable[[Hit, Conn], None]:
    def handler(hit: Hit, conn: Conn) -> None:
        extra = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(length)}
        conn.send(response(200, b"", extra))
        after(conn)
    return handler


def part_then_reset(conn: Conn) -> None:
    conn.send(b'{"id": 1, "title": "')
    time.sleep(0.05)
    conn.reset()


def part_then_close(conn: Conn) -> None:
    conn.send(b'{"id": 1, "title": "')
    conn.close()


def trickle_headers(hit: Hit, conn: Conn) -> None:
    conn.trickle(response(200, {"id": 1}), every=0.05)


def trickle_body(conn: Conn) -> None:
    conn.trickle(b'{"id": 1, "content": "' + b"x" * 500 + b'"}', every=0.05)


def trickle_chunk_sizes(conn: Conn) -> None:
    conn.send(b"1\r\n{\r\n")
    conn.trickle(b"00000000000000000000000000000000000000000000000000000000000000000000000001", every=0.05)


def silent(hit: Hit, conn: Conn) -> None:
    conn.stall(TIMEOUT + 2)


def redirect(location: str, status: int = 301) -> Callable[[Hit, Conn], None]:
    return answer(response(status, b"", {"Location": location, "Content-Type": "text/html"}))


def redirect_loop(hit: Hit, conn: Conn) -> None:
    target = "/wp-json/b" if hit.path.endswith("/1") else "/wp-json/wp/v2/posts/1"
    conn.send(response(302, b"", {"Location": target}))


def redirect_chain(hit: Hit, conn: Conn) -> None:
    n = int(re.sub(r"\D", "", hit.path.rsplit("/", 1)[-1]) or 0)
    conn.send(response(302, b"", {"Location": f"/wp-json/hop{n + 1}"}))


def https_upgrade(hit: Hit, conn: Conn) -> None:
    host = hit.headers.get("Host", "")
    conn.send(response(301, b"", {"Location": f"https://{host}{hit.path}"}))


@functools.cache
def _bomb() -> bytes:
    """65 MiB of zeros, 64 KiB on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(bytes(wp_rest.MAX_BODY_BYTES + 1024 * 1024)) + packer.flush()


def gzip_bomb(hit: Hit, conn: Conn) -> None:
    conn.send(response(200, _bomb(), {"Content-Encoding": "gzip"}))


PHP_WARNING = (b"<br />\n<b>Warning</b>:  Undefined array key \"x\" in <b>/var/www/wp-content/plugins/"
               b"p/p.php</b> on line <b>12</b><br />\n")
MAINTENANCE = ("<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Briefly unavailable "
               "for scheduled maintenance. Check back in a minute.</body></html>")
CRITICAL = ("<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title></head><body><p>There has "
            "been a critical error on this website.</p></body></html>")
NGINX_502 = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"


@dataclass
class Fault:
    id: str
    case: str
    expected: str
    handler: Callable[[Hit, Conn], None] | None  # None: nothing listens (connection refused)
    error: type[wp_rest.WPError] | None  # None: the call succeeds
    pattern: str = ""
    method: str = "GET"
    attrs: dict[str, Any] = field(default_factory=dict)
    slow: bool = False
    bulky: bool = False


FAULTS = [
    Fault("refused-get", "connection refused (GET)", "TransportError, request_sent=False",
          None, wp_rest.TransportError, r"connection refused.*was not sent", attrs={"request_sent": False}),
    Fault("refused-post", "connection refused (POST)", "TransportError, request_sent=False: safe to resend",
          None, wp_rest.TransportError, r"connection refused.*was not sent", "POST", {"request_sent": False}),
    Fault("reset-before-get", "reset before any answer (GET)", "TransportError naming the reset",
          reset, wp_rest.TransportError, r"reset|closed the connection", attrs={"request_sent": True}),
    Fault("reset-before-post", "reset after the request, before any answer (POST)",
          "TransportError: the write may have happened", reset, wp_rest.TransportError,
          r"(reset|closed the connection).*may have processed it", "POST", {"request_sent": True}),
    Fault("empty-reply", "connection closed without an answer", "TransportError naming it",
          close, wp_rest.TransportError, r"closed the connection without answering"),
    Fault("reset-body-get", "reset during the body (GET)", "TransportError",
          headers_then(part_then_reset), wp_rest.TransportError, r"reset|ended early"),
    Fault("reset-body-post", "reset during the body (POST)", "TransportError: the write may have happened",
          headers_then(part_then_reset), wp_rest.TransportError, r"(reset|ended early).*may have processed it",
          "POST"),
    Fault("short-body", "body shorter than Content-Length, then close", "TransportError: body ended early",
          headers_then(part_then_close), wp_rest.TransportError, r"body ended early"),
    Fault("slow-headers", "slow headers (1 byte / 50 ms)", f"TransportError: timed out within {TIMEOUT} s",
          trickle_headers, wp_rest.TransportError, r"timed out", slow=True),
    Fault("slow-body", "slow body (1 byte / 50 ms)", f"TransportError: timed out within {TIMEOUT} s",
          headers_then(trickle_body, length=525), wp_rest.TransportError, r"timed out", slow=True),
    Fault("slow-chunk-size", "slow chunked body (chunk-size line trickled)",
          f"TransportError: timed out within {TIMEOUT} s",
          headers_then(trickle_chunk_sizes, chunked=True), wp_rest.TransportError, r"timed out", slow=True),
    Fault("silent", "server accepts and never answers", f"TransportError: timed out within {TIMEOUT} s",
          silent, wp_rest.TransportError, r"timed out", slow=True),
    Fault("silent-post", "server never answers a POST", "TransportError: timed out, may have happened",
          silent, wp_rest.TransportError, r"timed out.*may have processed it", "POST", slow=True),
    Fault("500-json", "500 with a WordPress error", "ServerError with WordPress's code",
          answer(wp_error(500, "internal_server_error", "There has been a critical error.")),
          wp_rest.ServerError, r"500 internal_server_error", attrs={"status": 500}),
    Fault("500-html", "500 critical-error HTML page", "ServerError quoting the page",
          answer(response(500, CRITICAL, {"Content-Type": "text/html"})), wp_rest.ServerError,
          r"500 http_error.*critical error", attrs={"status": 500}),
    Fault("500-post", "500 to a POST", "ServerError: says the write may have happened",
          answer(wp_error(500, "db_insert_error", "Could not insert post into the database.")),
          wp_rest.ServerError, r"(?s)db_insert_error.*not retried.*may have happened", "POST"),
    Fault("502", "502 nginx page", "ServerError 502",
          answer(response(502, NGINX_502, {"Content-Type": "text/html"})), wp_rest.ServerError,
          r"502 http_error.*Bad Gateway", attrs={"status": 502}),
    Fault("503", "503 maintenance page with Retry-After", "ServerError 503",
          answer(response(503, MAINTENANCE, {"Content-Type": "text/html", "Retry-After": "600"})),
          wp_rest.ServerError, r"503 http_error.*maintenance", attrs={"status": 503}),
    Fault("503-post", "503 to a POST", "ServerError: says the write probably did not happen",
          answer(response(503, MAINTENANCE, {"Content-Type": "text/html"})),
          wp_rest.ServerError, r"(?s)503.*not retried.*usually comes before WordPress runs", "POST"),
    Fault("504", "504 gateway timeout", "ServerError 504",
          answer(response(504, "<html>504 Gateway Time-out</html>", {"Content-Type": "text/html"})),
          wp_rest.ServerError, r"504 http_error", attrs={"status": 504}),
    Fault("504-post", "504 to a POST", "ServerError: says the write may have happened",
          answer(response(504, "<html>504 Gateway Time-out</html>", {"Content-Type": "text/html"})),
          wp_rest.ServerError, r"(?s)504.*not retried.*may have happened", "POST"),
    Fault("429-seconds", "429 with Retry-After: 120 (seconds)", "RateLimited, retry_after=120",
          answer(response(429, {"code": "too_many", "message": "Slow down", "data": {"status": 429}},
                          {"Retry-After": "120"})),
          wp_rest.RateLimited, r"429 too_many", attrs={"retry_after": 120.0}),
    Fault("429-date", "429 with Retry-After as an HTTP date (+90 s)", "RateLimited, retry_after about 90",
          answer(response(429, "Too Many Requests", {"Content-Type": "text/plain",
                                                     "Retry-After": http_date(90)})),
          wp_rest.RateLimited, r"429 http_error"),
    Fault("truncated-json", "truncated JSON (complete HTTP message)", "InvalidResponse: not JSON",
          answer(response(200, b'{"id": 1, "title": {"rendered": "Hel')), wp_rest.InvalidResponse,
          r"200 not JSON"),
    Fault("html-200", "HTML 200 instead of JSON", "InvalidResponse: HTML instead of JSON",
          answer(response(200, "<!DOCTYPE html><html><body>Welcome</body></html>",
                          {"Content-Type": "text/html"})),
          wp_rest.InvalidResponse, r"200 HTML instead of JSON"),
    Fault("php-warning", "PHP warnings printed before the JSON", "the JSON is used; a warning is logged",
          answer(response(200, PHP_WARNING + b'{"id": 1}')), None),
    Fault("php-warning-after", "PHP warning printed after the JSON", "InvalidResponse: not JSON",
          answer(response(200, b'{"id": 1}' + PHP_WARNING)), wp_rest.InvalidResponse, r"not JSON"),
    Fault("bad-gzip", "Content-Encoding: gzip with a body that is not gzip", "InvalidResponse: not valid gzip",
          answer(response(200, b"this is not gzip at all", {"Content-Encoding": "gzip"})),
          wp_rest.InvalidResponse, r"not valid gzip"),
    Fault("truncated-gzip", "gzip stream cut short", "InvalidResponse: gzip truncated",
          answer(response(200, gzipped(b'{"id": 1}' * 50)[:-12], {"Content-Encoding": "gzip"})),
          wp_rest.InvalidResponse, r"gzip stream is truncated"),
    Fault("gzip-bomb", "gzip bomb (64 KiB expanding past 64 MiB)", "InvalidResponse: larger than MAX_BODY_BYTES",
          gzip_bomb, wp_rest.InvalidResponse, r"larger than \d+ bytes", bulky=True),
    Fault("bad-utf8", "invalid UTF-8 in a JSON body", "InvalidResponse: not JSON",
          answer(response(200, b'{"title": "caf\xe9 \xff"}')), wp_rest.InvalidResponse, r"not JSON"),
    Fault("deep-json", "JSON nested 100000 deep", "InvalidResponse (no RecursionError)",
          answer(response(200, b"[" * 100_000 + b"]" * 100_000)), wp_rest.InvalidResponse, r"not JSON"),
    Fault("huge-int", "JSON integer with 5000 digits", "InvalidResponse (int parsing limit)",
          answer(response(200, b'{"id": ' + b"9" * 5000 + b"}")), wp_rest.InvalidResponse, r"not JSON"),
    Fault("10mb-json", "a 10 MB JSON body", "parsed and returned",
          answer(response(200, {"id": 1, "content": {"raw": "x" * 10_000_000}})), None, bulky=True),
    Fault("10mb-html", "a 10 MB HTML body", "InvalidResponse with a short body_start",
          answer(response(200, "<html>" + "x" * 10_000_000, {"Content-Type": "text/html"})),
          wp_rest.InvalidResponse, r"HTML instead of JSON", bulky=True),
    Fault("not-http", "a non-HTTP answer (SSH banner)", "TransportError naming the bad status line",
          answer(b"SSH-2.0-OpenSSH_9.2\r\n"), wp_rest.TransportError, r"BadStatusLine|RemoteDisconnected|not"),
    Fault("long-header", "a 70 KB header line", "TransportError: LineTooLong",
          answer(response(200, {"id": 1}, {"X-Big": "x" * 70_000})), wp_rest.TransportError, r"LineTooLong"),
    Fault("many-headers", "150 header lines", "TransportError: too many headers",
          answer(response(200, {"id": 1}, {f"X-H{i}": "v" for i in range(150)})), wp_rest.TransportError,
          r"more than 100 headers"),
    Fault("redirect-loop", "redirect loop", "RedirectError: loop",
          redirect_loop, wp_rest.RedirectError, r"redirect loop"),
    Fault("redirect-chain", "endless redirect chain", "RedirectError: more than MAX_REDIRECTS",
          redirect_chain, wp_rest.RedirectError, r"more than 5 redirects"),
    Fault("https-upgrade-post", "http to https 301 on a POST", "RedirectError; the POST is not replayed",
          https_upgrade, wp_rest.RedirectError, r"301 redirect on POST.*not followed.*Client\('https://",
          "POST", {"status": 301}),
    Fault("307-post", "307 on a POST (same origin)", "RedirectError; writes are never re-sent",
          redirect("/wp-json/wp/v2/other", 307), wp_rest.RedirectError, r"307 redirect on POST", "POST"),
    Fault("redirect-javascript", "redirect to javascript: URL", "RedirectError: unusable address",
          redirect("javascript:alert(1)"), wp_rest.RedirectError, r"unusable address"),
    Fault("redirect-file", "redirect to file:///etc/passwd", "RedirectError: unusable address",
          redirect("file:///etc/passwd"), wp_rest.RedirectError, r"unusable address"),
    Fault("redirect-no-host", "redirect to http://:8080/ (no host)", "RedirectError: unusable address",
          redirect("http://:8080/wp-json/"), wp_rest.RedirectError, r"unusable address"),
    Fault("redirect-bad-port", "redirect to http://127.0.0.1:99999/ (no such port)",
          "RedirectError: unusable address", redirect("http://127.0.0.1:99999/wp-json/"),
          wp_rest.RedirectError, r"unusable address"),
    Fault("echo-page", "HTML page echoing Authorization and the password", "InvalidResponse; secrets shown as ****",
          echo_credentials, wp_rest.InvalidResponse, r"\*\*\*\*"),
    Fault("echo-status-line", "status line made of the Authorization header", "TransportError; no secret in it",
          echo_in_status_line, wp_rest.TransportError, r"BadStatusLine|not|closed"),
    Fault("echo-wp-error", "WordPress error message quoting the password and token",
          "AuthenticationError; secrets shown as ****", echo_in_wp_error, wp_rest.AuthenticationError,
          r"Bad password \*\*\*\*"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_fault_gives_a_typed_error_in_time_without_secrets(fault: Fault, caplog: pytest.LogCaptureFixture) -> None:
    if fault.handler is gzip_bomb:
        _bomb()  # built before the clock starts
    with observe("fault", fault.case, fault.expected) as obs:
        result: Any = None
        error: wp_rest.WPError | None = None
        with caplog.at_level(logging.DEBUG, logger="wp_rest"):
            if fault.handler is None:
                client = wp_rest.Client(f"http://127.0.0.1:{free_port()}/wp-json/",
                                        auth=wp_rest.ApplicationPassword(USER, SECRET), timeout=TIMEOUT,
                                        retry=False)
                start = time.monotonic()
                try:
                    result = call(client, fault.method)
                except wp_rest.WPError as exc:
                    error = exc
                elapsed = time.monotonic() - start
                hits: list[Hit] = []
            else:
                with fault_server(fault.handler) as server:
                    client = client_for(server.url)
                    start = time.monotonic()
                    try:
                        result = call(client, fault.method)
                    except wp_rest.WPError as exc:  # anything else fails the test
                        error = exc
                    elapsed = time.monotonic() - start
                    hits = list(server.hits)
                client.close()
        obs.observed = describe(error if error is not None else f"returned {str(result)[:80]}", elapsed)
        assert elapsed < TIMEOUT + (BULKY_SLACK if fault.bulky else SLACK)
        if fault.error is None:
            assert error is None, error
        else:
            assert type(error) is fault.error, repr(error)
            assert re.search(fault.pattern, str(error), re.DOTALL), str(error)
            for name, value in fault.attrs.items():
                assert getattr(error, name) == value, name
        if fault.method == "POST":
            assert [h.method for h in hits].count("POST") <= 1  # a write is never re-sent
        assert leaks(SECRETS, error, result if error else None, caplog.text) == []


def test_slow_faults_end_at_the_deadline_not_per_receive() -> None:
    """Before the deadline socket, a 1-byte/50 ms trickle of headers ran for seconds past timeout=0.5."""
    with observe("fault", "slow headers, timeout=0.2 s, trickle would take 4 s",
                 "TransportError after 0.2 s, not 4 s") as obs:
        with fault_server(trickle_headers) as server:
            client = client_for(server.url, timeout=0.2)
            start = time.monotonic()
            with pytest.raises(wp_rest.TransportError) as info:
                client.get_post(1)
            elapsed = time.monotonic() - start
        obs.observed = describe(info.value, elapsed)
        assert 0.2 <= elapsed < 0.2 + SLACK


def test_php_warning_before_json_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with fault_server(answer(response(200, PHP_WARNING + b'{"id": 1}'))) as server:
        with caplog.at_level(logging.WARNING, logger="wp_rest"):
            assert client_for(server.url).get_post(1) == {"id": 1}
    assert "PHP output before the JSON" in caplog.text and "display_errors" in caplog.text


def test_10mb_html_body_is_quoted_briefly() -> None:
    page = "<html>" + "x" * 10_000_000
    with fault_server(answer(response(200, page, {"Content-Type": "text/html"}))) as server:
        with pytest.raises(wp_rest.InvalidResponse) as info:
            client_for(server.url).get_post(1)
    assert len(info.value.body_start) <= 300 and len(str(info.value)) < 1000


def test_body_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wp_rest, "MAX_BODY_BYTES", 1_000_000)
    with observe("fault", "plain body over MAX_BODY_BYTES (limit lowered to 1 MB)",
                 "InvalidResponse: larger than the limit") as obs:
        with fault_server(answer(response(200, b"[" + b"1," * 1_000_000 + b"1]"))) as server:
            with pytest.raises(wp_rest.InvalidResponse) as info:
                client_for(server.url).get_post(1)
        obs.observed = describe(info.value)
        assert "larger than 1000000 bytes" in str(info.value)


def test_redirect_to_another_host_drops_credentials() -> None:
    with observe("fault", "GET redirected to another host (127.0.0.2)",
                 "followed without Authorization/Cookie") as obs:
        with fault_server(answer(response(200, {"id": 1})), host="127.0.0.2") as other:
            with fault_server(redirect(other.url + "/wp-json/wp/v2/posts/1", 302)) as first:
                post = client_for(first.url).request("GET", "/wp/v2/posts/1", headers={"Cookie": "s=1"})
            sent = other.hits[0].headers
        obs.observed = f"returned {post}; headers at the other host: {sorted(sent)}"
        assert post == {"id": 1}
        assert "Authorization" in first.hits[0].headers
        assert {k.lower() for k in sent} & {"authorization", "cookie", "x-wp-nonce"} == set()


def test_post_redirected_to_another_host_is_not_followed() -> None:
    with observe("fault", "POST redirected (302) to another host", "RedirectError; nothing sent there") as obs:
        with fault_server(answer(response(201, {"id": 1}))) as other:
            target = other.url.replace("127.0.0.1", "localhost") + "/wp-json/wp/v2/posts"
            with fault_server(redirect(target, 302)) as first:
                with pytest.raises(wp_rest.RedirectError) as info:
                    client_for(first.url).create_post(title="t")
            obs.observed = describe(info.value)
            assert other.hits == [] and info.value.location == target


def test_a_utf8_location_is_followed_percent_encoded() -> None:
    def handler(hit: Hit, conn: Conn) -> None:
        if hit.path.endswith("/old"):
            conn.send(b"HTTP/1.1 301 Moved\r\nLocation: /wp-json/caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n")
        else:
            conn.send(response(200, {"path": hit.path}))

    with observe("fault", "redirect to a Location with raw UTF-8 bytes (/wp-json/caf\\xc3\\xa9)",
                 "followed as /wp-json/caf%C3%A9") as obs:
        with fault_server(handler) as server:
            got = client_for(server.url).request("GET", "/old")
        obs.observed = f"returned {got}"
        assert got == {"path": "/wp-json/caf%C3%A9"}


def test_header_values_that_are_numbers_are_sent() -> None:
    with fault_server(lambda hit, conn: conn.send(response(200, {"n": hit.headers.get("X-Count")}))) as server:
        assert client_for(server.url).request("GET", "/x", headers={"X-Count": 5}) == {"n": "5"}  # type: ignore[dict-item]


def test_https_upgrade_on_post_sends_once_and_names_the_fix() -> None:
    with fault_server(https_upgrade) as server:
        with pytest.raises(wp_rest.RedirectError) as info:
            client_for(server.url).create_post(title="t")
        assert server.methods() == ["POST"]  # never replayed as a GET (the urllib trap)
    assert info.value.location.startswith("https://127.0.0.1:")
    assert f"Client('https://127.0.0.1:{server.port}/')" in str(info.value)


def test_an_idle_connection_closed_by_the_server_is_replaced() -> None:
    def once_then_close(hit: Hit, conn: Conn) -> None:
        conn.send(response(200, {"path": hit.path}))  # keep-alive in the headers ...
        conn.close()  # ... but the server closes it anyway

    with observe("fault", "server closes an idle keep-alive connection",
                 "the next request opens a new connection and succeeds") as obs:
        with fault_server(once_then_close) as server:
            client = client_for(server.url)
            first = client.request("GET", "/a")
            time.sleep(0.05)
            second = client.request("GET", "/b")
            obs.observed = f"both succeeded over {server.connections} connections"
        assert first == {"path": "/wp-json/a"} and second == {"path": "/wp-json/b"}
        assert server.connections == 2


@pytest.mark.parametrize(("headers", "auth"), [
    ({"X-Note": "a\r\nX-Injected: 1"}, None),
    ({"X-Note": "a\nb"}, None),
    ({"X-Bad Name": "v"}, None),
    ({}, wp_rest.BearerToken("tok\u20acen-with-euro-" + SECRET.replace(" ", ""))),
], ids=["crlf-value", "lf-value", "space-in-name", "non-latin1-token"])
def test_unsendable_headers_are_refused_before_sending(headers: dict[str, str], auth: Any) -> None:
    with observe("hostile input", f"header {next(iter(headers or {'Authorization': ''}))!r}: "
                 f"{'non-Latin-1 bearer token' if auth else repr(next(iter(headers.values())))}",
                 "ConfigError before anything is sent; the value is not echoed") as obs:
        with fault_server(answer(response(200, {"id": 1}))) as server:
            client = client_for(server.url, **({"auth": auth} if auth else {}))
            with pytest.raises(wp_rest.ConfigError) as info:
                client.request("GET", "/wp/v2/posts/1", headers=headers)
            obs.observed = describe(info.value)
            assert server.hits == []
        assert leaks([*SECRETS, "X-Injected"], info.value) == []


def test_bad_method_is_refused() -> None:
    with pytest.raises(wp_rest.ConfigError, match="not an HTTP method"):
        wp_rest.Client("http://127.0.0.1:1/wp-json/").request("GET /x HTTP/1.1\r\nX:", "/a")


def test_no_foreign_exception_escapes_a_raw_garbage_server() -> None:
    """Raw bytes a hostile server might send; the client must only ever raise WPError."""
    garbage = [b"", b"\x00" * 64, b"HTTP/1.1 abc\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
               b"HTTP/9.9 200 OK\r\n\r\n", b"HTTP/1.1 99 Weird\r\nContent-Length: 0\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\n\x1f\x8b\x08",
               b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n\xff\xfe{}",
               b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 10 + b"\r\n" + json.dumps({"a": 1}).encode()]
    outcomes = []
    for raw in garbage:
        def handler(hit: Hit, conn: Conn, raw: bytes = raw) -> None:
            conn.send(raw)
            conn.close()

        with fault_server(handler) as server:
            try:
                client_for(server.url).get_post(1)
                outcomes.append("ok")
            except wp_rest.WPError as exc:
                outcomes.append(type(exc).__name__)
    assert len(outcomes) == len(garbage)


# --- TLS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def test_tls_certificate_not_trusted_is_named_and_nothing_is_sent(tls_pem: Path) -> None:
    with observe("fault", "https with a self-signed certificate, verify=True, retries on",
                 "TransportError naming the untrusted certificate; request_sent=False; not retried") as obs:
        sleeps = Sleeps()
        with fault_server(answer(response(200, {"id": 1})), tls=tls_server_context(tls_pem)) as server:
            client = client_for(server.url, retry=wp_rest.Retry(total=3, sleep=sleeps))
            with pytest.raises(wp_rest.TransportError) as info:
                client.create_post(title="t")
            assert server.hits == [] and server.connections == 1 and sleeps.calls == []
        obs.observed = describe(info.value)
        assert info.value.request_sent is False and "certificate not trusted" in str(info.value)
        assert "verify=" in str(info.value)  # says how to fix it
        assert client.transport.ssl_context.cert_store_stats()["x509_ca"] > 0  # the system CAs were used


@pytest.mark.parametrize("verify", ["bundle", False], ids=["ca-bundle", "verify-false"])
def test_tls_with_a_ca_bundle_or_without_verification(tls_pem: Path, verify: Any) -> None:
    with fault_server(answer(response(201, {"id": 3})), tls=tls_server_context(tls_pem)) as server:
        client = client_for(server.url, verify=str(tls_pem) if verify == "bundle" else False)
        assert client.create_post(title="t") == {"id": 3}
        assert server.hits[0].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(("verify", "words"), [
    (1, "verify must be True, False or the path of a CA bundle"),
    ("missing.pem", "is not a readable PEM CA bundle: .*No such file"),
    ("not-a.pem", "is not a readable PEM CA bundle"),
], ids=["not-a-path", "no-file", "not-pem"])
def test_an_unusable_verify_is_refused_when_the_client_is_made(tmp_path: Path, verify: Any,
                                                               words: str) -> None:
    (tmp_path / "not-a.pem").write_text("not a certificate\n")
    if isinstance(verify, str):
        verify = str(tmp_path / verify)
    with pytest.raises(wp_rest.ConfigError, match=words):
        wp_rest.Client("https://example.com/wp-json/", verify=verify)


@pytest.mark.parametrize(("proxy", "shown"), [
    ("http://u:secret@127.0.0.1:99999", "Port out of range"),
    ("http://u:secret@127.0.0.1:abc", "Port could not be cast"),
    ("http://u:secret@[::1", "Invalid IPv6 URL"),
    ("http://u:secret@127.0.0.1:0", "http://127.0.0.1:0"),
    ("socks5://u:secret@[::1]:1080", "socks5://[::1]:1080"),
], ids=["port-out-of-range", "port-not-a-number", "broken-ipv6", "port-0", "socks"])
def test_an_unusable_proxy_url_is_refused_when_the_client_is_made(proxy: str, shown: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="proxy must be an http://host:port URL") as info:
        wp_rest.Client("https://example.com/wp-json/", proxy=proxy)
    assert shown in str(info.value) and "secret" not in str(info.value)


def test_a_tunnel_that_outlasts_the_timeout_ends_before_the_request_is_sent(tls_pem: Path) -> None:
    """A proxy trickles its CONNECT answer (each receive within the timeout, all of them far beyond it,
    then a working TLS handshake): the attempt ends at the deadline, and nothing is sent."""
    def slow_tunnel(hit: Hit, conn: Conn) -> None:
        with contextlib.suppress(OSError):  # the client hangs up part-way
            conn.trickle(b"HTTP/1.1 200 Connection established\r\n\r\n", every=TIMEOUT / 6, chunk=2)
            tls = tls_server_context(tls_pem).wrap_socket(conn.sock, server_side=True)
            tls.recv(1)  # until the client gives up
            tls.close()

    with fault_server(slow_tunnel) as proxy:
        client = client_for("https://127.0.0.1:9", verify=str(tls_pem), proxy=proxy.url)
        start = time.monotonic()
        with pytest.raises(wp_rest.ProxyError, match="timed out") as info:
            client.get_post(1)
        elapsed = time.monotonic() - start
        assert proxy.methods() == ["CONNECT"]
    assert info.value.request_sent is False and "was not sent" in str(info.value)
    assert elapsed < TIMEOUT + SLACK  # the trickle alone takes over 3 x TIMEOUT


def test_tls_slow_headers_end_at_the_deadline(tls_pem: Path) -> None:
    with observe("fault", "https: slow headers (1 byte / 50 ms)", f"TransportError: timed out within {TIMEOUT} s") as obs:
        with fault_server(trickle_headers, tls=tls_server_context(tls_pem)) as server:
            start = time.monotonic()
            with pytest.raises(wp_rest.TransportError, match="timed out") as info:
                client_for(server.url, verify=str(tls_pem)).get_post(1)
            elapsed = time.monotonic() - start
        obs.observed = describe(info.value, elapsed)
        assert elapsed < TIMEOUT + SLACK


def test_https_to_http_redirect_drops_credentials(tls_pem: Path) -> None:
    with observe("fault", "GET on https redirected to http on the same host",
                 "followed without credentials (a downgrade is another origin)") as obs:
        with fault_server(answer(response(200, {"id": 1}))) as plain:
            with fault_server(redirect(plain.url + "/wp-json/wp/v2/posts/1", 302),
                              tls=tls_server_context(tls_pem)) as secure:
                post = client_for(secure.url, verify=str(tls_pem)).get_post(1)
            obs.observed = f"returned {post}; headers at http: {sorted(plain.hits[0].headers)}"
            assert "Authorization" not in plain.hits[0].headers


# --- Fuzzed: raw bytes on a real socket ---------------------------------------------------


_raw_count = Counter()
_RAW: dict[str, bytes] = {}


def _raw_handler(hit: Hit, conn: Conn) -> None:
    conn.send(_RAW["next"])
    conn.close()


@pytest.fixture(scope="module")
def raw_server() -> Iterator[FaultServer]:
    server = FaultServer(_raw_handler)
    yield server
    server.close()


STATUS_LINES = st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 404 Not Found\r\n", b"HTTP/1.1 500 X\r\n",
                                b"HTTP/1.1 302 Found\r\n", b"HTTP/1.1 429 Slow\r\n", b""]) | st.binary(max_size=40)
RAW_HEADERS = st.lists(st.sampled_from([b"Content-Length: 2", b"Content-Length: -1", b"Content-Length: 99",
                                        b"Transfer-Encoding: chunked", b"Content-Encoding: gzip",
                                        b"Content-Type: application/json", b"Location: /wp-json/x",
                                        b"Location: http://127.0.0.2:9/x", b"Connection: close",
                                        b"Retry-After: 1"]) | st.binary(max_size=30), max_size=5)


@fuzz(150)
@given(status=STATUS_LINES, headers=RAW_HEADERS, body=st.binary(max_size=80))
def prop_raw_bytes_from_the_wire_give_a_value_or_a_wperror(raw_server: FaultServer, status: bytes,
                                                          headers: list[bytes], body: bytes) -> None:
    _raw_count()
    _RAW["next"] = status + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body
    client = wp_rest.Client(raw_server.url + "/wp-json/", auth=AUTH, timeout=0.5, retry=False)
    try:
        client.get_post(1)
    except wp_rest.WPError as exc:
        assert leaks(SECRETS, exc) == []
    finally:
        client.close()


def test_raw_bytes_observation(raw_server: FaultServer) -> None:
    with observe("hostile input", "fuzzed raw bytes from a loopback socket (status line, headers, body)",
                 "a value or a WPError within the timeout") as obs:
        prop_raw_bytes_from_the_wire_give_a_value_or_a_wperror(raw_server)
        obs.observed = f"{_raw_count.n} examples, all held"

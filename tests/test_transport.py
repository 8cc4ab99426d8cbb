"""The Transport section: the public seam (Transport, MockTransport, Headers, Response) and HTTPTransport's bounds."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest

import wp_rest
from stub import Answer, json_answer, serve

ROOT = "http://127.0.0.1:9/wp-json/"


def test_headers_are_case_insensitive_and_keep_every_value() -> None:
    headers = wp_rest.Headers([("Link", "<a>; rel=next"), ("set-cookie", "a=1"), ("Set-Cookie", "b=2")])
    assert headers.get("LINK") == "<a>; rel=next" and headers["link"] == "<a>; rel=next"
    assert headers.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert "set-cookie" in headers and "X-Nope" not in headers and headers.get("x-nope") is None
    with pytest.raises(KeyError):
        headers["X-Nope"]


def test_response_takes_a_dict_or_pairs_of_headers() -> None:
    from_dict = wp_rest.Response(200, {"Content-Type": "application/json"}, b"[]", "https://x/")
    from_pairs = wp_rest.Response(200, [("content-type", "application/json")], b"[]")
    assert from_dict.content_type == from_pairs.content_type == "application/json"
    assert wp_rest.Response(200, [("Link", '<https://x/wp-json/>; rel="https://api.w.org/"')], b"").links == {
        "https://api.w.org/": "https://x/wp-json/"}


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


def test_repr_of_requests_and_headers_masks_credentials() -> None:
    request = wp_rest.Request("GET", ROOT, {"Authorization": "Basic c2VjcmV0", "Cookie": "wp=1",
                                            "X-WP-Nonce": "abc123", "Accept": "x"})
    for text in (repr(request), repr(wp_rest.Headers(request.headers))):
        assert "c2VjcmV0" not in text and "wp=1" not in text and "abc123" not in text
        assert "'Accept', 'x'" in text


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


def test_a_body_of_too_many_json_objects_is_not_decoded() -> None:
    body = b"[" + b"{}," * wp_rest.MAX_JSON_CONTAINERS + b"{}]"
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: wp_rest.Response(200, {}, body)))
    with pytest.raises(wp_rest.InvalidResponse, match="MAX_JSON_CONTAINERS"):
        client.request("GET", "/x")


def test_a_huge_total_pages_header_is_treated_as_absent() -> None:
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: wp_rest.Response(
        200, {"X-WP-TotalPages": "99999999999999999999", "X-WP-Total": "1e400"}, b'[{"id": 1}]')))
    page = client.list_posts()
    assert (page.total, page.total_pages) == (1, 1)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_server_that_repeats_a_page_forever_ends_the_iteration(concurrency: int) -> None:
    def same(request: wp_rest.Request) -> wp_rest.Response:
        return wp_rest.Response(200, {"X-WP-TotalPages": "999999999"}, json.dumps([{"id": 1}, {"id": 2}]).encode())

    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(same))
    seen = []
    with pytest.raises(wp_rest.InvalidResponse, match="repeats page 1"):
        for post in client.iter_posts(concurrency=concurrency):
            seen.append(post["id"])
    assert seen == [1, 2]


@pytest.mark.parametrize(("name", "value"), [("per_page", "1e1"), ("page", "1e1"), ("page", 0),
                                             ("per_page", 2.5), ("page", True)])
def test_page_numbers_must_be_whole(name: str, value: Any) -> None:
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: wp_rest.Response(200, {}, b"[]")))
    with pytest.raises(wp_rest.ConfigError, match=f"{name} must be a whole number"):
        client.list_posts(**{name: value})


@pytest.mark.parametrize("timeout", [float("inf"), 1e300, 10**400, float("nan"), 0, -1, True, "5"])
def test_a_timeout_must_be_a_sane_number(timeout: Any) -> None:
    with pytest.raises(wp_rest.ConfigError, match="timeout must be"):
        wp_rest.Client(ROOT, timeout=timeout)


@pytest.mark.parametrize("exp", [10**400, -(10**400)])
def test_a_jwt_with_an_absurd_exp_is_used_once_then_renewed(exp: int) -> None:
    token = wp_rest.jwt_encode({"exp": exp, "data": {"user": {"id": "1"}}}, "s" * 32)

    def site(request: wp_rest.Request) -> wp_rest.Response:
        if "/jwt-auth/v1/token" in request.url:
            return json_response({"token": token})
        return json_response({"id": 1})

    client = wp_rest.Client(ROOT, auth=wp_rest.JWTAuth("admin", "pw"), transport=wp_rest.MockTransport(site))
    assert client.get_post(1) == {"id": 1}


def json_response(value: Any) -> wp_rest.Response:
    return wp_rest.Response(200, {"Content-Type": "application/json"}, json.dumps(value).encode())


# --- Loopback means loopback -----------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.localhost", "a.b.localhost", "localhost.example.com", "127.0.0.1.nip.io"])
def test_names_that_merely_look_local_get_no_credentials_over_http(host: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="plain HTTP"):
        wp_rest.Client(f"http://{host}/", auth=wp_rest.ApplicationPassword("a", "b" * 24))


def test_localhost_is_pinned_to_the_loopback_address_checked() -> None:
    with serve(lambda seen: json_answer({"host": seen.headers.get("Host")})) as server:
        port = server.server_address[1]
        client = wp_rest.Client(f"http://localhost:{port}/wp-json/", auth=wp_rest.ApplicationPassword("a", "b" * 24))
        assert client.request("GET", "/x") == {"host": f"localhost:{port}"}


def test_credentials_in_headers_follow_the_plain_http_rule_too() -> None:
    client = wp_rest.Client("http://example.com/wp-json/",
                            transport=wp_rest.MockTransport(lambda r: json_response({})))
    for name in ("Authorization", "cookie", "X-WP-Nonce"):
        with pytest.raises(wp_rest.ConfigError, match="plain HTTP"):
            client.request("GET", "/x", headers={name: "secret"})
    assert client.request("GET", "/x", headers={"X-Other": "1"}) == {}


def test_credentials_in_headers_do_not_follow_a_redirect_to_another_origin() -> None:
    def site(request: wp_rest.Request) -> wp_rest.Response:
        if request.url.startswith("https://x/"):
            return wp_rest.Response(302, {"Location": "https://elsewhere.example/wp-json/y"}, b"")
        return json_response({})

    transport = wp_rest.MockTransport(site)
    client = wp_rest.Client("https://x/wp-json/", transport=transport)
    client.request("GET", "/y", headers={"Authorization": "Bearer s3cret", "Cookie": "a=b", "X-WP-Nonce": "n"})
    assert [r.url for r in transport.requests] == ["https://x/wp-json/y", "https://elsewhere.example/wp-json/y"]
    assert not {"authorization", "cookie", "x-wp-nonce"} & {k.lower() for k in transport.requests[1].headers}


def test_a_request_http_client_refuses_to_write_is_reported_as_not_sent() -> None:
    with serve(lambda seen: json_answer({})) as server:
        client = wp_rest.Client(server.url + "/wp-json/", retry=False)
        with pytest.raises(wp_rest.TransportError) as info:
            client.send(client.build_request("POST", server.url + "/wp-json/é"))
        assert info.value.request_sent is False and "was not sent" in str(info.value)
        assert server.seen == []


@pytest.mark.parametrize("root", ["https://x/?rest_route=/&_method=DELETE", "https://x/wp-json/?.method=DELETE",
                                  "https://x/wp-json/?_envelope=1"])
def test_a_reserved_parameter_in_the_api_roots_own_query_is_refused(root: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="refused: PHP reads it as"):
        wp_rest.Client(root)


def test_discovery_says_when_the_site_redirects_to_another_path(caplog: pytest.LogCaptureFixture) -> None:
    def site(request: wp_rest.Request) -> wp_rest.Response:
        if request.url == "https://x/":
            return wp_rest.Response(301, {"Location": "https://x/blog/"}, b"")
        return wp_rest.Response(200, {"Link": '<https://x/blog/wp-json/>; rel="https://api.w.org/"'}, b"")

    with caplog.at_level("WARNING", logger="wp_rest"):
        root = wp_rest.Client("https://x/", transport=wp_rest.MockTransport(site)).api_root
    assert root == "https://x/blog/wp-json/"
    assert "https://x/ redirects to https://x/blog/" in caplog.text

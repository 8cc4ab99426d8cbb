"""The Client section: discovery, keep-alive, redirects, answers and errors, configuration
and the Abilities API, against loopback stubs (network faults and wire format only) and
MockTransport. Fuzzed answers, redirects and discovery (tests/fuzzkit.py) each record one
observation for RELIABILITY.md.
"""

from __future__ import annotations

import datetime
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import wp_rest
from faultkit import describe, free_port, leaks, self_signed_cert
from fuzzkit import HEADER_VALUES, SECRETS, Counter, credentials_stayed_home, fake_client, fuzz, headers_of
from reliability_log import observe
from stub import Answer, Seen, json_answer, json_response, serve

SECRET = "abcd EFGH 1234 ijkl MNOP 6789"
AUTH = wp_rest.ApplicationPassword("admin", SECRET)
ROOT = "http://127.0.0.1:9/wp-json/"


def api(handler: Any) -> Any:
    """A stub whose root is /wp-json/ and which answers like a REST server (Link header)."""

    def wrapped(seen: Seen) -> Any:
        answer = handler(seen)
        if isinstance(answer, Answer):
            answer.headers.setdefault("Link", '<http://127.0.0.1/wp-json/>; rel="https://api.w.org/"')
        return answer

    return serve(wrapped)


def client_for(server: Any, **kwargs: Any) -> wp_rest.Client:
    kwargs.setdefault("retry", False)
    return wp_rest.Client(server.url + "/wp-json/", **kwargs)


# --- discovery --------------------------------------------------------------


def test_discovery_reads_the_link_header_of_the_site() -> None:
    def handler(seen: Seen) -> Answer:
        if seen.path == "/blog/":
            return Answer(200, b"", {"Link": f'<{root}>; rel="https://api.w.org/"'})
        return json_answer({"namespaces": ["wp/v2"]})

    with serve(handler) as server:
        root = server.url + "/blog/index.php?rest_route=/"
        client = wp_rest.Client(server.url + "/blog", retry=False)
        assert client.api_root == root
        assert client.url_for("/wp/v2/posts", {"per_page": 5}) == (
            server.url + "/blog/index.php?rest_route=/wp/v2/posts&per_page=5")
        assert client.index() == {"namespaces": ["wp/v2"]}
        assert [s.method for s in server.seen] == ["HEAD", "GET"]


def test_discovery_falls_back_to_rest_route_when_no_link_header() -> None:
    def handler(seen: Seen) -> Answer:
        if seen.path.startswith("/?rest_route=/"):
            return json_answer({"namespaces": ["wp/v2"]} if seen.path == "/?rest_route=/" else [])
        return Answer(200, b"<html>home</html>", {"Content-Type": "text/html"})

    with serve(handler) as server:
        client = wp_rest.Client(server.url, retry=False)
        assert client.api_root == server.url + "/?rest_route=/"
        assert client.list_posts().items == []


def test_discovery_reports_a_site_without_rest_api() -> None:
    with serve(lambda s: Answer(200, b"<html>shop</html>", {"Content-Type": "text/html"})) as server:
        with pytest.raises(wp_rest.InvalidResponse) as info:
            wp_rest.Client(server.url, retry=False).list_posts()
    assert "no WordPress REST API found" in str(info.value)
    assert info.value.content_type == "text/html"


def test_discovery_refuses_a_root_on_another_origin_with_credentials() -> None:
    with serve(lambda s: Answer(200, b"", {"Link": '<https://elsewhere.example/wp-json/>; rel="https://api.w.org/"'})) as server:
        with pytest.raises(wp_rest.ConfigError, match="another origin"):
            wp_rest.Client(server.url, auth=AUTH, retry=False).me()
        assert all("Authorization" not in s.headers for s in server.seen)


@pytest.mark.parametrize("url", ["http://x/wp-json", "http://x/wp-json/", "http://x/sub/wp-json/"])
def test_api_root_given_directly_needs_no_discovery(url: str) -> None:
    client = wp_rest.Client(url)
    assert client.api_root == url.rstrip("/") + "/"


# --- keep-alive and threads -------------------------------------------------


def test_many_calls_reuse_one_connection() -> None:
    with api(lambda s: json_answer([{"id": 1}], X_WP_Total="1", X_WP_TotalPages="1")) as server:
        client = client_for(server, auth=AUTH)
        for _ in range(25):
            assert client.list_posts().items == [{"id": 1}]
        assert server.connections == 1
        assert client.transport.connections_opened == 1


def test_client_is_thread_safe_and_connections_are_bounded() -> None:
    def handler(seen: Seen) -> Answer:
        return json_answer({"path": seen.path})

    with api(handler) as server:
        client = client_for(server, auth=AUTH)
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(30):
                    got = client.request("GET", f"/t/{n}/{i}")
                    assert got == {"path": f"/wp-json/t/{n}/{i}"}
            except BaseException as exc:  # collected for the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(server.seen) == 240
        assert server.connections <= 8


# --- redirects --------------------------------------------------------------


def test_a_redirected_post_is_refused_and_never_replayed_as_get() -> None:
    with api(lambda s: Answer(301, b"", {"Location": "https://example.com/wp-json/wp/v2/posts"})) as server:
        client = client_for(server, auth=AUTH)
        with pytest.raises(wp_rest.RedirectError) as info:
            client.create_post(title="x")
    err = info.value
    assert err.status == 301 and err.location == "https://example.com/wp-json/wp/v2/posts"
    assert "Client('https://example.com/')" in str(err)
    assert [s.method for s in server.seen] == ["POST"]


def test_get_redirect_to_another_origin_drops_credentials() -> None:
    with api(lambda s: json_answer({"ok": True})) as other:
        target = other.url + "/wp-json/wp/v2/posts/1"
        with api(lambda s: Answer(302, b"", {"Location": target})) as first:
            client = client_for(first, auth=AUTH)
            assert client.request("GET", "/wp/v2/posts/1", headers={"Cookie": "a=b"}) == {"ok": True}
        assert "Authorization" in first.seen[0].headers
        assert {k.lower() for k in other.seen[0].headers} & {"authorization", "cookie"} == set()


def test_get_redirect_on_the_same_origin_keeps_credentials() -> None:
    def handler(seen: Seen) -> Answer:
        if seen.path.endswith("/old"):
            return Answer(301, b"", {"Location": "/wp-json/new"})
        return json_answer({"ok": True})

    with api(handler) as server:
        assert client_for(server, auth=AUTH).request("GET", "/old") == {"ok": True}
        assert all("Authorization" in s.headers for s in server.seen)


def test_redirect_loop_is_an_error() -> None:
    with api(lambda s: Answer(302, b"", {"Location": "/wp-json/a" if s.path.endswith("/b") else "/wp-json/b"})) as server:
        with pytest.raises(wp_rest.RedirectError, match="loop"):
            client_for(server).request("GET", "/a")


# --- responses --------------------------------------------------------------


def test_bom_and_php_notices_before_json_are_stripped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    notice = (b"<br />\n<b>Deprecated</b>:  Function foo is deprecated in <b>/var/www/x.php</b> "
              b"on line <b>12</b><br />\n")
    bodies = iter([b"\xef\xbb\xbf" + b'{"id": 1}', notice + b'{"id": 2}'])
    with api(lambda s: Answer(200, next(bodies), {"Content-Type": "application/json"})) as server:
        client = client_for(server)
        with caplog.at_level(logging.WARNING, logger="wp_rest"):
            assert client.request("GET", "/a") == {"id": 1}
            assert client.request("GET", "/b") == {"id": 2}
    assert "byte order mark" in caplog.text and "Deprecated" in caplog.text


def test_html_instead_of_json_is_a_typed_error() -> None:
    page = b"<!DOCTYPE html><html><title>Access denied</title>Cloud firewall</html>"
    with api(lambda s: Answer(403, page, {"Content-Type": "text/html; charset=UTF-8"})) as server:
        with pytest.raises(wp_rest.InvalidResponse) as info:
            client_for(server).request("GET", "/wp/v2/posts")
    err = info.value
    assert err.status == 403 and err.content_type.startswith("text/html")
    assert err.body_start.startswith("<!DOCTYPE html>")
    assert "HTML instead of JSON" in str(err) and "firewall" in str(err)


def test_server_level_basic_auth_is_named() -> None:
    with api(lambda s: Answer(401, b"<html>401</html>", {"Content-Type": "text/html", "WWW-Authenticate": 'Basic realm="staging"'})) as server:
        with pytest.raises(wp_rest.InvalidResponse, match="web server asks for its own Basic auth"):
            client_for(server).request("GET", "/")


@pytest.mark.parametrize(("status", "cls"), [
    (400, wp_rest.BadRequest), (401, wp_rest.AuthenticationError), (403, wp_rest.PermissionDenied),
    (404, wp_rest.NotFound), (429, wp_rest.RateLimited), (500, wp_rest.ServerError),
    (502, wp_rest.ServerError), (409, wp_rest.APIError),
])
def test_status_to_exception_table(status: int, cls: type[wp_rest.APIError]) -> None:
    body = {"code": "rest_x", "message": "<strong>Error:</strong> No.", "data": {"status": status}}
    with api(lambda s: json_answer(body, status)) as server:
        with pytest.raises(cls) as info:
            client_for(server).request("POST", "/wp/v2/posts", json={"title": "t"})
    err = info.value
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.method) == (status, "rest_x", body["message"], "POST")
    assert err.data == {"status": status}
    assert str(err).startswith(f"{status} rest_x: Error: No. (POST /wp/v2/posts)")


def test_401_explains_the_likely_causes() -> None:
    body = {"code": "rest_cannot_create", "message": "Sorry, you are not allowed to create posts as this user.", "data": {"status": 401}}
    with api(lambda s: json_answer(body, 401)) as server:
        with pytest.raises(wp_rest.AuthenticationError) as info:
            client_for(server, auth=AUTH).create_post(title="t")
        with pytest.raises(wp_rest.AuthenticationError) as anon:
            client_for(server).create_post(title="t")
    first, hint = str(info.value).split("\n")
    assert first == "401 rest_cannot_create: Sorry, you are not allowed to create posts as this user. (POST /wp/v2/posts)"
    assert "application password" in hint and "wp-rest doctor" in hint and "stripped" in hint
    assert "No credentials were sent" in str(anon.value)


def test_basic_auth_plugin_500_points_at_the_plugin() -> None:
    body = {"code": "incorrect_password", "message": "<strong>Error:</strong> bad", "data": None}
    with api(lambda s: json_answer(body, 500)) as server:
        with pytest.raises(wp_rest.ServerError, match="JSON Basic Authentication plugin"):
            client_for(server, auth=AUTH).me()


def test_unicode_and_html_round_trip_on_the_wire() -> None:
    title = "Crème brûlée 🍮 <b>bold</b> & \"quotes\" 日本語"

    def echo(seen: Seen) -> Answer:
        return json_answer({"title": {"raw": json.loads(seen.body)["title"]}}, 201)

    with api(echo) as server:
        post = client_for(server, auth=AUTH).create_post(title=title)
        assert post["title"]["raw"] == title
        assert server.seen[0].headers["Content-Type"] == "application/json; charset=utf-8"


def test_empty_2xx_body_is_none() -> None:
    with api(lambda s: Answer(204, b"")) as server:
        assert client_for(server).request("DELETE", "/x") is None


# --- transport errors -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_a_transport_error_and_the_request_was_not_sent() -> None:
    client = wp_rest.Client(f"http://127.0.0.1:{_free_port()}/wp-json/", auth=AUTH, retry=False)
    with pytest.raises(wp_rest.TransportError) as info:
        client.create_post(title="t")
    assert info.value.request_sent is False
    assert "connection refused" in str(info.value) and "was not sent" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)


def test_a_write_that_may_have_happened_says_so() -> None:
    def drop(handler: Any) -> None:
        handler.connection.shutdown(socket.SHUT_RDWR)

    with api(lambda s: drop) as server:
        with pytest.raises(wp_rest.TransportError) as info:
            client_for(server, auth=AUTH).create_post(title="t")
    assert info.value.request_sent is True
    assert "may have processed it" in str(info.value)


# --- secrets ----------------------------------------------------------------


def test_secrets_never_show_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    basic = wp_rest.BasicAuth("admin", "hunter2-login")
    assert repr(AUTH) == "ApplicationPassword(username='admin', password='****')"
    assert "hunter2" not in repr(basic)
    with api(lambda s: json_answer({"code": "rest_not_logged_in", "message": "no", "data": {"status": 401}}, 401)) as server:
        client = client_for(server, auth=AUTH)
        assert SECRET not in repr(client) and "****" in repr(client)
        with caplog.at_level(logging.DEBUG, logger="wp_rest"), pytest.raises(wp_rest.AuthenticationError) as info:
            client.me()
    token = server.seen[0].headers["Authorization"].split()[1]
    compact = SECRET.replace(" ", "")
    for text in (caplog.text, str(info.value), repr(info.value), repr(vars(info.value))):
        assert compact not in text and SECRET not in text and token not in text


# --- configuration ----------------------------------------------------------


@pytest.mark.parametrize(("env", "names"), [
    ({}, "WP_URL"),
    ({"WP_URL": "example.com"}, "WP_URL"),
    ({"WP_URL": "https://x", "WP_USERNAME": "admin"}, "WP_APP_PASSWORD"),
    ({"WP_URL": "https://x", "WP_APP_PASSWORD": SECRET}, "WP_USERNAME"),
    ({"WP_URL": "https://x", "WP_USERNAME": "a", "WP_APP_PASSWORD": "my login pw"}, "WP_APP_PASSWORD"),
    ({"WP_URL": "https://x", "WP_CA_BUNDLE": "/nonexistent.pem"}, "WP_CA_BUNDLE"),
    ({"WP_URL": "https://x", "WP_PASSWORD": "pw", "WP_AUTH": "jwt"}, "WP_PASSWORD is set but WP_USERNAME"),
])
def test_from_env_names_the_bad_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match=names):
        wp_rest.Client.from_env(env)


def test_from_env_builds_an_application_password_client() -> None:
    client = wp_rest.Client.from_env({"WP_URL": "https://x.example", "WP_USERNAME": "admin", "WP_APP_PASSWORD": SECRET})
    assert isinstance(client.auth, wp_rest.ApplicationPassword) and client.auth.username == "admin"


def test_from_env_takes_a_stored_site_and_a_ca_bundle(tmp_path: Path) -> None:
    config = tmp_path / "credentials.json"
    config.write_text(json.dumps({"sites": {"lab": {"url": "https://lab.example/", "username": "ed",
                                                    "application_password": "x" * 24}}}))
    config.chmod(0o600)
    pem = self_signed_cert(tmp_path)
    env = {"WP_REST_CONFIG": str(config), "WP_SITE": "lab", "WP_CA_BUNDLE": str(pem), "WP_USERNAME": "ignored",
           "WP_APP_PASSWORD": "y" * 24}
    client = wp_rest.Client.from_env(env)
    assert client.url == "https://lab.example/"
    assert isinstance(client.auth, wp_rest.ApplicationPassword) and client.auth.username == "ed"
    assert client.transport.ssl_context.cert_store_stats()["x509_ca"] == 1  # the bundle, not the system's


def test_a_method_override_header_is_refused() -> None:
    client = wp_rest.Client("https://x/wp-json/")
    for name in ("X-HTTP-Method-Override", "x-http-method-override"):
        with pytest.raises(wp_rest.ConfigError, match="refused"):
            client.build_request("GET", "/wp/v2/posts", headers={name: "DELETE"})
    assert client.build_request("POST", "/wp/v2/posts", headers={"X-HTTP-Method-Override": "post"})


# --- The Abilities API (unit level; the lab's WordPress 7.1 proves it for real) ------------


def _abilities_site(annotations: dict[str, bool], namespaces: list[str] | None = None) -> wp_rest.MockTransport:
    def answer(request: wp_rest.Request) -> wp_rest.Response:
        path = urllib.parse.urlsplit(request.url).path
        if path == "/wp-json/":
            return wp_rest.Response(200, {"Content-Type": "application/json"},
                                    json.dumps({"namespaces": namespaces or ["wp/v2"]}).encode())
        if namespaces is not None and "wp-abilities/v1" not in namespaces:
            return wp_rest.Response(404, {}, b'{"code":"rest_no_route","message":"No route","data":{"status":404}}')
        if path.endswith("/run"):
            return wp_rest.Response(200, {}, json.dumps({"method": request.method}).encode())
        return wp_rest.Response(200, {}, json.dumps({"name": "t/x", "meta": {"annotations": annotations}}).encode())
    return wp_rest.MockTransport(answer)


@pytest.mark.parametrize(("annotations", "method"), [
    ({"readonly": True}, "GET"), ({"destructive": True, "idempotent": True}, "DELETE"),
    ({"destructive": True, "idempotent": False}, "POST"), ({}, "POST"),
])
def test_run_ability_picks_the_method_wordpress_requires(annotations: dict[str, bool], method: str) -> None:
    transport = _abilities_site(annotations)
    client = wp_rest.Client("https://x/wp-json/", transport=transport)
    assert client.run_ability("t/x", {"n": 1, "tags": ["a"]}) == {"method": method}
    sent = transport.requests[-1]
    if method == "POST":
        assert json.loads(sent.body or b"") == {"input": {"n": 1, "tags": ["a"]}}
    else:
        assert sent.body is None and "input%5Btags%5D%5B0%5D=a" in sent.url


def test_run_ability_without_input_sends_none() -> None:
    transport = _abilities_site({"readonly": True})
    wp_rest.Client("https://x/wp-json/", transport=transport).run_ability("t/x")
    assert "input" not in transport.requests[-1].url


def test_a_site_without_the_abilities_api_says_so() -> None:
    client = wp_rest.Client("https://x/wp-json/", transport=_abilities_site({}, namespaces=["wp/v2"]))
    with pytest.raises(wp_rest.NotFound, match=r"has no Abilities API.*WordPress 6\.9 or later"):
        client.abilities()


@pytest.mark.parametrize("name", ["core", "Core/x", "a/b/c", "../x", "a/b?c=1", ""])
def test_ability_names_are_checked(name: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="not an ability name"):
        wp_rest.Client("https://x/wp-json/").ability(name)


# --- Bounds and the plain-HTTP rule for headers given by hand ------------------------------


@pytest.mark.parametrize("timeout", [float("inf"), 1e300, 10**400, float("nan"), 0, -1, True, "5"])
def test_a_timeout_must_be_a_sane_number(timeout: Any) -> None:
    with pytest.raises(wp_rest.ConfigError, match="timeout must be"):
        wp_rest.Client(ROOT, timeout=timeout)


def test_a_body_of_too_many_json_objects_is_not_decoded() -> None:
    body = b"[" + b"{}," * wp_rest.MAX_JSON_CONTAINERS + b"{}]"
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: wp_rest.Response(200, {}, body)))
    with pytest.raises(wp_rest.InvalidResponse, match="MAX_JSON_CONTAINERS"):
        client.request("GET", "/x")


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


def test_discovery_says_when_the_site_redirects_to_another_path(caplog: pytest.LogCaptureFixture) -> None:
    def site(request: wp_rest.Request) -> wp_rest.Response:
        if request.url == "https://x/":
            return wp_rest.Response(301, {"Location": "https://x/blog/"}, b"")
        return wp_rest.Response(200, {"Link": '<https://x/blog/wp-json/>; rel="https://api.w.org/"'}, b"")

    with caplog.at_level("WARNING", logger="wp_rest"):
        root = wp_rest.Client("https://x/", transport=wp_rest.MockTransport(site)).api_root
    assert root == "https://x/blog/wp-json/"
    assert "https://x/ redirects to https://x/blog/" in caplog.text


# --- Fuzzed: answers, redirects and discovery (tests/fuzzkit.py) --------------------------


STATUSES = st.sampled_from([200, 201, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 409, 429,
                            500, 502, 503, 504]) | st.integers(100, 599)
CONTENT_TYPES = st.sampled_from(["application/json; charset=UTF-8", "application/json", "text/html",
                                 "text/plain", "", "application/octet-stream"]) | st.text(max_size=30)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ERROR_BODIES = st.fixed_dictionaries(
    {"code": st.text(max_size=20) | st.integers() | st.none(), "message": st.text(max_size=40) | JSONISH,
     "data": JSONISH})
BODIES = (
    st.binary(max_size=300)
    | JSONISH.map(lambda v: json.dumps(v).encode())
    | ERROR_BODIES.map(lambda v: json.dumps(v).encode())
    | st.tuples(st.sampled_from([b"", b"\xef\xbb\xbf", b"<br />\n<b>Warning</b>: x on line <b>1</b><br />\n"]),
                JSONISH.map(lambda v: json.dumps(v).encode()), st.binary(max_size=5)).map(b"".join)
)
HEADERS = st.lists(st.tuples(st.sampled_from(["Content-Type", "Retry-After", "Location", "Link", "X-WP-Total",
                                              "X-WP-TotalPages", "WWW-Authenticate", "Content-Encoding"]),
                             HEADER_VALUES), max_size=6)
ANSWERS = st.tuples(STATUSES, CONTENT_TYPES, HEADERS, BODIES)


def scripted(answers: list[tuple[int, str, list[tuple[str, str]], bytes]]) -> Callable[[wp_rest.Request], wp_rest.Response]:
    queue = iter(answers)

    def answer(request: wp_rest.Request) -> wp_rest.Response:
        status, ctype, pairs, body = next(queue, (200, "application/json", [], b"{}"))
        return wp_rest.Response(status, headers_of([("Content-Type", ctype), *pairs]), body, request.url)

    return answer


_parse_count = Counter()


@fuzz(200)
@given(answers=st.lists(ANSWERS, min_size=1, max_size=4),
       call=st.sampled_from(["request", "get_post", "list_posts", "create_post", "update_post", "delete_post",
                             "me", "iter_posts", "list_terms"]))
def prop_any_answer_gives_a_value_or_a_wperror(answers: list[Any], call: str) -> None:
    _parse_count()
    client, transport = fake_client(scripted(answers))
    actions: dict[str, Callable[[], Any]] = {
        "request": lambda: client.request("GET", "/wp/v2/posts"),
        "get_post": lambda: client.get_post(5),
        "list_posts": lambda: client.list_posts(per_page=5),
        "create_post": lambda: client.create_post(title="t"),
        "update_post": lambda: client.update_post(5, title="t"),
        "delete_post": lambda: client.delete_post(5, force=True),
        "me": lambda: client.me(),
        "iter_posts": lambda: list(client.iter_posts()),
        "list_terms": lambda: client.list_terms("tags"),
    }
    try:
        actions[call]()
    except wp_rest.WPError as exc:
        assert leaks(SECRETS, exc) == []
    credentials_stayed_home(transport)
    writes = [r for r in transport.requests if r.method not in ("GET", "HEAD")]
    assert len(writes) <= 1  # a write is never re-sent (no fault here is "connection refused")


def test_response_parsing_observation() -> None:
    with observe("hostile input", "fuzzed answers (status, headers, body: bytes, JSON, error JSON, BOM/PHP "
                 "prefixes) through 9 public methods, with retries on",
                 "a value or a WPError; no foreign exception; credentials only to the API origin; "
                 "writes never re-sent") as obs:
        prop_any_answer_gives_a_value_or_a_wperror()
        obs.observed = f"{_parse_count.n} examples, all held"


LOCATIONS = st.sampled_from([
    "/wp-json/x", "https://127.0.0.1:8/wp-json/x", "http://127.0.0.1:9/wp-json/x", "http://evil.example/x",
    "//evil.example/x", "http://127.0.0.1:8@evil.example/x", "http://evil.example#@127.0.0.1:8/",
    "javascript:alert(1)", "file:///etc/passwd", "http://:8/", "http://[::1]:8/", "ftp://127.0.0.1:8/x",
    "http://127.0.0.1:8/wp-json/x\r\nX-Injected: 1", "", " ", "http://127.0.0.1:8\\@evil.example/",
]) | st.text(max_size=40)
_redirect_count = Counter()


@fuzz(250)
@given(hops=st.lists(st.tuples(st.sampled_from([301, 302, 303, 307, 308]), LOCATIONS), min_size=1, max_size=7),
       method=st.sampled_from(["GET", "HEAD", "POST", "DELETE"]))
@example(hops=[(302, "http://[/x")], method="GET")
@example(hops=[(302, "http://]/x")], method="GET")
@example(hops=[(302, "//evil.example/x")], method="GET")
def prop_redirects_never_carry_credentials_elsewhere(hops: list[tuple[int, str]], method: str) -> None:
    _redirect_count()
    answers = [(status, "text/html", [("Location", where)], b"") for status, where in hops]
    client, transport = fake_client(scripted(answers), retry=False)
    try:
        client.request(method, "/wp/v2/posts")
    except wp_rest.WPError as exc:
        assert leaks(SECRETS, exc) == []
    credentials_stayed_home(transport)
    for request in transport.requests:
        assert urllib.parse.urlsplit(request.url).scheme in ("http", "https")
    if method not in ("GET", "HEAD"):
        assert len(transport.requests) == 1  # a write is never redirected


def test_redirect_observation() -> None:
    with observe("hostile input", "fuzzed redirect chains (other hosts, userinfo tricks, javascript:/file:/ftp:, "
                 "CRLF, empty) for GET, HEAD, POST, DELETE",
                 "credentials only ever sent to the API origin; writes never redirected; only http(s) "
                 "followed") as obs:
        prop_redirects_never_carry_credentials_elsewhere()
        obs.observed = f"{_redirect_count.n} examples, all held"


_discovery_count = Counter()


@fuzz(200)
@given(link=st.sampled_from(['<https://evil.example/wp-json/>; rel="https://api.w.org/"',
                             '<//evil.example/wp-json/>; rel="https://api.w.org/"',
                             '</wp-json/>; rel="https://api.w.org/"', '<http://127.0.0.1:8/x?rest_route=/>; rel=https://api.w.org/',
                             '<javascript:x>; rel="https://api.w.org/"', ""]) | HEADER_VALUES,
       index=BODIES)
def prop_discovery_never_sends_credentials_to_another_origin(link: str, index: bytes) -> None:
    _discovery_count()
    assume(("[" in link) == ("]" in link))  # unbalanced: see test_a_bracket_in_a_link_header_is_a_wperror

    def answer(request: wp_rest.Request) -> wp_rest.Response:
        if request.method == "HEAD":
            return wp_rest.Response(200, headers_of([("Link", link)]), b"", request.url)
        return wp_rest.Response(200, headers_of([("Content-Type", "application/json")]), index, request.url)

    client, transport = fake_client(answer, url="http://127.0.0.1:8/site")
    try:
        client.me()
    except wp_rest.WPError:
        pass
    credentials_stayed_home(transport)


def test_discovery_observation() -> None:
    with observe("hostile input", "fuzzed Link headers and index bodies during API discovery",
                 "credentials never sent to another origin (ConfigError instead)") as obs:
        prop_discovery_never_sends_credentials_to_another_origin()
        obs.observed = f"{_discovery_count.n} examples, all held"


def test_a_bracket_in_a_link_header_is_a_wperror() -> None:
    with observe("hostile input", "discovery: Link: <http://[/wp-json/>; rel=\"https://api.w.org/\"",
                 "a WPError") as obs:
        def answer(request: wp_rest.Request) -> wp_rest.Response:
            link = '<http://[/wp-json/>; rel="https://api.w.org/"'
            return wp_rest.Response(200, headers_of([("Link", link)]), b"{}", request.url)

        client, _ = fake_client(answer, url="http://127.0.0.1:8/site")
        # The unusable Link is ignored; ?rest_route=/ answers "{}", which is no REST index.
        with pytest.raises(wp_rest.InvalidResponse, match="no WordPress REST API found") as info:
            client.me()
        obs.observed = describe(info.value)


# --- discovery and answers: the odd server -------------------------------------------------


def test_discovery_falls_back_to_rest_route_when_head_redirects_in_a_loop() -> None:
    def handler(seen: Seen) -> Answer:
        if seen.method == "HEAD":
            return Answer(302, b"", {"Location": "/"})
        return json_answer({"namespaces": ["wp/v2"]} if seen.path == "/?rest_route=/" else {})

    with serve(handler) as server:
        client = wp_rest.Client(server.url, retry=False)
        assert client.api_root == server.url + "/?rest_route=/"
        assert [s.method for s in server.seen] == ["HEAD", "GET"]


def test_an_error_whose_redacted_body_is_no_longer_json_stays_typed_and_secret_free() -> None:
    """A numeric password echoed as a JSON number: masking it breaks the JSON."""
    pin = "31415926"
    body = {"code": "rest_invalid_param", "message": "bad", "data": {"status": 400, "pin": int(pin)}}
    with api(lambda s: json_answer(body, status=400)) as server:
        client = client_for(server, auth=wp_rest.BasicAuth("ed", pin))
        with pytest.raises(wp_rest.InvalidResponse) as info:
            client.get_post(1)
    assert info.value.status == 400 and leaks([pin], info.value) == []


def test_a_string_page_number_is_read_as_a_number() -> None:
    with api(lambda s: json_answer([{"id": 3}], X_WP_Total="3", X_WP_TotalPages="3")) as server:
        page = client_for(server).list_posts(page=" 2", per_page="1")
    assert (page.page, page.per_page, page.next_page) == (2, 1, 3)
    assert "page=+2" in server.seen[0].path or "page=2" in server.seen[0].path


def test_iter_items_starts_at_the_page_asked_for() -> None:
    with api(lambda s: json_answer([{"id": 3}], X_WP_Total="3", X_WP_TotalPages="3")) as server:
        assert list(client_for(server).iter_posts(page="3")) == [{"id": 3}]
    assert len(server.seen) == 1 and "page=3" in server.seen[0].path


def test_iter_items_refuses_a_concurrency_out_of_range() -> None:
    for concurrency in (0, 33, 2.0):
        with pytest.raises(wp_rest.ConfigError, match="concurrency must be an integer from 1 to 32"):
            next(wp_rest.Client(ROOT).iter_posts(concurrency=concurrency))


def test_a_site_timezone_python_does_not_know_falls_back_to_the_offset() -> None:
    index = {"timezone_string": "Mars/Olympus_Mons", "gmt_offset": 5.5}
    with api(lambda s: json_answer(index)) as server:
        zone = client_for(server).site_timezone()
    assert zone == datetime.timezone(datetime.timedelta(hours=5.5))


def test_schedule_time_reads_an_offset_date_without_asking_the_site() -> None:
    client = wp_rest.Client(f"http://127.0.0.1:{free_port()}/wp-json/", retry=False)  # nothing listens
    assert client.schedule_time("2999-01-01T10:00:00Z") == datetime.datetime(2999, 1, 1, 10,
                                                                              tzinfo=datetime.timezone.utc)
    with pytest.raises(wp_rest.ConfigError, match="'next tuesday' is not an ISO 8601 date"):
        client.schedule_time("next tuesday")


def test_not_kept_names_meta_and_fields_stored_otherwise() -> None:
    asked = {"meta": {"rating": "5", "same": 1}, "status": "publish", "sticky": True, "format": "standard"}
    saved = {"meta": {"rating": 5, "same": 1}, "status": "pending", "sticky": True, "format": "standard"}
    assert wp_rest.Client.not_kept(asked, saved) == ["meta 'rating' was stored as 5",
                                                     "status is 'pending', not 'publish'"]


def test_upload_media_refuses_bytes_without_a_name_and_an_unreadable_file(tmp_path: Path) -> None:
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: json_response({})))
    with pytest.raises(wp_rest.ConfigError, match="needs filename= when given bytes"):
        client.upload_media(b"GIF89a")
    with pytest.raises(wp_rest.ConfigError, match=r"cannot read .*missing\.png.*No such file"):
        client.upload_media(tmp_path / "missing.png")
    assert client.transport.requests == []


def test_upload_media_sends_the_bytes_with_the_name_and_fields_and_status_in_the_query() -> None:
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: json_response({"id": 7})))
    assert client.upload_media(b"GIF89a", filename="dot.gif", alt_text="a dot") == {"id": 7}
    client.upload_media(b"GIF89a", filename="dot.gif", status="private")
    first, second = client.transport.requests
    assert first.body == b"GIF89a" and first.url == ROOT + "wp/v2/media?alt_text=a+dot"
    assert first.headers["Content-Type"] == "image/gif"
    assert first.headers["Content-Disposition"] == 'attachment; filename="dot.gif"'
    assert second.url == ROOT + "wp/v2/media?status=private"


# --- batches and exactly-once creation -------------------------------------------------------


def test_create_items_refuses_a_chunk_size_beyond_the_batch_limit() -> None:
    for size in (0, 26):
        with pytest.raises(wp_rest.ConfigError, match="chunk_size must be 1 to 25"):
            wp_rest.Client(ROOT).create_posts([{"title": "a"}], chunk_size=size)


def test_a_site_without_batch_v1_gets_items_one_by_one() -> None:
    """WordPress before 5.6 has no /batch/v1 (404 rest_no_route): every chunk goes item by item."""
    made = iter(range(1, 10))

    def handler(seen: Seen) -> Answer:
        if seen.path.endswith("/batch/v1"):
            return json_answer({"code": "rest_no_route", "message": "No route", "data": {"status": 404}}, 404)
        if json.loads(seen.body)["title"] == "bad":
            return json_answer({"code": "rest_invalid_param", "message": "bad", "data": {"status": 400}}, 400)
        return json_answer({"id": next(made)}, 201)

    with api(handler) as server:
        posts = [{"title": "a"}, {"title": "bad"}, {"title": "c"}]
        results = client_for(server, auth=AUTH).create_posts(posts, chunk_size=1)
    assert results[0] == {"id": 1} and results[2] == {"id": 2}
    assert isinstance(results[1], wp_rest.BadRequest) and results[1].code == "rest_invalid_param"
    assert [s.path for s in server.seen] == ["/wp-json/batch/v1"] + ["/wp-json/wp/v2/posts"] * 3


def test_a_batch_answer_without_one_response_per_item_is_invalid() -> None:
    with api(lambda s: json_answer({"responses": [{"status": 201, "body": {"id": 1}}]})) as server:
        with pytest.raises(wp_rest.InvalidResponse, match="without one response per request"):
            client_for(server, auth=AUTH).create_posts([{"title": "a"}, {"title": "b"}])


def test_a_batch_item_without_a_numeric_status_is_that_item_s_error() -> None:
    """A garbled sub-answer ("status": "201", or none) is reported for its item, not a TypeError."""
    answers = [{"status": "201", "body": {"id": 1}}, {"body": {"id": 2}}, {"status": 201, "body": {"id": 3}}]
    with api(lambda s: json_answer({"responses": answers})) as server:
        results = client_for(server, auth=AUTH).create_posts([{"title": t} for t in "abc"])
    assert [type(r) for r in results] == [wp_rest.ServerError, wp_rest.ServerError, dict]
    assert results[0].status == 500 and "(in /batch/v1)" in str(results[0]) and results[2] == {"id": 3}


def test_a_failed_batch_request_carries_the_results_before_it() -> None:
    def handler(seen: Seen) -> Answer:
        if len(server.seen) == 1:
            return json_answer({"responses": [{"status": 201, "body": {"id": 1}}]})
        return Answer(502, b"<html>bad gateway</html>", {"Content-Type": "text/html"})

    with api(handler) as server:
        with pytest.raises(wp_rest.ServerError) as info:
            client_for(server, auth=AUTH).create_posts([{"title": "a"}, {"title": "b"}], chunk_size=1)
    assert info.value.completed == [{"id": 1}]


def _once_site(post: Callable[[], Answer]) -> Any:
    """A site with no post yet: the slug lookup answers [], a create answers ``post()``."""
    return api(lambda s: json_answer([], X_WP_Total="0") if s.method == "GET" else post())


def test_create_once_does_not_look_again_when_the_create_never_left() -> None:
    def refuse(request: wp_rest.Request) -> wp_rest.Response:
        if request.method == "POST":
            raise wp_rest.TransportError("refused", request_sent=False)
        return wp_rest.Response(200, {"X-WP-Total": "0", "X-WP-TotalPages": "0"}, b"[]")

    transport = wp_rest.MockTransport(refuse)
    client = wp_rest.Client(ROOT, auth=AUTH, transport=transport, retry=wp_rest.Retry(total=0))
    with pytest.raises(wp_rest.TransportError, match="refused"):
        client.create_post_once("report-2024-06", title="t", settle=0)
    assert [r.method for r in transport.requests] == ["GET", "POST"]


def test_create_once_gives_up_after_its_tries_when_the_post_never_appears() -> None:
    with _once_site(lambda: Answer(500, b"<html>fatal</html>", {"Content-Type": "text/html"})) as server:
        client = client_for(server, auth=AUTH, retry=wp_rest.Retry(total=1, sleep=_no_sleep))
        with pytest.raises(wp_rest.ServerError):
            client.create_post_once("report-2024-06", title="t", settle=0)
    assert [s.method for s in server.seen] == ["GET", "POST", "GET", "POST", "GET"]


def _no_sleep(seconds: float) -> None:
    pass

"""Unit tests of wp_rest.Client against loopback stubs (network faults and wire format only)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.parse
from typing import Any

import pytest

import wp_rest
from stub import Answer, Seen, json_answer, serve

SECRET = "abcd EFGH 1234 ijkl MNOP 6789"
AUTH = wp_rest.ApplicationPassword("admin", SECRET)


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


# --- plain HTTP -------------------------------------------------------------


def test_credentials_over_plain_http_to_a_remote_host_are_refused() -> None:
    with pytest.raises(wp_rest.ConfigError, match="plain HTTP") as info:
        wp_rest.Client("http://example.com", auth=AUTH)
    assert "allow_insecure_http=True" in str(info.value)
    wp_rest.Client("http://example.com", auth=AUTH, allow_insecure_http=True)
    wp_rest.Client("http://example.com")  # anonymous reads are fine
    wp_rest.Client("http://localhost:8080", auth=AUTH)
    wp_rest.Client("http://[::1]:8080", auth=AUTH)


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
])
def test_from_env_names_the_bad_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match=names):
        wp_rest.Client.from_env(env)


def test_from_env_builds_an_application_password_client() -> None:
    client = wp_rest.Client.from_env({"WP_URL": "https://x.example", "WP_USERNAME": "admin", "WP_APP_PASSWORD": SECRET})
    assert isinstance(client.auth, wp_rest.ApplicationPassword) and client.auth.username == "admin"


@pytest.mark.parametrize("route", ["/../x", "/wp/v2/../../x", "/a?b=c", "/a#b", "//evil.example/x", "/a%2f..", "/a\\b", "/a\nb", "/a b"])
def test_routes_cannot_escape_the_api_root(route: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="invalid route"):
        wp_rest.Client("https://x/wp-json/").url_for(route)


@pytest.mark.parametrize("name", ["rest_route", "_method", "_envelope", "_jsonp",
                                  # PHP files these under the names above (php_register_variable_ex)
                                  ".method", " _method", "_method[x]", "rest.route", "rest[route",
                                  "rest route", ".envelope", "_jsonp\x00x"])
def test_params_cannot_change_the_route_or_method(name: str) -> None:
    for root in ("https://x/?rest_route=/", "https://x/wp-json/"):
        with pytest.raises(wp_rest.ConfigError, match="refused: PHP reads it as"):
            wp_rest.Client(root).url_for("/wp/v2/posts", {name: "/wp/v2/users"})


@pytest.mark.parametrize("name", ["method", "_methods", "rest_routes", "_embed", "a.b[c]"])
def test_params_that_php_keeps_apart_are_allowed(name: str) -> None:
    assert "?" in wp_rest.Client("https://x/wp-json/").url_for("/wp/v2/posts", {name: "1"})


def test_dicts_and_lists_in_params_are_encoded_the_php_way() -> None:
    url = wp_rest.Client("https://x/wp-json/").url_for(
        "/a", {"input": {"text": "a b&c", "n": 3, "tags": ["x", "y"], "on": True}, "skip": None})
    query = urllib.parse.urlsplit(url).query
    assert urllib.parse.parse_qsl(query) == [
        ("input[text]", "a b&c"), ("input[n]", "3"), ("input[tags][0]", "x"),
        ("input[tags][1]", "y"), ("input[on]", "true")]
    with pytest.raises(wp_rest.ConfigError, match="cannot contain brackets"):
        wp_rest.Client("https://x/wp-json/").url_for("/a", {"input": {"a]b": 1}})


def test_a_method_override_header_is_refused() -> None:
    client = wp_rest.Client("https://x/wp-json/")
    for name in ("X-HTTP-Method-Override", "x-http-method-override"):
        with pytest.raises(wp_rest.ConfigError, match="refused"):
            client.build_request("GET", "/wp/v2/posts", headers={name: "DELETE"})
    assert client.build_request("POST", "/wp/v2/posts", headers={"X-HTTP-Method-Override": "post"})


def test_param_values_are_encoded_and_cannot_add_params() -> None:
    url = wp_rest.Client("https://x/?rest_route=/").url_for("/wp/v2/posts", {"search": "a&rest_route=/b#c"})
    assert url == "https://x/?rest_route=/wp/v2/posts&search=a%26rest_route%3D/b%23c"


@pytest.mark.parametrize("bad", [0, -1, True, "5", 1.5])
def test_ids_must_be_positive_integers(bad: Any) -> None:
    with pytest.raises(wp_rest.ConfigError, match="positive integer"):
        wp_rest.Client("https://x/wp-json/").get_post(bad)


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

"""Hostile input, fuzzed with hypothesis: response parsing, route and query
building, redirects and discovery, and credentials (the MCP tools' arguments: test_mcp_fuzz.py).

JWT decoding is fuzzed in tests/test_jwt.py and not repeated here.
Each property records one observation (with its example count) for RELIABILITY.md.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import math
import os
import posixpath
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import wp_rest
from faultkit import Conn, FaultServer, Hit, describe, leaks, secret_forms
from reliability_log import observe

USER = "admin"
SECRET = "abcd EFGH 1234 ijkl MNOP 6789"
AUTH = wp_rest.ApplicationPassword(USER, SECRET)
SECRETS = [*secret_forms(SECRET), base64.b64encode(f"{USER}:{SECRET.replace(' ', '')}".encode()).decode()]
ROOT = "http://127.0.0.1:8/wp-json/"
ORIGIN = ("http", "127.0.0.1", 8)

#: Multiplies every example count: WP_FUZZ_SCALE=10 for a deeper run than the default few thousand.
SCALE = float(os.environ.get("WP_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class Counter:
    """Counts the examples a property ran (hypothesis does not say), for the report."""

    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.n += 1


# --- A transport that answers from fuzzed data ----------------------------------------


def headers_of(pairs: list[tuple[str, str]]) -> http.client.HTTPMessage:
    msg = http.client.HTTPMessage()
    for name, value in pairs:
        msg[name] = value
    return msg


def fake_client(answer: Callable[[wp_rest.Request], wp_rest.Response], url: str = ROOT,
                **kwargs: Any) -> tuple[wp_rest.Client, wp_rest.MockTransport]:
    """A client whose every request is answered by ``answer`` (the public transport seam)."""
    kwargs.setdefault("auth", AUTH)
    kwargs.setdefault("retry", wp_rest.Retry(total=2, sleep=lambda s: None))
    transport = wp_rest.MockTransport(answer)
    return wp_rest.Client(url, transport=transport, **kwargs), transport


def credentials_stayed_home(transport: wp_rest.MockTransport, origin: tuple[str, str, int] = ORIGIN) -> None:
    for request in transport.requests:
        secret = {k.lower() for k in request.headers} & {"authorization", "cookie", "x-wp-nonce"}
        if secret:
            assert wp_rest._origin(request.url) == origin, (request.url, secret)


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
HEADER_VALUES = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60)
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


# --- Raw bytes on a real socket ----------------------------------------------------------

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


# --- Routes and query parameters ----------------------------------------------------------

SEGMENTS = st.sampled_from(["wp", "v2", "posts", "5", "..", ".", "", "%2e%2e", "%2E.", ".%2e", "%2f", "%2F",
                            "%5c", "@evil.example", "evil.example:80", "http:", "https:", "//evil", "\\",
                            "?x=1", "#frag", ";x", "a b", "\x00", "\r\n", "é", "%", "%zz", "~user", "*"])
ROUTES = (st.lists(SEGMENTS, max_size=6).map(lambda segs: "/" + "/".join(segs))
          | st.text(max_size=40) | st.lists(SEGMENTS, max_size=6).map("".join))
PARAM_VALUES = (st.none() | st.booleans() | st.integers() | st.text(max_size=20)
                | st.lists(st.text(max_size=8) | st.integers(), max_size=3))
PARAMS = st.dictionaries(st.text(max_size=12) | st.sampled_from(["rest_route", "_method", "_envelope", "_jsonp",
                                                                   "page", "per_page", "search"]),
                         PARAM_VALUES, max_size=4)
_route_count = Counter()


def php_pairs(key: str, value: Any) -> list[tuple[str, str]]:
    """What PHP must parse back: None left out, lists as key[0], key[1]..., booleans as true/false."""
    if value is None:
        return []
    if isinstance(value, list):
        return [pair for i, item in enumerate(value) for pair in php_pairs(f"{key}[{i}]", item)]
    return [(key, str(value).lower() if isinstance(value, bool) else str(value))]


@fuzz(300)
@given(route=ROUTES, params=PARAMS, root=st.sampled_from([
    "http://127.0.0.1:8/wp-json/", "https://example.com/blog/wp-json/", "https://example.com/?rest_route=/",
    "https://example.com/blog/index.php?rest_route=/"]))
@example(route="/../../wp-admin", params={}, root="https://example.com/blog/wp-json/")
@example(route="/%2e%2e/x", params={"a&b": "c#d"}, root="https://example.com/?rest_route=/")
@example(route="//evil.example/x", params={}, root="https://example.com/blog/wp-json/")
@example(route="/wp/v2/posts", params={"rest_route": "/wp/v2/users"}, root="https://example.com/?rest_route=/")
def prop_routes_and_params_never_leave_the_api_root(route: str, params: dict[str, Any], root: str) -> None:
    _route_count()
    client = wp_rest.Client(root)
    try:
        url = client.url_for(route, params)
    except wp_rest.ConfigError:
        return
    base, got = urllib.parse.urlsplit(root), urllib.parse.urlsplit(url)
    assert (got.scheme, got.netloc, got.fragment) == (base.scheme, base.netloc, "")
    pairs = urllib.parse.parse_qsl(got.query, keep_blank_values=True)
    wanted = [pair for k, v in params.items() for pair in php_pairs(k, v)]
    if "rest_route=" in base.query:
        assert got.path == base.path
        routes = [v for k, v in pairs if k == "rest_route"]
        assert len(routes) == 1 and routes[0].startswith("/")
        assert posixpath.normpath(routes[0]) in (routes[0], routes[0].rstrip("/")) or routes[0] == "/"
        pairs = [(k, v) for k, v in pairs if k != "rest_route"]
    else:
        path = urllib.parse.unquote(got.path)
        assert path.startswith(base.path) and "/../" not in path + "/" and "/./" not in path + "/"
        assert posixpath.normpath(path).startswith(base.path.rstrip("/"))
        assert "%2f" not in got.path.lower()  # %5c: see test_an_encoded_backslash_cannot_traverse
    assert pairs == wanted  # no parameter added, dropped or split


def test_route_building_observation() -> None:
    with observe("hostile input", "fuzzed routes ('..', '%2e', '//host', '@host', '?', '#', controls) and "
                 "params (reserved names, '&', '=', '#') on path and ?rest_route= roots",
                 "ConfigError, or a URL on the same origin below the API root with exactly the given "
                 "params") as obs:
        prop_routes_and_params_never_leave_the_api_root()
        obs.observed = f"{_route_count.n} examples, all held"


def test_an_encoded_backslash_cannot_traverse() -> None:
    with observe("hostile input", "route '/a%5c..%5c..%5cwp-admin' (encoded backslashes)",
                 "ConfigError, like '..' and '%2f'") as obs:
        try:
            url = wp_rest.Client(ROOT).url_for("/a%5c..%5c..%5cwp-admin")
            obs.observed = f"accepted as {url}"
        except wp_rest.ConfigError as exc:
            obs.observed = f"ConfigError: {exc}"
            return
        raise AssertionError(obs.observed)


_id_count = Counter()


@fuzz(200)
@given(value=st.integers() | st.booleans() | st.floats() | st.text(max_size=10) | st.none(),
       taxonomy=st.text(max_size=20) | st.sampled_from(["tags", "categories", "../users", "tags/1", "TAGS"]))
def prop_ids_and_taxonomies_cannot_inject_into_the_path(value: Any, taxonomy: str) -> None:
    _id_count()
    client, transport = fake_client(lambda r: wp_rest.Response(200, headers_of([("Content-Type", "application/json")]),
                                                               b"[]" if "posts/" not in r.url else b"{}", r.url))
    try:
        client.get_post(value)
        assert type(value) is int and value > 0
        assert transport.requests[-1].url.split("?")[0] == f"{ROOT}wp/v2/posts/{value}"
    except wp_rest.ConfigError:
        assert not (type(value) is int and value > 0)
    try:
        client.list_terms(taxonomy)
        assert transport.requests[-1].url.split("?")[0] == f"{ROOT}wp/v2/{taxonomy}"
        assert "/" not in taxonomy and ".." not in taxonomy
    except wp_rest.ConfigError:
        pass


def test_id_observation() -> None:
    with observe("hostile input", "fuzzed post ids (ints, bools, floats, strings) and taxonomy names",
                 "ConfigError unless a positive int / a plain REST base; the path is exactly "
                 "/wp/v2/posts/<id>") as obs:
        prop_ids_and_taxonomies_cannot_inject_into_the_path()
        obs.observed = f"{_id_count.n} examples, all held"


# --- Redirects and discovery ------------------------------------------------------------

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


# --- Credentials --------------------------------------------------------------------------

HOSTS = st.sampled_from(["127.0.0.1", "localhost", "[::1]", "example.com", "127.0.0.1.evil.example",
                         "localhost.evil.example", "0.0.0.0", "127.1", "[::ffff:127.0.0.1]", "10.0.0.1",
                         "evil.example#@localhost", "localhost@evil.example", "localhost:80@evil.example",
                         "wp.localhost", "LOCALHOST", "xn--lcalhost-9za", "2130706433"]) | st.text(max_size=20)
_plain_count = Counter()
_plain_value_errors: set[str] = set()


@fuzz(250)
@given(host=HOSTS, scheme=st.sampled_from(["http", "https", "HTTP", "ftp", ""]), insecure=st.booleans())
def prop_credentials_never_go_over_plain_http_to_another_host(host: str, scheme: str, insecure: bool) -> None:
    _plain_count()
    url = f"{scheme}://{host}/wp-json/"
    try:
        client = wp_rest.Client(url, auth=AUTH, allow_insecure_http=insecure)
    except wp_rest.ConfigError:
        return
    except ValueError:  # brackets: see test_a_bracket_in_the_url_is_a_config_error
        _plain_value_errors.add(host)
        return
    parts = urllib.parse.urlsplit(client.url)
    if parts.scheme == "http" and not insecure:
        hostname = (parts.hostname or "").lower()
        assert hostname in ("localhost", "::1") or hostname.endswith(".localhost") or hostname.startswith("127.")


def test_plain_http_observation() -> None:
    with observe("secrets", "fuzzed hosts and schemes for a client with credentials (look-alikes: "
                 "127.0.0.1.evil.example, localhost@evil, 127.1, ::ffff:127.0.0.1, 0.0.0.0)",
                 "plain http only to loopback unless allow_insecure_http=True") as obs:
        prop_credentials_never_go_over_plain_http_to_another_host()
        odd = sorted(_plain_value_errors, key=len)[:1]
        obs.observed = f"{_plain_count.n} examples, all held" + (
            f"; {len(_plain_value_errors)} hosts with a bracket (e.g. {odd[0][:12]!r}) gave a plain ValueError, "
            "not ConfigError (known gap, see below)" if odd else "")


def test_a_bracket_in_the_url_is_a_config_error() -> None:
    with observe("hostile input", "Client('http://[/wp-json/') (unbalanced IPv6 bracket)",
                 "ConfigError naming the URL") as obs:
        with pytest.raises(wp_rest.ConfigError, match="not a valid URL") as info:
            wp_rest.Client("http://[/wp-json/", auth=AUTH)
        obs.observed = f"ConfigError: {info.value}"


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


_auth_count = Counter()


@fuzz(200)
@given(username=st.text(max_size=20), password=st.text(max_size=40))
def prop_auth_objects_never_show_the_password(username: str, password: str) -> None:
    _auth_count()
    for cls in (wp_rest.ApplicationPassword, wp_rest.BasicAuth):
        try:
            auth = cls(username, password)
        except (wp_rest.ConfigError, UnicodeEncodeError):
            continue
        shown = repr(auth) + str(auth) + repr(vars(auth).get("username"))
        template = f"{cls.__name__}(username=, password='****')"  # the repr's own words ("name", "word")
        if len(password.strip()) >= 4 and password.strip() not in repr(username) + template:
            assert password not in shown
        assert "password='****'" in repr(auth)
    try:
        token = wp_rest.BearerToken(password)
    except wp_rest.ConfigError:
        return
    assert repr(token) == "BearerToken(token='****')"


def test_auth_repr_observation() -> None:
    with observe("secrets", "fuzzed usernames and passwords in ApplicationPassword, BasicAuth, BearerToken",
                 "repr/str never show the password or token") as obs:
        prop_auth_objects_never_show_the_password()
        obs.observed = f"{_auth_count.n} examples, all held"


_retry_after_count = Counter()
DATES = st.builds(
    lambda when, zone, cut: email.utils.formatdate(when, usegmt=zone == "GMT").replace("+0000", zone)[:cut],
    st.floats(0, 2.5e11), st.sampled_from(["GMT", "+0000", "-0000", "+9999", "EST", "XYZ"]), st.integers(0, 40))


@fuzz(200)
@given(value=st.text(max_size=40) | DATES | st.integers(0, 10**400).map(lambda n: f" {n} "))
def prop_retry_after_parsing_is_total(value: str) -> None:
    _retry_after_count()
    got = wp_rest.Retry.parse_retry_after(value)
    assert got is None or (isinstance(got, float) and 0 <= got < math.inf)


def test_retry_after_observation() -> None:
    with observe("hostile input", "fuzzed Retry-After values (text, date-like strings)",
                 "None or a finite number of seconds >= 0; never an exception") as obs:
        prop_retry_after_parsing_is_total()
        obs.observed = f"{_retry_after_count.n} examples, all held"


_link_count = Counter()


@fuzz(200)
@given(values=st.lists(HEADER_VALUES | st.text(max_size=60), max_size=3))
def prop_link_header_parsing_is_total(values: list[str]) -> None:
    _link_count()
    links = wp_rest._parse_link_header(values)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in links.items())


def test_link_observation() -> None:
    with observe("hostile input", "fuzzed Link headers", "a dict of rel to URL; never an exception") as obs:
        prop_link_header_parsing_is_total()
        obs.observed = f"{_link_count.n} examples, all held"

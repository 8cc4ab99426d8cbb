"""The Helpers section: routes and query parameters built the way PHP reads them, ids and
REST bases checked before they reach a path, credentials only over https or to loopback,
Link headers parsed whatever they hold. Partly fuzzed with hypothesis (tests/fuzzkit.py);
each property records one observation for RELIABILITY.md.
"""

from __future__ import annotations

import posixpath
import socket
import urllib.parse
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import wp_rest
from fuzzkit import AUTH, HEADER_VALUES, ROOT, Counter, fake_client, fuzz, headers_of
from reliability_log import observe


def test_credentials_over_plain_http_to_a_remote_host_are_refused() -> None:
    with pytest.raises(wp_rest.ConfigError, match="plain HTTP") as info:
        wp_rest.Client("http://example.com", auth=AUTH)
    assert "allow_insecure_http=True" in str(info.value)
    wp_rest.Client("http://example.com", auth=AUTH, allow_insecure_http=True)
    wp_rest.Client("http://example.com")  # anonymous reads are fine
    wp_rest.Client("http://localhost:8080", auth=AUTH)
    wp_rest.Client("http://[::1]:8080", auth=AUTH)


def test_credentials_over_plain_http_through_a_remote_proxy_are_refused() -> None:
    # The proxy reads the request in clear text even when the site is this machine.
    with pytest.raises(wp_rest.ConfigError, match=r"to 127\.0\.0\.1 through the proxy proxy\.example"):
        wp_rest.Client("http://127.0.0.1:8080/", auth=AUTH, proxy="http://proxy.example:3128")
    wp_rest.Client("http://127.0.0.1:8080/", auth=AUTH, proxy="http://127.0.0.1:3128")


@pytest.mark.parametrize("host", ["evil.localhost", "a.b.localhost", "localhost.example.com", "127.0.0.1.nip.io"])
def test_names_that_merely_look_local_get_no_credentials_over_http(host: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="plain HTTP"):
        wp_rest.Client(f"http://{host}/", auth=wp_rest.ApplicationPassword("a", "b" * 24))


@pytest.mark.parametrize("root", ["https://x/?rest_route=/&_method=DELETE", "https://x/wp-json/?.method=DELETE",
                                  "https://x/wp-json/?_envelope=1"])
def test_a_reserved_parameter_in_the_api_roots_own_query_is_refused(root: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="refused: PHP reads it as"):
        wp_rest.Client(root)


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


def test_a_set_in_params_is_sent_as_a_sorted_list() -> None:
    # A set has no order of its own: sorting keeps the URL, and so caches and logs, stable.
    url = wp_rest.Client("https://x/wp-json/").url_for("/a", {"include": {3, 10, 2}})
    assert urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query) == [
        ("include[0]", "10"), ("include[1]", "2"), ("include[2]", "3")]


def test_a_rejected_application_password_gets_its_own_hint() -> None:
    body = b'{"code":"incorrect_password","message":"<strong>Error:</strong> bad","data":{"status":401}}'
    answer = wp_rest.Response(401, [("Content-Type", "application/json")], body)
    client, _ = fake_client(lambda r: answer, retry=False)
    with pytest.raises(wp_rest.AuthenticationError) as info:
        client.get_post(5)
    assert str(info.value).startswith("401 incorrect_password: Error: bad (GET /wp/v2/posts/5)\n")
    assert "rejected this user's application password: create a new one" in str(info.value)


def test_param_values_are_encoded_and_cannot_add_params() -> None:
    url = wp_rest.Client("https://x/?rest_route=/").url_for("/wp/v2/posts", {"search": "a&rest_route=/b#c"})
    assert url == "https://x/?rest_route=/wp/v2/posts&search=a%26rest_route%3D/b%23c"


@pytest.mark.parametrize("url", ["https://x/?rest_route=/", "https://x/blog/index.php?l=fr&rest_route=/wp"])
def test_a_rest_route_url_is_its_own_api_root(url: str) -> None:
    client = wp_rest.Client(url, transport=wp_rest.MockTransport(lambda r: pytest.fail("discovery sent")))
    base = url.split("rest_route=")[0]
    assert client.api_root == base + "rest_route=/"
    assert client.url_for("/wp/v2/posts", {"page": 2}) == base + "rest_route=/wp/v2/posts&page=2"


@pytest.mark.parametrize("bad", [0, -1, True, "5", 1.5, 2**63])
def test_ids_must_be_positive_integers(bad: Any) -> None:
    with pytest.raises(wp_rest.ConfigError, match="positive integer"):
        wp_rest.Client("https://x/wp-json/").get_post(bad)


# --- Fuzzed: routes and query parameters ----------------------------------------------


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
        assert type(value) is int and 0 < value < 2**63
        assert transport.requests[-1].url.split("?")[0] == f"{ROOT}wp/v2/posts/{value}"
    except wp_rest.ConfigError:
        assert not (type(value) is int and 0 < value < 2**63)
    try:
        client.list_terms(taxonomy)
        assert transport.requests[-1].url.split("?")[0] == f"{ROOT}wp/v2/{taxonomy}"
        assert "/" not in taxonomy and ".." not in taxonomy
    except wp_rest.ConfigError:
        pass


def test_id_observation() -> None:
    with observe("hostile input", "fuzzed post ids (ints, bools, floats, strings) and taxonomy names",
                 "ConfigError unless a positive int below 2**63 / a plain REST base; the path is exactly "
                 "/wp/v2/posts/<id>") as obs:
        prop_ids_and_taxonomies_cannot_inject_into_the_path()
        obs.observed = f"{_id_count.n} examples, all held"


# --- Fuzzed: hosts, schemes and Link headers --------------------------------------------


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


def test_link_targets_without_a_rel_are_skipped_and_the_first_of_a_rel_wins() -> None:
    values = ['<https://x/a>; title="no rel", <https://x/b>; rel="next alternate"', "<https://x/c>; rel=next"]
    assert wp_rest._parse_link_header(values) == {"next": "https://x/b", "alternate": "https://x/b"}


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


def test_a_port_python_cannot_read_counts_as_the_schemes_default() -> None:
    # A redirect's Location is not checked for its port before the same-origin comparison.
    assert wp_rest._origin("http://Site.example:99999/x") == ("http", "site.example", 80)
    assert wp_rest._origin("https://site.example:abc/") == ("https", "site.example", 443)


@pytest.mark.parametrize("resolved", [OSError("no such host"), ["192.0.2.7", "127.0.0.1"], []])
def test_localhost_that_does_not_resolve_to_loopback_only_gets_no_credentials_over_http(
        monkeypatch: pytest.MonkeyPatch, resolved: Any) -> None:
    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if isinstance(resolved, OSError):
            raise resolved
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)) for address in resolved]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    wp_rest._is_loopback.cache_clear()  # both cache the real answer; cleared again after
    wp_rest._loopback_address.cache_clear()
    try:
        with pytest.raises(wp_rest.ConfigError, match="plain HTTP to localhost"):
            wp_rest.Client("http://localhost:8080/", auth=AUTH)
    finally:
        wp_rest._is_loopback.cache_clear()
        wp_rest._loopback_address.cache_clear()


@pytest.mark.parametrize("name", ["dir/", "..", "a/..", 'say "hi".jpg', "tab\there.jpg"])
def test_an_upload_name_that_is_not_a_plain_file_name_is_refused(name: str) -> None:
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: pytest.fail("sent")))
    with pytest.raises(wp_rest.ConfigError, match=r"unusable file name .*give a plain name such as 'photo\.jpg'"):
        client.upload_media(b"x", filename=name)

"""The Auth section: auth flows driven by hand, without a client or a network (the httpx
pattern); OAuth 1.0a signing (RFC 5849) checked against the RFC's examples and oauthlib;
WooCommerce REST keys; the credentials file and named sites; and fuzzed auth objects
(an observation for RELIABILITY.md).
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import os
import re
import secrets
import stat
import time
import types
import urllib.parse
from collections.abc import Generator
from http.client import parse_headers
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

import wp_rest
from fuzzkit import Counter, fuzz
from reliability_log import observe
from stub import Seen, json_answer, json_response, serve

ROOT = "https://site.example/wp-json/"


def request(route: str = "/wp/v2/posts", method: str = "GET") -> wp_rest.Request:
    return wp_rest.Request(method, ROOT.rstrip("/") + route, {"User-Agent": "t"}, route=route, api_root=ROOT)


def response(status: int, body: Any, **headers: str) -> wp_rest.Response:
    raw = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return wp_rest.Response(status, parse_headers(io.BytesIO(raw.encode())), data, ROOT)


def drive(flow: Generator[wp_rest.Request, wp_rest.Response, None],
          answers: list[wp_rest.Response]) -> list[wp_rest.Request]:
    """Feed ``answers`` to the flow in order; return what it asked to send."""
    sent = [next(flow)]
    for answer in answers:
        try:
            sent.append(flow.send(answer))
        except StopIteration:
            break
    return sent


def test_application_password_header_is_basic_without_spaces() -> None:
    auth = wp_rest.ApplicationPassword("admin", "abcd EFGH 1234 ijkl MNOP 6789")
    [sent] = drive(auth.flow(request()), [response(200, {})])
    expected = base64.b64encode(b"admin:abcdEFGH1234ijklMNOP6789").decode()
    assert sent.headers["Authorization"] == "Basic " + expected
    assert "Authorization" not in request().headers  # the caller's request is not mutated


@pytest.mark.parametrize(("cls", "args"), [
    (wp_rest.ApplicationPassword, ("", "x")), (wp_rest.ApplicationPassword, ("a:b", "x")),
    (wp_rest.BasicAuth, ("admin", "")), (wp_rest.BearerToken, ("a b",)), (wp_rest.BearerToken, ("",)),
    (wp_rest.JWTAuth, ("admin", "")), (wp_rest.CookieAuth, ("", "pw")),
])
def test_bad_credentials_are_config_errors(cls: Any, args: tuple[str, ...]) -> None:
    with pytest.raises(wp_rest.ConfigError):
        cls(*args)


def test_bearer_token_header_and_repr() -> None:
    auth = wp_rest.BearerToken("abc.def.ghi")
    [sent] = drive(auth.flow(request()), [])
    assert sent.headers["Authorization"] == "Bearer abc.def.ghi"
    assert repr(auth) == "BearerToken(token='****')"


def _token(exp: float) -> str:
    return wp_rest.jwt_encode({"exp": int(exp), "data": {"user": {"id": "1"}}}, "k" * 32)


@pytest.mark.parametrize("shape", ["tmeister", "usefulteam"])
def test_jwt_login_reads_both_response_shapes_and_caches(shape: str) -> None:
    token = _token(time.time() + 600)
    body = {"token": token} if shape == "tmeister" else {"success": True, "data": {"token": token, "id": 1}}
    auth = wp_rest.JWTAuth("admin", "pw")
    login, final = drive(auth.flow(request()), [response(200, body), response(200, {})])[:2]
    assert (login.method, login.route) == ("POST", "/jwt-auth/v1/token")
    assert json.loads(login.body or b"") == {"username": "admin", "password": "pw"}
    assert "Authorization" not in login.headers
    assert final.headers["Authorization"] == "Bearer " + token
    # Cached: the next request goes straight out with the same token.
    [again] = drive(auth.flow(request()), [])
    assert again.headers["Authorization"] == "Bearer " + token


def test_jwt_renews_once_on_an_invalid_token_answer_and_retries_once() -> None:
    old, new = _token(time.time() + 600), _token(time.time() + 700)
    auth = wp_rest.JWTAuth("admin", "pw")
    auth._token, auth._expires = old, time.time() + 600
    refused = response(403, {"code": "jwt_auth_invalid_token", "message": "Expired token", "data": {"status": 403}})
    sent = drive(auth.flow(request()), [refused, response(200, {"token": new}), refused, response(200, {})])
    assert [s.route for s in sent] == ["/wp/v2/posts", "/jwt-auth/v1/token", "/wp/v2/posts"]
    assert sent[-1].headers["Authorization"] == "Bearer " + new


def test_jwt_does_not_renew_on_other_refusals() -> None:
    auth = wp_rest.JWTAuth("admin", "pw")
    auth._token, auth._expires = _token(time.time() + 600), time.time() + 600
    denied = response(403, {"code": "rest_cannot_create", "message": "no", "data": {"status": 403}})
    assert len(drive(auth.flow(request()), [denied])) == 1


def test_two_refused_requests_share_one_renewal() -> None:
    """Single flight: a flow refused after another flow renewed reuses the new token, no second login."""
    old, new = _token(time.time() + 600), _token(time.time() + 700)
    auth = wp_rest.JWTAuth("admin", "pw")
    auth._token, auth._expires = old, time.time() + 600
    refused = response(401, {"code": "jwt_auth_invalid_token", "message": "Expired token", "data": {"status": 401}})
    first, second = auth.flow(request()), auth.flow(request())
    assert next(first).headers["Authorization"] == next(second).headers["Authorization"] == "Bearer " + old
    assert first.send(refused).route == "/jwt-auth/v1/token"
    assert first.send(response(200, {"token": new})).headers["Authorization"] == "Bearer " + new
    retried = second.send(refused)
    assert (retried.route, retried.headers["Authorization"]) == ("/wp/v2/posts", "Bearer " + new)


def test_jwt_login_without_a_token_is_reported() -> None:
    auth = wp_rest.JWTAuth("admin", "pw")
    with pytest.raises(wp_rest.InvalidResponse, match="without a token"):
        drive(auth.flow(request()), [response(200, {"success": True, "data": {}})])


def test_self_signed_tokens_follow_the_tmeister_format() -> None:
    now = 1_800_000_000.0
    auth = wp_rest.JWTAuth.self_signed("s" * 40, 7, issuer="https://site.example", ttl=120, clock=lambda: now)
    [sent] = drive(auth.flow(request()), [])
    token = sent.headers["Authorization"].removeprefix("Bearer ")
    claims = wp_rest.jwt_decode(token, "s" * 40, issuer="https://site.example", clock=lambda: now)
    assert claims == {"iss": "https://site.example", "iat": 1_799_999_970, "nbf": 1_799_999_970,
                      "exp": 1_800_000_120, "data": {"user": {"id": "7"}}}


def test_self_signed_reads_the_issuer_from_the_index_once() -> None:
    auth = wp_rest.JWTAuth.self_signed("s" * 40, 7)
    index_req, signed = drive(auth.flow(request()), [response(200, {"home": "https://site.example"})])[:2]
    assert (index_req.route, "Authorization" in index_req.headers) == ("/", False)
    claims = wp_rest.jwt_decode(signed.headers["Authorization"][7:], "s" * 40)
    assert claims["iss"] == "https://site.example"


def test_cookie_login_failure_quotes_the_login_error() -> None:
    auth = wp_rest.CookieAuth("admin", "pw")
    page = b'<div id="login_error"><strong>Error:</strong> The password you entered is incorrect.</div>'
    with pytest.raises(wp_rest.AuthenticationError) as info:
        drive(auth.flow(request()), [response(200, {"url": "https://site.example"}), response(200, page)])
    assert "The password you entered is incorrect." in str(info.value)


def test_cookie_flow_logs_in_fetches_a_nonce_and_signs() -> None:
    auth = wp_rest.CookieAuth("admin", "pw")
    answers = [
        response(200, {"url": "https://site.example"}),
        response(302, b"", Set_Cookie="wordpress_logged_in_abc=admin%7C123; path=/; HttpOnly"),
        response(200, b"a1b2c3d4e5"),
        response(200, {}, X_WP_Nonce="ffff000011"),
    ]
    _index, login, nonce, signed = drive(auth.flow(request()), answers)
    assert (login.method, login.url, login.follow_redirects) == ("POST", "https://site.example/wp-login.php", False)
    assert b"testcookie" not in (login.body or b"")
    assert nonce.url.endswith("/wp-admin/admin-ajax.php?action=rest-nonce")
    assert signed.headers["Cookie"] == "wordpress_logged_in_abc=admin%7C123"
    assert signed.headers["X-WP-Nonce"] == "a1b2c3d4e5"
    assert auth._nonce == "ffff000011"  # refreshed from the answer


def test_cookie_flow_logs_in_again_once_when_the_session_has_ended() -> None:
    auth = wp_rest.CookieAuth("admin", "pw")
    auth._cookies, auth._nonce = {"wordpress_logged_in_abc": "old"}, "a1b2c3d4e5"
    auth._site_url = "https://site.example"
    refused = response(403, {"code": "rest_cookie_invalid_nonce", "message": "Cookie check failed",
                             "data": {"status": 403}})
    answers = [
        refused,
        response(400, b"0"),  # admin-ajax.php to a visitor WordPress does not know
        response(302, b"", Set_Cookie="wordpress_logged_in_abc=admin%7Cnew; path=/; HttpOnly"),
        response(200, b"ffff000011"),
        response(200, {}),
    ]
    first, ajax, login, nonce, again = drive(auth.flow(request()), answers)
    assert nonce.headers["Cookie"] == "wordpress_logged_in_abc=admin%7Cnew"
    assert first.headers["Cookie"] == "wordpress_logged_in_abc=old"
    assert ajax.url.endswith("action=rest-nonce") and login.url.endswith("/wp-login.php")
    assert again.headers["Cookie"] == "wordpress_logged_in_abc=admin%7Cnew"
    assert again.headers["X-WP-Nonce"] == "ffff000011"
    # Refused again at once: one fresh nonce, then that answer stands (no loop).
    sent = drive(auth.flow(request()), [refused, response(200, b"ffff000022"), refused])
    assert len(sent) == 3 and sent[-1].headers["X-WP-Nonce"] == "ffff000022"


def test_a_bare_auth_sends_the_request_unchanged_and_says_it_is_custom() -> None:
    auth = wp_rest.Auth()
    assert drive(auth.flow(request()), [response(200, {})]) == [request()]
    assert auth.describe() == "custom auth (Auth)" and auth.secrets() == ()


@pytest.mark.parametrize(("secret", "user_id", "match"), [
    ("", 7, "needs the site's JWT secret"), (b"", 7, "needs the site's JWT secret"),
    ("s" * 40, 0, "user_id must be a positive integer, not 0"),
    ("s" * 40, "admin", "user_id must be a positive integer, not 'admin'"),
    ("s" * 40, -3, "user_id must be a positive integer, not -3"),
])
def test_self_signed_needs_a_secret_and_a_user_id(secret: Any, user_id: Any, match: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match=match):
        wp_rest.JWTAuth.self_signed(secret, user_id)


@pytest.mark.parametrize(("answer", "error", "match"), [
    (response(200, b"<html>Site under maintenance</html>"), wp_rest.InvalidResponse,
     r"reading the site's home URL for the JWT issuer: unexpected 200 answer .* from GET /"),
    (response(200, {"name": "a site without home"}), wp_rest.InvalidResponse, "unexpected 200 answer"),
    (response(401, {"code": "rest_login_required", "message": "REST API restricted to authenticated users.",
                    "data": {"status": 401}}), wp_rest.AuthenticationError, "rest_login_required"),
])
def test_self_signed_without_a_readable_home_url_says_why(answer: wp_rest.Response, error: type[Exception],
                                                          match: str) -> None:
    auth = wp_rest.JWTAuth.self_signed("s" * 40, 7)
    with pytest.raises(error, match=match):
        drive(auth.flow(request()), [answer])
    assert auth._issuer is None  # asked again next time


def test_a_nonce_the_session_cannot_get_is_an_authentication_error() -> None:
    auth = wp_rest.CookieAuth("admin", "pw")
    answers = [
        response(200, {"url": "https://site.example"}),
        response(302, b"", Set_Cookie="wordpress_logged_in_abc=admin%7C123; path=/; HttpOnly"),
        response(400, b"0"),
    ]
    with pytest.raises(wp_rest.AuthenticationError) as info:
        drive(auth.flow(request()), answers)
    assert (info.value.status, info.value.code) == (400, "rest_nonce_failed")
    assert "admin-ajax.php?action=rest-nonce answered 400 '0'" in str(info.value)
    assert "The login cookies were not accepted; the session may have expired." in str(info.value)
    assert auth.secrets() == ("pw",)  # nothing of the failed session is kept


@pytest.mark.parametrize(("env", "match"), [
    ({"WP_APP_PASSWORD": "x" * 24, "WP_JWT_TOKEN": "a.b.c", "WP_USERNAME": "a"}, "both set"),
    ({"WP_USERNAME": "a", "WP_PASSWORD": "pw"}, "WP_AUTH"),
    ({"WP_AUTH": "oauth"}, "WP_AUTH"),
    ({"WP_AUTH": "jwt"}, "WP_PASSWORD"),
    ({"WP_JWT_SECRET": "s" * 32}, "WP_JWT_USER_ID"),
])
def test_from_env_refuses_ambiguous_or_incomplete_auth(env: dict[str, str], match: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match=match):
        wp_rest.Client.from_env({"WP_URL": "https://site.example", **env})


@pytest.mark.parametrize(("env", "cls"), [
    ({"WP_JWT_TOKEN": "a.b.c"}, wp_rest.BearerToken),
    ({"WP_JWT_SECRET": "s" * 32, "WP_JWT_USER_ID": "3"}, wp_rest.JWTAuth),
    ({"WP_USERNAME": "a", "WP_PASSWORD": "pw", "WP_AUTH": "jwt"}, wp_rest.JWTAuth),
    ({"WP_USERNAME": "a", "WP_PASSWORD": "pw", "WP_AUTH": "cookie"}, wp_rest.CookieAuth),
    ({"WP_USERNAME": "a", "WP_PASSWORD": "pw", "WP_AUTH": "basic"}, wp_rest.BasicAuth),
])
def test_from_env_builds_each_auth(env: dict[str, str], cls: type) -> None:
    assert type(wp_rest.Client.from_env({"WP_URL": "https://site.example", **env}).auth) is cls


def test_an_auth_step_may_not_leave_the_api_origin() -> None:
    class Leaky(wp_rest.Auth):
        def flow(self, request: wp_rest.Request) -> Generator[wp_rest.Request, wp_rest.Response, None]:
            yield wp_rest.Request("POST", "http://127.0.0.2:1/steal", {}, b"pw")

    def handler(seen: Seen) -> Any:
        return json_answer({})

    with serve(handler) as server:
        client = wp_rest.Client(server.url + "/wp-json/", auth=Leaky(), retry=False)
        with pytest.raises(wp_rest.ConfigError, match="leave"):
            client.me()
        assert server.seen == []


def test_a_plain_callable_is_accepted_as_auth() -> None:
    with serve(lambda seen: json_answer({"h": seen.headers.get("X-Key")})) as server:
        client = wp_rest.Client(server.url + "/wp-json/", auth=lambda r: r.with_headers(**{"X-Key": "k"}))
        assert client.request("GET", "/x") == {"h": "k"}


@pytest.mark.parametrize("flow_kind", ["jwt", "cookie"])
def test_a_hostile_auth_answer_is_a_wperror_not_a_recursion_error(flow_kind: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    auth: wp_rest.Auth = wp_rest.JWTAuth("admin", "pw") if flow_kind == "jwt" else wp_rest.CookieAuth("admin", "pw")
    with pytest.raises(wp_rest.WPError):
        drive(auth.flow(request()), [response(200, deep)])


# --- No secret in any error: whatever form the server echoes it in ----------------------------

ECHO_PASSWORDS = ["pässwörd/é+1 x", "pw1", "correct horse battery staple"]


def _echo_forms(password: str) -> list[str]:
    import urllib.parse

    return [password, json.dumps(password)[1:-1], json.dumps(password)[1:-1].replace("/", "\\/"),
            urllib.parse.quote(password, safe=""), urllib.parse.quote_plus(password)]


def _echoing_site(password: str) -> wp_rest.MockTransport:
    """A site whose every error quotes the password, in every spelling a server might use."""
    said = " | ".join(_echo_forms(password))

    def answer(request: wp_rest.Request) -> wp_rest.Response:
        if request.url.endswith("/wp-login.php"):
            page = f'<div id="login_error">Wrong password {said} for admin.</div>'
            return wp_rest.Response(200, {"Content-Type": "text/html"}, page.encode())
        body = json.dumps({"code": "jwt_auth_failed", "message": f"bad login: {said}",
                           "data": {"status": 403, "echo": said}}).encode()
        return wp_rest.Response(403 if "/jwt-auth/" in request.url else 401, {}, body)

    return wp_rest.MockTransport(answer)


@pytest.mark.parametrize("password", ECHO_PASSWORDS)
@pytest.mark.parametrize("kind", ["jwt", "basic", "cookie"])
def test_an_error_echoing_the_password_never_shows_it(kind: str, password: str) -> None:
    auth = {"jwt": wp_rest.JWTAuth, "basic": wp_rest.BasicAuth, "cookie": wp_rest.CookieAuth}[kind]("admin", password)
    client = wp_rest.Client("https://x/wp-json/", auth=auth, transport=_echoing_site(password))
    client._root = "https://x/wp-json/"  # no discovery round trip in this table
    if kind == "cookie":
        auth._site_url = "https://x"  # type: ignore[attr-defined]
    with pytest.raises(wp_rest.WPError) as info:
        client.get_post(1)
    shown = " ".join([str(info.value), repr(info.value), json.dumps(getattr(info.value, "data", None))])
    for form in _echo_forms(password):
        if len(form) >= 8:
            assert form not in shown, (kind, form, shown)
    assert "****" in shown
    if len(password) < 8:
        assert f" {password} " not in shown


# --- JWT tokens with an absurd expiry ------------------------------------------------------


@pytest.mark.parametrize("exp", [10**400, -(10**400)])
def test_a_jwt_with_an_absurd_exp_is_used_once_then_renewed(exp: int) -> None:
    token = wp_rest.jwt_encode({"exp": exp, "data": {"user": {"id": "1"}}}, "s" * 32)

    def site(request: wp_rest.Request) -> wp_rest.Response:
        if "/jwt-auth/v1/token" in request.url:
            return json_response({"token": token})
        return json_response({"id": 1})

    client = wp_rest.Client(ROOT, auth=wp_rest.JWTAuth("admin", "pw"), transport=wp_rest.MockTransport(site))
    assert client.get_post(1) == {"id": 1}


# --- Fuzzed: auth objects never show the password -----------------------------------------


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


# --- OAuth 1.0a signing (RFC 5849): the RFC's examples and oauthlib ------------------------


def _request(method: str, url: str, body: bytes | None = None, ctype: str = "") -> wp_rest.Request:
    headers = {"Content-Type": ctype} if ctype else {}
    return wp_rest.Request(method, url, headers, body)


def _header_params(request: wp_rest.Request) -> dict[str, str]:
    value = request.headers["Authorization"]
    assert value.startswith("OAuth ")
    pairs = re.findall(r'(\w+)="([^"]*)"', value)
    assert len(pairs) == value.count("=")  # every value quoted, and '=' only as separator
    return {k: urllib.parse.unquote(v) for k, v in pairs}


def test_rfc5849_section_1_2_example_gives_the_published_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "token_hex", lambda n: "chapoH")
    auth = wp_rest.OAuth1("dpf43f3p2l4k3l03", "kd94hf93k423kf44", "nnch734d00sl2jdk", "pfkkdhi9sl3r4s00",
                    clock=lambda: 137131202)
    signed = auth.sign(_request("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original"))
    assert 'oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"' in signed.headers["Authorization"]
    assert _header_params(signed)["oauth_signature"] == "MdpQcU8iPSUjWoN/UDMsK2sui9I="


def test_oauth_core_appendix_a5_vector() -> None:
    pairs = [("file", "vacation.jpg"), ("size", "original"), ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
             ("oauth_token", "nnch734d00sl2jdk"), ("oauth_signature_method", "HMAC-SHA1"),
             ("oauth_timestamp", "1191242096"), ("oauth_nonce", "kllo9940pd9333jh"), ("oauth_version", "1.0")]
    got = wp_rest._oauth_signature("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original",
                             pairs, "kd94hf93k423kf44&pfkkdhi9sl3r4s00", "HMAC-SHA1")
    assert got == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="


def test_rfc5849_section_3_4_1_base_string_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """3.4.1.3: query with encoded '=' and '%', a bare name, '+' in a form body, a repeated name."""
    seen: list[str] = []
    real = hmac.new

    def spy(key: bytes, msg: bytes, digestmod: Any) -> Any:
        seen.append(msg.decode())
        return real(key, msg, digestmod)

    monkeypatch.setattr(hmac, "new", spy)
    monkeypatch.setattr(secrets, "token_hex", lambda n: "7d8f3e4a")
    auth = wp_rest.OAuth1("9djdj82h48djs9d2", "j49sk3j29djd", "kkk9d7dh3k39sjv7", "dh893hdasih9",
                    clock=lambda: 137131201)
    auth.sign(_request("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
                       b"c2&a3=2+q", "application/x-www-form-urlencoded"))
    assert seen == [
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D"
        "%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a"
        "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"]


AWKWARD = [
    ("GET", "https://Example.COM:443/wp-json/wp/v2/posts?search=a+b%20c&tags=1,2&per_page=5&x=&_fields=id,title", None, ""),
    ("GET", "http://example.com:8080/?rest_route=/wp/v2/posts&filter%5Bmeta%5D=a%2Fb&q=%7E~!*'()", None, ""),
    ("GET", "https://example.com/wp-json/wp/v2/posts?search=caf%C3%A9%20%E2%98%95&a=1&a=2", None, ""),
    ("POST", "https://example.com/wp-json/wp/v2/posts?x=1",
     b"title=Gr%C3%BC%C3%9Fe+%26+more&content=%3Cp%3E1%2B1%3D2%3C%2Fp%3E&status=draft",
     "application/x-www-form-urlencoded; charset=UTF-8"),
    ("POST", "https://example.com/wp-json/wp/v2/posts?x=1", b'{"title": "caf\xc3\xa9 & +"}',
     "application/json; charset=utf-8"),
    ("DELETE", "http://127.0.0.1:8765/wp-json/wp/v2/posts/5?force=true", None, ""),
]


@pytest.mark.parametrize(("method", "url", "body", "ctype"), AWKWARD)
@pytest.mark.parametrize("algorithm", ["HMAC-SHA1", "HMAC-SHA256"])
def test_oauthlib_verifies_our_signature(method: str, url: str, body: bytes | None, ctype: str,
                                         algorithm: str) -> None:
    auth = wp_rest.OAuth1("ck ü+&=", "secret ü+&=%", "token/é", "tsecret&+ é", signature_method=algorithm)
    signed = auth.sign(_request(method, url, body, ctype))
    sent = _header_params(signed)
    assert sent["oauth_consumer_key"] == "ck ü+&=" and sent["oauth_token"] == "token/é"
    form = body.decode() if body and ctype.startswith("application/x-www-form-urlencoded") else None
    params = oauthlib_signature.collect_parameters(
        uri_query=urllib.parse.urlsplit(url).query, body=form,
        headers={"Authorization": signed.headers["Authorization"]})
    base = oauthlib_signature.signature_base_string(
        method, oauthlib_signature.base_string_uri(url), oauthlib_signature.normalize_parameters(params))
    sign = (oauthlib_signature.sign_hmac_sha1_with_client if algorithm == "HMAC-SHA1"
            else oauthlib_signature.sign_hmac_sha256_with_client)
    secrets = types.SimpleNamespace(client_secret="secret ü+&=%", resource_owner_secret="tsecret&+ é")
    assert sent["oauth_signature"] == sign(base, secrets)


def test_each_request_gets_a_fresh_nonce_and_the_secrets_stay_out_of_repr() -> None:
    auth = wp_rest.OAuth1("key", "consumer-secret-1", "tok", "token-secret-1")
    request = _request("GET", "https://example.com/wp-json/")
    nonces = {_header_params(auth.sign(request))["oauth_nonce"] for _ in range(50)}
    assert len(nonces) == 50
    text = repr(auth)
    assert "consumer-secret-1" not in text and "token-secret-1" not in text and "'key'" in text
    assert "token-secret-1" not in repr(wp_rest.OAuth1Flow("https://example.com", "k", "token-secret-1"))


def test_a_signature_method_the_servers_refuse_is_a_config_error() -> None:
    with pytest.raises(wp_rest.ConfigError, match="HMAC-SHA1 or HMAC-SHA256"):
        wp_rest.OAuth1("k", "s", signature_method="PLAINTEXT")


@pytest.mark.parametrize(("key", "secret"), [("", "s"), ("k", "")])
def test_oauth1_needs_both_consumer_credentials(key: str, secret: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match="OAuth1 needs the consumer key and the consumer secret"):
        wp_rest.OAuth1(key, secret)


@pytest.mark.parametrize("answer", [
    response(200, b"<!DOCTYPE html><html>Log in</html>"),  # a login page or a firewall instead
    response(200, b"oauth_token=abc"),  # no secret
    response(302, b""),
    response(403, b"<html>Forbidden</html>"),
    response(500, b"x" * 301),
])
def test_a_token_endpoint_answer_that_is_not_the_plugins_is_an_invalid_response(answer: wp_rest.Response) -> None:
    token_request = request("/oauth1/request", "POST")
    with pytest.raises(wp_rest.InvalidResponse, match=r"getting a request token \(is the OAuth1 plugin active\?\): "
                       r"unexpected \d+ answer \(.*\) from POST /oauth1/request"):
        wp_rest._token_answer(token_request, answer, "getting a request token")


# --- WooCommerce REST keys: Basic over https, one-legged OAuth 1.0a over http ----------------


KEY, SECRET = "ck_" + "a" * 40, "cs_" + "b" * 40


def _sign(url: str, **kwargs: Any) -> wp_rest.Request:
    request = wp_rest.Request("GET", url, {"Accept": "application/json"})
    flow = wp_rest.WooCommerceKeys(KEY, SECRET, **kwargs).flow(request)
    return next(flow)


def test_plain_http_signs_in_the_query_and_never_sends_the_secret() -> None:
    sent = _sign("http://shop.example/wp-json/wc/v3/products?per_page=5")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(sent.url).query))
    assert query["oauth_consumer_key"] == KEY and query["oauth_signature_method"] == "HMAC-SHA256"
    assert query["per_page"] == "5" and {"oauth_nonce", "oauth_timestamp", "oauth_signature"} <= set(query)
    assert SECRET not in sent.url and SECRET not in str(sent.headers) and "Authorization" not in sent.headers


def test_https_sends_basic_or_with_query_string_the_query_parameters() -> None:
    sent = _sign("https://shop.example/wp-json/wc/v3/products")
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    sent = _sign("https://shop.example/wp-json/wc/v3/products?page=2", query_string=True)
    assert sent.url.endswith(f"?page=2&consumer_key={KEY}&consumer_secret={SECRET}")
    assert "Authorization" not in sent.headers


def test_keys_are_checked_and_masked() -> None:
    assert SECRET not in repr(wp_rest.WooCommerceKeys(KEY, SECRET))
    with pytest.raises(wp_rest.ConfigError, match="ck_"):
        wp_rest.WooCommerceKeys(SECRET, KEY)


def test_php_order_sorts_raw_names_and_renames_as_php_does() -> None:
    """WooCommerce sorts $_GET by raw name (uksort strcmp), after PHP renamed '.' and ' ' to '_'."""
    pairs = [("b", "1"), ("a.b", "2"), ("f[z]", "3"), ("f[a]", "4"), ("fZ", "5"), ("b", "6")]
    assert wp_rest._php_order(pairs) == [("a_b", "2"), ("b", "6"), ("f[z]", "3"), ("f[a]", "4"), ("fZ", "5")]


# --- The credentials file and named sites (no network) ---------------------------


def _write(path: Path, sites: dict[str, Any], mode: int = 0o600) -> dict[str, str]:
    path.write_text(json.dumps({"sites": sites}))
    path.chmod(mode)
    return {"WP_REST_CONFIG": str(path)}


SHOP = {"url": "https://shop.example", "username": "ann", "application_password": "abcdEFGH1234ijklMNOP5678"}
BLOG = {"url": "https://blog.example", "username": "bob", "application_password": "ABCDefgh1234IJKLmnop5678"}


def test_named_sites_are_chosen_by_name_or_wp_site(tmp_path: Path) -> None:
    env = _write(tmp_path / "c.json", {"shop": SHOP, "blog": BLOG})
    assert wp_rest.stored_sites(env) == ["blog", "shop"]
    url, auth = wp_rest._auth_from_file("shop", env)
    assert url == "https://shop.example" and auth.username == "ann"
    url, auth = wp_rest._auth_from_file(None, {**env, "WP_SITE": "blog"})
    assert url == "https://blog.example" and auth.username == "bob"
    with pytest.raises(wp_rest.ConfigError, match=r"several sites .*WP_SITE"):
        wp_rest._auth_from_file(None, env)
    with pytest.raises(wp_rest.ConfigError, match=r"no site named 'nope'.*stored: blog, shop"):
        wp_rest._auth_from_file("nope", env)


def test_one_site_is_the_default_and_no_file_is_no_credentials(tmp_path: Path) -> None:
    env = _write(tmp_path / "c.json", {"shop": SHOP})
    assert wp_rest._auth_from_file(None, env)[0] == "https://shop.example"
    assert wp_rest._auth_from_file(None, {"WP_REST_CONFIG": str(tmp_path / "missing.json")}) is None


def test_a_file_other_users_can_read_is_refused(tmp_path: Path) -> None:
    env = _write(tmp_path / "c.json", {"shop": SHOP}, mode=0o644)
    with pytest.raises(wp_rest.ConfigError, match="chmod 600"):
        wp_rest._auth_from_file(None, env)


@pytest.mark.parametrize("content", [[], {"sites": []}, {"site": {}}])
def test_a_json_file_without_a_sites_object_is_refused(tmp_path: Path, content: Any) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(content))
    path.chmod(0o600)
    with pytest.raises(wp_rest.ConfigError, match=r"c.json is not a wp-rest credentials file \(no \"sites\" object\)"):
        wp_rest.stored_sites({"WP_REST_CONFIG": str(path)})


def test_an_auth_that_is_neither_an_auth_nor_callable_is_a_config_error() -> None:
    with pytest.raises(wp_rest.ConfigError, match=r"auth must be an wp_rest\.Auth or a callable, not tuple"):
        wp_rest.Client("https://site.example", auth=("admin", "pw"))  # type: ignore[arg-type]


def test_default_location_follows_xdg_and_home(tmp_path: Path) -> None:
    assert wp_rest.credentials_path({"XDG_CONFIG_HOME": "/x"}) == "/x/wp-rest/credentials.json"
    assert wp_rest.credentials_path({"WP_REST_CONFIG": "/y/c.json", "XDG_CONFIG_HOME": "/x"}) == "/y/c.json"
    assert wp_rest.credentials_path({}).endswith(os.path.join(".config", "wp-rest", "credentials.json"))


def test_the_file_is_written_0600_atomically(tmp_path: Path) -> None:
    path = tmp_path / "new" / "credentials.json"
    wp_rest._write_credentials(str(path), {"sites": {"shop": SHOP}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]

"""Auth flows driven by hand, without a client or a network (the httpx pattern)."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Generator
from http.client import parse_headers
from typing import Any

import pytest

import wp_rest
from stub import Seen, json_answer, serve

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

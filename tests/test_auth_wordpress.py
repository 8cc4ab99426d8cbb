"""Every auth method against the real WordPress and the lab's server-side implementations.

The JWT side is a PHP must-use plugin reproducing the Tmeister protocol with
hash_hmac (tests/wp/mu-plugins/wprest-lab-jwt.php), not our Python code; the
`basicauth` site reproduces the JSON Basic Authentication plugin.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

import wp_rest
from conftest import WPFactory

pytestmark = pytest.mark.wordpress


def _user(lab: dict[str, Any], role: str, site: str = "main") -> dict[str, Any]:
    user: dict[str, Any] = lab["sites"][site]["users"][role]
    return user


class CountingTransport:
    """A Transport that records each request (method and route) and passes it on."""

    def __init__(self, inner: wp_rest.Transport) -> None:
        self.inner = inner
        self.sent: list[str] = []

    def send(self, request: wp_rest.Request, *, timeout: float) -> wp_rest.Response:
        self.sent.append(f"{request.method} {request.route or request.url}")
        return self.inner.send(request, timeout=timeout)

    def close(self) -> None:
        self.inner.close()


def _counting(client: wp_rest.Client) -> list[str]:
    """Record every request the client sends, through the public transport seam."""
    assert client.api_root  # discover first: only the calls under test are counted
    client.transport = CountingTransport(client.transport)
    return client.transport.sent


# --- JWT: login through the plugin's token route -----------------------------


def test_jwt_login_then_create_a_post_with_a_cached_token(wp: WPFactory, lab: dict[str, Any],
                                                          cleanup: list[tuple[str, int]]) -> None:
    admin = _user(lab, "admin")
    client = wp(None, auth=wp_rest.JWTAuth(admin["username"], admin["password"]))
    sent = _counting(client)
    post = client.create_post(title="Written with a JWT")
    cleanup.append(("main", post["id"]))
    assert post["author"] == admin["id"]
    assert client.me()["username"] == admin["username"]
    assert sent.count("POST /jwt-auth/v1/token") == 1  # one login, then the cached token
    assert sent[-2:] == ["POST /wp/v2/posts", "GET /wp/v2/users/me"]


def test_jwt_wrong_login_password_is_the_plugins_error(wp: WPFactory) -> None:
    client = wp(None, auth=wp_rest.JWTAuth("admin", "not the password"))
    with pytest.raises(wp_rest.PermissionDenied) as info:
        client.me()
    assert info.value.code == "[jwt_auth] incorrect_password"
    assert info.value.route == "/jwt-auth/v1/token"


def test_jwt_token_is_renewed_ahead_of_its_expiry(wp: WPFactory, lab: dict[str, Any]) -> None:
    admin = _user(lab, "admin")
    now = [time.time()]
    auth = wp_rest.JWTAuth(admin["username"], admin["password"], clock=lambda: now[0])
    client = wp(None, auth=auth)
    sent = _counting(client)
    client.me()
    client.me()
    assert sent.count("POST /jwt-auth/v1/token") == 1
    now[0] += 7 * 86400 - 30  # inside the renewal margin before the plugin's 7-day exp
    client.me()
    assert sent.count("POST /jwt-auth/v1/token") == 2


def test_a_token_the_server_refuses_is_renewed_once_and_the_request_retried_once(
        wp: WPFactory, lab: dict[str, Any]) -> None:
    admin = _user(lab, "admin")
    home = lab["sites"]["main"]["url"]
    expired = wp_rest.jwt_encode({"iss": home, "exp": int(time.time()) - 10,
                                  "data": {"user": {"id": str(admin["id"])}}}, lab["sites"]["main"]["jwt_secret"])
    auth = wp_rest.JWTAuth(admin["username"], admin["password"])
    auth._token, auth._expires = expired, time.time() + 3600  # the client believes it is valid
    client = wp(None, auth=auth)
    sent = _counting(client)
    assert client.me()["id"] == admin["id"]
    assert sent == ["GET /wp/v2/users/me", "POST /jwt-auth/v1/token", "GET /wp/v2/users/me"]


# --- JWT: self-signed with the site's secret ---------------------------------


def test_a_self_signed_token_creates_a_post_as_that_user(wp: WPFactory, lab: dict[str, Any],
                                                         cleanup: list[tuple[str, int]]) -> None:
    author = _user(lab, "author")
    auth = wp_rest.JWTAuth.self_signed(lab["sites"]["main"]["jwt_secret"], author["id"])
    client = wp(None, auth=auth)
    post = client.create_post(title="Self-signed")
    cleanup.append(("main", post["id"]))
    assert post["author"] == author["id"]
    # The token really is what the plugin expects: verify it ourselves with the issuer.
    claims = wp_rest.jwt_decode(auth._token or "", lab["sites"]["main"]["jwt_secret"],
                                issuer=lab["sites"]["main"]["url"])
    assert claims["data"]["user"]["id"] == str(author["id"]) and claims["exp"] - claims["iat"] <= 330
    assert "****" in repr(auth) and lab["sites"]["main"]["jwt_secret"] not in repr(auth)


def _bearer_error(wp: WPFactory, token: str) -> wp_rest.APIError:
    with pytest.raises(wp_rest.APIError) as info:
        wp(None, auth=wp_rest.BearerToken(token)).me()
    return info.value


def test_expired_wrong_secret_and_wrong_issuer_tokens_each_get_their_error(wp: WPFactory, lab: dict[str, Any]) -> None:
    site = lab["sites"]["main"]
    now = int(time.time())
    base = {"iss": site["url"], "iat": now - 60, "data": {"user": {"id": "1"}}}

    expired = _bearer_error(wp, wp_rest.jwt_encode({**base, "exp": now - 5}, site["jwt_secret"]))
    assert (type(expired), expired.code, expired.message) == (wp_rest.PermissionDenied, "jwt_auth_invalid_token", "Expired token")
    assert "JWT plugin refused the token" in str(expired)

    forged = _bearer_error(wp, wp_rest.jwt_encode({**base, "exp": now + 60}, "x" * 40))
    assert (type(forged), forged.code, forged.message) == (wp_rest.PermissionDenied, "jwt_auth_invalid_token", "Signature verification failed")

    wrong_iss = _bearer_error(wp, wp_rest.jwt_encode({**base, "iss": site["url"] + "/", "exp": now + 60}, site["jwt_secret"]))
    assert (type(wrong_iss), wrong_iss.code) == (wp_rest.PermissionDenied, "jwt_auth_bad_iss")


def test_self_signed_with_a_wrong_secret_renews_once_then_reports(wp: WPFactory) -> None:
    client = wp(None, auth=wp_rest.JWTAuth.self_signed("y" * 40, 1))
    sent = _counting(client)
    with pytest.raises(wp_rest.PermissionDenied) as info:
        client.me()
    assert info.value.message == "Signature verification failed"
    assert sent == ["GET /", "GET /wp/v2/users/me", "GET /wp/v2/users/me"]


def test_from_env_with_jwt_variables(lab: dict[str, Any], cleanup: list[tuple[str, int]]) -> None:
    site = lab["sites"]["main"]
    admin = _user(lab, "admin")
    by_password = wp_rest.Client.from_env({"WP_URL": site["url"], "WP_USERNAME": "admin",
                                           "WP_PASSWORD": admin["password"], "WP_AUTH": "jwt"})
    assert by_password.me()["id"] == admin["id"]
    by_secret = wp_rest.Client.from_env({"WP_URL": site["url"], "WP_JWT_SECRET": site["jwt_secret"],
                                         "WP_JWT_USER_ID": str(admin["id"])})
    token = by_secret.auth._token if isinstance(by_secret.auth, wp_rest.JWTAuth) else None
    assert token is None and by_secret.me()["id"] == admin["id"]
    minted = by_secret.auth._token if isinstance(by_secret.auth, wp_rest.JWTAuth) else None
    by_token = wp_rest.Client.from_env({"WP_URL": site["url"], "WP_JWT_TOKEN": minted or ""})
    assert by_token.me()["id"] == admin["id"]


# --- JSON Basic Authentication plugin ----------------------------------------


def test_basic_auth_plugin_site_accepts_the_login_password(wp: WPFactory, lab: dict[str, Any],
                                                           cleanup: list[tuple[str, int]]) -> None:
    author = _user(lab, "author", "basicauth")
    client = wp(None, "basicauth", auth=wp_rest.BasicAuth(author["username"], author["password"]))
    post = client.create_post(title="Via the Basic-Auth plugin")
    cleanup.append(("basicauth", post["id"]))
    assert post["author"] == author["id"]


def test_basic_auth_plugin_quirk_is_explained(wp: WPFactory, lab: dict[str, Any]) -> None:
    with pytest.raises(wp_rest.ServerError) as wrong:
        wp(None, "basicauth", auth=wp_rest.BasicAuth("author", "wrong password")).me()
    err = wrong.value
    assert (err.status, err.code, err.data) == (500, "incorrect_password", None)
    assert "JSON Basic Authentication plugin" in str(err)
    # ...and the plugin turns even a valid application password into the same 500.
    with pytest.raises(wp_rest.ServerError, match="JSON Basic Authentication plugin"):
        wp("author", "basicauth").me()


# --- cookie + nonce (core, no plugin) ----------------------------------------


def test_cookie_login_creates_a_post_then_lists_drafts(wp: WPFactory, lab: dict[str, Any],
                                                       cleanup: list[tuple[str, int]]) -> None:
    author = _user(lab, "author")
    auth = wp_rest.CookieAuth(author["username"], author["password"])
    client = wp(None, auth=auth)
    post = client.create_post(title="Written with cookies")
    cleanup.append(("main", post["id"]))
    assert post["author"] == author["id"]
    drafts = client.list_posts(status="draft", author=author["id"])
    assert post["id"] in [p["id"] for p in drafts.items]


def test_cookie_auth_refreshes_a_refused_nonce_once(wp: WPFactory, lab: dict[str, Any]) -> None:
    admin = _user(lab, "admin")
    auth = wp_rest.CookieAuth(admin["username"], admin["password"])
    client = wp(None, auth=auth)
    assert client.me()["id"] == admin["id"]
    auth._nonce = "0123456789"  # a nonce WordPress will refuse
    sent = _counting(client)
    assert client.me()["id"] == admin["id"]
    assert sent[0] == "GET /wp/v2/users/me" and sent[-1] == "GET /wp/v2/users/me"
    assert any("rest-nonce" in s for s in sent) and len(sent) == 3


def test_cookie_auth_wrong_password_says_login_failed(wp: WPFactory) -> None:
    with pytest.raises(wp_rest.AuthenticationError) as info:
        wp(None, auth=wp_rest.CookieAuth("author", "wrong password")).me()
    assert info.value.code == "login_failed" and "refused the login" in str(info.value)
    assert "wrong password" not in str(info.value)


# --- secrets -----------------------------------------------------------------


def test_no_secret_appears_in_repr_logs_or_errors(wp: WPFactory, lab: dict[str, Any],
                                                   caplog: pytest.LogCaptureFixture,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    site = lab["sites"]["main"]
    admin = _user(lab, "admin")
    secrets = {admin["password"], admin["app_password"], admin["app_password"].replace(" ", ""),
               site["jwt_secret"], "wrong-password-123"}
    auths: list[wp_rest.Auth] = [
        wp_rest.ApplicationPassword("admin", admin["app_password"]),
        wp_rest.BasicAuth("admin", admin["password"]),
        wp_rest.JWTAuth("admin", admin["password"]),
        wp_rest.JWTAuth.self_signed(site["jwt_secret"], admin["id"]),
        wp_rest.CookieAuth("admin", admin["password"]),
        wp_rest.JWTAuth("admin", "wrong-password-123"),
        wp_rest.CookieAuth("admin", "wrong-password-123"),
    ]
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="wp_rest"):
        for auth in auths:
            client = wp(None, auth=auth)
            seen += [repr(auth), repr(client)]
            try:
                client.me()
                client.request("GET", "/wp/v2/posts/999999")
            except wp_rest.WPError as exc:
                seen += [str(exc), repr(exc), repr(vars(exc))]
            if isinstance(auth, wp_rest.JWTAuth) and auth._token:
                secrets.add(auth._token)
    out = capsys.readouterr()
    blob = "\n".join([*seen, caplog.text, out.out, out.err])
    for secret in secrets:
        assert secret not in blob


@pytest.mark.parametrize("kind", ["jwt", "cookie"])
def test_sixteen_threads_starting_together_cause_exactly_one_login(
        wp: WPFactory, lab: dict[str, Any], kind: str) -> None:
    admin = _user(lab, "admin")
    auth: wp_rest.Auth = (wp_rest.JWTAuth(admin["username"], admin["password"]) if kind == "jwt"
                          else wp_rest.CookieAuth(admin["username"], admin["password"]))
    client = wp(None, auth=auth)
    sent = _counting(client)
    start = threading.Barrier(16)
    errors: list[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            client.me()
        except wp_rest.WPError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    login = "POST /jwt-auth/v1/token" if kind == "jwt" else "POST /wp-login.php"
    logins = sum(1 for line in sent if line.startswith(login) or line.endswith("/wp-login.php"))
    assert errors == [] and logins == 1, (errors, sent)
    assert sent.count("GET /wp/v2/users/me") == 16


def test_cookie_auth_works_where_application_passwords_are_unavailable(
        wp: WPFactory, lab: dict[str, Any], cleanup: list[tuple[str, int]]) -> None:
    # The production site over plain http offers no application passwords ("authentication": []),
    # as an old or locked-down site would; core's cookie + nonce still writes.
    author = _user(lab, "author", "production")
    client = wp(None, "production", auth=wp_rest.CookieAuth(author["username"], author["password"]))
    assert client.index()["authentication"] == []
    post = client.create_post(title="Cookies where app passwords are off")
    cleanup.append(("production", post["id"]))
    assert post["author"] == author["id"]
    assert post["id"] in [p["id"] for p in client.list_posts(status="draft", author=author["id"]).items]

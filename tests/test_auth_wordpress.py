"""Every auth method against the real WordPress and the lab's server-side implementations.

The JWT side is a PHP must-use plugin reproducing the Tmeister protocol with
hash_hmac (tests/wp/mu-plugins/wprest-lab-jwt.php), not our Python code; the
`basicauth` site reproduces the JSON Basic Authentication plugin. The three-legged
flow of the WP-API OAuth1 plugin runs against its lab implementation
(tests/wp/mu-plugins/oauth1.php), WooCommerce keys (Basic over https, one-legged
OAuth 1.0a over http) against the lab's implementation of WooCommerce's
verification (tests/wp/mu-plugins/woocommerce.php): PHP, independent of our Python.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from typing import Any

import pytest
import requests

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


def test_a_session_wordpress_no_longer_knows_is_replaced_by_one_new_login(
        wp: WPFactory, lab: dict[str, Any]) -> None:
    admin = _user(lab, "admin")
    auth = wp_rest.CookieAuth(admin["username"], admin["password"])
    client = wp(None, auth=auth)
    assert client.me()["id"] == admin["id"]
    # As after a logout elsewhere: the cookie names a session WordPress does not have.
    stale = {name: f"{admin['username']}%7C9999999999%7Cgone%7C0" for name in auth._cookies}
    auth._cookies = dict(stale)
    sent = _counting(client)
    assert client.me()["id"] == admin["id"]
    assert [s.split("?")[0].rsplit("/", 1)[-1] for s in sent] == [
        "me", "admin-ajax.php", "wp-login.php", "admin-ajax.php", "me"]
    assert auth._cookies and auth._cookies != stale
    # A login password that no longer works ends it there: one login, no loop.
    auth._cookies, auth._password = dict(stale), "no longer the password"
    sent.clear()
    with pytest.raises(wp_rest.AuthenticationError) as info:
        client.me()
    assert info.value.code == "login_failed" and len(sent) == 3


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


# --- Application passwords ---------------------------------------------------------------


@pytest.mark.parametrize(("site", "code"), [("apache", "rest_not_logged_in"), ("main", "incorrect_password")])
def test_a_wrong_application_password_is_explained(wp: WPFactory, lab: dict[str, Any], site: str, code: str) -> None:
    """Bare WordPress answers a wrong application password as if none was sent; on a site with
    WooCommerce (the lab's main site runs its authentication), its rest_authentication_errors
    fallback makes core report it: 401 incorrect_password."""
    wrong = wp_rest.ApplicationPassword("admin", "abcd EFGH 1234 ijkl MNOP 6789")
    client = wp(None, site, auth=wrong)
    with pytest.raises(wp_rest.AuthenticationError) as me:
        client.me()
    assert (me.value.status, me.value.code) == (401, code)
    assert "application password" in str(me.value) and "wp-rest doctor" in str(me.value)
    with pytest.raises(wp_rest.AuthenticationError) as create:
        client.create_post(title="x")
    assert create.value.code in ("rest_cannot_create", code)
    if code == "rest_not_logged_in":  # ...and serves public reads anonymously.
        assert client.list_posts(per_page=1).total >= 1


def test_the_login_password_is_not_an_application_password(wp: WPFactory, lab: dict[str, Any]) -> None:
    user = lab["sites"]["main"]["users"]["admin"]
    with pytest.raises(wp_rest.AuthenticationError):
        wp(None, auth=wp_rest.ApplicationPassword(user["username"], user["password"])).me()


def test_application_password_spaces_are_optional_and_case_matters(wp: WPFactory, lab: dict[str, Any]) -> None:
    user = lab["sites"]["main"]["users"]["author"]
    compact = user["app_password"].replace(" ", "")
    assert wp(None, auth=wp_rest.ApplicationPassword("author", compact)).me()["username"] == "author"
    with pytest.raises(wp_rest.AuthenticationError):
        wp(None, auth=wp_rest.ApplicationPassword("author", compact.swapcase())).me()


def test_application_passwords_are_ignored_on_a_production_http_site(wp: WPFactory) -> None:
    client = wp("admin", "production")
    assert client.index()["authentication"] == []
    with pytest.raises(wp_rest.AuthenticationError) as info:
        client.me()
    assert info.value.code == "rest_not_logged_in"


# --- OAuth 1.0a: the lab's OAuth1 plugin (tests/wp/mu-plugins/oauth1.php) -----------


SITE = "apache"  # the lab site (Apache + mod_php) where the OAuth1 plugin is active


def _consumers(wp: WPFactory) -> dict[str, dict[str, Any]]:
    rows = wp("admin", SITE).request("GET", "/wprest-lab/v1/oauth1-consumers")
    return {row["callback"]: row for row in rows}


def _approve_in_browser(lab: dict[str, Any], authorize_url: str, answer: str = "authorize") -> str:
    """What the user does: log in, open the authorize page, press the button; returns the page."""
    info = lab["sites"][SITE]
    browser = requests.Session()
    login = browser.post(info["url"] + "/wp-login.php", allow_redirects=False,
                         data={"log": "admin", "pwd": info["users"]["admin"]["password"]})
    assert login.status_code == 302
    page = browser.get(authorize_url)  # /oauth1/authorize redirects to wp-login.php?action=oauth1_authorize
    assert "action=oauth1_authorize" in page.url and 'id="oauth1_authorize_form"' in page.text
    fields = dict(re.findall(r'name="(_wpnonce|_wp_http_referer|consumer|oauth_token)" value="([^"]*)"', page.text))
    action = re.search(r'id="oauth1_authorize_form" action="([^"]+)"', page.text)
    assert action and {"_wpnonce", "oauth_token", "consumer"} <= set(fields)
    done = browser.post(action.group(1).replace("&#038;", "&"), data={**fields, "wp-submit": answer})
    assert done.status_code == 200
    return done.text


def _verifier(page: str) -> str:
    found = re.search(r"Your verification token is <code>([^<]+)</code>", page)
    assert found, page[:500]
    return found.group(1)


@pytest.mark.wordpress
def test_three_legged_flow_in_the_browser_then_a_post_signed_with_the_token(
        wp: WPFactory, lab: dict[str, Any], cleanup: list[tuple[str, int]]) -> None:
    consumer = _consumers(wp)["oob"]
    info = lab["sites"][SITE]
    flow = wp_rest.OAuth1Flow(info["url"], consumer["key"], consumer["secret"])
    assert flow.endpoints()["request"] == info["url"] + "/oauth1/request"
    token, secret = flow.request_token()
    assert flow.authorize_url(token) == f"{info['url']}/oauth1/authorize?oauth_token={token}"
    auth = flow.access_token(token, secret, _verifier(_approve_in_browser(lab, flow.authorize_url(token))))
    assert auth.token and auth.token != token
    client = wp(None, SITE, auth=auth)
    assert client.me()["id"] == info["users"]["admin"]["id"]
    post = client.create_post(title="OAuth 1.0a: café & ünïcode + more", content="<p>signed</p>")
    cleanup.append((SITE, post["id"]))
    assert post["author"] == info["users"]["admin"]["id"]
    assert post["title"]["raw"] == "OAuth 1.0a: café & ünïcode + more"
    # Awkward query values are in the signature the server recomputes; each request a new nonce.
    for _ in range(3):
        found = client.request("GET", "/wp/v2/posts", params={
            "search": "café & ünïcode + more", "status": ["draft", "publish"], "per_page": 5,
            "_fields": "id,title", "orderby": "date", "order": "desc"})
        assert post["id"] in [p["id"] for p in found]
    wrong = wp_rest.OAuth1(consumer["key"], consumer["secret"], auth.token, "not-the-token-secret")
    with pytest.raises(wp_rest.AuthenticationError) as info_err:
        wp(None, SITE, auth=wrong).me()
    assert info_err.value.code == "json_oauth1_signature_mismatch"


@pytest.mark.wordpress
def test_a_wrong_consumer_secret_says_the_signature_was_rejected(wp: WPFactory, lab: dict[str, Any]) -> None:
    consumer = _consumers(wp)["oob"]
    flow = wp_rest.OAuth1Flow(lab["sites"][SITE]["url"], consumer["key"], consumer["secret"] + "x")
    with pytest.raises(wp_rest.AuthenticationError, match="rejected the signature") as info:
        flow.request_token()
    assert info.value.status == 401
    assert consumer["secret"] not in str(info.value) + repr(flow)


@pytest.mark.wordpress
def test_the_plugins_plain_text_errors_become_typed_errors(wp: WPFactory, lab: dict[str, Any]) -> None:
    consumers = _consumers(wp)
    url = lab["sites"][SITE]["url"]
    with pytest.raises(wp_rest.AuthenticationError, match="Consumer Key is invalid"):
        wp_rest.OAuth1Flow(url, "no-such-key", "secret").request_token()
    oob = consumers["oob"]
    flow = wp_rest.OAuth1Flow(url, oob["key"], oob["secret"])
    # A callback other than the registered one: the plugin answers 500 with no status of its own.
    with pytest.raises(wp_rest.ServerError, match="Callback URL is invalid"):
        flow.request_token(callback="https://client.example/cb")
    token, secret = flow.request_token()
    with pytest.raises(wp_rest.AuthenticationError, match="OAuth token has not been authorized"):
        flow.access_token(token, secret, "not-yet")
    _approve_in_browser(lab, flow.authorize_url(token))
    with pytest.raises(wp_rest.BadRequest, match="OAuth verifier does not match"):
        flow.access_token(token, secret, "wrong-verifier")


@pytest.mark.wordpress
def test_a_site_without_the_plugin_is_a_config_error_naming_it(lab: dict[str, Any]) -> None:
    with pytest.raises(wp_rest.ConfigError, match=r"authentication\.oauth1"):
        wp_rest.OAuth1Flow(lab["sites"]["main"]["url"], "k", "s").request_token()


@pytest.mark.wordpress
def test_a_form_encoded_post_is_signed_with_its_body_by_oauth1(wp: WPFactory, lab: dict[str, Any],
                                                      cleanup: list[tuple[str, int]]) -> None:
    """The plugin signs $_POST for a POST: the body's fields, unicode and '+' included."""
    consumer = _consumers(wp)["oob"]
    info = lab["sites"][SITE]
    flow = wp_rest.OAuth1Flow(info["url"], consumer["key"], consumer["secret"])
    token, secret = flow.request_token()
    client = wp(None, SITE, auth=flow.access_token(token, secret, _verifier(_approve_in_browser(
        lab, flow.authorize_url(token)))))
    request = client.build_request("POST", "/wp/v2/posts", params={"_fields": "id,title"},
                                   body=b"title=Gr%C3%BC%C3%9Fe+%26+1%2B1&status=draft",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = client.send(request)
    assert answer.status == 201, answer.body[:300]
    post = json.loads(answer.body)
    cleanup.append((SITE, post["id"]))
    assert post["title"]["rendered"] == "Grüße &#038; 1+1"  # wptexturize's ampersand


# --- WooCommerce keys: the lab's WooCommerce authentication (tests/wp/mu-plugins/woocommerce.php) ---


def _keys(wp: WPFactory, lab: dict[str, Any], site: str) -> dict[str, dict[str, str]]:
    admin = wp("admin", site, verify=lab["ca_bundle"]) if site == "https" else wp("admin", site)
    return {row["permissions"]: row for row in admin.request("GET", "/wprest-lab/v1/woocommerce-keys")}


def _shop(wp: WPFactory, lab: dict[str, Any], site: str, permissions: str = "read_write",
          secret: str | None = None, **kwargs: Any) -> wp_rest.Client:
    key = _keys(wp, lab, site)[permissions]
    auth = wp_rest.WooCommerceKeys(key["consumer_key"], secret or key["consumer_secret"], **kwargs)
    extra = {"verify": lab["ca_bundle"]} if site == "https" else {}
    return wp(None, site, auth=auth, **extra)


def _record(client: wp_rest.Client) -> list[wp_rest.Request]:
    assert client.api_root
    sent: list[wp_rest.Request] = []
    original = client.transport.send

    def send(request: wp_rest.Request, *, timeout: float) -> wp_rest.Response:
        sent.append(request)
        return original(request, timeout=timeout)

    client.transport.send = send  # type: ignore[method-assign]
    return sent


@pytest.mark.wordpress
@pytest.mark.parametrize(("site", "query_string"), [("main", False), ("https", False), ("https", True)])
def test_create_and_list_products(wp: WPFactory, lab: dict[str, Any], site: str, query_string: bool) -> None:
    shop = _shop(wp, lab, site, query_string=query_string)
    sent = _record(shop)
    name = f"Café ü+& {site} {query_string}"
    product = shop.request("POST", "/wc/v3/products", json={"name": name, "regular_price": "9.50"})
    assert product["name"] == name
    found = shop.request("GET", "/wc/v3/products", params={
        "search": name, "per_page": 5, "_fields": "id,name", "filter[meta]": "a b", "a.b": "x~y*z"})
    assert product["id"] in [p["id"] for p in found]
    assert shop.request("GET", f"/wc/v3/products/{product['id']}")["name"] == name
    key = _keys(wp, lab, site)["read_write"]
    basic = base64.b64encode(f"{key['consumer_key']}:{key['consumer_secret']}".encode()).decode()
    carrying = [r for r in sent if key["consumer_secret"] in r.url + str(r.headers) or basic in str(r.headers)]
    assert len(sent) == 3 and len(carrying) == (0 if site == "main" else 3)  # http: the secret never leaves


@pytest.mark.wordpress
@pytest.mark.parametrize(("site", "message"), [
    ("main", "Invalid signature - provided signature does not match."),
    ("https", "Consumer secret is invalid.")])
def test_a_wrong_secret_is_woocommerces_own_error(wp: WPFactory, lab: dict[str, Any], site: str,
                                                   message: str) -> None:
    shop = _shop(wp, lab, site, secret="cs_" + "0" * 40)
    with pytest.raises(wp_rest.AuthenticationError) as info:
        shop.request("GET", "/wc/v3/products")
    assert (info.value.code, info.value.message) == ("woocommerce_rest_authentication_error", message)


@pytest.mark.wordpress
@pytest.mark.parametrize("site", ["main", "https"])
def test_a_read_key_cannot_write_and_no_key_works_outside_wc_routes(wp: WPFactory, lab: dict[str, Any],
                                                                    site: str) -> None:
    shop = _shop(wp, lab, site, permissions="read")
    assert isinstance(shop.request("GET", "/wc/v3/products"), list)
    with pytest.raises(wp_rest.AuthenticationError, match="does not have write permissions"):
        shop.request("POST", "/wc/v3/products", json={"name": "nope"})
    # WooCommerce authenticates its own namespaces only: elsewhere the request is anonymous.
    with pytest.raises(wp_rest.AuthenticationError) as info:
        shop.me()
    assert info.value.code in ("rest_not_logged_in", "invalid_username")


@pytest.mark.wordpress
def test_a_form_encoded_post_is_signed_with_its_body_by_woocommerce_keys(wp: WPFactory, lab: dict[str, Any]) -> None:
    """WooCommerce signs $_POST too: the body's fields must be in the base string, sorted with the query."""
    shop = _shop(wp, lab, "main")
    request = shop.build_request("POST", "/wc/v3/products", params={"z": "1", "_fields": "id,name"},
                                 body=b"name=Gr%C3%BC%C3%9Fe+%26+more&regular_price=1.5",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = shop.send(request)
    assert answer.status == 201, answer.body[:300]
    assert json.loads(answer.body)["name"] == "Grüße & more"

"""OAuth 1.0a signing (RFC 5849) checked against the RFC's examples and oauthlib, and the
three-legged flow of the WP-API OAuth1 plugin against its lab implementation
(tests/wp/mu-plugins/oauth1.php, PHP, independent of our Python)."""

from __future__ import annotations

import hmac
import json
import re
import secrets
import types
import urllib.parse
from typing import Any

import pytest
import requests
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

import wp_rest
from conftest import WPFactory


def _request(method: str, url: str, body: bytes | None = None, ctype: str = "") -> wp_rest.Request:
    headers = {"Content-Type": ctype} if ctype else {}
    return wp_rest.Request(method, url, headers, body)


def _header_params(request: wp_rest.Request) -> dict[str, str]:
    value = request.headers["Authorization"]
    assert value.startswith("OAuth ")
    pairs = re.findall(r'(\w+)="([^"]*)"', value)
    assert len(pairs) == value.count("=")  # every value quoted, and '=' only as separator
    return {k: urllib.parse.unquote(v) for k, v in pairs}


# --- RFC 5849 published examples ----------------------------------------------


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


# --- Against oauthlib, an independent implementation ---------------------------

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


# --- Against the lab's OAuth1 plugin (tests/wp/mu-plugins/oauth1.php) -----------

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
def test_a_form_encoded_post_is_signed_with_its_body(wp: WPFactory, lab: dict[str, Any],
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

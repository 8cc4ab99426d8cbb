"""WooCommerce REST keys: Basic over https, one-legged OAuth 1.0a over http, checked against
the lab's implementation of WooCommerce's verification (tests/wp/mu-plugins/woocommerce.php,
PHP, independent of our Python) on the http 'main' site and the 'https' site."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest

import wp_rest
from conftest import WPFactory

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


# --- Against the lab's WooCommerce authentication ------------------------------


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
def test_a_form_encoded_post_is_signed_with_its_body(wp: WPFactory, lab: dict[str, Any]) -> None:
    """WooCommerce signs $_POST too: the body's fields must be in the base string, sorted with the query."""
    shop = _shop(wp, lab, "main")
    request = shop.build_request("POST", "/wc/v3/products", params={"z": "1", "_fields": "id,name"},
                                 body=b"name=Gr%C3%BC%C3%9Fe+%26+more&regular_price=1.5",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = shop.send(request)
    assert answer.status == 201, answer.body[:300]
    assert json.loads(answer.body)["name"] == "Grüße & more"

"""Constants against the real WordPress lab: the facts of WordPress they encode."""

from __future__ import annotations

from typing import Any

import pytest

import wp_rest
from conftest import WPFactory

pytestmark = [pytest.mark.wordpress, pytest.mark.versioned]


def test_core_routes_are_the_rest_bases_wordpress_registers(wp: WPFactory) -> None:
    types = wp("admin").request("GET", "/wp/v2/types")
    for post_type, route in wp_rest._CORE_ROUTES.items():
        assert route == f"/{types[post_type]['rest_namespace']}/{types[post_type]['rest_base']}"


def test_the_api_link_relation_is_the_one_wordpress_sends(lab: dict[str, Any]) -> None:
    # rest_output_link_header(), wp-includes/rest-api.php, on every front-end page.
    site = lab["sites"]["main"]["url"].rstrip("/") + "/"
    transport = wp_rest.HTTPTransport()
    try:
        answer = transport.send(wp_rest.Request("HEAD", site, {}), timeout=10)
    finally:
        transport.close()
    assert answer.links[wp_rest.API_REL].startswith(site)


def test_wordpress_refuses_one_more_than_max_per_page(wp: WPFactory) -> None:
    client = wp(None)
    assert len(client.request("GET", "/wp/v2/posts", params={"per_page": wp_rest.MAX_PER_PAGE})) > 0
    with pytest.raises(wp_rest.BadRequest) as info:
        client.request("GET", "/wp/v2/posts", params={"per_page": wp_rest.MAX_PER_PAGE + 1})
    assert info.value.code == "rest_invalid_param"

"""The Pages section: a ``Page`` and its totals from WordPress's count headers, and the iteration
over pages (bounded whatever the headers claim)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import wp_rest

ROOT = "http://127.0.0.1:9/wp-json/"


def test_a_huge_total_pages_header_is_treated_as_absent() -> None:
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: wp_rest.Response(
        200, {"X-WP-TotalPages": "99999999999999999999", "X-WP-Total": "1e400"}, b'[{"id": 1}]')))
    page = client.list_posts()
    assert (page.total, page.total_pages) == (1, 1)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_server_that_repeats_a_page_forever_ends_the_iteration(concurrency: int) -> None:
    def same(request: wp_rest.Request) -> wp_rest.Response:
        return wp_rest.Response(200, {"X-WP-TotalPages": "999999999"}, json.dumps([{"id": 1}, {"id": 2}]).encode())

    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(same))
    seen = []
    with pytest.raises(wp_rest.InvalidResponse, match="repeats page 1"):
        for post in client.iter_posts(concurrency=concurrency):
            seen.append(post["id"])
    assert seen == [1, 2]


@pytest.mark.parametrize(("name", "value"), [("per_page", "1e1"), ("page", "1e1"), ("page", 0),
                                             ("per_page", 2.5), ("page", True)])
def test_page_numbers_must_be_whole(name: str, value: Any) -> None:
    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(lambda r: wp_rest.Response(200, {}, b"[]")))
    with pytest.raises(wp_rest.ConfigError, match=f"{name} must be a whole number"):
        client.list_posts(**{name: value})


def test_a_page_iterates_and_counts_its_items_and_shows_its_totals() -> None:
    page = wp_rest.Page([{"id": 1}, {"id": 2}], page=1, per_page=2, total=5, total_pages=3)
    assert [post["id"] for post in page] == [1, 2] and len(page) == 2
    assert (page.next_page, page.replace(page=3).next_page) == (2, None)
    assert repr(page) == "Page(items=[{'id': 1}, {'id': 2}], page=1, per_page=2, total=5, total_pages=3)"

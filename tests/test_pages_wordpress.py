"""Pages against the real WordPress lab: totals over the seeded posts, lazy and concurrent iteration."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import WPFactory

pytestmark = pytest.mark.wordpress


def test_pagination_over_the_seeded_posts_has_correct_totals(wp: WPFactory, lab: dict[str, Any]) -> None:
    site = lab["sites"]["main"]
    client = wp(None)
    [category] = client.request("GET", "/wp/v2/categories", params={"slug": site["seed_category_slug"]})
    expected = site["seed_posts"]
    assert expected >= 250

    first = client.list_posts(categories=category["id"], per_page=100)
    assert (first.total, first.total_pages, first.page, first.next_page) == (expected, 3, 1, 2)
    last = client.list_posts(categories=category["id"], per_page=100, page=3)
    assert len(last.items) == expected - 200 and last.next_page is None

    default = client.list_posts(categories=category["id"])
    assert (default.per_page, len(default.items), default.total_pages) == (10, 10, 26)

    ids = [p["id"] for p in client.iter_posts(categories=category["id"], _fields="id")]
    assert len(ids) == expected == len(set(ids))


def test_iter_posts_is_lazy(wp: WPFactory, lab: dict[str, Any]) -> None:
    client = wp(None)
    it = client.iter_posts(per_page=5, _fields="id")
    assert len([next(it) for _ in range(5)]) == 5  # one page fetched, nothing more needed


def test_concurrent_iteration_keeps_order_and_totals(wp: WPFactory, lab: dict[str, Any]) -> None:
    client = wp(None)
    [category] = client.request("GET", "/wp/v2/categories", params={"slug": lab["sites"]["main"]["seed_category_slug"]})
    params = {"categories": category["id"], "_fields": "id", "per_page": 20, "orderby": "id", "order": "asc"}
    serial = [p["id"] for p in client.iter_posts(**params)]
    parallel = [p["id"] for p in client.iter_posts(concurrency=4, **params)]
    assert serial == parallel and len(parallel) == lab["sites"]["main"]["seed_posts"]
    assert parallel == sorted(parallel)

"""Constants: the slug rule of create_post_once and the limits the other sections apply."""

from __future__ import annotations

import pytest

import wp_rest


@pytest.mark.parametrize("slug", ["report", "report-2024-06", "a1", "2024-report", "x" * 190])
def test_a_slug_wordpress_keeps_unchanged_matches(slug: str) -> None:
    assert wp_rest._ONCE_SLUG.fullmatch(slug)


@pytest.mark.parametrize("slug", ["2024", "-report", "report-", "a--b", "Report", "a_b", "é", "a b", ""])
def test_a_slug_wordpress_would_change_does_not_match(slug: str) -> None:
    # All digits get a suffix (wp_unique_post_slug()); the rest sanitize_title() rewrites.
    assert not wp_rest._ONCE_SLUG.fullmatch(slug)


def test_limits_are_what_the_documentation_says() -> None:
    assert (wp_rest.MAX_REDIRECTS, wp_rest.MAX_PER_PAGE, wp_rest.POOL_SIZE) == (5, 100, 10)
    assert wp_rest.MAX_BODY_BYTES == 64 * 1024 * 1024
    assert {"authorization", "proxy-authorization", "cookie", "x-wp-nonce"} == wp_rest._SECRET_HEADERS

"""The Exceptions section: one tree under ``WPError``, so a caller can catch everything the client raises."""

from __future__ import annotations

import pytest

import wp_rest


def test_exceptions_form_one_tree() -> None:
    for name in wp_rest.__all__:
        obj = getattr(wp_rest, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, wp_rest.WPError), name
    assert issubclass(wp_rest.ConfigError, ValueError)
    for cls in (wp_rest.BadRequest, wp_rest.AuthenticationError, wp_rest.PermissionDenied,
                wp_rest.NotFound, wp_rest.RateLimited, wp_rest.ServerError):
        assert issubclass(cls, wp_rest.APIError)


def test_an_api_error_built_without_a_request_names_only_the_status_code_and_message() -> None:
    err = wp_rest.NotFound(404, "rest_post_invalid_id", "Invalid <b>post</b> ID.", hint="Check the id.")
    assert str(err) == "404 rest_post_invalid_id: Invalid post ID.\nCheck the id."
    with_request = wp_rest.NotFound(404, "rest_post_invalid_id", "Invalid post ID.", method="GET",
                                    route="/wp/v2/posts/9")
    assert str(with_request) == "404 rest_post_invalid_id: Invalid post ID. (GET /wp/v2/posts/9)"


def test_token_errors_take_only_the_details_their_class_declares() -> None:
    err = wp_rest.ExpiredToken("expired", claim="exp", value=100, now=130.0, leeway=10.0, by_seconds=30.0)
    assert (err.claim, err.value, err.now, err.leeway, err.by_seconds) == ("exp", 100, 130.0, 10.0, 30.0)
    assert wp_rest.InvalidIssuer("no iss", claim="iss").expected == ""
    with pytest.raises(TypeError, match="InvalidIssuer has no attribute 'by_seconds'"):
        wp_rest.InvalidIssuer("no iss", by_seconds=1.0)

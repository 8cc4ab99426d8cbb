"""The Requests and responses section: ``Request``, ``Headers`` and ``Response`` as values."""

from __future__ import annotations

import pytest

import wp_rest

ROOT = "http://127.0.0.1:9/wp-json/"


def test_headers_are_case_insensitive_and_keep_every_value() -> None:
    headers = wp_rest.Headers([("Link", "<a>; rel=next"), ("set-cookie", "a=1"), ("Set-Cookie", "b=2")])
    assert headers.get("LINK") == "<a>; rel=next" and headers["link"] == "<a>; rel=next"
    assert headers.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert "set-cookie" in headers and "X-Nope" not in headers and headers.get("x-nope") is None
    with pytest.raises(KeyError):
        headers["X-Nope"]


def test_response_takes_a_dict_or_pairs_of_headers() -> None:
    from_dict = wp_rest.Response(200, {"Content-Type": "application/json"}, b"[]", "https://x/")
    from_pairs = wp_rest.Response(200, [("content-type", "application/json")], b"[]")
    assert from_dict.content_type == from_pairs.content_type == "application/json"
    assert wp_rest.Response(200, [("Link", '<https://x/wp-json/>; rel="https://api.w.org/"')], b"").links == {
        "https://api.w.org/": "https://x/wp-json/"}


def test_repr_of_requests_and_headers_masks_credentials() -> None:
    request = wp_rest.Request("GET", ROOT, {"Authorization": "Basic c2VjcmV0", "Cookie": "wp=1",
                                            "X-WP-Nonce": "abc123", "Accept": "x"})
    for text in (repr(request), repr(wp_rest.Headers(request.headers))):
        assert "c2VjcmV0" not in text and "wp=1" not in text and "abc123" not in text
        assert "'Accept', 'x'" in text


def test_repr_of_a_response_shows_its_size_not_its_body() -> None:
    response = wp_rest.Response(200, {"Content-Type": "application/json"}, b'{"password": "s3cret"}', ROOT)
    text = repr(response)
    assert text.startswith(f"Response(200, {ROOT!r}, ") and text.endswith(", 22 bytes)")
    assert "s3cret" not in text


def test_records_refuse_missing_extra_and_unknown_fields() -> None:
    with pytest.raises(TypeError, match=r"Response\(\) takes status, headers, body, url, history; got 6"):
        wp_rest.Response(200, {}, b"", ROOT, (), "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"Response\(\) is missing body"):
        wp_rest.Response(200, {})  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"got unexpected or repeated bogus, status"):
        wp_rest.Response(200, {}, b"", status=201, bogus=1)  # type: ignore[call-arg]


def test_records_hash_like_frozen_dataclasses() -> None:
    assert len({wp_rest.Retry(total=2), wp_rest.Retry(total=2), wp_rest.Retry(total=3)}) == 2
    with pytest.raises(TypeError, match="unhashable type: 'dict'"):  # its headers are a dict
        hash(wp_rest.Request("GET", ROOT, {"Accept": "x"}))

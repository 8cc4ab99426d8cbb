"""Shared by the hypothesis properties (tests/test_helpers.py, test_client.py, test_transport.py,
test_auth.py, test_retry.py): example counts, a client answered from fuzzed data, and the check
that credentials stayed at the API origin. Each property records one observation (with its
example count) for RELIABILITY.md.
"""

from __future__ import annotations

import base64
import http.client
import os
import threading
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import wp_rest
from faultkit import secret_forms

USER = "admin"
SECRET = "abcd EFGH 1234 ijkl MNOP 6789"
AUTH = wp_rest.ApplicationPassword(USER, SECRET)
SECRETS = [*secret_forms(SECRET), base64.b64encode(f"{USER}:{SECRET.replace(' ', '')}".encode()).decode()]
ROOT = "http://127.0.0.1:8/wp-json/"
ORIGIN = ("http", "127.0.0.1", 8)
#: Multiplies every example count: WP_FUZZ_SCALE=10 for a deeper run than the default few thousand.
SCALE = float(os.environ.get("WP_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class Counter:
    """Counts the examples a property ran (hypothesis does not say), for the report."""

    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.n += 1


def headers_of(pairs: list[tuple[str, str]]) -> http.client.HTTPMessage:
    msg = http.client.HTTPMessage()
    for name, value in pairs:
        msg[name] = value
    return msg


def fake_client(answer: Callable[[wp_rest.Request], wp_rest.Response], url: str = ROOT,
                **kwargs: Any) -> tuple[wp_rest.Client, wp_rest.MockTransport]:
    """A client whose every request is answered by ``answer`` (the public transport seam)."""
    kwargs.setdefault("auth", AUTH)
    kwargs.setdefault("retry", wp_rest.Retry(total=2, sleep=lambda s: None))
    transport = wp_rest.MockTransport(answer)
    return wp_rest.Client(url, transport=transport, **kwargs), transport


def credentials_stayed_home(transport: wp_rest.MockTransport, origin: tuple[str, str, int] = ORIGIN) -> None:
    for request in transport.requests:
        secret = {k.lower() for k in request.headers} & {"authorization", "cookie", "x-wp-nonce"}
        if secret:
            assert wp_rest._origin(request.url) == origin, (request.url, secret)


HEADER_VALUES = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60)

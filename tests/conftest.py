"""Shared fixtures: the real WordPress lab (tests/wp/lab.sh up) and clients for its users."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import wp_rest  # noqa: E402

LAB_JSON = HERE / "wp" / "lab.json"


@pytest.fixture(scope="session")
def lab() -> dict[str, Any]:
    """The lab's sites, URLs and users. Missing lab = a failed test, never a skip."""
    if not LAB_JSON.exists():
        pytest.fail(f"{LAB_JSON} is missing: the real WordPress is not running. "
                    "Start it with `bash tests/wp/lab.sh up` (tests/run does it for you).")
    data: dict[str, Any] = json.loads(LAB_JSON.read_text())
    return data


WPFactory = Callable[..., wp_rest.Client]


@pytest.fixture
def wp(lab: dict[str, Any]) -> Iterator[WPFactory]:
    """``wp(role, site="main", **client_kwargs)``: a client with that user's application password."""
    made: list[wp_rest.Client] = []

    def factory(role: str | None = "admin", site: str = "main", **kwargs: Any) -> wp_rest.Client:
        info = lab["sites"][site]
        if role is not None and "auth" not in kwargs:
            user = info["users"][role]
            kwargs["auth"] = wp_rest.ApplicationPassword(user["username"], user["app_password"])
        kwargs.setdefault("timeout", 30.0)
        client = wp_rest.Client(kwargs.pop("url", info["url"]), **kwargs)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


@pytest.fixture
def cleanup(wp: WPFactory, lab: dict[str, Any]) -> Iterator[list[tuple[str, int]]]:
    """Append (site, post_id) to have the post deleted for good after the test."""
    posts: list[tuple[str, int]] = []
    yield posts
    for site, post_id in posts:
        admin = lab["sites"][site]["users"]["admin"]
        # The Basic-Auth plugin site refuses application passwords (PROTOCOLS.md 3), and the
        # production site over http has none: log in with the password there.
        auth: wp_rest.Auth | None = None
        if site == "basicauth":
            auth = wp_rest.BasicAuth(admin["username"], admin["password"])
        elif site == "production":
            auth = wp_rest.CookieAuth(admin["username"], admin["password"])
        try:
            (wp(None, site, auth=auth) if auth else wp("admin", site)).delete_post(post_id, force=True)
        except wp_rest.NotFound:
            pass


def pytest_report_header(config: pytest.Config) -> str:
    where = "present" if LAB_JSON.exists() else "MISSING (run bash tests/wp/lab.sh up)"
    return f"wp_rest {wp_rest.__version__}; WordPress lab: {where}; CI={os.environ.get('CI', '')}"

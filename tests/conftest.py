"""Shared fixtures: the real WordPress lab (tests/wp/lab.sh up) and clients for its users.

The lab runs three WordPress releases side by side (tests/wp/README.md). Tests name
sites by their variant ("main", "plain", "fpm" ...); ``--wp-version`` chooses the
release those names mean, so the same tests run unchanged against each:

    python3 -m pytest -m wordpress --wp-version 7.1

- ``lab["sites"]`` is the chosen release's sites; ``lab["version"]`` is that release
  ("7.1") and ``lab["wordpress"]`` the exact WordPress it runs ("7.1.4").
  ``lab["versions"][V]["sites"]`` reaches any release whatever the option says.
- A site address "NAME@V" ("main@7.1") names a site of release V wherever a site name
  is taken: ``wp("admin", "main@7.1")``, ``cleanup.append(("main@6.8", post_id))``,
  ``lab_site(lab, "fpm@6.8")``.
- ``@pytest.mark.wp_versions("6.8", "7.1")``: the test only holds on those releases.
  It runs when ``--wp-version`` is one of them and is deselected otherwise (counted
  in pytest's summary, never a silent skip). Such tests are also marked ``versioned``.
- ``@pytest.mark.versioned``: behaviour that differs between releases; CI runs these
  on every release (tests/run).
- Fixture ``wp_version``: the chosen release ("6.1" unless ``--wp-version``).
"""

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
#: The releases the lab runs, oldest first; the first is the default.
VERSIONS = ("6.1", "6.8", "7.1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--wp-version", choices=VERSIONS, default=os.environ.get("WP_LAB_VERSION") or VERSIONS[0],
        help="WordPress release of the lab that site names such as 'main' mean "
             "(default: $WP_LAB_VERSION or %(default)s)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "wp_versions(*releases): holds only on those WordPress releases; runs when "
                   "--wp-version is one of them, deselected otherwise")
    config.addinivalue_line(
        "markers", "versioned: behaviour that differs between WordPress releases (CI runs it on each)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.getoption("--wp-version")
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("wp_versions")
        if marker is None:
            keep.append(item)
            continue
        unknown = [v for v in marker.args if v not in VERSIONS]
        if not marker.args or unknown:
            raise pytest.UsageError(f"{item.nodeid}: wp_versions{marker.args} must name releases among {VERSIONS}")
        item.add_marker(pytest.mark.versioned)
        (keep if chosen in marker.args else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def wp_version(request: pytest.FixtureRequest) -> str:
    """The WordPress release that site names mean in this run (``--wp-version``)."""
    chosen: str = request.config.getoption("--wp-version")
    return chosen


@pytest.fixture(scope="session")
def lab(wp_version: str) -> dict[str, Any]:
    """The lab's sites, URLs and users, for the chosen release. Missing lab = a failed test, never a skip."""
    if not LAB_JSON.exists():
        pytest.fail(f"{LAB_JSON} is missing: the real WordPress is not running. "
                    "Start it with `bash tests/wp/lab.sh up` (tests/run does it for you).")
    data: dict[str, Any] = json.loads(LAB_JSON.read_text())
    release = data.get("versions", {}).get(wp_version)
    if release is None:
        pytest.fail(f"{LAB_JSON} has no WordPress {wp_version} (it has {sorted(data.get('versions', {}))}): "
                    "restart the lab with every release: `bash tests/wp/lab.sh up`.")
    return {**data, "sites": release["sites"], "version": wp_version, "wordpress": release["wordpress"]}


def lab_site(lab: dict[str, Any], address: str) -> dict[str, Any]:
    """The lab.json entry of a site: "main" (the chosen release) or "main@7.1" (that release)."""
    name, _, release = address.partition("@")
    sites = lab["versions"][release]["sites"] if release else lab["sites"]
    if name not in sites:
        raise KeyError(f"no lab site {address!r} (sites: {sorted(sites)})")
    site: dict[str, Any] = sites[name]
    return site


WPFactory = Callable[..., wp_rest.Client]


@pytest.fixture
def wp(lab: dict[str, Any]) -> Iterator[WPFactory]:
    """``wp(role, site="main", **client_kwargs)``: a client with that user's application password.

    ``site`` may name another release's site: ``wp("admin", "main@7.1")``.
    """
    made: list[wp_rest.Client] = []

    def factory(role: str | None = "admin", site: str = "main", **kwargs: Any) -> wp_rest.Client:
        info = lab_site(lab, site)
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
    """Append (site, post_id) to have the post deleted for good after the test ("main@7.1" works too)."""
    posts: list[tuple[str, int]] = []
    yield posts
    for site, post_id in posts:
        admin = lab_site(lab, site)["users"]["admin"]
        # The Basic-Auth plugin double refuses application passwords (it answers 500
        # incorrect_password for them), and the production site over http offers none:
        # log in with the password there.
        variant = site.partition("@")[0]
        auth: wp_rest.Auth | None = None
        if variant == "basicauth":
            auth = wp_rest.BasicAuth(admin["username"], admin["password"])
        elif variant == "production":
            auth = wp_rest.CookieAuth(admin["username"], admin["password"])
        try:
            (wp(None, site, auth=auth) if auth else wp("admin", site)).delete_post(post_id, force=True)
        except wp_rest.NotFound:
            pass


def pytest_report_header(config: pytest.Config) -> str:
    if LAB_JSON.exists():
        releases = json.loads(LAB_JSON.read_text()).get("versions", {})
        where = "present (" + ", ".join(f"{v}: WordPress {r['wordpress']}" for v, r in releases.items()) + ")"
    else:
        where = "MISSING (run bash tests/wp/lab.sh up)"
    return (f"wp_rest {wp_rest.__version__}; WordPress lab: {where}; "
            f"site names mean release {config.getoption('--wp-version')}; CI={os.environ.get('CI', '')}")

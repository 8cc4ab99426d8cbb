"""The lab itself, and what differs between the WordPress releases it runs (6.1, 6.8, 7.1).

Each test takes the release as a parameter and reads that release's sites from
lab.json directly, so one run checks all three whatever ``--wp-version`` says.
Raw HTTP (urllib) on purpose: these are facts about WordPress that the client's
own tests build on, so no client logic sits between the test and the server.
The facts and where in WordPress they come from: tests/wp/README.md.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from conftest import VERSIONS, WPFactory, lab_site

pytestmark = [pytest.mark.wordpress, pytest.mark.versioned]

VARIANTS = {"main", "plain", "basicauth", "production", "apache", "fpm", "https"}
WRONG_APP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 6789"
LAB_ABILITIES = {"wprest-lab/echo", "wprest-lab/save-note", "wprest-lab/delete-note",
                 "wprest-lab/bump-counter", "wprest-lab/clock"}

by_version = pytest.mark.parametrize("version", VERSIONS)
LAB_SH = Path(__file__).resolve().parent / "wp" / "lab.sh"


class Answer:
    """Status, headers and decoded JSON (or text) of one raw HTTP exchange."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.text = status, headers, body.decode("utf-8", "replace")
        try:
            self.json: Any = json.loads(self.text)
        except ValueError:
            self.json = None

    @property
    def code(self) -> str | None:
        return self.json.get("code") if isinstance(self.json, dict) else None


def call(method: str, url: str, *, user: tuple[str, str] | None = None, body: Any = None,
         headers: dict[str, str] | None = None, opener: urllib.request.OpenerDirector | None = None,
         context: ssl.SSLContext | None = None) -> Answer:
    sent = dict(headers or {})
    data = None
    if user is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(":".join(user).encode()).decode()
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    if opener is None:
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=30) as resp:
            return Answer(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, err.headers, err.read())


def route(site: dict[str, Any], path: str, query: str = "") -> str:
    """URL of a REST route on a site, pretty or plain permalinks alike (from its API root)."""
    root: str = site["api_root"]
    if "?rest_route=" in root:
        return root + path.lstrip("/") + ("&" + query if query else "")
    return root + path.lstrip("/") + ("?" + query if query else "")


def app(site: dict[str, Any], role: str = "admin") -> tuple[str, str]:
    user = site["users"][role]
    return user["username"], user["app_password"]


def release(lab: dict[str, Any], version: str, variant: str = "main") -> dict[str, Any]:
    return lab_site(lab, f"{variant}@{version}")


# --- The lab ---------------------------------------------------------------------


def test_lab_json_has_every_release_with_every_variant(lab: dict[str, Any], wp_version: str) -> None:
    assert list(lab["versions"]) == list(VERSIONS)
    urls = set()
    for version, entry in lab["versions"].items():
        assert entry["wordpress"].startswith(version + "."), entry["wordpress"]
        assert set(entry["sites"]) == VARIANTS
        for site in entry["sites"].values():
            assert (site["version"], site["wordpress"]) == (version, entry["wordpress"])
            urls.add(site["url"])
    assert len(urls) == len(VERSIONS) * len(VARIANTS), "two sites share an address"
    # The default "sites" are 6.1's (as before there were several releases);
    # the fixture maps them to --wp-version.
    assert lab["sites"] is lab["versions"][wp_version]["sites"]
    assert lab["version"] == wp_version


@pytest.mark.wp_versions("6.1")
def test_up_on_a_running_lab_starts_and_stops_nothing(lab: dict[str, Any], tmp_path: Path) -> None:
    # What tests/run relies on to leave a lab it found running: `up` lists only
    # what it started (nothing here), and stop-started stops only what is listed.
    started = tmp_path / "started"
    up = subprocess.run(["bash", str(LAB_SH), "up"], env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                        "WP_LAB_STARTED": str(started)}, capture_output=True, text=True, timeout=300, check=False)
    assert up.returncode == 0, up.stderr[-2000:]
    assert not started.exists() or started.read_text() == ""
    stop = subprocess.run(["bash", str(LAB_SH), "stop-started", str(started)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert stop.returncode == 0 and "stopped" not in stop.stdout
    for version in VERSIONS:
        assert call("GET", release(lab, version)["api_root"]).status == 200


@by_version
def test_each_site_runs_the_release_lab_json_names(lab: dict[str, Any], version: str) -> None:
    for variant in ("main", "plain", "apache", "fpm", "https"):
        site = release(lab, version, variant)
        context = ssl.create_default_context(cafile=site["ca_bundle"]) if "ca_bundle" in site else None
        home = call("GET", site["url"] + "/", context=context)
        # wp_generator() prints the version into every front-end page.
        assert home.status == 200
        assert f'<meta name="generator" content="WordPress {site["wordpress"]}"' in home.text, variant
        index = call("GET", site["api_root"], context=context)
        assert index.headers["X-WPRest-Lab-Site"] == variant
        assert index.headers["X-WPRest-Lab-Version"] == version


def test_the_wp_fixture_reaches_another_release(wp: WPFactory) -> None:
    index = wp(None, "main@7.1").request("GET", "/")
    assert "wp-abilities/v1" in index["namespaces"]
    me = wp("author", "main@6.8").me()
    assert me["roles"] == ["author"]


# --- What differs (and what does not) between releases --------------------------


#: REST namespaces of core and of lab plugins that do not take part in deciding who
#: the user is before core's own checks (the JWT double acts on Bearer tokens only).
CORE_NAMESPACES = {"oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1", "wp-abilities/v1",
                   "wprest-lab/v1", "jwt-auth/v1"}


def core_auth_site(lab: dict[str, Any], version: str) -> dict[str, Any]:
    """A site of that release that offers application passwords and runs no other auth plugin.

    Plugin doubles (WooCommerce, OAuth 1.0a) add namespaces and change how a wrong
    password is answered, so the site is chosen by what its index shows, not by name.
    """
    for variant in ("main", "plain", "apache"):
        site = release(lab, version, variant)
        index = call("GET", site["api_root"]).json
        if set(index["namespaces"]) <= CORE_NAMESPACES and "application-passwords" in index["authentication"]:
            return site
    raise AssertionError(f"no {version} site without an auth plugin double among main, plain, apache")


@by_version
def test_a_wrong_application_password_is_answered_as_no_credentials(lab: dict[str, Any], version: str) -> None:
    # Core's own answer: WordPress first asks who the user is in
    # rest_cookie_check_errors (rest_authentication_errors, priority 100), after
    # rest_application_password_check_errors (priority 90) has already looked for
    # a failed application password, so the failure is never reported.
    site = core_auth_site(lab, version)
    wrong = ("admin", WRONG_APP_PASSWORD)
    me = call("GET", route(site, "/wp/v2/users/me"), user=wrong)
    assert (me.status, me.code) == (401, "rest_not_logged_in")
    create = call("POST", route(site, "/wp/v2/posts"), user=wrong, body={"title": "never"})
    assert (create.status, create.code) == (401, "rest_cannot_create")
    public = call("GET", route(site, "/wp/v2/posts", "per_page=1"), user=wrong)
    assert public.status == 200 and isinstance(public.json, list)
    right = call("GET", route(site, "/wp/v2/users/me"), user=app(site))
    assert (right.status, right.json["slug"]) == (200, "admin")


@by_version
def test_the_batch_api_accepts_users_routes_since_6_8(lab: dict[str, Any], version: str) -> None:
    site = release(lab, version)
    subscriber = site["users"]["subscriber"]["id"]
    marker = f"batch-{version}"
    answer = call("POST", route(site, "/batch/v1"), user=app(site), body={"requests": [
        {"method": "POST", "path": f"/wp/v2/users/{subscriber}", "body": {"description": marker}}]})
    assert answer.status == 207
    [item] = answer.json["responses"]
    if version == "6.1":
        assert (item["status"], item["body"]["code"]) == (400, "rest_batch_not_allowed")
    else:
        assert item["status"] == 200 and item["body"]["description"] == marker
    call("POST", route(site, f"/wp/v2/users/{subscriber}"), user=app(site), body={"description": ""})


@by_version
def test_the_abilities_api_exists_only_on_7_1(lab: dict[str, Any], version: str) -> None:
    site = release(lab, version)
    namespaces = call("GET", site["api_root"]).json["namespaces"]
    listing = call("GET", route(site, "/wp-abilities/v1/abilities"), user=app(site))
    if version == "7.1":
        assert "wp-abilities/v1" in namespaces
        assert listing.status == 200
    else:
        assert "wp-abilities/v1" not in namespaces
        assert (listing.status, listing.code) == (404, "rest_no_route")


# --- The Abilities API on 7.1 ----------------------------------------------------


def test_lab_abilities_are_listed_with_their_annotations(lab: dict[str, Any]) -> None:
    site = release(lab, "7.1")
    listing = call("GET", route(site, "/wp-abilities/v1/abilities", "category=wprest-lab&per_page=100"),
                   user=app(site))
    assert listing.status == 200
    found = {item["name"]: item for item in listing.json}
    assert set(found) == LAB_ABILITIES, "wprest-lab/hidden has no show_in_rest and must not be listed"
    assert listing.headers["X-WP-Total"] == str(len(LAB_ABILITIES))
    annotations = {name: item["meta"]["annotations"] for name, item in found.items()}
    assert annotations["wprest-lab/echo"]["readonly"] is True
    assert annotations["wprest-lab/delete-note"]["destructive"] is True
    assert annotations["wprest-lab/delete-note"]["idempotent"] is True
    assert annotations["wprest-lab/save-note"]["readonly"] is False
    assert found["wprest-lab/echo"]["input_schema"]["properties"]["tags"]["items"] == {"type": "string"}
    assert not found["wprest-lab/bump-counter"]["input_schema"]
    one = call("GET", route(site, "/wp-abilities/v1/abilities/wprest-lab/echo"), user=app(site))
    assert (one.status, one.json["category"]) == (200, "wprest-lab")
    anonymous = call("GET", route(site, "/wp-abilities/v1/abilities"))
    assert (anonymous.status, anonymous.code) == (401, "rest_forbidden")


def test_running_abilities_follows_their_annotations(lab: dict[str, Any]) -> None:
    site = release(lab, "7.1")
    admin = app(site)
    run = "/wp-abilities/v1/abilities/{}/run"
    # readonly -> GET, input in the query PHP style; 7.1 coerces it to the schema's types.
    query = urllib.parse.urlencode({"input[text]": "a b&c", "input[n]": "3", "input[tags][0]": "x",
                                    "input[tags][1]": "y,z"})
    echo = call("GET", route(site, run.format("wprest-lab/echo"), query), user=admin)
    assert echo.status == 200
    assert echo.json == {"input": {"text": "a b&c", "n": 3, "tags": ["x", "y,z"]},
                         "types": {"text": "string", "n": "integer", "tags": "array"}}
    # Anything else without destructive+idempotent -> POST with {"input": ...} as JSON.
    key = f"lab-test-{uuid.uuid4().hex[:12]}"
    saved = call("POST", route(site, run.format("wprest-lab/save-note")), user=admin,
                 body={"input": {"key": key, "text": "kept"}})
    assert (saved.status, saved.json) == (200, {"key": key, "text": "kept", "saved": True})
    # destructive and idempotent -> DELETE, input in the query.
    gone = call("DELETE", route(site, run.format("wprest-lab/delete-note"), f"input[key]={key}"), user=admin)
    assert (gone.status, gone.json) == (200, {"key": key, "deleted": True})
    again = call("DELETE", route(site, run.format("wprest-lab/delete-note"), f"input[key]={key}"), user=admin)
    assert (again.status, again.json["deleted"]) == (200, False)
    # No input_schema: no input at all.
    first = call("POST", route(site, run.format("wprest-lab/bump-counter")), user=admin)
    second = call("POST", route(site, run.format("wprest-lab/bump-counter")), user=admin)
    # Greater, not +1: another test run may share the lab.
    assert first.status == second.status == 200 and second.json["count"] > first.json["count"] >= 1
    clock = call("GET", route(site, run.format("wprest-lab/clock")), user=admin)
    assert clock.status == 200 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", clock.json["utc"])


def test_ability_errors_in_the_order_wordpress_checks(lab: dict[str, Any]) -> None:
    site = release(lab, "7.1")
    run = "/wp-abilities/v1/abilities/{}/run"
    missing = call("GET", route(site, run.format("wprest-lab/nope")), user=app(site))
    assert (missing.status, missing.code) == (404, "rest_ability_not_found")
    hidden = call("GET", route(site, run.format("wprest-lab/hidden")), user=app(site))
    assert (hidden.status, hidden.code) == (404, "rest_ability_not_found")
    method = call("POST", route(site, run.format("wprest-lab/echo")), user=app(site), body={"input": {"text": "x"}})
    assert (method.status, method.code) == (405, "rest_ability_invalid_method")
    bad = call("GET", route(site, run.format("wprest-lab/echo"), "input[text]=x&input[n]=three"), user=app(site))
    assert (bad.status, bad.code) == (400, "ability_invalid_input")
    assert "input[n]" in bad.json["message"]
    extra = call("POST", route(site, run.format("wprest-lab/bump-counter")), user=app(site), body={"input": {"a": 1}})
    assert (extra.status, extra.code) == (400, "ability_missing_input_schema")
    anonymous = call("DELETE", route(site, run.format("wprest-lab/delete-note"), "input[key]=x"))
    assert (anonymous.status, anonymous.code) == (401, "rest_ability_cannot_execute")
    author = call("DELETE", route(site, run.format("wprest-lab/delete-note"), "input[key]=x"), user=app(site, "author"))
    assert (author.status, author.code) == (403, "rest_ability_cannot_execute")


def test_core_site_info_ability_reports_the_version_to_administrators(lab: dict[str, Any]) -> None:
    site = release(lab, "7.1")
    run = route(site, "/wp-abilities/v1/abilities/core/get-site-info/run")
    info = call("GET", run, user=app(site))
    assert info.status == 200 and info.json["version"] == site["wordpress"]
    author = call("GET", run, user=app(site, "author"))
    assert (author.status, author.code) == (403, "rest_ability_cannot_execute")


# --- The echo route: what PHP received ---------------------------------------------


@by_version
def test_the_echo_route_returns_what_php_parsed(lab: dict[str, Any], version: str) -> None:
    for variant in ("main", "plain"):
        site = release(lab, version, variant)
        got = call("GET", route(site, "/wprest-lab/v1/echo", "a[b]=1&a[c][0]=x&a[c][1]=y&s=a%2Bb%26c&flag=1"))
        assert got.status == 200 and got.json["method"] == "GET"
        parsed = {k: v for k, v in got.json["get"].items() if k != "rest_route"}
        assert parsed == {"a": {"b": "1", "c": ["x", "y"]}, "s": "a+b&c", "flag": "1"}, variant
        posted = call("POST", route(site, "/wprest-lab/v1/echo"), body={"input": {"n": 3, "tags": ["x"]}})
        assert posted.json["json"] == {"input": {"n": 3, "tags": ["x"]}}
        assert (posted.json["method"], posted.json["content_type"]) == ("POST", "application/json")
        deleted = call("DELETE", route(site, "/wprest-lab/v1/echo", "k=v"))
        assert (deleted.json["method"], deleted.json["get"]["k"], deleted.json["json"]) == ("DELETE", "v", None)


def test_the_echo_route_shows_form_fields_and_the_user(lab: dict[str, Any]) -> None:
    site = release(lab, "6.1")
    form = urllib.request.Request(route(site, "/wprest-lab/v1/echo"), data=b"x[0]=1&x[1]=2&y=%C3%A9",
                                  method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(form, timeout=30) as resp:
        got = json.loads(resp.read())
    assert got["post"] == {"x": ["1", "2"], "y": "\u00e9"}
    me = call("GET", route(site, "/wprest-lab/v1/echo"), user=app(site, "author"))
    assert me.json["user"] == site["users"]["author"]["id"]


# --- The proxies ---------------------------------------------------------------------


def proxy_opener(url: str, context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    handlers: list[Any] = [urllib.request.ProxyHandler({"http": url, "https": url})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def test_the_open_proxy_forwards_http_and_tunnels_https(lab: dict[str, Any]) -> None:
    proxy = lab["proxies"]["open"]["url"]
    site = release(lab, "6.1")
    got = call("GET", site["api_root"], opener=proxy_opener(proxy))
    assert got.status == 200 and "tinyproxy" in got.headers.get("Via", "")
    https = release(lab, "7.1", "https")
    context = ssl.create_default_context(cafile=https["ca_bundle"])
    tunnelled = call("GET", https["api_root"], opener=proxy_opener(proxy, context))
    # Through CONNECT the proxy sees only bytes: no Via header is added.
    assert tunnelled.status == 200 and "Via" not in tunnelled.headers
    assert tunnelled.headers["X-WPRest-Lab-Version"] == "7.1"


def test_the_auth_proxy_wants_its_password(lab: dict[str, Any]) -> None:
    entry = lab["proxies"]["auth"]
    site = release(lab, "6.1")
    refused = call("GET", site["api_root"], opener=proxy_opener(entry["url"]))
    assert refused.status == 407 and refused.headers["Proxy-Authenticate"].startswith("Basic")
    token = base64.b64encode(f"{entry['username']}:{entry['password']}".encode()).decode()
    allowed = call("GET", site["api_root"], opener=proxy_opener(entry["url"]),
                   headers={"Proxy-Authorization": f"Basic {token}"})
    assert allowed.status == 200
    # tinyproxy 1.11 answers a WRONG proxy password with 401 and WWW-Authenticate,
    # as if the origin had asked; only its Server header tells the two apart.
    wrong = base64.b64encode(f"{entry['username']}:nope".encode()).decode()
    again = call("GET", site["api_root"], opener=proxy_opener(entry["url"]),
                 headers={"Proxy-Authorization": f"Basic {wrong}"})
    assert again.status == 401 and again.headers["Server"].startswith("tinyproxy/")
    assert again.headers["WWW-Authenticate"].startswith("Basic") and "Proxy-Authenticate" not in again.headers

"""The doctor against the real WordPress lab: every verdict shown on a real server.

Sites (tests/wp/lab.json): main (php -S, JWT plugin and WooCommerce auth doubles),
plain (plain permalinks), basicauth (JSON Basic Authentication double), production
(http, production environment, Debian's wp-config.php), apache (Apache + mod_php,
JWT and OAuth1 plugin doubles), fpm (Apache + PHP-FPM without CGIPassAuth; `lab.sh
fpm-fix on|off`), https (Apache + TLS from a lab CA). Each runs WordPress 6.1, 6.8
and 7.1; ``--wp-version`` chooses which (tests/conftest.py). The verdicts that rest
on what WordPress answers are marked ``versioned``: CI shows them on every release.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

import wp_rest
from conftest import HERE, ROOT
from doctorkit import DOCTOR_COMMAND, diagnose, outcomes, text_of

pytestmark = pytest.mark.wordpress

LAB_SH = HERE / "wp" / "lab.sh"
WRONG = "aaaa bbbb cccc dddd eeee ffff"


def user(lab: dict[str, Any], site: str, role: str = "admin") -> dict[str, str]:
    info: dict[str, str] = lab["sites"][site]["users"][role]
    return info


def run(lab: dict[str, Any], site: str, role: str | None = "admin", *, app_password: str | None = None,
        auth: wp_rest.Auth | None = None, login_password: str | None = None, **client: Any) -> Any:
    """Doctor on a lab site with that user's application password (or ``auth``)."""
    if auth is None and role is not None:
        info = user(lab, site, role)
        auth = wp_rest.ApplicationPassword(info["username"], app_password or info["app_password"])
    client.setdefault("timeout", 30.0)
    with wp_rest.Client(lab["sites"][site]["url"], auth=auth, **client) as c:
        report = diagnose(c, login_password=login_password)
    assert_no_secrets(report, lab)
    return report


def assert_no_secrets(report: Any, lab: dict[str, Any]) -> None:
    """No password, application password (spaced or not) or Basic header of any lab user."""
    out = report.render() + json.dumps(report.to_dict())
    sites = [*lab["sites"].values(), *(s for v in lab.get("versions", {}).values() for s in v["sites"].values())]
    for site in sites:
        for info in site["users"].values():
            for app in (info["app_password"], info["app_password"].replace(" ", "")):
                assert app not in out
                token = base64.b64encode(f"{info['username']}:{app.replace(' ', '')}".encode()).decode()
                assert token not in out
            assert info["password"] not in out
        if "jwt_secret" in site:
            assert site["jwt_secret"] not in out
    for secret in (WRONG, WRONG.replace(" ", "")):
        assert secret not in out


def cli(lab: dict[str, Any], site: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python wp_rest.py doctor URL ...`` with only the WP_* variables given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WP_")}
    path = os.pathsep.join([str(ROOT), str(HERE)])
    return subprocess.run([*DOCTOR_COMMAND, "doctor", lab["sites"][site]["url"], *args],
                          env={**clean, **env, "PYTHONPATH": path}, capture_output=True, text=True,
                          timeout=120, check=False)


def app_env(lab: dict[str, Any], site: str, role: str = "admin") -> dict[str, str]:
    info = user(lab, site, role)
    return {"WP_USERNAME": info["username"], "WP_APP_PASSWORD": info["app_password"]}


# --- healthy servers: all ok, exit 0 --------------------------------------------------


@pytest.mark.versioned
@pytest.mark.parametrize("site", ["apache", "main"])
def test_healthy_site_is_all_ok(lab: dict[str, Any], site: str) -> None:
    report = run(lab, site)
    assert report.writes_possible, report.render()
    assert set(outcomes(report).values()) == {"ok"}, report.render()
    assert report.api_root == lab["sites"][site]["api_root"]
    assert "roles: administrator" in text_of(report, "credentials")
    assert "publish_posts" in text_of(report, "permissions")


def test_cli_on_a_healthy_apache_site_exits_0(lab: dict[str, Any]) -> None:
    done = cli(lab, "apache", **app_env(lab, "apache"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Writes can work: yes" in done.stdout and "FAIL" not in done.stdout
    done = cli(lab, "apache", "--json", **app_env(lab, "apache"))
    data = json.loads(done.stdout)
    assert done.returncode == 0 and data["writes_possible"] is True
    assert {c["outcome"] for c in data["checks"]} == {"ok"}


def test_an_author_can_create_and_publish(lab: dict[str, Any]) -> None:
    report = run(lab, "main", "author")
    assert report.writes_possible
    assert "roles: author" in text_of(report, "credentials")


# --- the Authorization header stripped by Apache + PHP-FPM ---------------------------------


def fpm_fix(state: str) -> None:
    subprocess.run(["bash", str(LAB_SH), "fpm-fix", state], check=True, capture_output=True, timeout=120)


@pytest.fixture
def fpm_fix_off() -> Iterator[None]:
    """The fpm site as it comes (no CGIPassAuth); always left that way afterwards."""
    fpm_fix("off")
    try:
        yield
    finally:
        fpm_fix("off")


def test_fpm_without_cgipassauth_reports_the_stripped_header_then_ok_with_the_fix(
        lab: dict[str, Any], fpm_fix_off: None) -> None:
    # With an administrator's login password: probe (b), WordPress's own site-health test.
    report = run(lab, "fpm", login_password=user(lab, "fpm")["password"])
    assert not report.writes_possible
    assert outcomes(report)["auth-header"] == "fail"
    header = text_of(report, "auth-header")
    assert "'The authorization header is missing'" in header and "jwt_auth_no_auth_header" in header
    for line in ("CGIPassAuth On", 'SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=$1',
                 "RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]",
                 "fastcgi_param HTTP_AUTHORIZATION $http_authorization;"):
        assert line in header
    assert "does not reach PHP intact" in text_of(report, "credentials")
    # The same application password works once the server passes the header.
    fpm_fix("on")
    fixed = run(lab, "fpm")
    assert fixed.writes_possible, fixed.render()
    assert set(outcomes(fixed).values()) == {"ok"}
    done = cli(lab, "fpm", **app_env(lab, "fpm"))
    assert done.returncode == 0, done.stdout


@pytest.mark.versioned
def test_fpm_without_a_login_password_still_names_the_server_fix(lab: dict[str, Any], fpm_fix_off: None) -> None:
    """Probe (a) only: the JWT plugin sees no HTTP_AUTHORIZATION."""
    report = run(lab, "fpm")
    assert outcomes(report)["auth-header"] == "fail"
    assert "CGIPassAuth On" in text_of(report, "auth-header")
    assert "most likely because the web server strips" in text_of(report, "credentials")
    done = cli(lab, "fpm", **app_env(lab, "fpm"))
    assert done.returncode == 1 and "FAIL  auth-header:" in done.stdout


@pytest.mark.versioned
def test_fpm_strips_bearer_tokens_too(lab: dict[str, Any], fpm_fix_off: None) -> None:
    auth = wp_rest.JWTAuth.self_signed(lab["sites"]["fpm"]["jwt_secret"], 1)
    report = run(lab, "fpm", auth=auth)
    assert outcomes(report)["auth-header"] == "fail"
    assert "does not reach PHP intact" in text_of(report, "credentials")


# --- plain permalinks, https, production over http ---------------------------------------------


def test_plain_permalinks_work_through_rest_route_with_a_warning(lab: dict[str, Any]) -> None:
    report = run(lab, "plain")
    assert report.writes_possible, report.render()
    assert report.api_root == lab["sites"]["plain"]["api_root"]
    assert "?rest_route=" in (report.api_root or "")
    assert outcomes(report)["permalinks"] == "warn"
    assert "Settings > Permalinks" in text_of(report, "permalinks")
    assert {o for n, o in outcomes(report).items() if n != "permalinks"} == {"ok"}


def test_plain_permalinks_wp_json_url_points_to_the_working_root(lab: dict[str, Any]) -> None:
    info = user(lab, "plain")
    with wp_rest.Client(lab["sites"]["plain"]["url"] + "/wp-json/",
                        auth=wp_rest.ApplicationPassword(info["username"], info["app_password"])) as client:
        report = diagnose(client)
    assert outcomes(report)["api"] == "fail"
    assert f"Client({lab['sites']['plain']['api_root']!r})" in text_of(report, "api")
    assert not report.writes_possible


def test_https_with_a_private_ca_explained_then_ok_with_the_bundle(lab: dict[str, Any]) -> None:
    bundle = lab["sites"]["https"]["ca_bundle"]
    failed = run(lab, "https")
    assert outcomes(failed) == {"tls": "fail"}
    assert "not trusted" in text_of(failed, "tls") and "WP_CA_BUNDLE" in text_of(failed, "tls")
    assert not failed.writes_possible
    trusted = run(lab, "https", verify=bundle)
    assert trusted.writes_possible, trusted.render()
    assert set(outcomes(trusted).values()) == {"ok"}
    # production environment: application passwords only because the request is https
    assert outcomes(trusted)["app-passwords"] == "ok"
    assert cli(lab, "https", **app_env(lab, "https")).returncode == 1
    done = cli(lab, "https", "--ca-bundle", bundle, **app_env(lab, "https"))
    assert done.returncode == 0, done.stdout
    assert cli(lab, "https", **app_env(lab, "https"), WP_CA_BUNDLE=bundle).returncode == 0


@pytest.mark.versioned
def test_production_over_http_application_passwords_unavailable(lab: dict[str, Any]) -> None:
    """Debian's wp-config.php takes X-Forwarded-Proto: https as HTTPS: a TLS proxy is the fix."""
    report = run(lab, "production")
    assert not report.writes_possible
    assert outcomes(report)["app-passwords"] == "fail"
    apps = text_of(report, "app-passwords")
    assert '"authentication": []' in apps and "plain http" in apps
    assert "lists application-passwords when the request carries X-Forwarded-Proto: https" in apps
    assert "a TLS proxy that sends X-Forwarded-Proto: https is enough" in apps
    assert "WP_ENVIRONMENT_TYPE', 'local'" in apps
    assert "application passwords are unavailable" in text_of(report, "credentials")
    # With a login password, probe (b) also shows that the header itself arrives.
    probed = run(lab, "production", login_password=user(lab, "production")["password"])
    assert outcomes(probed)["auth-header"] == "ok"
    assert "the header does reach PHP" in text_of(probed, "credentials")


# --- credentials: wrong, or valid without rights --------------------------------------------------


@pytest.mark.versioned
def test_a_wrong_application_password_where_the_header_arrives(lab: dict[str, Any]) -> None:
    """Core answers as for a visitor; the JWT plugin's validate route (probe a) shows the header arrives."""
    report = run(lab, http_site_with(lab, "jwt-auth/", lacking=("wc/",)), app_password=WRONG)
    assert not report.writes_possible
    assert outcomes(report)["auth-header"] == "ok"
    assert "jwt_auth_bad_auth_header" in text_of(report, "auth-header")
    credentials = text_of(report, "credentials")
    assert "401 rest_not_logged_in" in credentials
    assert "although the Authorization header reaches PHP and application passwords are available" in credentials
    assert "Create a new application password" in credentials


def test_a_wrong_application_password_with_the_site_health_probe(lab: dict[str, Any]) -> None:
    report = run(lab, "apache", app_password=WRONG, login_password=user(lab, "apache")["password"])
    assert "'The Authorization header is working as expected'" in text_of(report, "auth-header")
    assert "although the Authorization header reaches PHP" in text_of(report, "credentials")


@pytest.mark.versioned
def test_a_wrong_login_password_for_the_site_health_probe_is_named(lab: dict[str, Any]) -> None:
    report = run(lab, "apache", app_password=WRONG, login_password="not-the-login-password")
    header = text_of(report, "auth-header")
    assert ("WordPress's site-health test (GET /wp-site-health/v1/tests/authorization-header after a cookie "
            "login as 'admin') failed: wp-login.php refused the login: ") in header
    assert "The password you entered for the username admin is incorrect" in header
    assert "not-the-login-password" not in report.render()


@pytest.mark.versioned
def test_a_wrong_application_password_without_probes_gives_both_fixes(lab: dict[str, Any]) -> None:
    """No JWT plugin, no WooCommerce, no login password: nothing can tell the two causes apart."""
    site = http_site_with(lab, "application-passwords", lacking=("jwt-auth/", "wc/"))
    report = run(lab, site, app_password=WRONG)
    text = text_of(report, "credentials")
    assert "401 rest_not_logged_in" in text and "could not tell which" in text
    assert "Create a new application password" in text and "CGIPassAuth On" in text


def test_a_login_password_given_as_application_password(lab: dict[str, Any]) -> None:
    report = run(lab, "main", app_password=user(lab, "main")["password"])
    assert "not 24 letters and digits" in text_of(report, "credentials")


def test_a_subscribers_valid_password_is_explained(lab: dict[str, Any]) -> None:
    report = run(lab, "main", "subscriber")
    assert not report.writes_possible
    assert outcomes(report)["credentials"] == "ok"
    assert "roles: subscriber" in text_of(report, "credentials")
    assert outcomes(report)["permissions"] == "fail"
    assert "no edit_posts" in text_of(report, "permissions")
    done = cli(lab, "main", **app_env(lab, "main", "subscriber"))
    assert done.returncode == 1 and "FAIL  permissions:" in done.stdout


def test_the_json_basic_auth_plugin_500_is_explained(lab: dict[str, Any]) -> None:
    report = run(lab, "basicauth")
    text = text_of(report, "credentials")
    assert "500 incorrect_password" in text and "JSON Basic Authentication plugin" in text
    assert not report.writes_possible
    info = user(lab, "basicauth")
    with_login = run(lab, "basicauth", auth=wp_rest.BasicAuth(info["username"], info["password"]))
    assert with_login.writes_possible, with_login.render()
    assert outcomes(with_login)["basic-auth-plugin"] == "warn"


def test_jwt_with_the_wrong_secret_and_the_right_one(lab: dict[str, Any]) -> None:
    secret = lab["sites"]["main"]["jwt_secret"]
    good = run(lab, "main", auth=wp_rest.JWTAuth.self_signed(secret, 1))
    assert good.writes_possible, good.render()
    bad = run(lab, "main", auth=wp_rest.JWTAuth.self_signed("another-secret-" + "x" * 32, 1))
    assert "Signature verification failed" in text_of(bad, "credentials")
    assert "JWT_AUTH_SECRET_KEY" in text_of(bad, "credentials")


def test_jwt_login_with_a_wrong_password(lab: dict[str, Any]) -> None:
    report = run(lab, "main", auth=wp_rest.JWTAuth("admin", "not-the-password"))
    assert "[jwt_auth] incorrect_password" in text_of(report, "credentials")
    assert "takes the login password" in text_of(report, "credentials")


def test_no_credentials_checks_the_site_and_exits_1(lab: dict[str, Any]) -> None:
    report = run(lab, "main", None)
    assert outcomes(report)["api"] == "ok" and outcomes(report)["credentials"] == "fail"
    done = cli(lab, "main")
    assert done.returncode == 1 and "WP_USERNAME and WP_APP_PASSWORD" in done.stdout


def test_jwt_with_the_wrong_issuer_or_an_expired_token(lab: dict[str, Any]) -> None:
    main = lab["sites"]["main"]
    wrong_iss = run(lab, "main", auth=wp_rest.JWTAuth.self_signed(main["jwt_secret"], 1,
                                                                  issuer=main["url"] + "/"))
    assert "403 jwt_auth_bad_iss" in text_of(wrong_iss, "credentials")
    assert f"iss must be exactly {main['url']}" in text_of(wrong_iss, "credentials")
    expired = wp_rest.jwt_encode({"iss": main["url"], "exp": int(time.time()) - 60,
                                  "data": {"user": {"id": 1}}}, main["jwt_secret"])
    report = run(lab, "main", auth=wp_rest.BearerToken(expired))
    assert "Expired token" in text_of(report, "credentials")
    assert "check the clocks" in text_of(report, "credentials")


# --- OAuth 1.0a and WooCommerce, recognised from the index and their answers -----------------------


def http_site_with(lab: dict[str, Any], wanted: str = "", *, lacking: tuple[str, ...] = ()) -> str:
    """An http lab site whose index lists ``wanted`` (a namespace prefix or a key
    of ``authentication``) and none of ``lacking``: where the lab runs (or not) a plugin's double."""
    def lists(index: dict[str, Any], name: str) -> bool:
        return any(n.startswith(name) for n in index["namespaces"]) or name in (index["authentication"] or {})

    for name, info in lab["sites"].items():
        if info["url"].startswith("http:") and name != "basicauth":
            with urllib.request.urlopen(info["api_root"], timeout=30) as answer:
                index = json.load(answer)
            if (not wanted or lists(index, wanted)) and not any(lists(index, n) for n in lacking):
                return str(name)
    pytest.fail(f"no http lab site of WordPress {lab['version']} lists {wanted!r} without {lacking}: "
                "is tests/wp/lab.sh up to date?")


def admin_client(lab: dict[str, Any], site: str) -> wp_rest.Client:
    info = user(lab, site)
    return wp_rest.Client(lab["sites"][site]["url"],
                          auth=wp_rest.ApplicationPassword(info["username"], info["app_password"]))


@pytest.mark.versioned
def test_a_wrong_application_password_on_a_woocommerce_site(lab: dict[str, Any]) -> None:
    """WooCommerce asks for the user early, so core's own incorrect_password shows."""
    site = http_site_with(lab, "wc/")
    report = run(lab, site, app_password=WRONG)
    credentials = text_of(report, "credentials")
    assert '401 incorrect_password "The provided password is an invalid application password."' in credentials
    assert "the Authorization header reached WordPress and the credentials are wrong" in credentials
    assert "Create a new application password" in credentials
    assert report.get("auth-header") is None  # no probe needed
    assert "WooCommerce (wc/...)" in text_of(report, "plugins")


def test_woocommerce_keys_checked_on_a_wc_route(lab: dict[str, Any]) -> None:
    site = http_site_with(lab, "wc/")
    with admin_client(lab, site) as admin:
        key = {row["permissions"]: row for row in admin.request("GET", "/wprest-lab/v1/woocommerce-keys")}["read_write"]
    keys = wp_rest.WooCommerceKeys(key["consumer_key"], key["consumer_secret"])
    report = run(lab, site, auth=keys)
    assert outcomes(report)["credentials"] == "ok", report.render()
    assert outcomes(report)["permissions"] == "warn" and not report.writes_possible
    wrong = run(lab, site, auth=wp_rest.WooCommerceKeys(key["consumer_key"], "cs_" + "0" * 40))
    text = text_of(wrong, "credentials")
    assert "woocommerce_rest_authentication_error" in text and "one-legged OAuth 1.0a signature" in text
    assert key["consumer_secret"] not in wrong.render()


@pytest.mark.versioned
def test_the_oauth1_plugin_recognised_and_its_refusals_named(lab: dict[str, Any]) -> None:
    site = http_site_with(lab, "oauth1")
    with admin_client(lab, site) as admin:
        consumer = admin.request("GET", "/wprest-lab/v1/oauth1-consumers")[0]
    no_token = run(lab, site, auth=wp_rest.OAuth1(consumer["key"], consumer["secret"]))
    assert "OAuth 1.0a server (WP-API/OAuth1): request " in text_of(no_token, "plugins")
    assert "401 json_oauth1_missing_parameter" in text_of(no_token, "credentials")
    assert "need an access token" in text_of(no_token, "credentials")
    unknown = run(lab, site, auth=wp_rest.OAuth1(consumer["key"], consumer["secret"], "no-such-token", "s" * 24))
    assert "does not know this access token" in text_of(unknown, "credentials")
    assert consumer["secret"] not in no_token.render() + unknown.render()

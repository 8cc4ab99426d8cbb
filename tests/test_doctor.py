"""Unit tests of the doctor (Client.diagnose, `wp-rest doctor`) against loopback stubs.

Only what the real lab cannot be made to show: DNS failures, refused and silent
ports, TLS certificate errors, firewall challenge pages, server-level Basic auth,
PHP notices, clock skew, redirects to other hosts, secrets echoed back, and the
doctor's verdict for each answer a probe can give. What WordPress itself answers
is shown on the real servers in test_doctor_wordpress.py.
"""

from __future__ import annotations

import base64
import email.utils
import errno
import json
import socket
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import wp_rest
from doctorkit import DOCTOR, Check, diagnose, main, outcomes, text_of
from stub import Answer, Seen, json_answer, serve

USER = "admin"
SECRET = "abcd EFGH 1234 ijkl MNOP 6789"
BASIC = "Basic " + base64.b64encode(f"{USER}:{SECRET.replace(' ', '')}".encode()).decode()
LOGIN_PASSWORD = "correct-horse-battery-staple"
NOT_LOGGED_IN = {"code": "rest_not_logged_in", "message": "You are not currently logged in.",
                 "data": {"status": 401}}
ADMIN = {"id": 1, "username": "admin", "name": "Ad Min", "roles": ["administrator"],
         "capabilities": {"edit_posts": True, "publish_posts": True, "administrator": True}}
INVALID_PARAM = {"code": "rest_invalid_param", "message": "Invalid parameter(s): status",
                 "data": {"status": 400}}

Part = Callable[[Seen], Answer]


def base_of(seen: Seen, scheme: str = "http") -> str:
    return f"{scheme}://{seen.headers['Host']}"


def index_for(base: str, **changes: Any) -> dict[str, Any]:
    index = {"name": "Stub site", "url": base, "home": base,
             "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
             "authentication": {"application-passwords": {"endpoints": {"authorization": base + "/wp-admin/"}}},
             "routes": {"/": {}, "/wp/v2/posts": {}, "/wp/v2/users/me": {},
                        "/wp-site-health/v1/tests/authorization-header": {}}}
    index.update(changes)
    return index


def default_me(seen: Seen) -> Answer:
    if seen.headers.get("Authorization") == BASIC:
        return json_answer(ADMIN)
    return json_answer(NOT_LOGGED_IN, 401)


def rest_path(path: str) -> str:
    """``/index.php?rest_route=/x&a=1`` and ``/?rest_route=/x&a=1`` as ``/wp-json/x?a=1``."""
    parts = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qsl(parts.query)
    route = dict(query).get("rest_route")
    if route is None or parts.path not in ("/", "/index.php"):
        return path
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "rest_route"])
    return "/wp-json" + route + ("?" + rest if rest else "")


def fake_wp(parts: dict[str, Part] | None = None, *, root: str = "/wp-json/",
            scheme: str = "http") -> Callable[[Seen], Answer]:
    """A handler answering the requests doctor makes of a healthy site; ``parts`` replace
    single answers, keyed "METHOD /path?query" (the path below the site)."""
    parts = parts or {}

    def handler(seen: Seen) -> Answer:
        base = base_of(seen, scheme)
        link = f'<{base}{root}>; rel="https://api.w.org/"'
        path = rest_path(seen.path)
        key = f"{seen.method} {path}"
        if f"{seen.method} {seen.path}" in parts:
            answer = parts[f"{seen.method} {seen.path}"](seen)
        elif key in parts:
            answer = parts[key](seen)
        elif key.partition("?")[0] in parts:  # signed requests carry their signature in the query
            answer = parts[key.partition("?")[0]](seen)
        elif seen.method in ("HEAD", "GET") and path == "/":
            answer = Answer(200, "<html><title>Stub</title></html>", {"Content-Type": "text/html"})
        elif key == "GET /wp-json/":
            answer = json_answer(index_for(base))
        elif key.startswith("GET /wp-json/wp/v2/users/me"):
            answer = default_me(seen)
        elif key.startswith("POST /wp-json/wp/v2/posts"):
            answer = json_answer(INVALID_PARAM, 400)
        else:
            answer = json_answer({"code": "rest_no_route", "message": "No route was found.",
                                  "data": {"status": 404}}, 404)
        if answer.raw is None:
            answer.headers.setdefault("Link", link)
        return answer

    return handler


def pretty_only(make: Part) -> Part:
    """Replace the index at /wp-json/ only; ?rest_route=/ still answers it."""
    def part(seen: Seen) -> Answer:
        return make(seen) if seen.path.startswith("/wp-json") else json_answer(index_for(base_of(seen)))

    return part


def client_for(url: str, *, auth: wp_rest.Auth | bool | None = True, **kwargs: Any) -> wp_rest.Client:
    kwargs.setdefault("timeout", 5.0)
    chosen = wp_rest.ApplicationPassword(USER, SECRET) if auth is True else (auth or None)
    return wp_rest.Client(url, auth=chosen, **kwargs)


def raw_json(value: Any, status: int = 200, **headers: str) -> Answer:
    """A response written byte by byte (the stub adds its own Date header otherwise)."""
    body = json.dumps(value).encode()
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json; charset=UTF-8",
             f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return Answer(raw=("\r\n".join(lines) + "\r\n\r\n").encode() + body)


# --- Report and Check -----------------------------------------------------------


def test_check_outcome_is_validated() -> None:
    with pytest.raises(wp_rest.ConfigError, match="outcome"):
        Check("x", "bad", "seen")


def test_report_renders_blocks_with_markers_and_indented_fixes() -> None:
    report = DOCTOR.Report("https://example.com", (
        Check("reachable", "ok", "HEAD answered 200"),
        Check("permalinks", "warn", "plain", "line one\nline two"),
        Check("credentials", "fail", "rejected", "do this"),
    ), False, None)
    text = report.render()
    assert "ok    reachable: HEAD answered 200" in text
    assert "warn  permalinks: plain\n      fix: line one\n           line two" in text
    assert "FAIL  credentials: rejected\n      fix: do this" in text
    assert text.endswith("Writes can work: NO (see credentials)")
    assert report.to_dict() == {
        "url": "https://example.com", "api_root": None, "writes_possible": False,
        "checks": [{"name": "reachable", "outcome": "ok", "seen": "HEAD answered 200", "fix": ""},
                   {"name": "permalinks", "outcome": "warn", "seen": "plain", "fix": "line one\nline two"},
                   {"name": "credentials", "outcome": "fail", "seen": "rejected", "fix": "do this"}]}
    assert report.get("permalinks") == report.checks[1] and report.get("nope") is None


# --- a healthy site, and what doctor sends ------------------------------------------


def test_healthy_site_is_all_ok_and_nothing_is_written() -> None:
    with serve(fake_wp()) as server:
        report = diagnose(client_for(server.url))
    assert report.writes_possible, report.render()
    assert set(outcomes(report).values()) == {"ok"}
    assert list(outcomes(report)) == ["reachable", "api", "app-passwords", "plugins", "clock",
                                      "credentials", "permissions", "write-path"]
    assert report.api_root == server.url + "/wp-json/"
    # doctor's own HEAD (to see redirects), then the client's discovery, which doctor uses as is.
    assert [(s.method, s.path) for s in server.seen] == [
        ("HEAD", "/"), ("HEAD", "/"), ("GET", "/wp-json/"), ("GET", "/wp-json/wp/v2/users/me?context=edit"),
        ("POST", "/wp-json/wp/v2/posts")]
    # Anonymous until the credentials check: the index is read without Authorization,
    # because a site may answer stale credentials with an error even on public routes.
    assert [bool(s.headers.get("Authorization")) for s in server.seen] == [False, False, False, True, True]
    # The only write carries values WordPress refuses before any handler runs.
    assert json.loads(server.seen[-1].body)["status"] == "wp-rest-doctor-invalid"


def test_a_post_that_is_redirected_means_writes_cannot_work() -> None:
    parts = {"POST /wp-json/wp/v2/posts": lambda s: Answer(301, b"", {"Location": "http://elsewhere.invalid/wp-json/wp/v2/posts"})}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert not report.writes_possible
    assert outcomes(report)["write-path"] == "fail"
    assert "a redirected POST comes back as a GET" in text_of(report, "write-path")


def test_a_post_blocked_by_a_firewall_means_writes_cannot_work() -> None:
    parts = {"POST /wp-json/wp/v2/posts": lambda s: Answer(
        403, "<html><title>Attention Required! | Cloudflare</title></html>", {"Content-Type": "text/html"})}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert not report.writes_possible
    assert "Cloudflare" in text_of(report, "write-path")


# --- reachability and TLS ---------------------------------------------------------------


def test_dns_failure_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    report = diagnose(client_for("https://wp-doctor.invalid"))
    assert outcomes(report) == {"reachable": "fail"}
    assert "wp-doctor.invalid does not resolve" in text_of(report, "reachable")
    assert "dig wp-doctor.invalid" in text_of(report, "reachable")
    assert not report.writes_possible and report.api_root is None


def test_connection_refused_is_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    report = diagnose(client_for(f"http://127.0.0.1:{port}"))
    assert outcomes(report) == {"reachable": "fail"}
    assert f"connection refused, nothing listens on 127.0.0.1 port {port}" in text_of(report, "reachable")


def test_a_silent_server_times_out_within_the_client_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)  # accepts connections, never answers
        started = time.monotonic()
        report = diagnose(client_for(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=0.5))
        elapsed = time.monotonic() - started
    assert elapsed < 3
    assert outcomes(report) == {"reachable": "fail"}
    assert "no answer within 0.5 s" in text_of(report, "reachable")


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(cert, key) of a self-signed certificate for 127.0.0.1 only, made with openssl."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=wp-rest doctor test",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture(scope="session")
def expired(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(CA cert, leaf cert, leaf key): a leaf for 127.0.0.1 that expired in 2020, made with openssl ca."""
    where = tmp_path_factory.mktemp("expired")
    (where / "ca.cnf").write_text("[ca]\ndefault_ca = lab\n[lab]\ndatabase = index.txt\nnew_certs_dir = .\n"
                                  "serial = serial\ndefault_md = sha256\npolicy = any\n"
                                  "copy_extensions = copy\n[any]\ncommonName = supplied\n")
    (where / "index.txt").write_text("")
    (where / "serial").write_text("01\n")
    for command in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=wp-rest doctor test CA"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        ["openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
         "-in", "leaf.csr", "-out", "leaf.pem", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z"],
    ):
        subprocess.run(command, cwd=where, check=True, capture_output=True)
    return str(where / "ca.pem"), str(where / "leaf.pem"), str(where / "leaf.key")


def serve_tls(handler: Callable[[Seen], Answer], cert: str, key: str) -> Any:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return serve(handler, tls=context)


def test_no_cipher_in_common_is_a_failed_handshake(self_signed: tuple[str, str]) -> None:
    """A server that offers only ciphers the client refuses answers the handshake with an alert."""
    cert, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("NULL-SHA256:@SECLEVEL=0")  # no encryption: no client offers it
    with serve(fake_wp(scheme="https"), tls=context) as server:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        report = diagnose(client_for(url, verify=cert))
    assert outcomes(report) == {"tls": "fail"}
    check = report.get("tls")
    assert check.seen == f"HEAD {url}/: the TLS handshake failed (SSLV3_ALERT_HANDSHAKE_FAILURE)"
    assert check.fix == "Check the server's TLS protocols, ciphers and chain."
    assert not report.writes_possible and report.api_root is None


def test_no_route_to_the_host_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection failure without a cause of its own (no route to the host, a network down)."""
    real = socket.create_connection

    def no_route(address: Any, *args: Any, **kwargs: Any) -> Any:
        if address[0] == "192.0.2.10":  # TEST-NET-1 (RFC 5737)
            raise OSError(errno.EHOSTUNREACH, "No route to host")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", no_route)
    report = diagnose(client_for("https://192.0.2.10"))
    assert outcomes(report) == {"reachable": "fail"}
    check = report.get("reachable")
    assert check.seen.startswith("HEAD https://192.0.2.10/: could not connect to 192.0.2.10:443: ")
    assert "No route to host" in check.seen
    assert check.fix == "Check the URL and the network."
    assert not report.writes_possible and report.api_root is None


def test_self_signed_certificate_explained_then_ok_with_the_ca_bundle(self_signed: tuple[str, str]) -> None:
    cert, key = self_signed
    with serve_tls(fake_wp(scheme="https"), cert, key) as server:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        failed = diagnose(client_for(url))
        trusted = diagnose(client_for(url, verify=cert))
    assert outcomes(failed) == {"tls": "fail"}
    assert "self-signed certificate" in text_of(failed, "tls")
    assert "verify='/path/to/ca.pem'" in text_of(failed, "tls") and "WP_CA_BUNDLE" in text_of(failed, "tls")
    assert trusted.writes_possible, trusted.render()
    assert outcomes(trusted)["tls"] == "ok"
    with serve_tls(fake_wp(scheme="https"), cert, key) as server:
        unverified = diagnose(client_for(f"https://127.0.0.1:{server.server_address[1]}", verify=False))
    assert outcomes(unverified)["tls"] == "warn" and "not verified" in text_of(unverified, "tls")


def test_certificate_for_another_name_is_explained(self_signed: tuple[str, str]) -> None:
    cert, key = self_signed
    with serve_tls(fake_wp(scheme="https"), cert, key) as server:
        report = diagnose(client_for(f"https://localhost:{server.server_address[1]}", verify=cert))
    assert outcomes(report) == {"tls": "fail"}
    assert "does not name localhost" in text_of(report, "tls")


def test_expired_certificate_is_explained(expired: tuple[str, str, str]) -> None:
    ca, cert, key = expired
    with serve_tls(fake_wp(scheme="https"), cert, key) as server:
        report = diagnose(client_for(f"https://127.0.0.1:{server.server_address[1]}", verify=ca))
    assert outcomes(report) == {"tls": "fail"}
    text = text_of(report, "tls")
    assert "certificate has expired" in text and "Renew the certificate" in text and "does not help" in text


def test_https_behind_a_proxy_without_https_on(self_signed: tuple[str, str]) -> None:
    """TLS ends at a proxy and PHP does not see HTTPS: home is http, no application passwords."""
    def index(seen: Seen) -> Answer:
        return json_answer(index_for(base_of(seen, "http"), authentication=[]))

    cert, key = self_signed
    with serve_tls(fake_wp({"GET /wp-json/": index}, scheme="https"), cert, key) as server:
        report = diagnose(client_for(f"https://127.0.0.1:{server.server_address[1]}", verify=cert))
    assert outcomes(report)["app-passwords"] == "fail"
    text = text_of(report, "app-passwords")
    assert "is_ssl() is false" in text and "$_SERVER['HTTPS'] = 'on'" in text
    assert outcomes(report)["address"] == "warn"


# --- discovery, firewalls, plain permalinks, redirects ---------------------------------------


def test_cloudflare_challenge_page_is_named() -> None:
    def challenge(seen: Seen) -> Answer:
        return Answer(403, "<html><head><title>Just a moment...</title></head>"
                      "<script src='/cdn-cgi/challenge-platform/x.js'></script></html>",
                      {"Content-Type": "text/html", "cf-mitigated": "challenge", "Server": "cloudflare"})

    with serve(challenge) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report) == {"reachable": "ok", "api": "fail", "credentials": "fail"}
    text = text_of(report, "api")
    assert "block or challenge page of Cloudflare" in text and "'Just a moment...'" in text
    assert "allow-list this machine's IP address" in text


def test_server_level_basic_auth_is_named() -> None:
    def protected(seen: Seen) -> Answer:
        return Answer(401, "<html><title>401 Unauthorized</title></html>",
                      {"Content-Type": "text/html", "WWW-Authenticate": 'Basic realm="Staging"'})

    with serve(protected) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["server-auth"] == "fail"
    text = text_of(report, "server-auth")
    assert 'WWW-Authenticate: Basic realm="Staging"' in text and "takes the one Authorization header" in text
    assert not report.writes_possible


def test_rest_api_closed_to_visitors_still_checks_the_credentials() -> None:
    closed = {"code": "rest_cannot_access", "message": "Only authenticated users can access the REST API.",
              "data": {"status": 401}}
    with serve(fake_wp({"GET /wp-json/": lambda s: json_answer(closed, 401)})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["api"] == "warn"
    assert "closes the REST API to visitors" in text_of(report, "api")
    assert report.writes_possible, report.render()


NO_ROUTE = {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
            "data": {"status": 404}}


def test_a_rest_index_removed_for_visitors_still_checks_the_credentials() -> None:
    """A filter that unsets the route / for visitors (a common hardening snippet): the other routes work."""
    with serve(fake_wp({"GET /wp-json/": lambda s: json_answer(NO_ROUTE, 404)})) as server:
        report = diagnose(client_for(server.url))
    api = report.get("api")
    assert api is not None and api.outcome == "warn", report.render()
    assert api.seen == (f'GET {server.url}/wp-json/ answered 404 rest_no_route "No route was found matching the '
                        "URL and request method.\": WordPress's REST API answers, but a plugin or a rest_endpoints "
                        "filter removed its index (the route /) (the root was named by the Link header of HEAD "
                        f"{server.url}/); the index checks were skipped")
    assert api.fix.startswith("Credentials may still work (see credentials)")
    assert "CookieAuth, self-signed JWTs and doctor's index checks need it: let that plugin" in api.fix
    assert outcomes(report)["credentials"] == "ok"
    assert report.writes_possible, report.render()


def test_no_link_header_falls_back_to_rest_route_like_the_client() -> None:
    parts = {"HEAD /": lambda s: Answer(200, b"", {"Content-Type": "text/html", "Link": "<x>; rel=other"}),
             "GET /wp-json/": pretty_only(lambda s: Answer(404, "<html><title>Not Found</title></html>",
                                                           {"Content-Type": "text/html"}))}
    with serve(fake_wp(parts, root="/?rest_route=/")) as server:
        report = diagnose(client_for(server.url))
    assert report.api_root == server.url + "/?rest_route=/"
    assert "falls back to" in text_of(report, "api")
    assert report.writes_possible, report.render()


def test_plain_permalinks_are_a_warning_naming_the_setting() -> None:
    with serve(fake_wp(root="/index.php?rest_route=/")) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["permalinks"] == "warn"
    assert "Settings > Permalinks" in text_of(report, "permalinks")
    assert report.api_root == server.url + "/index.php?rest_route=/"
    assert report.writes_possible, report.render()


def test_a_wp_json_root_on_plain_permalinks_points_to_the_rest_route_root() -> None:
    page = {"GET /wp-json/": pretty_only(lambda s: Answer(404, "<html><title>Page not found</title></html>",
                                                          {"Content-Type": "text/html"}))}
    with serve(fake_wp(page, root="/index.php?rest_route=/")) as server:
        report = diagnose(client_for(server.url + "/wp-json/"))
    assert outcomes(report)["api"] == "fail"
    text = text_of(report, "api")
    assert f"Client('{server.url}/index.php?rest_route=/')" in text and "plain permalinks" in text
    assert report.api_root == server.url + "/index.php?rest_route=/"
    assert outcomes(report)["credentials"] == "ok"
    assert not report.writes_possible  # not with the URL it was given


def test_pretty_permalinks_without_rewrites_name_the_server_fix() -> None:
    page = {"GET /wp-json/": pretty_only(lambda s: Answer(404, "<html><title>404 Not Found</title></html>",
                                                          {"Content-Type": "text/html"}))}
    with serve(fake_wp(page)) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["api"] == "fail"
    assert "try_files" in text_of(report, "api") and "AllowOverride" in text_of(report, "api")
    assert not report.writes_possible


def test_redirect_to_another_host_gives_the_canonical_url_and_keeps_credentials() -> None:
    def handler(seen: Seen) -> Answer:
        if seen.headers["Host"].startswith("127.0.0.1"):
            port = seen.headers["Host"].split(":")[1]
            return Answer(301, b"", {"Location": f"http://localhost:{port}{seen.path}"})
        return fake_wp()(seen)

    with serve(handler) as server:
        report = diagnose(client_for(server.url))
    canonical = server.url.replace("127.0.0.1", "localhost") + "/"
    assert outcomes(report)["redirects"] == "fail"
    text = text_of(report, "redirects")
    assert f"Client('{canonical}')" in text and "turns a POST into a GET" in text
    assert "the site moved to localhost" in text
    assert outcomes(report)["credentials"] == "fail" and "not sent" in text_of(report, "credentials")
    assert not any(s.headers.get("Authorization") for s in server.seen)
    assert not report.writes_possible


def test_www_to_apex_redirect_gives_the_canonical_url(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if str(host).endswith("doctor.test") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    def handler(seen: Seen) -> Answer:
        if seen.headers["Host"].startswith("www."):
            return Answer(301, b"", {"Location": f"http://{seen.headers['Host'][4:]}{seen.path}"})
        return fake_wp()(seen)

    with serve(handler) as server:
        port = server.server_address[1]
        report = diagnose(client_for(f"http://www.doctor.test:{port}", allow_insecure_http=True))
    assert outcomes(report)["redirects"] == "fail"
    assert "(www to apex)" in text_of(report, "redirects")
    assert f"Client('http://doctor.test:{port}/')" in text_of(report, "redirects")
    assert outcomes(report)["tls"] == "warn"  # credentials would travel over plain http
    assert not any(s.headers.get("Authorization") for s in server.seen)


def test_a_site_moved_within_its_host_is_a_warning() -> None:
    def handler(seen: Seen) -> Answer:
        if seen.path == "/":
            return Answer(301, b"", {"Location": "/blog/"})
        if seen.path == "/blog/":
            return Answer(200, b"", {"Content-Type": "text/html",
                                     "Link": f'<{base_of(seen)}/blog/wp-json/>; rel="https://api.w.org/"'})
        seen.path = seen.path.removeprefix("/blog")
        return fake_wp(root="/blog/wp-json/")(seen)

    with serve(handler) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["redirects"] == "warn"
    assert f"Client('{server.url}/blog/')" in text_of(report, "redirects")
    assert report.writes_possible, report.render()


def test_a_redirect_to_another_port_is_named() -> None:
    with serve(fake_wp()) as target:
        port = target.server_address[1]
        with serve(lambda s: Answer(301, b"", {"Location": f"http://127.0.0.1:{port}{s.path}"})) as server:
            report = diagnose(client_for(server.url))
    assert outcomes(report)["redirects"] == "fail"  # another origin: the credentials stay here
    assert f"(to port {port})" in text_of(report, "redirects")
    assert f"Client('{target.url}/')" in text_of(report, "redirects")
    assert DOCTOR._redirect_kind("http://example.test:8080/", "http://example.test/") == "to port default"


def test_a_redirected_api_root_means_writes_cannot_work() -> None:
    """GETs follow the redirect; a POST below that root would be redirected too."""
    parts = {"GET /api/": lambda s: Answer(301, b"", {"Location": "/wp-json/"})}
    with serve(fake_wp(parts, root="/api/")) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["redirects"] == "fail"
    assert "GET " + server.url + "/api/ -> 301 " + server.url + "/wp-json/" in text_of(report, "redirects")
    assert outcomes(report)["credentials"] == "ok"
    assert not report.writes_possible


# --- what the answers contain: PHP notices, byte order marks, clocks -----------------------------


def test_php_notices_before_the_json_are_a_warning() -> None:
    notice = (b"<br />\n<b>Notice</b>:  Undefined index: x in <b>/var/www/wp-content/plugins/p/p.php</b>"
              b" on line <b>12</b><br />\n")

    def index(seen: Seen) -> Answer:
        return Answer(200, notice + json.dumps(index_for(base_of(seen))).encode(),
                      {"Content-Type": "application/json"})

    with serve(fake_wp({"GET /wp-json/": index})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["php-output"] == "warn"
    assert "Undefined index" in text_of(report, "php-output") and "display_errors" in text_of(report, "php-output")
    assert report.writes_possible, report.render()


def test_a_byte_order_mark_is_a_warning() -> None:
    def index(seen: Seen) -> Answer:
        return Answer(200, b"\xef\xbb\xbf" + json.dumps(index_for(base_of(seen))).encode(),
                      {"Content-Type": "application/json"})

    with serve(fake_wp({"GET /wp-json/": index})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["php-output"] == "warn"
    assert "UTF-8 with BOM" in text_of(report, "php-output")


@pytest.mark.parametrize(("answer", "says"), [
    (json_answer({"code": "internal_server_error", "message": "Boom", "data": {"status": 500}}, 500),
     "the server failed"),
    (json_answer({"code": "too_many_requests", "message": "Slow down", "data": {"status": 429}}, 429),
     "refused by the web server, a security plugin or a firewall"),
    (json_answer({"code": "rest_disabled", "message": "Off", "data": {"status": 404}}, 404),
     "the REST API is switched off"),
    (json_answer({"hello": "world"}), "JSON, but not a WordPress REST index"),
    (Answer(200, "<html><title>Coming soon</title></html>", {"Content-Type": "text/html"}), "an HTML page"),
])
def test_what_a_root_that_is_not_the_index_answers(answer: Answer, says: str) -> None:
    with serve(fake_wp({"GET /wp-json/": lambda s: answer, "GET /?rest_route=/": lambda s: answer})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["api"] == "fail" and says in text_of(report, "api"), report.render()
    assert outcomes(report)["credentials"] == "fail" and not report.writes_possible


def test_php_error_instead_of_json_is_named() -> None:
    fatal = "<br />\n<b>Fatal error</b>: Uncaught Error: Call to undefined function x() in /p.php:3"
    with serve(fake_wp({"GET /wp-json/": lambda s: Answer(200, fatal, {"Content-Type": "text/html"}),
                        "GET /?rest_route=/": lambda s: Answer(200, fatal, {"Content-Type": "text/html"})})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["api"] == "fail"
    assert "PHP printed an error message" in text_of(report, "api")


@pytest.mark.parametrize(("offset", "outcome"), [(0, "ok"), (20, "ok"), (600, "warn"), (-600, "warn")])
def test_clock_skew_against_the_server_date(offset: int, outcome: str) -> None:
    def index(seen: Seen) -> Answer:
        date = email.utils.formatdate(time.time() + offset, usegmt=True)
        return raw_json(index_for(base_of(seen)), Date=date,
                        Link=f'<{base_of(seen)}/wp-json/>; rel="https://api.w.org/"')

    with serve(fake_wp({"GET /wp-json/": index})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["clock"] == outcome
    if offset:
        side = "ahead of" if offset > 0 else "behind"
        assert f"s {side} this machine's" in text_of(report, "clock")
    if outcome == "warn":
        assert "NTP" in text_of(report, "clock")


@pytest.mark.parametrize("date", [None, "yesterday"])
def test_no_clock_check_without_a_readable_server_date(date: str | None) -> None:
    def index(seen: Seen) -> Answer:
        link = {"Link": f'<{base_of(seen)}/wp-json/>; rel="https://api.w.org/"'}
        return raw_json(index_for(base_of(seen)), **link, **({"Date": date} if date else {}))

    with serve(fake_wp({"GET /wp-json/": index})) as server:
        report = diagnose(client_for(server.url))
    assert report.get("clock") is None
    assert report.writes_possible, report.render()


# --- credentials: the 401 causes told apart ----------------------------------------------


def test_no_credentials_still_checks_the_site_and_says_what_to_set() -> None:
    with serve(fake_wp()) as server:
        report = diagnose(client_for(server.url, auth=None))
    assert outcomes(report)["credentials"] == "fail"
    assert "WP_USERNAME and WP_APP_PASSWORD" in text_of(report, "credentials")
    assert outcomes(report)["api"] == "ok" and not report.writes_possible


def jwt_index(seen: Seen) -> Answer:
    """The REST index of a site with the Tmeister JWT plugin (its validate route is the probe)."""
    value = index_for(base_of(seen))
    value["namespaces"].append("jwt-auth/v1")
    value["routes"]["/jwt-auth/v1/token/validate"] = {}
    return json_answer(value)


def test_jwt_probe_shows_the_header_arrives_so_the_credentials_are_wrong() -> None:
    """Probe (a): the JWT plugin's jwt_auth_bad_auth_header means the header reached PHP."""
    bad_header = {"code": "jwt_auth_bad_auth_header", "message": "Authorization header malformed.",
                  "data": {"status": 403}}

    parts = {"GET /wp-json/": jwt_index,
             "POST /wp-json/jwt-auth/v1/token/validate": lambda s: json_answer(bad_header, 403)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.ApplicationPassword(USER, "x" * 24)))
    assert outcomes(report)["auth-header"] == "ok"
    assert outcomes(report)["credentials"] == "fail"
    assert "although the Authorization header reaches PHP" in text_of(report, "credentials")
    assert "Create a new application password" in text_of(report, "credentials")
    validate = next(s for s in server.seen if "validate" in s.path)
    assert validate.headers["Authorization"] == "Basic dXNlcjpwd2Q="  # WordPress's test value


@pytest.mark.parametrize("bearer", [False, True])
def test_jwt_probe_shows_no_http_authorization(bearer: bool) -> None:
    no_header = {"code": "jwt_auth_no_auth_header", "message": "Authorization header not found.",
                 "data": {"status": 403}}

    parts = {"GET /wp-json/": jwt_index,
             "POST /wp-json/jwt-auth/v1/token/validate": lambda s: json_answer(no_header, 403)}
    auth = wp_rest.BearerToken("abc.def.ghi") if bearer else wp_rest.ApplicationPassword(USER, SECRET)
    with serve(fake_wp({**parts, "GET /wp-json/wp/v2/users/me?context=edit":
                        lambda s: json_answer(NOT_LOGGED_IN, 401)})) as server:
        report = diagnose(client_for(server.url, auth=auth))
    assert outcomes(report)["auth-header"] == "fail"
    assert "CGIPassAuth On" in text_of(report, "auth-header")
    assert "fastcgi_param HTTP_AUTHORIZATION" in text_of(report, "auth-header")
    if bearer:  # conclusive: JWT plugins read HTTP_AUTHORIZATION only
        assert "does not reach PHP intact" in text_of(report, "credentials")
    else:  # Apache mod_php still passes Basic credentials without HTTP_AUTHORIZATION
        assert "most likely because the web server strips" in text_of(report, "credentials")
        assert "only Apache mod_php" in text_of(report, "auth-header")


def test_the_json_basic_auth_plugin_answering_the_jwt_probe_cannot_vouch_for_a_bearer_token() -> None:
    """That plugin answers any Basic header first (500, "data": null), from PHP_AUTH_USER: Apache mod_php
    fills it without HTTP_AUTHORIZATION, which a Bearer token needs, so the token may still be stripped."""
    not_registered = {"code": "invalid_username", "data": None, "message": "<strong>Error:</strong> The "
                      "username <strong>user</strong> is not registered on this site."}
    parts = {"GET /wp-json/": jwt_index,
             "POST /wp-json/jwt-auth/v1/token/validate": lambda s: json_answer(not_registered, 500),
             "GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.BearerToken("abc.def.ghi")))
    header = report.get("auth-header")
    assert header is not None and header.outcome == "warn", report.render()
    assert header.seen == (
        "POST /jwt-auth/v1/token/validate with WordPress's test header (Basic user:pwd) answered 500 "
        'invalid_username "Error: The username user is not registered on this site.": the JSON Basic '
        "Authentication plugin read the test credentials: Basic credentials reach PHP, but under Apache "
        "mod_php a Bearer token needs one of these lines too, and no probe showed whether it arrives")
    assert "CGIPassAuth On" in header.fix
    credentials = text_of(report, "credentials")
    assert "could not tell which" in credentials and "although the Authorization header reaches PHP" not in credentials
    assert "If the server strips the header: " in credentials
    assert not report.writes_possible


@pytest.mark.parametrize(("answer", "says"), [
    (lambda s: Answer(raw=b""), "POST /jwt-auth/v1/token/validate: no complete answer from 127.0.0.1"),
    (lambda s: Answer(403, "<html><title>Access denied | Wordfence</title></html>", {"Content-Type": "text/html"}),
     "answered 403 (text/html): 'Access denied | Wordfence' (inconclusive)"),
])
def test_a_jwt_probe_that_tells_nothing_leaves_both_causes_open(answer: Part, says: str) -> None:
    parts = {"GET /wp-json/": jwt_index, "POST /wp-json/jwt-auth/v1/token/validate": answer,
             "GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["auth-header"] == "warn"
    assert says in text_of(report, "auth-header")
    assert "could not tell which" in text_of(report, "credentials")
    assert "(a) POST /jwt-auth/v1/token/validate" in text_of(report, "credentials")


def test_without_any_probe_doctor_says_it_cannot_tell_and_gives_both_fixes() -> None:
    parts = {"GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert report.get("auth-header") is None
    text = text_of(report, "credentials")
    assert "could not tell which" in text
    assert "If the credentials are wrong: Create a new application password" in text
    assert "If the server strips the header: " in text and "CGIPassAuth On" in text
    assert "SetEnvIf Authorization" in text and "E=HTTP_AUTHORIZATION" in text
    assert "fastcgi_param HTTP_AUTHORIZATION $http_authorization" in text
    assert "WP_LOGIN_PASSWORD" in text


def cookie_site(label: str, status: str) -> dict[str, Part]:
    """wp-login.php, the REST nonce and the site-health test, for probe (b)."""
    def login(seen: Seen) -> Answer:
        return Answer(302, b"", {"Location": "/wp-admin/",
                                 "Set-Cookie": "wordpress_logged_in_abc=admin%7C123%7Csess; path=/"})

    def health(seen: Seen) -> Answer:
        assert "wordpress_logged_in_abc=" in seen.headers.get("Cookie", "")
        assert seen.headers.get("X-WP-Nonce") == "0123456789"
        return json_answer({"label": label, "status": status, "test": "authorization_header"})

    return {"POST /wp-login.php": login,
            "GET /wp-admin/admin-ajax.php?action=rest-nonce": lambda s: Answer(200, "0123456789"),
            "GET /wp-json/wp-site-health/v1/tests/authorization-header": health,
            "GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)}


def test_site_health_probe_shows_a_stripped_header() -> None:
    """Probe (b), WordPress's site-health test: the decision only; the real answer is shown on the fpm lab site."""
    with serve(fake_wp(cookie_site("The authorization header is missing", "recommended"))) as server:
        report = diagnose(client_for(server.url), login_password=LOGIN_PASSWORD)
    assert outcomes(report)["auth-header"] == "fail"
    assert "'The authorization header is missing'" in text_of(report, "auth-header")
    assert "CGIPassAuth On" in text_of(report, "auth-header")
    assert "does not reach PHP intact" in text_of(report, "credentials")
    # The login password went to wp-login.php only, in the form; never in a header.
    logins = [s for s in server.seen if s.path == "/wp-login.php"]
    assert len(logins) == 1 and b"pwd=correct-horse-battery-staple" in logins[0].body
    for seen in server.seen:
        assert LOGIN_PASSWORD not in json.dumps(seen.headers)


def test_site_health_probe_shows_an_altered_header() -> None:
    """Probe (b) says "invalid": PHP got other credentials than WordPress's test values."""
    with serve(fake_wp(cookie_site("The authorization header is invalid", "recommended"))) as server:
        report = diagnose(client_for(server.url), login_password=LOGIN_PASSWORD)
    header = report.get("auth-header")
    assert header is not None and header.outcome == "fail", report.render()
    assert header.seen == ("the Authorization header reaches PHP altered: WordPress's site-health test (GET "
                           "/wp-site-health/v1/tests/authorization-header after a cookie login as 'admin') says "
                           "'The authorization header is invalid'")
    assert header.fix == "Make every proxy, firewall and the server's own login pass it unchanged."
    assert "does not reach PHP intact (see auth-header)" in text_of(report, "credentials")
    assert outcomes(report)["credentials"] == "fail" and not report.writes_possible


def test_site_health_probe_cannot_vouch_for_a_bearer_token() -> None:
    """Probe (b) reads PHP_AUTH_USER, which Apache mod_php fills for Basic credentials only."""
    parts = cookie_site("The Authorization header is working as expected", "good")
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.BearerToken("abc.def.ghi")),
                          login_password=LOGIN_PASSWORD, login_username=USER)
    header = report.get("auth-header")
    assert header is not None and header.outcome == "warn", report.render()
    assert "says 'The Authorization header is working as expected'" in header.seen
    assert "a Bearer token needs one of these lines too, and no probe showed whether it arrives" in header.seen
    assert "CGIPassAuth On" in header.fix and "fastcgi_param HTTP_AUTHORIZATION" in header.fix
    assert "could not tell which" in text_of(report, "credentials")
    assert not report.writes_possible


@pytest.mark.parametrize("status", [403, 500])
def test_site_health_probe_needs_an_administrator(status: int) -> None:
    forbidden = {"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that.",
                 "data": {"status": 403}}
    broken = Answer(500, "<html><title>Internal Server Error</title></html>", {"Content-Type": "text/html"})
    parts = cookie_site("", "")
    parts["GET /wp-json/wp-site-health/v1/tests/authorization-header"] = (
        lambda s: json_answer(forbidden, 403) if status == 403 else broken)
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url), login_password=LOGIN_PASSWORD)
    text = text_of(report, "credentials")
    assert (f"(b) WordPress's site-health test (GET /wp-site-health/v1/tests/authorization-header after a "
            f"cookie login as 'admin') answered {status} ") in text
    assert ("it needs an administrator" in text) is (status == 403)
    assert "could not tell which" in text


def test_early_incorrect_password_means_the_header_arrived() -> None:
    """Sites where something asks for the user early (WooCommerce) show core's own code."""
    wrong = {"code": "incorrect_password", "data": {"status": 401},
             "message": "The provided password is an invalid application password."}
    parts = {"GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(wrong, 401)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert "the credentials are wrong" in text_of(report, "credentials")
    assert "Create a new application password" in text_of(report, "credentials")


def test_a_login_password_given_as_application_password_is_pointed_out() -> None:
    parts = {"GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.ApplicationPassword(USER, "hunter2-login")))
    assert "not 24 letters and digits" in text_of(report, "credentials")


def test_application_passwords_unavailable_over_http() -> None:
    def index(seen: Seen) -> Answer:
        return json_answer(index_for(base_of(seen), authentication=[]))

    parts = {"GET /wp-json/": index,
             "GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["app-passwords"] == "fail"
    assert "WP_ENVIRONMENT_TYPE', 'local'" in text_of(report, "app-passwords")
    assert "application passwords are unavailable" in text_of(report, "credentials")


def test_json_basic_auth_plugin_500_is_explained() -> None:
    quirk = {"code": "incorrect_password", "data": None,
             "message": "<strong>Error:</strong> The password you entered for the username "
                        "<strong>admin</strong> is incorrect."}
    parts = {"GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(quirk, 500)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    text = text_of(report, "credentials")
    assert "JSON Basic Authentication plugin" in text and "Deactivate" in text
    assert "<strong>" not in text


def test_jwt_login_refused_is_explained() -> None:
    refused = {"code": "[jwt_auth] incorrect_password", "data": {"status": 403},
               "message": "The provided password is an invalid application password."}

    def index(seen: Seen) -> Answer:
        value = index_for(base_of(seen))
        value["namespaces"].append("jwt-auth/v1")
        return json_answer(value)

    parts = {"GET /wp-json/": index, "POST /wp-json/jwt-auth/v1/token": lambda s: json_answer(refused, 403)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.JWTAuth(USER, LOGIN_PASSWORD)))
    text = text_of(report, "credentials")
    assert "takes the login password, not an application password" in text
    assert "words a wrong login password as an application-password error" in text


WRONG_LOGIN = ("<strong>Error:</strong> The password you entered for the username <strong>admin</strong> is "
               'incorrect. <a href="/wp-login.php?action=lostpassword">Lost your password?</a>')


@pytest.mark.parametrize(("auth", "parts", "seen"), [
    ("cookie", {"POST /wp-login.php": lambda s: Answer(
        200, f'<div id="login_error" class="notice notice-error"><p>{WRONG_LOGIN}</p></div>',
        {"Content-Type": "text/html"})},
     "a cookie login as 'admin': POST /wp-login.php answered 200 login_failed \"wp-login.php refused the login: "),
    ("jwt", {"GET /wp-json/": jwt_index, "POST /wp-json/jwt-auth/v1/token": lambda s: json_answer(
        {"code": "[jwt_auth] incorrect_password", "message": WRONG_LOGIN, "data": {"status": 403}}, 403)},
     "POST /jwt-auth/v1/token answered 403 [jwt_auth] incorrect_password \"Error: "),
])
def test_a_wrong_login_password_is_named(auth: str, parts: dict[str, Part], seen: str) -> None:
    chosen = wp_rest.CookieAuth if auth == "cookie" else wp_rest.JWTAuth
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=chosen(USER, LOGIN_PASSWORD)))
    check = report.get("credentials")
    assert check is not None and check.outcome == "fail", report.render()
    assert seen in check.seen
    assert "The password you entered for the username admin is incorrect." in check.seen
    assert check.fix == ("Check WP_USERNAME and WP_PASSWORD: this method takes the login password, "
                         "not an application password.")
    assert not report.writes_possible and LOGIN_PASSWORD not in report.render()


def test_a_cookie_login_whose_cookies_get_no_nonce_is_named() -> None:
    """An auth step WordPress refused with no cause of its own: the error's hint is the fix."""
    parts = cookie_site("", "")
    parts["GET /wp-admin/admin-ajax.php?action=rest-nonce"] = lambda s: Answer(400, "0", {"Content-Type": "text/html"})
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.CookieAuth(USER, LOGIN_PASSWORD)))
    check = report.get("credentials")
    assert check is not None and check.outcome == "fail", report.render()
    assert check.seen == ("a cookie login as 'admin': GET /wp-admin/admin-ajax.php answered 400 rest_nonce_failed "
                          "\"admin-ajax.php?action=rest-nonce answered 400 '0'\"")
    assert check.fix == "The login cookies were not accepted; the session may have expired."
    assert not report.writes_possible


def test_a_subscriber_is_authenticated_but_may_not_write() -> None:
    subscriber = {"id": 3, "username": "sub", "name": "Sub", "roles": ["subscriber"],
                  "capabilities": {"read": True, "subscriber": True}}
    parts = {"GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(subscriber)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["credentials"] == "ok"
    assert outcomes(report)["permissions"] == "fail"
    assert "no edit_posts" in text_of(report, "permissions")
    assert not any(s.method == "POST" for s in server.seen)
    assert not report.writes_possible


def xfp_index(*, home_scheme: str = "http") -> Part:
    """An index that offers application passwords only to X-Forwarded-Proto: https, as
    Debian's wp-config.php makes WordPress do (it sets $_SERVER['HTTPS'] = 'on' for it)."""
    def index(seen: Seen) -> Answer:
        offered = seen.headers.get("X-Forwarded-Proto") == "https"
        value = index_for(base_of(seen, home_scheme), authentication=index_for("")["authentication"] if offered else [])
        return json_answer(value)

    return index


def test_over_http_a_site_that_honours_x_forwarded_proto_needs_only_a_tls_proxy() -> None:
    parts = {"GET /wp-json/": xfp_index(),
             "GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    text = text_of(report, "app-passwords")
    assert outcomes(report)["app-passwords"] == "fail"
    assert "lists application-passwords when the request carries X-Forwarded-Proto: https" in text
    assert "a TLS proxy that sends X-Forwarded-Proto: https is enough" in text
    assert "Never send that header yourself over plain http" in text
    # The probe of the header went without credentials.
    probes = [s for s in server.seen if s.headers.get("X-Forwarded-Proto")]
    assert len(probes) == 1 and "Authorization" not in probes[0].headers


def test_a_site_that_ignores_x_forwarded_proto_is_told_to_serve_https() -> None:
    with serve(fake_wp({"GET /wp-json/": lambda s: json_answer(index_for(base_of(s), authentication=[]))})) as server:
        report = diagnose(client_for(server.url))
    text = text_of(report, "app-passwords")
    assert "Serve the site over HTTPS" in text and "X-Forwarded-Proto" not in text
    assert any(s.headers.get("X-Forwarded-Proto") == "https" for s in server.seen)  # it was asked


def test_behind_a_tls_proxy_that_omits_x_forwarded_proto(self_signed: tuple[str, str]) -> None:
    cert, key = self_signed
    with serve_tls(fake_wp({"GET /wp-json/": xfp_index()}, scheme="https"), cert, key) as server:
        report = diagnose(client_for(f"https://127.0.0.1:{server.server_address[1]}", verify=cert))
    text = text_of(report, "app-passwords")
    assert "this site's wp-config.php honours that header, which the proxy does not send" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme" in text


def test_an_index_without_an_authentication_field_is_a_warning() -> None:
    parts = {"GET /wp-json/": lambda s: json_answer({k: v for k, v in index_for(base_of(s)).items()
                                                     if k != "authentication"})}
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["app-passwords"] == "warn"
    assert "no 'authentication' field" in text_of(report, "app-passwords")
    assert report.writes_possible, report.render()


def test_application_passwords_turned_off_over_https(self_signed: tuple[str, str]) -> None:
    cert, key = self_signed
    parts = {"GET /wp-json/": lambda s: json_answer(index_for(base_of(s, "https"), authentication=[]))}
    with serve_tls(fake_wp(parts, scheme="https"), cert, key) as server:
        report = diagnose(client_for(f"https://127.0.0.1:{server.server_address[1]}", verify=cert))
    assert outcomes(report)["app-passwords"] == "fail"
    text = text_of(report, "app-passwords")
    assert "over https: a plugin or the wp_is_application_passwords_available filter turns them off" in text
    assert "Re-enable them in that plugin" in text
    assert not any(s.headers.get("X-Forwarded-Proto") for s in server.seen)  # HTTPS is seen: nothing to ask


WRITE_ANSWERS = [
    (lambda s: json_answer({"id": 9, "status": "draft"}, 201), "post 9 may exist"),
    (lambda s: json_answer([]), "something turns the POST into a GET"),
    (lambda s: json_answer({"code": "rest_cannot_create", "message": "No.", "data": {"status": 403}}, 403),
     "Reads work but writes are refused"),
    (lambda s: json_answer({"code": "acme_quota", "message": "Quota.", "data": {"status": 409}}, 409),
     "409 acme_quota \"Quota.\"\nA plugin answered with its own error code"),
]


@pytest.mark.parametrize(("answer", "says"), WRITE_ANSWERS)
def test_what_the_refused_write_shows(answer: Part, says: str) -> None:
    with serve(fake_wp({"POST /wp-json/wp/v2/posts": answer})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["write-path"] == "fail" and says in text_of(report, "write-path")
    assert not report.writes_possible


def test_a_post_whose_connection_is_dropped_means_writes_cannot_work() -> None:
    with serve(fake_wp({"POST /wp-json/wp/v2/posts": lambda s: Answer(raw=b"")})) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report)["write-path"] == "fail"
    assert ("POST /wp/v2/posts (a deliberately invalid post): no complete answer from 127.0.0.1:"
            in text_of(report, "write-path"))
    assert "the server closed the connection" in text_of(report, "write-path")
    assert "A firewall or the server dropped the request" in report.get("write-path").fix
    assert not report.writes_possible


@pytest.mark.parametrize(("answer", "check", "says"), [
    (lambda s: json_answer({"code": "rest_cookie_invalid_nonce", "message": "Cookie check failed",
                            "data": {"status": 403}}, 403), "credentials", "X-WP-Nonce came without a valid login"),
    (lambda s: Answer(401, "<html><title>401</title></html>", {"Content-Type": "text/html",
                                                               "WWW-Authenticate": 'Basic realm="Proxy"'}),
     "server-auth", 'WWW-Authenticate: Basic realm="Proxy"'),
    (lambda s: json_answer({"id": 2, "username": "ed", "name": "Ed", "roles": ["editor"]}), "permissions",
     "judged by the roles"),
    (lambda s: Answer(403, "<html><title>Just a moment...</title></html>", {"Content-Type": "text/html"}),
     "credentials", "a block or challenge page of Cloudflare, not WordPress"),
    (lambda s: json_answer({"id": 3, "username": "co", "name": "Co", "roles": ["contributor"],
                            "capabilities": {"edit_posts": True}}), "permissions", "but not publish them"),
    (lambda s: json_answer({"code": "jwt_auth_invalid_token", "message": "Wrong number of segments",
                            "data": {"status": 403}}, 403),
     "credentials", "the JWT plugin refused the token"),
    (lambda s: json_answer({"code": "acme_locked", "message": "Locked.", "data": {"status": 423}}, 423),
     "credentials", "423 acme_locked \"Locked.\"\nA plugin answered with its own error code"),
])
def test_other_answers_of_users_me(answer: Part, check: str, says: str) -> None:
    with serve(fake_wp({"GET /wp-json/wp/v2/users/me?context=edit": answer})) as server:
        report = diagnose(client_for(server.url))
    assert says in text_of(report, check), report.render()


def test_a_bearer_token_on_a_site_without_a_jwt_plugin() -> None:
    with serve(fake_wp({"GET /wp-json/wp/v2/users/me?context=edit": lambda s: json_answer(NOT_LOGGED_IN, 401)})) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.BearerToken("abc.def.ghi")))
    assert outcomes(report)["plugins"] == "warn" and "No JWT plugin" in text_of(report, "plugins")
    assert "could not tell which" in text_of(report, "credentials")
    assert "JWT plugin reads Bearer tokens" in text_of(report, "credentials")


def test_a_jwt_login_on_a_site_without_the_token_route() -> None:
    with serve(fake_wp()) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.JWTAuth(USER, LOGIN_PASSWORD)))
    assert outcomes(report)["plugins"] == "fail" and "needs the jwt-auth/v1 token route" in text_of(report, "plugins")
    assert "404 rest_no_route" in text_of(report, "credentials")
    assert "No JWT plugin answers that route" in text_of(report, "credentials")
    assert LOGIN_PASSWORD not in report.render()


def answer_then_close(seen: Seen) -> Answer:
    """The connection closed without an answer (a firewall dropping the request)."""
    return Answer(raw=b"")


@pytest.mark.parametrize(("auth", "parts", "seen", "fix"), [
    # A login plugin that sends REST requests with credentials to its login page, and back.
    ("app", {"GET /wp-json/wp/v2/users/me?context=edit": lambda s: Answer(
        302, b"", {"Location": "/wp-login.php?reauth=1"}), "GET /wp-login.php?reauth=1": lambda s: Answer(
        302, b"", {"Location": "/wp-json/wp/v2/users/me?context=edit"})},
     "redirect loop at http://", "Fix the site's address (Settings > General, WP_HOME, WP_SITEURL)"),
    ("app", {"GET /wp-json/wp/v2/users/me?context=edit": answer_then_close},
     "/wp-json/wp/v2/users/me?context=edit: the server closed the connection without answering",
     "A firewall or the server dropped the request"),
    ("jwt", {"POST /wp-json/jwt-auth/v1/token": lambda s: Answer(
        200, "<html><title>Cached</title></html>", {"Content-Type": "text/html"})},
     "a JWT for 'admin' from /jwt-auth/v1/token: JWT login failed: unexpected 200 answer (text/html) "
     "from POST /jwt-auth/v1/token; the answer starts '<html><title>Cached</title></html>'",
     "A page cache, maintenance page or security plugin may answer there for WordPress: let POST http://"),
    ("jwt", {"POST /wp-json/jwt-auth/v1/token": lambda s: json_answer(
        {"code": "jwt_auth_bad_config", "message": "JWT is not configured properly",
         "data": {"status": 403}}, 403)},
     "answered 403 jwt_auth_bad_config", "Define JWT_AUTH_SECRET_KEY"),
])
def test_an_auth_step_without_a_wordpress_answer_is_named(auth: str, parts: dict[str, Part], seen: str,
                                                           fix: str) -> None:
    chosen = wp_rest.JWTAuth(USER, LOGIN_PASSWORD) if auth == "jwt" else wp_rest.ApplicationPassword(USER, SECRET)
    with serve(fake_wp({"GET /wp-json/": jwt_index, **parts})) as server:
        report = diagnose(client_for(server.url, auth=chosen))
    check = report.get("credentials")
    assert check is not None and check.outcome == "fail", report.render()
    assert seen in check.seen and check.fix.startswith(fix)
    assert report.get("write-path") is None and not report.writes_possible
    assert LOGIN_PASSWORD not in report.render()


def test_cookie_credentials_refused_after_the_login() -> None:
    with serve(fake_wp(cookie_site("", ""))) as server:
        report = diagnose(client_for(server.url, auth=wp_rest.CookieAuth(USER, LOGIN_PASSWORD)))
    assert "the login cookies and nonce were not accepted" in text_of(report, "credentials")
    assert report.get("auth-header") is None


def test_a_redirect_loop_is_named() -> None:
    def loop(seen: Seen) -> Answer:
        return Answer(302, b"", {"Location": "/a" if seen.path == "/" else "/"})

    with serve(loop) as server:
        report = diagnose(client_for(server.url))
    assert outcomes(report) == {"redirects": "fail"}
    assert "loop" in text_of(report, "redirects") and "WP_HOME" in text_of(report, "redirects")


def test_https_to_a_plain_http_port_is_named() -> None:
    with serve(fake_wp()) as server:
        report = diagnose(client_for(f"https://127.0.0.1:{server.server_address[1]}"))
    assert outcomes(report) == {"tls": "fail"}
    assert "Nothing speaks TLS on port" in text_of(report, "tls")


# --- OAuth 1.0a and WooCommerce -------------------------------------------------------------

OAUTH1_INDEX = {"oauth1": {"request": "http://x/oauth1/request", "authorize": "http://x/oauth1/authorize",
                           "access": "http://x/oauth1/access", "version": "0.1"}}


def test_oauth1_and_woocommerce_are_recognised_from_the_index() -> None:
    def index(seen: Seen) -> Answer:
        value = index_for(base_of(seen))
        value["authentication"].update(OAUTH1_INDEX)
        value["namespaces"] += ["wc/v3", "wc/store/v1"]
        return json_answer(value)

    with serve(fake_wp({"GET /wp-json/": index})) as server:
        report = diagnose(client_for(server.url))
    text = text_of(report, "plugins")
    assert "OAuth 1.0a server (WP-API/OAuth1): request http://x/oauth1/request, authorize" in text
    assert "WooCommerce (wc/...)" in text and "401 incorrect_password" in text
    assert report.writes_possible


@pytest.mark.parametrize("kind", ["oauth1", "woo"])
def test_signed_credentials_on_a_site_without_their_plugin(kind: str) -> None:
    auth = (wp_rest.OAuth1("key", "consumer-secret-1", "tok", "token-secret-1") if kind == "oauth1"
            else wp_rest.WooCommerceKeys("ck_" + "a" * 40, "cs_" + "b" * 40))
    with serve(fake_wp()) as server:
        report = diagnose(client_for(server.url, auth=auth))
    assert outcomes(report)["plugins"] == "fail"
    assert ("WP-API/OAuth1" if kind == "oauth1" else "Activate WooCommerce") in text_of(report, "plugins")


def oauth1_error(status: int, body: str) -> Part:
    return lambda seen: Answer(status, body, {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})


@pytest.mark.parametrize(("answer", "says"), [
    (lambda s: json_answer({"code": "json_oauth1_signature_mismatch", "message": "OAuth signature does not match",
                            "data": {"status": 401}}, 401), "the OAuth1 plugin rejected the signature"),
    (lambda s: json_answer({"code": "json_oauth1_invalid_token", "message": "Access token is invalid",
                            "data": {"status": 401}}, 401), "does not know this access token"),
    (oauth1_error(401, "OAuth signature does not match"), "the OAuth1 plugin refused it"),
])
def test_oauth1_refusals_are_named(answer: Part, says: str) -> None:
    def index(seen: Seen) -> Answer:
        value = index_for(base_of(seen))
        value["authentication"].update(OAUTH1_INDEX)
        return json_answer(value)

    auth = wp_rest.OAuth1("key", "consumer-secret-1", "tok", "token-secret-1")
    with serve(fake_wp({"GET /wp-json/": index, "GET /wp-json/wp/v2/users/me?context=edit": answer})) as server:
        report = diagnose(client_for(server.url, auth=auth))
    assert outcomes(report)["credentials"] == "fail"
    assert says in text_of(report, "credentials"), report.render()
    assert "consumer-secret-1" not in report.render() and "token-secret-1" not in report.render()


def woo_index(seen: Seen) -> Answer:
    value = index_for(base_of(seen))
    value["namespaces"].append("wc/v3")
    return json_answer(value)


@pytest.mark.parametrize(("message", "says"), [
    ("Consumer secret is invalid.", "the secret is not its secret"),
    ("The provided API key cannot be used to access this endpoint.", "WooCommerce keys reach only wc/ routes"),
    ("Invalid signature - provided signature does not match.", "one-legged OAuth 1.0a signature"),
    ("Invalid timestamp.", "15 minutes of clock difference"),
    ("The API key provided does not have read/write permissions.", "permissions do not allow this method"),
    ("Something else went wrong.", "WooCommerce refused the keys"),
])
def test_woocommerce_refusals_are_named(message: str, says: str) -> None:
    error = {"code": "woocommerce_rest_authentication_error", "message": message, "data": {"status": 401}}
    parts = {"GET /wp-json/": woo_index, "GET /wp-json/wc/v3/products": lambda s: json_answer(error, 401)}
    keys = wp_rest.WooCommerceKeys("ck_" + "a" * 40, "cs_" + "b" * 40)
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=keys))
    assert says in text_of(report, "credentials"), report.render()
    assert "cs_" + "b" * 40 not in report.render()


def test_woocommerce_keys_that_work_cannot_write_posts() -> None:
    parts = {"GET /wp-json/": woo_index, "GET /wp-json/wc/v3/products": lambda s: json_answer([])}
    keys = wp_rest.WooCommerceKeys("ck_" + "a" * 40, "cs_" + "b" * 40)
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url, auth=keys))
    assert outcomes(report)["credentials"] == "ok" and outcomes(report)["permissions"] == "warn"
    assert "work on wc/ routes only" in text_of(report, "permissions")
    assert not report.writes_possible
    assert not any(s.method == "POST" for s in server.seen)


# --- secrets ---------------------------------------------------------------------------


def test_no_secret_ever_appears_in_the_report() -> None:
    """A server that echoes the request's headers back must not make doctor print them."""
    def echo(seen: Seen) -> Answer:
        return json_answer({"code": "rest_not_logged_in", "data": {"status": 401},
                            "message": f"Seen: {json.dumps(seen.headers)} {seen.body.decode()}"}, 401)

    def health(seen: Seen) -> Answer:
        return json_answer({"label": f"Headers: {json.dumps(seen.headers)}", "status": "recommended"})

    parts = cookie_site("", "")
    parts["GET /wp-json/wp/v2/users/me?context=edit"] = echo
    parts["GET /wp-json/wp-site-health/v1/tests/authorization-header"] = health
    with serve(fake_wp(parts)) as server:
        report = diagnose(client_for(server.url), login_password=LOGIN_PASSWORD)
    assert any("Seen:" in c.seen for c in report.checks)  # the echo did come back
    out = report.render() + json.dumps(report.to_dict())
    for secret in (SECRET, SECRET.replace(" ", ""), BASIC, BASIC.split()[1], LOGIN_PASSWORD,
                   "admin%7C123%7Csess", "0123456789"):
        assert secret not in out


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("WP_URL", "WP_USERNAME", "WP_APP_PASSWORD", "WP_PASSWORD", "WP_AUTH", "WP_JWT_TOKEN",
                 "WP_JWT_SECRET", "WP_JWT_USER_ID", "WP_CA_BUNDLE", "WP_LOGIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_cli_doctor_prints_the_report_and_exits_0_when_writes_work(
        clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("WP_USERNAME", USER)
    clean_env.setenv("WP_APP_PASSWORD", SECRET)
    with serve(fake_wp()) as server:
        assert main(["doctor", server.url]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"wp-rest doctor: {server.url}") and "Writes can work: yes" in out
        assert main(["--timeout", "5", "doctor", server.url, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
    assert data["writes_possible"] is True and data["api_root"] == server.url + "/wp-json/"
    assert {c["outcome"] for c in data["checks"]} == {"ok"}


def test_cli_doctor_exits_1_without_credentials(clean_env: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with serve(fake_wp()) as server:
        clean_env.setenv("WP_URL", server.url)
        assert main(["doctor"]) == 1
    assert "FAIL  credentials: none given" in capsys.readouterr().out


def test_cli_doctor_reports_refused_plain_http_credentials(clean_env: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    clean_env.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    clean_env.setenv("WP_USERNAME", USER)
    clean_env.setenv("WP_APP_PASSWORD", SECRET)
    assert main(["doctor", "http://blog.invalid", "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert "refusing to send credentials over plain HTTP" in checks["credentials"]["seen"]
    assert "--insecure-http" in checks["credentials"]["fix"]
    assert checks["reachable"]["outcome"] == "fail"


def test_cli_doctor_reads_the_login_password_from_the_named_variable(
        clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("WP_USERNAME", USER)
    clean_env.setenv("WP_APP_PASSWORD", SECRET)
    clean_env.setenv("MY_LOGIN", LOGIN_PASSWORD)
    with serve(fake_wp(cookie_site("The authorization header is missing", "recommended"))) as server:
        assert main(["doctor", server.url, "--login-password-env", "MY_LOGIN"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  auth-header:" in out and LOGIN_PASSWORD not in out


def test_cli_doctor_takes_wp_password_as_the_login_password_with_wp_auth_basic(
        clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("WP_AUTH", "basic")
    clean_env.setenv("WP_USERNAME", USER)
    clean_env.setenv("WP_PASSWORD", LOGIN_PASSWORD)
    with serve(fake_wp(cookie_site("The authorization header is missing", "recommended"))) as server:
        assert main(["doctor", server.url]) == 1
    out = capsys.readouterr().out
    assert "FAIL  auth-header:" in out and LOGIN_PASSWORD not in out
    logins = [s for s in server.seen if s.path == "/wp-login.php"]
    assert len(logins) == 1 and b"pwd=correct-horse-battery-staple" in logins[0].body


def test_cli_doctor_with_unusable_credential_variables_still_checks_the_site(
        clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("WP_USERNAME", USER)
    with serve(fake_wp()) as server:
        assert main(["doctor", server.url]) == 1
    out = capsys.readouterr().out
    assert ("FAIL  credentials: the WP_* credential variables are not usable: WP_USERNAME is set but "
            "WP_APP_PASSWORD is not") in out
    assert out.count("credentials:") == 1  # not also "none given"
    assert "ok    api:" in out and "WP_USERNAME and WP_APP_PASSWORD" in out


@pytest.mark.parametrize("argv", [["doctor"], ["doctor", "ftp://x"], ["doctor", "http://x", "--ca-bundle", "/nope.pem"],
                                  ["doctor", "http://x", "--login-password-env", "UNSET_VARIABLE_X"]])
def test_cli_doctor_usage_errors_exit_2(argv: list[str], clean_env: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("wp-rest: error:")


def test_cli_doctor_ca_bundle_option(self_signed: tuple[str, str], clean_env: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cert, key = self_signed
    clean_env.setenv("WP_USERNAME", USER)
    clean_env.setenv("WP_APP_PASSWORD", SECRET)
    with serve_tls(fake_wp(scheme="https"), cert, key) as server:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        assert main(["doctor", url]) == 1
        assert "FAIL  tls:" in capsys.readouterr().out
        assert main(["doctor", url, "--ca-bundle", cert]) == 0
        clean_env.setenv("WP_CA_BUNDLE", cert)
        assert main(["doctor", url]) == 0

"""The Transport section against real servers: Debian's tinyproxy in front of the lab WordPress."""

from __future__ import annotations

import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import wp_rest

pytestmark = pytest.mark.wordpress


def _admin(lab: dict[str, Any], site: str) -> wp_rest.ApplicationPassword:
    user = lab["sites"][site]["users"]["admin"]
    return wp_rest.ApplicationPassword(user["username"], user["app_password"])


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=f"{urllib.parse.quote(user)}:{urllib.parse.quote(password)}@{parts.netloc}").geturl()


@pytest.mark.parametrize("site", ["main", "https"])
def test_writes_go_through_an_open_proxy(lab: dict[str, Any], site: str) -> None:
    info = lab["sites"][site]
    client = wp_rest.Client(info["url"], auth=_admin(lab, site), proxy=lab["proxies"]["open"]["url"],
                            verify=info.get("ca_bundle", True))
    post = client.create_post(title=f"through tinyproxy ({site})")
    try:
        assert client.get_post(post["id"], context="edit")["title"]["raw"] == f"through tinyproxy ({site})"
    finally:
        client.delete_post(post["id"], force=True)


@pytest.mark.parametrize("site", ["main", "https"])
def test_a_proxy_asking_for_credentials_is_a_typed_error_then_works_with_them(lab: dict[str, Any], site: str) -> None:
    info, proxy = lab["sites"][site], lab["proxies"]["auth"]
    verify = info.get("ca_bundle", True)
    without = wp_rest.Client(info["url"], auth=_admin(lab, site), proxy=proxy["url"], verify=verify, retry=False)
    with pytest.raises(wp_rest.ProxyError, match="407") as err:
        without.me()
    assert err.value.proxy == proxy["url"] and err.value.request_sent is False
    good = _with_credentials(proxy["url"], proxy["username"], proxy["password"])
    with_creds = wp_rest.Client(info["url"], auth=_admin(lab, site), proxy=good, verify=verify)
    assert with_creds.me()["username"] == "admin"
    assert proxy["password"] not in repr(err.value) + str(err.value)


def test_the_environment_names_the_proxy_and_no_proxy_bypasses_it(lab: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    info = lab["sites"]["main"]
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: a used proxy fails
    monkeypatch.delenv("http_proxy", raising=False)
    with pytest.raises(wp_rest.ProxyError, match=r"127\.0\.0\.1:9"):
        wp_rest.Client(info["url"], auth=_admin(lab, "main"), retry=False).me()
    monkeypatch.setenv("NO_PROXY", str(urllib.parse.urlsplit(info["url"]).hostname))
    assert wp_rest.Client(info["url"], auth=_admin(lab, "main")).me()["username"] == "admin"
    monkeypatch.delenv("NO_PROXY")
    assert wp_rest.Client(info["url"], auth=_admin(lab, "main"), proxy=None).me()["username"] == "admin"


# --- What the proxy sees: a recording proxy that answers itself --------------------------------


@contextmanager
def recording_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A one-connection proxy that records what arrives and answers 407 (or refuses the CONNECT)."""
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                seen.append(data)
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://u%40x:p%3Aw@127.0.0.1:{server.getsockname()[1]}", seen
    finally:
        server.close()


def test_the_bytes_a_proxy_sees() -> None:
    auth = wp_rest.ApplicationPassword("admin", "abcd efgh ijkl mnop qrst uvwx")
    with recording_proxy() as (proxy, seen):
        for url in ("http://127.0.0.1:8765/wp-json/", "https://wp.example:8443/wp-json/"):
            client = wp_rest.Client(url, auth=auth, proxy=proxy, retry=False)
            with pytest.raises(wp_rest.ProxyError):
                client.request("GET", "/wp/v2/users/me")
    plain, tunnel = seen
    # http: an absolute-URI request with the proxy's credentials (u@x:p:w, percent-decoded).
    assert plain.startswith(b"GET http://127.0.0.1:8765/wp-json/wp/v2/users/me HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic dUB4OnA6dw==\r\n" in plain
    # https: only a CONNECT with the proxy's credentials; WordPress's never reach the proxy.
    assert tunnel.startswith(b"CONNECT wp.example:8443 HTTP/1.0\r\n")
    assert b"Proxy-Authorization: Basic dUB4OnA6dw==\r\n" in tunnel and b"Authorization: Basic YWRt" not in tunnel
    assert b"/wp-json" not in tunnel


def test_credentials_for_an_http_site_do_not_go_to_a_remote_proxy_without_opt_in() -> None:
    auth = wp_rest.ApplicationPassword("admin", "abcd efgh ijkl mnop qrst uvwx")
    with pytest.raises(wp_rest.ConfigError, match=r"through the proxy proxy\.example"):
        wp_rest.Client("http://127.0.0.1:8765/", auth=auth, proxy="http://proxy.example:3128")
    wp_rest.Client("https://wp.example/", auth=auth, proxy="http://proxy.example:3128")  # tunnelled: fine
    with pytest.raises(wp_rest.ConfigError, match="proxy must be an http"):
        wp_rest.Client("https://wp.example/", proxy="socks5://127.0.0.1:1080")


def test_a_post_after_a_head_through_tinyproxy_is_not_sent_on_a_connection_it_closed(lab: dict[str, Any]) -> None:
    """tinyproxy answers HEAD without Connection: close, then closes: that connection is not reused."""
    info = lab["sites"]["main"]
    client = wp_rest.Client(info["url"], auth=_admin(lab, "main"), proxy=lab["proxies"]["open"]["url"])
    for _ in range(5):
        client.send(client.build_request("HEAD", info["url"] + "/"))
        post = client.create_post(title="after a HEAD through tinyproxy")
        client.delete_post(post["id"], force=True)

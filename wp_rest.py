"""wp_rest: a WordPress REST API client in one file, standard library only.

Copy this file into your project (Python >= 3.10, no dependencies) or
``pip install`` the project that ships it. Authenticated writes work with
Application Passwords; when they cannot work, the errors say why.

Quick start::

    import wp_rest
    wp = wp_rest.Client("https://example.com",
                        auth=wp_rest.ApplicationPassword("admin", "abcd EFGH 1234 ijkl MNOP 6789"))
    post = wp.create_post(title="Hello", content="<p>From Python</p>")
    print(wp.list_posts(status="draft").total)

Command line: ``python wp_rest.py --help`` (or ``wp-rest --help`` once installed).
Configuration from the environment: ``WP_URL``, ``WP_USERNAME``,
``WP_APP_PASSWORD``, ``WP_CA_BUNDLE`` (see ``Client.from_env``).

Licence: MIT. Version: see ``__version__``. A vendored copy is identified by
that line alone: keep it when you copy the file.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "ApplicationPassword",
    "Auth",
    "AuthenticationError",
    "BadRequest",
    "BasicAuth",
    "Client",
    "ConfigError",
    "InvalidResponse",
    "NotFound",
    "Page",
    "PermissionDenied",
    "RateLimited",
    "RedirectError",
    "Request",
    "Response",
    "Retry",
    "ServerError",
    "TransportError",
    "WPError",
    "main",
]

import argparse
import base64
import dataclasses
import email.utils
import http.client
import ipaddress
import json
import logging
import os
import random
import re
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, NoReturn

# --- Constants ----------------------------------------------------------------

#: The ``rel`` of the ``Link`` header that names a site's REST API root.
API_REL = "https://api.w.org/"
#: Largest response body the client reads (after decompression), in bytes.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: How many redirects a GET may follow.
MAX_REDIRECTS = 5
#: WordPress caps ``per_page`` at 100 on core collections.
MAX_PER_PAGE = 100
#: Idle keep-alive connections kept per origin.
POOL_SIZE = 10

_log = logging.getLogger("wp_rest")

# --- Exceptions ---------------------------------------------------------------
#
# WPError
#  +-- ConfigError (also ValueError)   misuse: bad URL, missing credentials
#  +-- TransportError                  no HTTP answer: DNS, refused, TLS, timeout
#  +-- RedirectError                   a 3xx the client must not follow
#  +-- InvalidResponse                 an answer that is not WordPress JSON
#  +-- APIError                        WordPress answered with status >= 400
#       +-- BadRequest (400), AuthenticationError (401), PermissionDenied (403),
#           NotFound (404), RateLimited (429), ServerError (5xx)


class WPError(Exception):
    """Base class of every error this module raises."""


class ConfigError(WPError, ValueError):
    """The client was configured or called wrongly; the message says how to fix it."""


class TransportError(WPError):
    """No HTTP answer was received (DNS, connection refused or reset, TLS, timeout).

    ``request_sent`` is False only when the request provably never reached the
    server (the connection could not be opened), so a write may be retried.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "",
                 request_sent: bool = True) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.request_sent = request_sent


class RedirectError(WPError):
    """The server redirected a request the client will not follow (a write, a loop, another origin)."""

    def __init__(self, message: str, *, status: int, location: str, method: str, url: str) -> None:
        super().__init__(message)
        self.status = status
        self.location = location
        self.method = method
        self.url = url


class InvalidResponse(WPError):
    """The server answered, but not with WordPress REST JSON (HTML page, firewall, wrong URL)."""

    def __init__(self, message: str, *, status: int, content_type: str, body_start: str,
                 method: str, url: str) -> None:
        super().__init__(message)
        self.status = status
        self.content_type = content_type
        self.body_start = body_start
        self.method = method
        self.url = url


class APIError(WPError):
    """WordPress answered with an error status; ``code`` is WordPress's own error code."""

    def __init__(self, status: int, code: str, message: str, data: Any = None, *,
                 method: str = "", url: str = "", route: str = "", hint: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        self.url = url
        self.route = route
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {_strip_tags(self.message)}"
        if self.method:
            text += f" ({self.method} {self.route or self.url})"
        if self.hint:
            text += "\n" + self.hint
        return text


class BadRequest(APIError):
    """400: WordPress rejected a parameter (see ``data['params']``)."""


class AuthenticationError(APIError):
    """401: the request was treated as anonymous; ``str()`` lists the likely causes."""


class PermissionDenied(APIError):
    """403: authenticated, but this user may not do this (or a nonce/token was refused)."""


class NotFound(APIError):
    """404: no such route or object."""


class RateLimited(APIError):
    """429: too many requests; ``retry_after`` is the server's wish in seconds, if it said."""

    retry_after: float | None = None


class ServerError(APIError):
    """5xx: the server failed (PHP fatal error, overloaded host, bad gateway)."""


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequest, 401: AuthenticationError, 403: PermissionDenied,
    404: NotFound, 429: RateLimited,
}

#: Why a 401 happens although the credentials look right (PROTOCOLS.md 1.5, 7.4).
_HINT_401 = (
    "Likely causes: WordPress 6.x answers a wrong application password, a login password "
    "sent instead of an application password, application passwords being unavailable "
    "(they need HTTPS or WP_ENVIRONMENT_TYPE=local) and an Authorization header stripped "
    "by the web server all in the same way, as if no credentials were sent. "
    "Run `wp-rest doctor URL` to tell which."
)
_HINT_401_ANONYMOUS = (
    "No credentials were sent: pass auth=ApplicationPassword(username, application_password) "
    "or set WP_USERNAME and WP_APP_PASSWORD."
)

# --- Helpers ------------------------------------------------------------------


def _strip_tags(text: str) -> str:
    """WordPress messages may carry HTML (``<strong>Error:</strong>``); show them as text."""
    return re.sub(r"<[^>]+>", "", text).strip()


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with default ports filled in, for same-origin checks."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_transport_security(url: str, allow_insecure_http: bool) -> None:
    """Refuse to send credentials in clear text to a host that is not this machine."""
    scheme, host, _ = _origin(url)
    if scheme == "http" and not allow_insecure_http and not _is_loopback(host):
        raise ConfigError(
            f"refusing to send credentials over plain HTTP to {host}: anyone on the path "
            "could read them. Use the site's https:// URL, or pass "
            "allow_insecure_http=True if you accept that risk."
        )


def _parse_link_header(values: list[str]) -> dict[str, str]:
    """Map each ``rel`` of ``Link`` headers to its target URL (first one wins)."""
    links: dict[str, str] = {}
    for value in values:
        for match in re.finditer(r'<([^>]*)>((?:\s*;\s*[^,;<]+(?:="[^"]*"|=[^,;]*)?)*)', value):
            target, params = match.group(1), match.group(2)
            rel = re.search(r'rel\s*=\s*"([^"]*)"|rel\s*=\s*([^\s;,]+)', params)
            if rel:
                for name in (rel.group(1) or rel.group(2)).split():
                    links.setdefault(name, target)
    return links


_PHP_NOTICE = re.compile(
    r"\A(?:\s*(?:<br\s*/?>\s*)?(?:<b>)?(?:PHP )?"
    r"(?:Notice|Warning|Deprecated|Strict Standards|Fatal error|Parse error)(?:</b>)?:"
    r".*?on line (?:<b>)?\d+(?:</b>)?(?:<br\s*/?>)?)+\s*",
    re.DOTALL,
)


def _decode_json(body: bytes) -> tuple[Any, str]:
    """Parse a REST body; return (value, what had to be cleaned) or raise ValueError.

    Tolerates a UTF-8 BOM and PHP notices printed before the JSON, two common
    faults of real hosts, because the JSON after them is intact.
    """
    text = body.decode("utf-8")
    cleaned = ""
    if text.startswith("\ufeff"):
        text, cleaned = text[1:], "a UTF-8 byte order mark"
    try:
        return json.loads(text), cleaned
    except ValueError:
        notice = _PHP_NOTICE.match(text)
        if not notice:
            raise
        junk = text[: notice.end()].strip()
        return json.loads(text[notice.end():]), f"PHP output before the JSON: {junk[:200]!r}"


def _encode_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(_encode_param(v) for v in value)
    return str(value)


#: Query parameters WordPress reads as routing or format switches (PROTOCOLS.md 7.3, 9).
_RESERVED_PARAMS = frozenset({"rest_route", "_method", "_envelope", "_jsonp"})

_ROUTE_OK = re.compile(r"\A(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)+\Z")


def _check_route(route: str) -> str:
    """A route is a path below the API root; it may never leave it or change the host."""
    if not route.startswith("/"):
        route = "/" + route
    segments = route.split("/")
    if (not _ROUTE_OK.match(route) or "%2f" in route.lower() or "%2e" in route.lower()
            or any(s in (".", "..") for s in segments) or "//" in route):
        raise ConfigError(
            f"invalid route {route!r}: a route is a path such as '/wp/v2/posts/5' "
            "(no '..', '?', '#', '//' or encoded slashes); pass query values in params="
        )
    return route


# --- Auth ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Request:
    """One HTTP request as the transport sends it. Headers are a plain dict (copied on change)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None
    route: str = ""

    def with_headers(self, **changes: str) -> Request:
        headers = dict(self.headers)
        headers.update(changes)
        return dataclasses.replace(self, headers=headers)


@dataclasses.dataclass(frozen=True)
class Response:
    """One HTTP response, fully read."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes
    url: str

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", ""))

    @property
    def links(self) -> dict[str, str]:
        return _parse_link_header(self.headers.get_all("Link") or [])


class Auth:
    """Base of all auth methods: ``flow`` yields requests and receives their responses.

    The simplest flow adds a header and yields once; a token flow may yield a
    renewed request after a 401 (the httpx ``auth_flow`` contract). A plain
    callable ``Request -> Request`` is accepted by ``Client`` as well.
    """

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _BasicHeaderAuth(Auth):
    """HTTP Basic: the header is computed once and no password attribute is kept."""

    def __init__(self, username: str, password: str) -> None:
        if not username or not password:
            raise ConfigError(f"{type(self).__name__} needs a username and a password")
        if ":" in username:
            # PHP splits the decoded header at the first ':' (PROTOCOLS.md 1.2).
            raise ConfigError("a WordPress username for Basic auth cannot contain ':'")
        self.username = username
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = "Basic " + token

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        yield request.with_headers(Authorization=self._header)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self.username!r}, password='****')"


class ApplicationPassword(_BasicHeaderAuth):
    """A WordPress Application Password (Users > Profile), sent as HTTP Basic.

    Spaces in the password are optional; letter case matters. Works over
    HTTPS, or over HTTP on sites whose environment type is ``local``.
    """

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, re.sub(r"\s+", "", password))


class BasicAuth(_BasicHeaderAuth):
    """HTTP Basic with the user's login password: only for sites running a Basic-Auth plugin.

    Core WordPress ignores login passwords over Basic; use ``ApplicationPassword``.
    """


def _as_auth(auth: Auth | Callable[[Request], Request] | None) -> Auth | None:
    if auth is None or isinstance(auth, Auth):
        return auth
    if callable(auth):
        return _CallableAuth(auth)
    raise ConfigError(f"auth must be an wp_rest.Auth or a callable, not {type(auth).__name__}")


class _CallableAuth(Auth):
    def __init__(self, fn: Callable[[Request], Request]) -> None:
        self._fn = fn

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        yield self._fn(request)


# --- Retry --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Retry:
    """When to try a request again: an immutable value, safe to share between clients.

    GET and HEAD are retried on connection failures and on ``status_forcelist``
    answers. A write is retried only when it provably never reached the server
    (the connection could not be opened), so a retry cannot duplicate a post.

    Args:
        total: attempts after the first one; 0 switches retrying off.
        backoff_factor: sleep ``backoff_factor * 2 ** (n - 1)`` seconds (plus jitter).
        backoff_max: cap on one backoff sleep.
        status_forcelist: statuses that make an idempotent request retry.
        respect_retry_after: honour ``Retry-After`` (seconds or HTTP date) up to
            ``retry_after_max``; a longer wish raises ``RateLimited`` at once.
    """

    total: int = 2
    backoff_factor: float = 0.5
    backoff_max: float = 10.0
    status_forcelist: frozenset[int] = frozenset({429, 502, 503, 504})
    idempotent_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
    respect_retry_after: bool = True
    retry_after_max: float = 60.0
    sleep: Callable[[float], None] = dataclasses.field(default=time.sleep, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), with full jitter."""
        cap = min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 1))
        return random.uniform(cap / 2, cap) if cap > 0 else 0.0

    @staticmethod
    def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
        """``Retry-After`` as seconds from now (RFC 9110 10.2.3), or None when absent or unreadable."""
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --- Transport ----------------------------------------------------------------


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    if verify is True:
        return ssl.create_default_context()
    if verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if not os.path.isfile(path):
            raise ConfigError(f"verify={path!r}: no such CA bundle file")
        try:
            return ssl.create_default_context(cafile=path)
        except ssl.SSLError as exc:
            raise ConfigError(f"verify={path!r} is not a readable PEM CA bundle: {exc}") from exc
    raise ConfigError("verify must be True, False or the path of a CA bundle (PEM)")


def _connection_dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable has been closed (or broken) by the server."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _Transport:
    """Sends one request over a pooled keep-alive connection; the only code that does I/O.

    Connections are kept per origin and handed to one thread at a time, so a
    client may be shared by threads. Errors of socket, ssl and http.client
    leave this class as ``TransportError``.
    """

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        #: Connections opened so far (for tests and benchmarks).
        self.connections_opened = 0

    def _checkout(self, origin: tuple[str, str, int], timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                conn = idle.pop()
                if not _connection_dropped(conn):
                    return conn, True
                conn.close()
            self.connections_opened += 1
        scheme, host, port = origin
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout,
                                               context=self._ssl_context), False
        return http.client.HTTPConnection(host, port, timeout=timeout), False

    def _checkin(self, origin: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < POOL_SIZE:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()

    def send(self, request: Request, *, timeout: float) -> Response:
        origin = _origin(request.url)
        parts = urllib.parse.urlsplit(request.url)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        deadline = time.monotonic() + timeout
        conn, _reused = self._checkout(origin, timeout)
        where = f"{request.method} {request.url}"
        if conn.sock is None:
            try:
                conn.connect()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise TransportError(
                    f"could not connect to {origin[1]}:{origin[2]}: {_describe_os_error(exc)} "
                    f"({where}); the request was not sent", method=request.method,
                    url=request.url, request_sent=False) from exc
        try:
            conn.request(request.method, target, body=request.body, headers=request.headers)
            assert conn.sock is not None
            conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
            resp = conn.getresponse()
            body = self._read_body(conn, resp, deadline)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            conn.close()
            maybe = ("; the server may have processed it" if request.method not in ("GET", "HEAD")
                     else "")
            raise TransportError(
                f"no complete answer from {origin[1]}:{origin[2]}: {_describe_os_error(exc)} "
                f"({where}){maybe}", method=request.method, url=request.url) from exc
        if resp.will_close:
            conn.close()
        else:
            self._checkin(origin, conn)
        return Response(status=resp.status, headers=resp.msg, body=body, url=request.url)

    @staticmethod
    def _read_body(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse,
                   deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        encoding = str(resp.headers.get("Content-Encoding", "")).lower().strip()
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in ("gzip", "x-gzip") else None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the response body did not arrive within the timeout")
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            chunk = resp.read1(65536) if not resp.isclosed() else b""
            if not chunk:
                break
            if inflater is not None:
                try:
                    chunk = inflater.decompress(chunk, MAX_BODY_BYTES + 1 - size)
                except zlib.error as exc:
                    raise ValueError(f"bad gzip body: {exc}") from exc
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ValueError(f"response body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        if inflater is not None and not inflater.eof:
            raise ValueError("bad gzip body: truncated")
        resp.close()  # fully read: frees the connection for the next request (keep-alive)
        return b"".join(chunks)


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS certificate not trusted ({exc.verify_message}); if the site uses a private "
                "CA, pass verify='/path/to/ca.pem' (or set WP_CA_BUNDLE)")
    if isinstance(exc, ssl.SSLError):
        return f"TLS failure ({exc.reason or exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"host name not resolved ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the body ended early ({len(exc.partial)} bytes read)"
    return f"{type(exc).__name__}: {exc}"


# --- Pages --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a collection, with WordPress's totals (``X-WP-Total``, ``X-WP-TotalPages``)."""

    items: list[dict[str, Any]]
    page: int
    per_page: int
    total: int
    total_pages: int

    @property
    def next_page(self) -> int | None:
        """The number of the next page, or None on the last one."""
        return self.page + 1 if self.page < self.total_pages else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


# --- Client -------------------------------------------------------------------


class Client:
    """A WordPress site's REST API.

    Args:
        url: the site URL (``https://example.com``, subdirectory installs too) or
            the API root (``https://example.com/wp-json/`` or ``...?rest_route=/``).
            A site URL is resolved to its API root on first use, from the
            ``Link: <...>; rel="https://api.w.org/"`` header, falling back to
            ``?rest_route=/``, so plain permalinks work unchanged.
        auth: an ``Auth`` (``ApplicationPassword``, ``BasicAuth``...) or a
            callable ``Request -> Request``; None for anonymous reads.
        timeout: seconds for one attempt (connect, send and the whole answer).
        verify: True, False (no TLS verification) or the path of a PEM CA bundle.
        allow_insecure_http: send credentials over plain HTTP to a host other
            than this machine (off: such a client refuses to start).
        user_agent: the ``User-Agent`` header.
        retry: a ``Retry``, an int (attempts after the first) or False.

    Raises:
        ConfigError: a malformed URL, an unusable CA bundle, or credentials
            over plain HTTP without ``allow_insecure_http``.

    The client is thread-safe and keeps one pool of keep-alive connections.
    """

    def __init__(self, url: str, *, auth: Auth | Callable[[Request], Request] | None = None,
                 timeout: float = 30.0, verify: bool | str = True,
                 allow_insecure_http: bool = False, user_agent: str | None = None,
                 retry: Retry | int | bool | None = None) -> None:
        parts = urllib.parse.urlsplit(url.strip() if isinstance(url, str) else "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"url must be an http(s) URL such as https://example.com, not {url!r}")
        if parts.username or parts.password:
            raise ConfigError("put credentials in auth=, not in the URL (URLs end up in logs)")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ConfigError("timeout must be a positive number of seconds")
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        self.auth = _as_auth(auth)
        self.timeout = float(timeout)
        self.allow_insecure_http = allow_insecure_http
        self.user_agent = user_agent or f"wp-rest/{__version__} (Python {sys.version.split()[0]})"
        self.retry = _as_retry(retry)
        if self.auth is not None:
            _check_transport_security(self.url, allow_insecure_http)
        self._transport = _Transport(_ssl_context(verify))
        self._root: str | None = self._root_from_url(self.url)
        self._root_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Client({self.url!r}, auth={self.auth!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close idle connections."""
        self._transport.close()

    # -- configuration from the environment --

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Client:
        """A client configured from environment variables.

        ``WP_URL`` (required), ``WP_USERNAME`` with ``WP_APP_PASSWORD``
        (an Application Password), optional ``WP_CA_BUNDLE`` (PEM file for
        ``verify``). Keyword arguments are passed on to ``Client``.

        Raises:
            ConfigError: a variable is missing or malformed; the message names it.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name, "").strip()

        url = get("WP_URL")
        if not url:
            raise ConfigError("WP_URL is not set: set it to the site URL, e.g. https://example.com")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"WP_URL must start with https:// or http://, got {url!r}")
        if get("WP_CA_BUNDLE"):
            if not os.path.isfile(get("WP_CA_BUNDLE")):
                raise ConfigError(f"WP_CA_BUNDLE names no file: {get('WP_CA_BUNDLE')!r}")
            kwargs.setdefault("verify", get("WP_CA_BUNDLE"))
        if "auth" not in kwargs:
            kwargs["auth"] = _auth_from_env(get)
        return cls(url, **kwargs)

    # -- discovery --

    @staticmethod
    def _root_from_url(url: str) -> str | None:
        """The API root when ``url`` already is one (``/wp-json/`` or ``?rest_route=``)."""
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        if "rest_route" in query:
            kept = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "rest_route"]
            return urllib.parse.urlunsplit(
                (parts.scheme, parts.netloc, parts.path,
                 urllib.parse.urlencode([*kept, ("rest_route", "/")], safe="/"), ""))
        if parts.path.rstrip("/").endswith("/wp-json"):
            return urllib.parse.urlunsplit(
                (parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
        return None

    @property
    def api_root(self) -> str:
        """The REST API root URL, discovered on first use."""
        if self._root is None:
            with self._root_lock:
                if self._root is None:
                    self._root = self._discover()
        return self._root

    def _discover(self) -> str:
        site = self.url if self.url.endswith("/") else self.url + "/"
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        try:
            resp = self._send_following(Request("HEAD", site, headers), auth_origin=None)
            root = resp.links.get(API_REL)
        except (RedirectError, InvalidResponse):
            root = None
        if root:
            root = urllib.parse.urljoin(resp.url, root)
        else:
            # The Link header can be missing (a cache or plugin dropped it);
            # ?rest_route= works on every permalink setting (PROTOCOLS.md 7.3).
            root = site + "?rest_route=/"
            resp = self._send_following(Request("GET", root, headers), auth_origin=None)
            try:
                index, _ = _decode_json(resp.body)
            except ValueError:
                index = None
            if resp.status != 200 or not isinstance(index, dict) or "namespaces" not in index:
                raise InvalidResponse(
                    f"no WordPress REST API found at {self.url}: the site sends no Link "
                    f'rel="{API_REL}" header and {root} answered {resp.status} '
                    f"{resp.content_type or 'without a content type'}. Check the URL; a security "
                    "plugin or firewall may block the REST API.",
                    status=resp.status, content_type=resp.content_type,
                    body_start=_body_start(resp.body), method="GET", url=root)
            root = (resp.links.get(API_REL) and urllib.parse.urljoin(
                resp.url, resp.links[API_REL])) or root
        if self.auth is not None and _origin(root) != _origin(self.url):
            raise ConfigError(
                f"{self.url} says its REST API lives at {root}, another origin; "
                f"credentials are only sent where you pointed the client. "
                f"Use Client({root!r}) (the site's canonical address).")
        _log.debug("API root of %s is %s", self.url, root)
        return root

    def url_for(self, route: str, params: Mapping[str, Any] | None = None) -> str:
        """The full URL of ``route`` (e.g. ``/wp/v2/posts``) with query ``params``."""
        route = _check_route(route)
        reserved = _RESERVED_PARAMS.intersection(params or ())
        if reserved:
            raise ConfigError(f"query parameter {sorted(reserved)[0]!r} is reserved: it would change "
                              "the route, the method or the response format that WordPress serves")
        query = [(k, _encode_param(v)) for k, v in (params or {}).items() if v is not None]
        root = self.api_root
        parts = urllib.parse.urlsplit(root)
        if "rest_route=" in parts.query:
            base = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "rest_route"]
            encoded = urllib.parse.urlencode([*base, ("rest_route", route), *query],
                                             safe="/:@!$'()*,;")
            return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, ""))
        path = parts.path.rstrip("/") + route
        encoded = urllib.parse.urlencode(query, safe="/:@!$'()*,;")
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, encoded, ""))

    # -- sending --

    def request(self, method: str, route: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Call any route and return its decoded JSON (None for an empty body).

        Args:
            method: GET, POST, PUT, PATCH, DELETE...
            route: the path below the API root, e.g. ``/wp/v2/posts`` or ``/my-plugin/v1/things``.
            params: query parameters; lists are joined with commas, None values dropped.
            json: a body to send as JSON.
            headers: extra headers.

        Raises:
            APIError: WordPress answered with an error (a subclass per status).
            TransportError, RedirectError, InvalidResponse, ConfigError.
        """
        return self._call(method, route, params=params, json=json, headers=headers)[0]

    def _call(self, method: str, route: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None, headers: Mapping[str, str] | None = None,
              body: bytes | None = None) -> tuple[Any, Response]:
        method = method.upper()
        url = self.url_for(route, params)
        hdrs = {"User-Agent": self.user_agent, "Accept": "application/json",
                "Accept-Encoding": "gzip"}
        if json is not None:
            body = _json_dumps(json)
            hdrs["Content-Type"] = "application/json; charset=utf-8"
        if headers:
            hdrs.update(headers)
        req = Request(method, url, hdrs, body, route=_check_route(route))
        resp = self._send_with_retries(req)
        return self._decode(req, resp), resp

    def _send_with_retries(self, request: Request) -> Response:
        retry = self.retry
        attempt = 0
        while True:
            try:
                resp = self._send_with_auth(request)
            except TransportError as exc:
                safe = request.method in retry.idempotent_methods or not exc.request_sent
                if not safe or attempt >= retry.total:
                    raise
                attempt += 1
                delay = retry.backoff(attempt)
                _log.warning("%s; retry %d of %d in %.1f s", exc, attempt, retry.total, delay)
                retry.sleep(delay)
                continue
            if (resp.status in retry.status_forcelist and attempt < retry.total
                    and request.method in retry.idempotent_methods):
                delay = retry.backoff(attempt + 1)
                wish = Retry.parse_retry_after(resp.headers.get("Retry-After"))
                if retry.respect_retry_after and wish is not None:
                    if wish > retry.retry_after_max:
                        return resp  # the caller gets RateLimited with retry_after set
                    delay = max(delay, wish)
                attempt += 1
                _log.warning("%s %s answered %d; retry %d of %d in %.1f s", request.method,
                             request.route, resp.status, attempt, retry.total, delay)
                retry.sleep(delay)
                continue
            return resp

    def _send_with_auth(self, request: Request) -> Response:
        """Drive the auth flow: send what it yields, feed it the answers (httpx's pattern)."""
        if self.auth is None:
            return self._send_following(request, auth_origin=None)
        _check_transport_security(request.url, self.allow_insecure_http)
        flow = self.auth.flow(request)
        try:
            req = next(flow)
            while True:
                resp = self._send_following(req, auth_origin=_origin(req.url))
                try:
                    req = flow.send(resp)
                except StopIteration:
                    return resp
        finally:
            flow.close()

    def _send_following(self, request: Request, *, auth_origin: tuple[str, str, int] | None) -> Response:
        """Send, following redirects for GET/HEAD only; credentials never cross origins."""
        seen = {request.url}
        for _ in range(MAX_REDIRECTS + 1):
            started = time.monotonic()
            resp = self._transport.send(request, timeout=self.timeout)
            _log.debug("%s %s -> %d (%.0f ms)", request.method, request.route or request.url,
                       resp.status, (time.monotonic() - started) * 1000)
            if resp.status not in (301, 302, 303, 307, 308) or "Location" not in resp.headers:
                return resp
            location = urllib.parse.urljoin(request.url, str(resp.headers["Location"]))
            if request.method not in ("GET", "HEAD"):
                raise RedirectError(
                    f"{resp.status} redirect on {request.method} {request.route or request.url} "
                    f"to {location}: not followed, because a redirected write would be sent again "
                    "as a GET (and lost). Point the client at the final address (https, the "
                    f"canonical host): Client({_site_of(location)!r}).",
                    status=resp.status, location=location, method=request.method, url=request.url)
            if location in seen:
                raise RedirectError(f"redirect loop at {location} ({request.method} {request.url})",
                                    status=resp.status, location=location,
                                    method=request.method, url=request.url)
            seen.add(location)
            headers = dict(request.headers)
            if auth_origin is not None and _origin(location) != auth_origin:
                # Never hand credentials to another origin (urllib would, PROTOCOLS.md 7.2).
                for name in list(headers):
                    if name.lower() in ("authorization", "cookie", "proxy-authorization",
                                        "x-wp-nonce"):
                        del headers[name]
                _log.warning("redirect to another origin %s: credentials not forwarded", location)
            request = dataclasses.replace(request, url=location, headers=headers)
        raise RedirectError(f"more than {MAX_REDIRECTS} redirects from {request.url}",
                            status=resp.status, location=request.url, method=request.method,
                            url=request.url)

    def _decode(self, request: Request, resp: Response) -> Any:
        if resp.status in (301, 302, 303, 307, 308):
            location = str(resp.headers.get("Location", ""))
            raise RedirectError(f"{resp.status} redirect to {location!r} ({request.method} "
                                f"{request.route})", status=resp.status, location=location,
                                method=request.method, url=request.url)
        if not resp.body.strip() and resp.status < 400:
            return None
        try:
            value, cleaned = _decode_json(resp.body)
        except ValueError:
            raise _invalid_response(request, resp) from None
        if cleaned:
            _log.warning("%s %s: ignored %s; the site prints PHP messages into its output "
                         "(turn off display_errors)", request.method, request.route, cleaned)
        if resp.status >= 400:
            raise self._api_error(request, resp, value)
        return value

    def _api_error(self, request: Request, resp: Response, value: Any) -> APIError:
        if isinstance(value, dict) and isinstance(value.get("code"), str):
            code, message, data = value["code"], str(value.get("message", "")), value.get("data")
        elif isinstance(value, dict) and isinstance(value.get("data"), dict) and "code" in value:
            code, message, data = str(value["code"]), str(value.get("message", "")), value["data"]
        else:
            code, message, data = "http_error", f"HTTP {resp.status}", value
        status = resp.status
        cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
        hint = ""
        if status == 401:
            hint = _HINT_401 if self.auth is not None else _HINT_401_ANONYMOUS
        elif status == 500 and data is None and code in ("incorrect_password", "invalid_username"):
            hint = ("This 500 with data null is the JSON Basic Authentication plugin's answer to "
                    "a wrong login password; it also rejects application passwords. Use "
                    "BasicAuth with the login password, or remove that plugin and use "
                    "ApplicationPassword.")
        err = cls(status, code, message, data, method=request.method, url=request.url,
                  route=request.route, hint=hint)
        if isinstance(err, RateLimited):
            err.retry_after = Retry.parse_retry_after(resp.headers.get("Retry-After"))
        return err

    # -- convenience: site, users --

    def index(self) -> dict[str, Any]:
        """The REST API index: site name, url, home, namespaces, authentication, routes."""
        result: dict[str, Any] = self.request("GET", "/")
        return result

    def me(self, **params: Any) -> dict[str, Any]:
        """The authenticated user with ``context=edit`` (roles, capabilities)."""
        params.setdefault("context", "edit")
        result: dict[str, Any] = self.request("GET", "/wp/v2/users/me", params=params)
        return result

    # -- collections --

    def list_items(self, route: str, **params: Any) -> Page:
        """One page of any collection route, with its totals."""
        value, resp = self._call("GET", route, params=params)
        if not isinstance(value, list):
            raise InvalidResponse(f"GET {route} did not return a list", status=resp.status,
                                  content_type=resp.content_type,
                                  body_start=_body_start(resp.body), method="GET", url=resp.url)
        total = _int_header(resp, "X-WP-Total", len(value))
        total_pages = _int_header(resp, "X-WP-TotalPages", 1 if value else 0)
        return Page(items=value, page=int(params.get("page", 1)),
                    per_page=int(params.get("per_page", 10)), total=total,
                    total_pages=total_pages)

    def iter_items(self, route: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a collection, fetched page by page as you iterate (100 a page)."""
        params.setdefault("per_page", MAX_PER_PAGE)
        page_no = int(params.pop("page", 1))
        while True:
            page = self.list_items(route, page=page_no, **params)
            yield from page.items
            if page.next_page is None or not page.items:
                return
            page_no = page.next_page

    # -- posts --

    def create_post(self, *, title: str, content: str = "", status: str = "draft",
                    **fields: Any) -> dict[str, Any]:
        """Create a post (a draft unless ``status`` says otherwise) and return it (``context=edit``)."""
        body = {"title": title, "content": content, "status": status, **fields}
        result: dict[str, Any] = self.request("POST", "/wp/v2/posts", json=body)
        return result

    def list_posts(self, **params: Any) -> Page:
        """One page of posts; WordPress's parameters (``status``, ``search``, ``per_page``...)."""
        return self.list_items("/wp/v2/posts", **params)

    def iter_posts(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every post matching ``params``, across pages, lazily."""
        return self.iter_items("/wp/v2/posts", **params)

    def get_post(self, id: int, **params: Any) -> dict[str, Any]:
        """One post by id (``context="edit"`` for raw title and content)."""
        result: dict[str, Any] = self.request("GET", f"/wp/v2/posts/{_check_id(id)}", params=params)
        return result

    def update_post(self, id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a post and return it."""
        result: dict[str, Any] = self.request("POST", f"/wp/v2/posts/{_check_id(id)}", json=fields)
        return result

    def delete_post(self, id: int, *, force: bool = False) -> dict[str, Any]:
        """Move a post to the trash, or delete it for good with ``force=True``."""
        result: dict[str, Any] = self.request(
            "DELETE", f"/wp/v2/posts/{_check_id(id)}", params={"force": True} if force else None)
        return result


def _check_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"an id is a positive integer, not {value!r}")
    return value


def _int_header(resp: Response, name: str, default: int) -> int:
    try:
        return int(str(resp.headers.get(name, default)))
    except ValueError:
        return default


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _body_start(body: bytes, limit: int = 300) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return re.sub(r"\s+", " ", text).strip()


def _invalid_response(request: Request, resp: Response) -> InvalidResponse:
    ctype = resp.content_type or "no content type"
    start = _body_start(resp.body)
    why = "HTML instead of JSON" if "html" in ctype.lower() or start.startswith("<") else "not JSON"
    advice = ("a wrong URL, a maintenance page, or a security plugin/firewall in front of "
              "WordPress")
    if resp.status == 401 and resp.headers.get("WWW-Authenticate"):
        advice = ("the web server asks for its own Basic auth (WWW-Authenticate: "
                  f"{resp.headers['WWW-Authenticate']}) before WordPress runs")
    return InvalidResponse(
        f"{resp.status} {why} ({ctype}) from {request.method} {request.route or request.url}; "
        f"likely {advice}. Body starts: {start[:200]!r}",
        status=resp.status, content_type=resp.content_type, body_start=start,
        method=request.method, url=request.url)


def _site_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    path = parts.path
    for marker in ("/wp-json", "/index.php"):
        if marker in path:
            path = path[: path.index(marker)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path or "/", "", ""))


def _as_retry(retry: Retry | int | bool | None) -> Retry:
    if retry is None or retry is True:
        return Retry()
    if retry is False:
        return Retry(total=0)
    if isinstance(retry, int):
        return Retry(total=retry)
    if isinstance(retry, Retry):
        return retry
    raise ConfigError("retry must be a wp_rest.Retry, an int or a bool")


_APP_PASSWORD = re.compile(r"\A[A-Za-z0-9]{24}\Z")


def _auth_from_env(get: Callable[[str], str]) -> Auth | None:
    username, app_password = get("WP_USERNAME"), get("WP_APP_PASSWORD")
    if not username and not app_password:
        return None
    if not username:
        raise ConfigError("WP_APP_PASSWORD is set but WP_USERNAME is not: set the user's login name")
    if not app_password:
        raise ConfigError("WP_USERNAME is set but WP_APP_PASSWORD is not: create an application "
                          "password in Users > Profile and put it in WP_APP_PASSWORD")
    if not _APP_PASSWORD.match(re.sub(r"\s+", "", app_password)):
        raise ConfigError("WP_APP_PASSWORD does not look like an application password "
                          "(24 letters and digits, spaces optional); the login password does "
                          "not work here")
    return ApplicationPassword(username, app_password)


# --- Command line -------------------------------------------------------------


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


def _post_row(post: Mapping[str, Any]) -> str:
    title = post.get("title")
    text = title.get("rendered", "") if isinstance(title, dict) else str(title or "")
    return f"{post.get('id', ''):>7}  {post.get('status', ''):<8}  {post.get('date', ''):<19}  {_strip_tags(text)}"


def _cli_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wp-rest",
        description="WordPress REST API from the command line. Credentials come from the "
                    "environment only: WP_URL, WP_USERNAME, WP_APP_PASSWORD (and WP_CA_BUNDLE).",
        epilog="Exit codes: 0 ok, 1 WordPress or network error, 2 usage or configuration error.")
    parser.add_argument("--url", help="site URL or API root (default: $WP_URL)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    parser.add_argument("--insecure-http", action="store_true",
                        help="allow credentials over plain http to a non-local host")
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument("--version", action="version", version=f"wp-rest {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    posts = sub.add_parser("posts", help="list, create, get, update, delete posts")
    psub = posts.add_subparsers(dest="action", required=True, metavar="ACTION")
    plist = psub.add_parser("list", help="one page of posts (JSON lines, or --table)")
    plist.add_argument("--status", help="publish, draft, pending, private, future, trash, any")
    plist.add_argument("--search")
    plist.add_argument("--page", type=int, default=1)
    plist.add_argument("--per-page", type=int, default=10)
    plist.add_argument("--all", action="store_true", help="every page")
    plist.add_argument("--table", action="store_true", help="a table instead of JSON lines")
    pcreate = psub.add_parser("create", help="create a post (a draft by default)")
    pcreate.add_argument("--title", required=True)
    pcreate.add_argument("--content-file", metavar="FILE|-", help="HTML content from a file or stdin")
    pcreate.add_argument("--status", default="draft")
    pget = psub.add_parser("get", help="one post as JSON")
    pget.add_argument("id", type=int)
    pupdate = psub.add_parser("update", help="change a post's title, content or status")
    pupdate.add_argument("id", type=int)
    pupdate.add_argument("--title")
    pupdate.add_argument("--content-file", metavar="FILE|-")
    pupdate.add_argument("--status")
    pdelete = psub.add_parser("delete", help="move a post to the trash (--force: delete)")
    pdelete.add_argument("id", type=int)
    pdelete.add_argument("--force", action="store_true")
    sub.add_parser("me", help="the authenticated user (checks the credentials)")
    return parser


def _read_content(name: str | None) -> str | None:
    if name is None:
        return None
    if name == "-":
        return sys.stdin.read()
    try:
        with open(name, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read --content-file {name!r}: {exc.strerror}") from exc


def main(argv: list[str] | None = None) -> int:
    """The ``wp-rest`` command. Returns the exit code."""
    args = _cli_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="wp-rest: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        env = dict(os.environ)
        if args.url:
            env["WP_URL"] = args.url
        client = Client.from_env(env, timeout=args.timeout, allow_insecure_http=args.insecure_http)
        with client:
            return _run_command(client, args)
    except ConfigError as exc:
        print(f"wp-rest: error: {exc}", file=sys.stderr)
        return 2
    except WPError as exc:
        print(f"wp-rest: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run_command(client: Client, args: argparse.Namespace) -> int:
    if args.command == "me":
        user = client.me()
        _print_json({k: user.get(k) for k in ("id", "username", "name", "email", "roles")})
        return 0
    if args.action == "list":
        params = {"status": args.status, "search": args.search}
        if args.all:
            posts: Iterator[dict[str, Any]] | list[dict[str, Any]] = client.iter_posts(**params)
        else:
            page = client.list_posts(page=args.page, per_page=args.per_page, **params)
            posts = page.items
            print(f"# page {page.page} of {page.total_pages}, {page.total} posts", file=sys.stderr)
        for post in posts:
            print(_post_row(post)) if args.table else _print_json(post)
        return 0
    if args.action == "create":
        post = client.create_post(title=args.title, content=_read_content(args.content_file) or "",
                                  status=args.status)
    elif args.action == "get":
        post = client.get_post(args.id)
    elif args.action == "update":
        fields = {"title": args.title, "content": _read_content(args.content_file),
                  "status": args.status}
        post = client.update_post(args.id, **{k: v for k, v in fields.items() if v is not None})
    else:
        post = client.delete_post(args.id, force=args.force)
    _print_json(post)
    return 0


def _exit(code: int) -> NoReturn:
    sys.exit(code)


if __name__ == "__main__":
    _exit(main())

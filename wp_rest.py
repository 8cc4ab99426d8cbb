"""wp_rest: a WordPress REST API client in one file, standard library only (Python >= 3.10).

Copy this file into your project, or ``pip install`` the project that ships it. Authenticated writes
work with Application Passwords; when they cannot, the errors say why::

    import wp_rest
    wp = wp_rest.Client("https://example.com",
                        auth=wp_rest.ApplicationPassword("admin", "abcd EFGH 1234 ijkl MNOP 6789"))
    post = wp.create_post(title="Hello", content="<p>From Python</p>")
    print(wp.list_posts(status="draft").total)

Other auth: BasicAuth, WooCommerceKeys, JWTAuth, BearerToken, CookieAuth, OAuth1 (OAuth1Flow).
``wp-rest --help`` (``python wp_rest.py --help`` uninstalled) lists the commands; ``wp-rest doctor URL``
explains why writes fail. ``Client.from_env`` reads ``WP_URL``, ``WP_USERNAME``, ``WP_APP_PASSWORD``,
``WP_CA_BUNDLE`` and the JWT/cookie variants. Licence: MIT. Keep the ``__version__`` line: it alone
identifies a vendored copy.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "APIError", "ApplicationPassword", "Auth", "AuthenticationError", "BadRequest", "BasicAuth",
    "BearerToken", "Check", "Client", "ConfigError", "CookieAuth", "ENV_PROXY", "EditConflict",
    "ExpiredToken", "HTTPTransport", "Headers", "ImmatureToken", "InvalidAudience", "InvalidIssuer",
    "InvalidResponse", "InvalidSignature", "JWTAuth", "MalformedToken", "MockTransport", "NotFound",
    "OAuth1", "OAuth1Flow", "Page", "PermissionDenied", "ProxyError", "RateLimited", "RedirectError",
    "Report", "Request", "Response", "Retry", "ServerError", "TokenError", "Transport", "TransportError",
    "WPError", "WeakSecretWarning", "WooCommerceKeys", "credentials_path", "jwt_decode", "jwt_encode",
    "jwt_peek", "main", "stored_sites",
]

import base64
import collections
import contextlib
import datetime
import email.utils
import functools
import http.client
import ipaddress
import json
import logging
import math
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
import warnings
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping

# What only some calls need is imported where used, typing only by the type checker: importing stays cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import concurrent.futures
    from typing import Any, NoReturn, Protocol, TypeVar

    from typing_extensions import dataclass_transform as _dataclass_transform

    _T = TypeVar("_T", bound="_Record")
else:
    Protocol = object

    def _dataclass_transform(**kwargs: object) -> Callable[[type], type]:
        return lambda f: f

# --- Constants ----------------------------------------------------------------

#: The ``rel`` of the ``Link`` header that names a site's REST API root.
API_REL = "https://api.w.org/"
#: Largest response body the client reads (after decompression), in bytes.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Most ``{`` and ``[`` a body may hold to be decoded: 64 MiB of ``[{},...]`` is 1.6 GiB in Python.
MAX_JSON_CONTAINERS = 1_000_000
#: The statuses that redirect (with a ``Location``).
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)
#: How many redirects a GET may follow.
MAX_REDIRECTS = 5
#: WordPress caps ``per_page`` at 100 on core collections.
MAX_PER_PAGE = 100
#: A slug WordPress stores unchanged (``create_post_once``): lowercase words of letters and digits
#: joined by single hyphens, with a letter (all-digit slugs get a suffix).
_ONCE_SLUG = re.compile(r"(?=[a-z0-9-]*[a-z])[a-z0-9]+(?:-[a-z0-9]+)*")
#: Core registers these with fixed REST bases (create_initial_post_types in post.php): no lookup needed.
_CORE_ROUTES = {"post": "/wp/v2/posts", "page": "/wp/v2/pages"}
#: The Abilities API's namespace (WordPress 6.9+).
_ABILITIES = "/wp-abilities/v1"
#: Slugs wp_unique_post_slug() (post.php) changes on publishing: WP_Rewrite::$feeds, and "embed".
_REWRITTEN_SLUGS = frozenset({"feed", "rdf", "rss", "rss2", "atom", "embed"})
#: Idle keep-alive connections kept per origin.
POOL_SIZE = 10
#: Request headers whose values are credentials: never logged, shown or sent to another origin.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-wp-nonce"})
#: PHP notices and warnings that ``display_errors`` printed before the JSON, as text or HTML.
_PHP_NOTICE = re.compile(
    r"\A(?:\s*(?:<br\s*/?>\s*)?(?:<b>)?(?:PHP )?"
    r"(?:Notice|Warning|Deprecated|Strict Standards|Fatal error|Parse error)(?:</b>)?:"
    r".*?on line (?:<b>)?\d+(?:</b>)?(?:<br\s*/?>)?)+\s*", re.DOTALL)
#: Query names WordPress reads as routing, method or format switches: rest_api_loaded()
#: reads ``rest_route``, WP_REST_Server::serve_request() ``_method``, ``_envelope`` and ``_jsonp``.
_RESERVED_PARAMS = frozenset({"rest_route", "_method", "_envelope", "_jsonp"})
#: Query characters left unencoded, and the characters of a route (RFC 3986 pchar, with '/').
_QUERY_SAFE = "/:@!$'()*,;"
_ROUTE_OK = re.compile(r"\A(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)+\Z")

_log = logging.getLogger("wp_rest")

# --- Exceptions ---------------------------------------------------------------
# WPError > ConfigError (also ValueError), TransportError > ProxyError, RedirectError, InvalidResponse,
# APIError > a class per status, EditConflict, TokenError > the JWT errors. One warning: WeakSecretWarning.


class WPError(Exception):
    """Base class of every error this module raises."""

    #: ``create_posts`` only: the results of the posts handled before this error.
    completed: list[Any] | None = None


class ConfigError(WPError, ValueError):
    """The client was configured or called wrongly; the message says how to fix it."""


class TransportError(WPError):
    """No HTTP answer was received (DNS, connection refused or reset, TLS, timeout). ``request_sent``
    is False only when the request provably never reached the server, so a write may be retried."""

    def __init__(self, message: str, *, method: str = "", url: str = "", request_sent: bool = True) -> None:
        super().__init__(message)
        self.method, self.url, self.request_sent = method, url, request_sent


class ProxyError(TransportError):
    """The proxy refused the request or could not reach the site (407, a refused CONNECT)."""

    def __init__(self, message: str, *, proxy: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.proxy = _show_proxy(proxy)


class RedirectError(WPError):
    """The server redirected a request the client will not follow (a write, a loop, another origin)."""

    def __init__(self, message: str, *, status: int, location: str, method: str, url: str) -> None:
        super().__init__(message)
        self.status, self.location, self.method, self.url = status, location, method, url


class InvalidResponse(WPError):
    """The server answered, but not with WordPress REST JSON (HTML page, firewall, wrong URL)."""

    def __init__(self, message: str, *, status: int, content_type: str, body_start: str,
                 method: str, url: str) -> None:
        super().__init__(message)
        self.status, self.content_type, self.body_start = status, content_type, body_start
        self.method, self.url = method, url


class APIError(WPError):
    """WordPress answered with an error status; ``code`` is WordPress's own error code."""

    def __init__(self, status: int, code: str, message: str, data: Any = None, *,
                 method: str = "", url: str = "", route: str = "", hint: str = "") -> None:
        self.status, self.code, self.message, self.data = status, code, message, data
        self.method, self.url, self.route, self.hint = method, url, route, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" ({self.method} {self.route or self.url})" if self.method else ""
        hint = "\n" + self.hint if self.hint else ""
        return f"{self.status} {self.code}: {_strip_tags(self.message)}{where}{hint}"


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


class EditConflict(WPError):
    """The post changed after the caller read it (``Client.guard_modified``); nothing was written."""


class WeakSecretWarning(UserWarning):
    """An HS256 secret shorter than 32 bytes (RFC 7518 §3.2) was used to sign."""


class TokenError(WPError):
    """A JWT was rejected; base of every jwt_decode/jwt_peek error. ``claim`` is the header parameter
    or claim at fault ("alg", "exp", ...) or None, ``value`` its value as found in the token or None."""

    def __init__(self, message: str, *, claim: str | None = None, value: Any = None, **details: Any) -> None:
        super().__init__(message)
        self.claim, self.value = claim, value
        for name, detail in details.items():  # the subclasses' own attributes, declared on them
            if not hasattr(type(self), name):
                raise TypeError(f"{type(self).__name__} has no attribute {name!r}")
            setattr(self, name, detail)


class MalformedToken(TokenError):
    """The token is not a well-formed HS256 JWS carrying a JSON-object payload."""


class InvalidSignature(TokenError):
    """The HMAC does not match, or the header asks for an algorithm other than HS256."""


class _TimeClaimError(TokenError):
    """A time claim failed; carries the clock reading used."""

    now: float = 0.0
    leeway: float = 0.0
    by_seconds: float = 0.0


class ExpiredToken(_TimeClaimError):
    """``exp`` has passed; ``by_seconds`` is ``now - exp``, ``now``/``leeway`` in seconds."""


class ImmatureToken(_TimeClaimError):
    """``nbf`` or ``iat`` lies in the future; ``by_seconds`` is ``claim - now``."""


class InvalidIssuer(TokenError):
    """``iss`` is missing or differs from ``expected``."""

    expected: str = ""


class InvalidAudience(TokenError):
    """``aud`` is missing or names none of ``expected``."""

    expected: frozenset[str] = frozenset()


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequest, 401: AuthenticationError, 403: PermissionDenied, 404: NotFound, 429: RateLimited}

# --- Helpers ------------------------------------------------------------------


@_dataclass_transform(frozen_default=True)
class _Record:
    """Base of frozen value classes built from their annotations, like frozen dataclasses plus
    ``replace(**changes)``; dataclasses imports inspect, which made ``import wp_rest`` a third slower."""

    _fields: tuple[str, ...] = ()
    _defaults: dict[str, Any] = {}  # noqa: RUF012 (replaced per class, never mutated)

    def __init_subclass__(cls) -> None:
        cls._fields = tuple(n for n in cls.__annotations__ if not n.startswith("_"))
        cls._defaults = {n: cls.__dict__[n] for n in cls._fields if n in cls.__dict__}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names, setter = self._fields, object.__setattr__  # loops, not dict merges: built per request
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes {', '.join(names)}; got {len(args)} positional")
        for name, value in zip(names, args, strict=False):
            setter(self, name, value)
        for name in names[len(args):]:
            if name in kwargs:
                setter(self, name, kwargs.pop(name))
            elif name in self._defaults:
                setter(self, name, self._defaults[name])
            else:
                raise TypeError(f"{type(self).__name__}() is missing {name}")
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected or repeated {', '.join(sorted(kwargs))}")
        self.__post_init__()

    def __post_init__(self) -> None:
        pass

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace({name}=...)")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self._fields)

    def __hash__(self) -> int:  # as a frozen dataclass: a TypeError when a field is unhashable
        return hash(tuple(getattr(self, n) for n in self._fields))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields)})"

    def replace(self: _T, **changes: Any) -> _T:
        """A copy with ``changes`` applied (the value itself never changes)."""
        return type(self)(**{**{n: getattr(self, n) for n in self._fields}, **changes})


def _strip_tags(text: str) -> str:
    """WordPress messages may carry HTML (``<strong>Error:</strong>``); show them as text."""
    return re.sub(r"<[^>]+>", "", text).strip()


def _basic_header(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value (RFC 7617: ``user:password`` in UTF-8, base64)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _masked_headers(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers fit to show: credential values replaced by ``****``."""
    return [(k, "****" if k.lower() in _SECRET_HEADERS else v) for k, v in pairs]


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with default ports filled in, for same-origin checks."""
    return _netloc_origin(*urllib.parse.urlsplit(url)[:2])


@functools.lru_cache(maxsize=128)
def _netloc_origin(scheme: str, netloc: str) -> tuple[str, str, int]:
    """Cached per (scheme, netloc): a client talks to one or two origins."""
    parts = urllib.parse.SplitResult(scheme, netloc, "", "", "")
    try:
        port = parts.port
    except ValueError:  # an unreadable port counts as the scheme's default
        port = None
    default = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), default if port is None else port


@functools.lru_cache(maxsize=128)
def _is_loopback(host: str) -> bool:
    """A loopback address, or ``localhost`` resolving to loopback only (then pinned to that address);
    other names, ``evil.localhost`` too, may resolve elsewhere by the time of the connection."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return _loopback_address(host) is not None
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=8)
def _loopback_address(host: str) -> str | None:
    """The address ``host`` resolves to, if it resolves to loopback addresses only."""
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except OSError:
        return None
    only_loopback = all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in found)
    return min(found) if found and only_loopback else None  # 127.0.0.1 sorts before ::1


def _check_transport_security(url: str, allow_insecure_http: bool,
                              origin: tuple[str, str, int] | None = None, proxy: str | None = None) -> None:
    """Refuse to send credentials in clear text to a host (or a proxy) that is not this machine."""
    scheme, host, _ = origin or _origin(url)
    if proxy and scheme == "http" and not _is_loopback(urllib.parse.urlsplit(proxy).hostname or ""):
        host = f"{host} through the proxy {urllib.parse.urlsplit(proxy).hostname}"
    if scheme == "http" and not allow_insecure_http and not _is_loopback(host):
        raise ConfigError(f"refusing to send credentials over plain HTTP to {host}: anyone on the path could "
                          "read them. Use the site's https:// URL, or pass allow_insecure_http=True if you "
                          "accept that risk.")


def _parse_link_header(values: list[str]) -> dict[str, str]:
    """Map each ``rel`` of ``Link`` headers to its target URL (first one wins)."""
    links: dict[str, str] = {}
    for value in values:
        for target, params in re.findall(r'<([^>]*)>((?:\s*;\s*[^,;<]+(?:="[^"]*"|=[^,;]*)?)*)', value):
            if rel := re.search(r'rel\s*=\s*"([^"]*)"|rel\s*=\s*([^\s;,]+)', params):
                for name in (rel.group(1) or rel.group(2)).split():
                    links.setdefault(name, target)
    return links


def _decode_json(body: bytes) -> tuple[Any, str]:
    """(value, what was cleaned off) of a REST body, past a BOM or PHP notices; ValueError if not JSON."""
    text = body.decode("utf-8")
    cleaned = "a UTF-8 byte order mark" if text.startswith("\ufeff") else ""
    text = text.removeprefix("\ufeff")
    try:
        return _json_loads(text), cleaned
    except ValueError:
        notice = _PHP_NOTICE.match(text)
        if not notice:
            raise
        junk = text[: notice.end()].strip()
        return _json_loads(text[notice.end():]), f"PHP output before the JSON: {junk[:200]!r}"


def _json_loads(text: str) -> Any:
    """``json.loads`` whose only error is ValueError: hostile nesting hits the recursion limit."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


@functools.lru_cache(maxsize=256)
def _php_name(key: str) -> str:
    """The name PHP files a query key under (php_register_variable_ex in main/php_variables.c): it
    drops leading spaces and what follows a NUL, ends the name at a ``[`` that opens a bracket pair,
    and turns ``' '``, ``'.'`` and a lone ``[`` into ``_`` (``.method`` arrives as ``_method``)."""
    name = key.split("\0")[0].lstrip(" ")
    bracket = name.find("[")
    if bracket >= 0 and "]" in name[bracket:]:
        name = name[:bracket]
    return re.sub(r"[ .\[]", "_", name)


def _query_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query pairs PHP parses back into the same values: dicts and lists nest with brackets
    (``a[b]=1&a[c][0]=x``), None is left out, booleans are ``true``/``false`` (as
    rest_sanitize_boolean() in rest-api.php reads them)."""
    pairs: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if isinstance(value, (set, frozenset)):
            value = sorted(value, key=str)
        if isinstance(value, (list, tuple)):
            value = dict(enumerate(value))
        if isinstance(value, Mapping):
            for sub, item in value.items():
                if re.search(r"[\[\]\0]", str(sub)):
                    raise ConfigError(f"query key {sub!r} inside {key!r} cannot contain brackets")
                add(f"{key}[{sub}]", item)
        elif value is not None:
            pairs.append((key, ("true" if value else "false") if isinstance(value, bool) else str(value)))

    for key, value in params.items():
        name = _php_name(str(key))
        if name in _RESERVED_PARAMS:
            raise ConfigError(
                f"query parameter {key!r} is refused: PHP reads it as {name!r}, which would change "
                "the route, the method or the response format that WordPress serves")
        add(str(key), value)
    return pairs


@functools.lru_cache(maxsize=512)
def _check_route(route: str) -> str:
    """A route is a path below the API root; it may never leave it or change the host."""
    if not route.startswith("/"):
        route = "/" + route
    # Encoded '/', '.' and '\\' too: some servers decode them before routing (IIS reads '\\' as '/').
    if (not _ROUTE_OK.match(route) or re.search(r"%2[ef]|%5c", route, re.IGNORECASE)
            or {".", ".."} & set(route.split("/")) or "//" in route):
        raise ConfigError(f"invalid route {route!r}: a route is a path such as '/wp/v2/posts/5' "
                          "(no '..', '?', '#', '//' or encoded slashes); pass query values in params=")
    return route


def _api_error(request: Request, resp: Response, value: Any, *, authenticated: bool) -> APIError:
    """The ``APIError`` subclass for a WordPress error answer, with a hint where one helps."""
    err = _error_for_status(request, resp.status, value, authenticated=authenticated)
    if isinstance(err, RateLimited):
        err.retry_after = Retry.retry_after(resp)
    return err


def _error_for_status(request: Request, status: int, value: Any, *, authenticated: bool) -> APIError:
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        code, message, data = value["code"], str(value.get("message", "")), value.get("data")
    else:
        code, message, data = "http_error", f"HTTP {status}", value
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
    hint = ""
    if status == 401 and code == "incorrect_password":
        # A 401 says why only where a plugin such as WooCommerce re-runs authentication.
        hint = ("WordPress rejected this user's application password: create a new one (Users > Profile > "
                "Application Passwords) and use it with the login name; letter case matters, spaces do not. "
                "`wp-rest doctor URL` checks the rest.")
    elif status == 401 and not authenticated:
        hint = ("No credentials were sent: pass auth=ApplicationPassword(username, application_password) "
                "or set WP_USERNAME and WP_APP_PASSWORD.")
    elif status == 401:  # wp_validate_application_password() (wp-includes/user.php) answers all alike
        hint = ("Likely causes, which WordPress 6.x answers alike, as if no credentials were sent: a wrong "
                "application password, a login password instead of one, application passwords unavailable "
                "(they need HTTPS or WP_ENVIRONMENT_TYPE=local) or an Authorization header stripped by the "
                "web server. Run `wp-rest doctor URL` to tell which.")
    elif status == 500 and data is None and code in ("incorrect_password", "invalid_username"):
        hint = ("This 500 with data null is the JSON Basic Authentication plugin's answer to a wrong login "
                "password; it also rejects application passwords. Use BasicAuth with the login password, "
                "or remove that plugin and use ApplicationPassword.")
    elif code.startswith("jwt_auth_"):
        hint = ("The JWT plugin refused the token. JWTAuth renews tokens by itself; for self-signed tokens "
                "the secret must be the site's JWT_AUTH_SECRET_KEY and iss exactly the site's home URL "
                "(see `wp-rest doctor`).")
    return cls(status, code, message, data, method=request.method, url=request.url,
               route=request.route, hint=hint)


def _build_url(root: str, route: str, params: Mapping[str, Any] | None = None) -> str:
    """``route`` below the API ``root``, path-style (``/wp-json/``) or query-style (``?rest_route=``)."""
    route = _check_route(route)
    query = _query_pairs(params) if params else []
    parts = urllib.parse.urlsplit(root)  # cached by urllib: the same for every request of a client
    path = parts.path.rstrip("/") + route
    if "rest_route=" in parts.query:
        base = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "rest_route"]
        path, query = parts.path, [*base, ("rest_route", route), *query]
    encoded = urllib.parse.urlencode(query, safe=_QUERY_SAFE)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, encoded, ""))


def _build_query(url: str, params: Mapping[str, Any]) -> str:
    parts = urllib.parse.urlsplit(url)
    extra = urllib.parse.urlencode(_query_pairs(params), safe=_QUERY_SAFE)
    return urllib.parse.urlunsplit(parts._replace(query="&".join(filter(None, (parts.query, extra)))))


def _root_from_url(url: str) -> str | None:
    """The API root when ``url`` already is one: ``/wp-json/``, or ``?rest_route=`` as _build_url reads it."""
    parts = urllib.parse.urlsplit(url)
    if "rest_route=" in parts.query:
        return _build_url(url, "/")
    if parts.path.rstrip("/").endswith("/wp-json"):
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
    return None


def _check_slug(value: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9_-]{1,64}", value):
        raise ConfigError(f"{value!r} is not a REST base such as 'categories' or 'tags'")
    return value


def _safe_filename(name: str) -> str:
    """A bare file name for ``Content-Disposition``: no directories, quotes or control characters."""
    base = re.split(r"[\\/]", name)[-1].strip()
    if not base or base in (".", "..") or any(c == '"' or ord(c) < 32 for c in base):
        raise ConfigError(f"unusable file name {name!r}: give a plain name such as 'photo.jpg'")
    return base


def _absolute_url(base: str, target: str) -> str | None:
    """``target`` made absolute against ``base``; None unless http(s) with a host and a valid port."""
    try:
        joined = urllib.parse.urljoin(base, target)
        parts = urllib.parse.urlsplit(joined)
        parts.port  # noqa: B018 (validates the port)
    except ValueError:  # a port out of range, or "http://[x/" (an unbalanced IPv6 bracket)
        return None
    return joined if parts.scheme in ("http", "https") and parts.hostname else None


def _join_link(base: str, target: str) -> str | None:
    """A ``Link`` target made absolute; None for an unusable one (treated as no Link)."""
    joined = _absolute_url(base, target) if target else None
    if target and joined is None:
        _log.warning("ignoring an unusable Link header target %r", target[:200])
    return joined


def _check_ability(name: str) -> str:
    # wp_register_ability() (abilities-api.php) takes only a lowercase "namespace/name" of letters,
    # digits and dashes.
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", name):
        raise ConfigError(f"{name!r} is not an ability name such as 'core/get-site-info'")
    return name


def _check_id(value: Any) -> int:
    # WordPress reads a route's id with (int) (WP_REST_Posts_Controller::get_post() and its kin), and PHP's
    # int stops at 2**63 - 1: a larger id would name post PHP_INT_MAX, not the one meant.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ConfigError(f"an id is a positive integer below 2**63, not {value!r}")
    return value


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _body_start(body: bytes, limit: int = 300) -> str:
    return re.sub(r"\s+", " ", body[:limit].decode("utf-8", "replace")).strip()


def _invalid_answer(message: str, resp: Response, method: str = "GET", url: str = "") -> InvalidResponse:
    """``InvalidResponse`` for an answer to ``method`` (sent to ``url``, by default ``resp.url``)."""
    return InvalidResponse(message, status=resp.status, content_type=resp.content_type,
                           body_start=_body_start(resp.body), method=method, url=url or resp.url)


def _invalid_response(request: Request, resp: Response) -> InvalidResponse:
    ctype = resp.content_type or "no content type"
    start = _body_start(resp.body)
    why = "HTML instead of JSON" if "html" in ctype.lower() or start.startswith("<") else "not JSON"
    advice = "a wrong URL, a maintenance page, or a security plugin/firewall in front of WordPress"
    if resp.status == 401 and resp.headers.get("WWW-Authenticate"):
        advice = ("the web server asks for its own Basic auth (WWW-Authenticate: "
                  f"{resp.headers['WWW-Authenticate']}) before WordPress runs")
    where = f"{request.method} {request.route or request.url}"
    return _invalid_answer(f"{resp.status} {why} ({ctype}) from {where}; likely {advice}. "
                           f"Body starts: {start[:200]!r}", resp, request.method, request.url)


def _site_of(url: str) -> str:
    """The site an address belongs to: its path up to ``/wp-json`` or ``/index.php``, no query."""
    parts = urllib.parse.urlsplit(url)
    path: str = re.split(r"/wp-json|/index\.php", parts.path)[0]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path or "/", "", ""))


# --- JWT ----------------------------------------------------------------------
# HS256 only (RFC 7518 §3.2), compact serialisation only (RFC 7515 §7.1).
# The algorithm is fixed here and never taken from a token (RFC 8725 §2.1, §3.1).

_JWT_MIN_KEY_BYTES = 32  # below this jwt_encode warns: see WeakSecretWarning
#: Longest integer accepted in token JSON (parsing is quadratic): CPython's default
#: int_max_str_digits, enforced even if a program raised the global limit.
_JWT_MAX_INT_DIGITS = 4300


def jwt_encode(payload: Mapping[str, Any], secret: str | bytes, *,
               headers: Mapping[str, Any] | None = None) -> str:
    """Sign ``payload`` as a compact HS256 JWT, ``header.payload.signature``.

    The header is ``{"alg":"HS256","typ":"JWT"}`` plus ``headers`` (such as ``kid``); a str secret is
    used as its UTF-8 bytes, as PHP does. Nothing is added to the payload: WordPress plugins want
    ``iss``, ``iat``, ``nbf``, ``exp`` and ``data.user.id`` (back-date ``iat``/``nbf`` ~30 s).

    Raises ConfigError (empty secret, another ``alg``, ``crit``, NaN/infinite numbers, unpaired
    surrogates, circular references) or TypeError (``secret`` not str/bytes, ``payload`` not a Mapping,
    a value not JSON-serialisable). Warns WeakSecretWarning when the secret is under 32 bytes.
    """
    key = _jwt_key(secret)
    if len(key) < _JWT_MIN_KEY_BYTES:
        warnings.warn(f"HS256 secret is {len(key)} bytes; RFC 7518 §3.2 requires at least "
                      f"{_JWT_MIN_KEY_BYTES}", WeakSecretWarning, stacklevel=2)
    if not isinstance(payload, Mapping):
        raise TypeError(f"JWT payload must be a mapping, not {type(payload).__name__}")
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT", **(headers or {})}
    if header["alg"] != "HS256":
        raise ConfigError(f"jwt_encode signs HS256 only, not alg={_jwt_show(header['alg'])}")
    if "crit" in header:
        raise ConfigError("jwt_encode does not support the 'crit' header parameter")
    try:  # UTF-8 refuses unpaired surrogates (RFC 8259 §8.1); NaN and Infinity are not JSON
        texts = [json.dumps(dict(part), separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False).encode("utf-8") for part in (header, payload)]
    except ValueError as exc:
        raise ConfigError(f"cannot serialise JWT content as JSON: {exc}") from None
    signing_input = ".".join(map(_jwt_b64encode, texts))
    return f"{signing_input}.{_jwt_b64encode(_jwt_mac(key, signing_input))}"


def jwt_decode(token: str, secret: str | bytes, *, leeway: float | datetime.timedelta = 0,
               issuer: str | None = None, audience: str | Iterable[str] | None = None,
               verify_exp: bool = True, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Verify an HS256 JWT and return its claims as a new dict.

    Checks, in order: three strict base64url segments; a JSON-object header with ``alg`` exactly "HS256"
    and no ``crit``; the HMAC (constant time); a JSON-object payload; ``nbf``, ``iat``, ``exp``; then
    ``iss`` and ``aud`` when asked. As in php-jwt and PyJWT, expired means ``now - leeway >= exp`` and not
    yet valid means ``nbf`` or ``iat`` ``> now + leeway``; each time claim is optional but must be a finite
    number (not a boolean); ``typ`` is not checked. JSON with a duplicate member name at any depth is
    rejected (PHP keeps the last, other parsers the first), as are NaN/Infinity and integers over 4300 digits.

    ``leeway`` (seconds or a timedelta) applies to every time claim. ``issuer`` must equal ``iss`` exactly
    (case-sensitive, as the plugins compare). ``audience`` (one string or several) must be in ``aud``; when
    None, ``aud`` goes unchecked (PyJWT would reject it; WordPress plugins never set it). ``verify_exp=False``
    skips only the ``exp`` comparison, to renew an expired token.

    A bad token raises only TokenError subclasses: MalformedToken (shape, base64url, JSON, no ``alg``, a
    ``crit``, a malformed claim), InvalidSignature (``alg`` not HS256, HMAC mismatch), ExpiredToken,
    ImmatureToken, InvalidIssuer and InvalidAudience (claim missing or different). Bad arguments raise
    ConfigError (empty secret, negative or non-finite leeway, empty audience) or TypeError.
    """
    key = _jwt_key(secret)
    slack = leeway.total_seconds() if isinstance(leeway, datetime.timedelta) else leeway
    if isinstance(slack, bool) or not isinstance(slack, (int, float)):
        raise TypeError(f"leeway must be seconds or a timedelta, not {type(leeway).__name__}")
    if not 0 <= slack <= sys.float_info.max:  # compared exactly, so an int too big for a float fails too
        raise ConfigError(f"leeway must be finite and >= 0, not {leeway!r}")
    wanted = None if audience is None else frozenset((audience,) if isinstance(audience, str) else audience)
    if wanted is not None and (not wanted or not all(isinstance(a, str) for a in wanted)):
        raise ConfigError("audience must be a string or a non-empty iterable of strings")
    try:
        claims = _jwt_payload(token, key)
        _jwt_check_claims(claims, float(clock()), float(slack), verify_exp, issuer, wanted)
    except TokenError as exc:
        _log.debug("JWT rejected: %s", exc)
        raise
    return claims


def jwt_peek(token: str) -> dict[str, Any]:
    """Return a JWT's payload as a new dict WITHOUT verifying it: anyone can forge what this returns.

    Only to read a token you cannot check, such as the ``exp`` of one the server issued, to decide when
    to renew it; never for an access decision. Raises MalformedToken as jwt_decode does for the shape.
    """
    return _jwt_payload(token, None)


def _jwt_key(secret: str | bytes) -> bytes:
    """The HMAC key bytes; a str secret is UTF-8, as PHP uses it."""
    if not isinstance(secret, (str, bytes, bytearray)):
        raise TypeError(f"JWT secret must be str or bytes, not {type(secret).__name__}")
    # Checked, not caught: a UnicodeEncodeError would carry the secret into tracebacks.
    if isinstance(secret, str) and re.search(r"[\ud800-\udfff]", secret):
        raise ConfigError("JWT secret is not valid Unicode (unpaired surrogate)")
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ConfigError("JWT secret is empty")
    return key


def _jwt_b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _jwt_b64decode(segment: str, what: str) -> bytes:
    """Decode one segment strictly (RFC 7515 §2 and Appendix C)."""
    # urlsafe_b64decode alone drops characters outside the RFC 4648 §5 alphabet and
    # accepts padding; a length of 4n+1 can never come from an encoder.
    if len(segment) % 4 == 1 or not re.fullmatch(r"[A-Za-z0-9_-]*", segment):
        raise MalformedToken(f"{what} is not unpadded base64url")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))  # cannot fail after these checks
    # RFC 4648 §3.5: the unused bits of the last character must be zero, so re-encode and compare.
    if _jwt_b64encode(raw) != segment:
        raise MalformedToken(f"{what} is non-canonical base64url (non-zero trailing bits)")
    return raw


def _jwt_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse a segment's bytes as one JSON object (no duplicate names, NaN/Infinity or huge numbers)."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            raise ValueError("duplicate member name")
        return obj

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > _JWT_MAX_INT_DIGITS:
            raise ValueError("integer too long")
        return int(text)

    def number(text: str) -> float:  # also parse_constant: NaN, Infinity, -Infinity (RFC 8259 §6)
        value = float(text)
        if not math.isfinite(value):  # 1e999 parses as inf
            raise ValueError(f"{text} is not JSON" if text[-1].isalpha() else "number out of range")
        return value

    try:  # UTF-8 only (RFC 8259 §8.1): a BOM is then a JSON error
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_int=integer,
                           parse_float=number, parse_constant=number)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:80]
        raise MalformedToken(f"{what} is not valid JSON: {reason}") from None
    if not isinstance(value, dict):
        raise MalformedToken(f"{what} is JSON {_jwt_kind(value)}, not an object")
    return value


def _jwt_mac(key: bytes, signing_input: str) -> bytes:
    import hashlib
    import hmac

    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def _jwt_payload(token: str, key: bytes | None) -> dict[str, Any]:
    """The payload of a strict compact JWS; with ``key``, after checking header and HMAC (RFC 7515 §5.2)."""
    if not isinstance(token, str):
        raise MalformedToken(f"token must be a str, not {type(token).__name__}")
    if not token.isascii():
        raise MalformedToken("token contains non-ASCII characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken(f"token has {len(parts)} segments, a JWS has 3 (RFC 7515 §7.1)")
    header_raw, payload, signature = map(_jwt_b64decode, parts, ("header", "payload", "signature"))
    header = _jwt_object(header_raw, "header")
    if key is not None:
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise MalformedToken("header has no 'alg' string (RFC 7515 §4.1.1)", claim="alg", value=alg)
        # The algorithm is ours to choose: "none" is unsigned (RFC 7518 §3.6) and
        # RS/ES/PS with an HMAC secret is the alg-confusion attack (RFC 8725 §2.1).
        if alg != "HS256":
            raise InvalidSignature(f"algorithm {_jwt_show(alg)} is not accepted, only HS256", claim="alg",
                                   value=alg)
        # No extension is implemented, so any crit must fail (§4.1.11), RFC 7797 unencoded payloads too.
        if "crit" in header:
            raise MalformedToken("header has 'crit'; no critical extension is supported", claim="crit",
                                 value=header["crit"])
        # Over the received segments, never re-serialised; constant time (RFC 7518 §3.2).
        import hmac

        if not hmac.compare_digest(signature, _jwt_mac(key, f"{parts[0]}.{parts[1]}")):
            raise InvalidSignature("signature verification failed")
    return _jwt_object(payload, "payload")


def _jwt_check_claims(claims: dict[str, Any], now: float, leeway: float, verify_exp: bool,
                      issuer: str | None, wanted: frozenset[str] | None) -> None:
    """The time claims (NumericDate, RFC 7519 §2), then ``iss`` and ``aud`` when asked for."""
    times: dict[str, float] = {}
    for name in [n for n in ("nbf", "iat", "exp") if n in claims]:
        value = claims[name]
        # bool is an int subclass in Python, but true/false are not numbers in JSON.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MalformedToken(f"claim {name!r} must be a number, not JSON {_jwt_kind(value)}",
                                 claim=name, value=value)
        if abs(value) > sys.float_info.max:  # an integer too big for a float
            raise MalformedToken(f"claim {name!r} is out of range", claim=name, value=value)
        times[name] = float(value)
    context = f"now={_jwt_secs(now)}, leeway={_jwt_secs(leeway)} s"
    # In the order nbf, iat, exp, as php-jwt checks them. RFC 7519 makes iat informational, but php-jwt
    # and PyJWT reject a future iat; now must be *before* exp (§4.1.4), so exp == now is expired.
    for claim, when in times.items():
        if claim != "exp" and when > now + leeway:
            ahead = when - now
            raise ImmatureToken(f"token not valid yet: {claim} is {_jwt_secs(ahead)} s in the future "
                                f"({claim}={_jwt_secs(when)}, {context})", claim=claim, value=claims[claim],
                                now=now, leeway=leeway, by_seconds=ahead)
        if claim == "exp" and verify_exp and now - leeway >= when:
            ago = now - when
            raise ExpiredToken(f"token expired {_jwt_secs(ago)} s ago (exp={_jwt_secs(when)}, {context})",
                               claim="exp", value=claims["exp"], now=now, leeway=leeway, by_seconds=ago)
    if issuer is not None and claims.get("iss") != issuer:
        found = f"iss={_jwt_show(claims['iss'])}" if "iss" in claims else "no 'iss' claim"
        raise InvalidIssuer(f"issuer mismatch: {found}, expected {issuer!r}", claim="iss",
                            value=claims.get("iss"), expected=issuer)
    if wanted is None:
        return
    expected = ", ".join(repr(a) for a in sorted(wanted))
    if "aud" not in claims:
        raise InvalidAudience(f"token has no 'aud' claim, expected {expected}", claim="aud", expected=wanted)
    aud = claims["aud"]
    names = [aud] if isinstance(aud, str) else aud  # RFC 7519 §4.1.3: a StringOrURI or an array of them
    if not isinstance(names, list) or not all(isinstance(a, str) for a in names):
        raise MalformedToken("claim 'aud' must be a string or an array of strings, not JSON "
                             f"{_jwt_kind(aud)}", claim="aud", value=aud)
    if wanted.isdisjoint(names):
        raise InvalidAudience(f"audience mismatch: aud={_jwt_show(aud)}, expected {expected}", claim="aud",
                              value=aud, expected=wanted)


def _jwt_kind(value: Any) -> str:
    """Name a parsed JSON value's type the way JSON does."""
    kinds = {bool: "boolean", str: "string", dict: "object", list: "array", type(None): "null"}
    return kinds.get(type(value), "number")


def _jwt_show(value: Any) -> str:
    """Short, safe rendering of an untrusted value for messages."""
    flat_list = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if flat_list or value is None or isinstance(value, (str, int, float)):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"<JSON {_jwt_kind(value)}>"  # repr of deep nesting could recurse too far


def _jwt_secs(seconds: float) -> str:
    """Format seconds for messages: 42, 0.5, 1700000000.123."""
    return f"{seconds:.6g}" if abs(seconds) >= 1e15 else f"{seconds:.3f}".rstrip("0").rstrip(".")


# --- Requests and responses ---------------------------------------------------


class Request(_Record):
    """One HTTP request as the transport sends it. Headers are a plain dict (copied on change)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None
    #: The route below the API root, for messages ("" for URLs outside the API).
    route: str = ""
    #: The API root the route belongs to, so auth flows can reach token routes.
    api_root: str = ""
    #: False: return a 3xx as it is (a login form's redirect carries the cookies).
    follow_redirects: bool = True

    def with_headers(self, **changes: str) -> Request:
        return self.replace(headers={**self.headers, **changes})

    def __repr__(self) -> str:
        headers = _masked_headers(self.headers.items())
        return f"Request({self.method!r}, {self.url!r}, {headers!r}, {len(self.body or b'')} bytes)"


class Headers:
    """HTTP headers: case-insensitive lookup, every value of a repeated header (Link, Set-Cookie) kept.
    Built from a dict, a list of ``(name, value)`` pairs, or anything with ``items()``."""

    def __init__(self, items: Any = ()) -> None:
        pairs = items.items() if hasattr(items, "items") else items
        self._items = [(str(k), str(v)) for k, v in pairs]
        self._index: dict[str, list[str]] = {}  # a response's headers are looked up about ten times
        for key, value in self._items:
            self._index.setdefault(key.lower(), []).append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self._index.get(name.lower())
        return found[0] if found else default

    def get_all(self, name: str) -> list[str]:
        return list(self._index.get(name.lower(), ()))

    def __getitem__(self, name: str) -> str:
        if (value := self.get(name)) is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({_masked_headers(self._items)!r})"


class Response(_Record):
    """One HTTP response, fully read. ``headers`` may be given as a dict or a list of pairs.
    ``history`` holds the ``(status, url)`` of each redirect followed to get here."""

    status: int
    headers: Headers
    body: bytes
    url: str = ""
    history: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    def __repr__(self) -> str:  # no body: a server may echo a credential in it
        return f"Response({self.status}, {self.url!r}, {self.headers!r}, {len(self.body)} bytes)"

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type") or ""

    @property
    def links(self) -> dict[str, str]:
        return _parse_link_header(self.headers.get_all("Link"))


# --- Auth ---------------------------------------------------------------------


class Auth:
    """Base of all auth methods: ``flow`` yields the requests to send and receives their responses
    (httpx's ``auth_flow`` contract). ``Client`` accepts a plain ``Request -> Request`` callable too."""

    #: The attributes ``__repr__`` shows; a ``*name`` is a secret, shown as ``name='****'``.
    _repr: tuple[str, ...] = ()
    #: ``describe()``'s words, formatted with the auth as ``{0}``.
    _about = ""
    #: ``secrets()`` of an auth whose secrets never change.
    _secrets: tuple[str, ...] = ()

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        yield request

    def describe(self) -> str:
        """What credentials these are, in words fit for a report (never the secret)."""
        return self._about.format(self) if self._about else f"custom auth ({type(self).__name__})"

    def secrets(self) -> tuple[str, ...]:
        """The raw secrets held, password first: for redaction and shape checks, never to show."""
        return self._secrets

    def __repr__(self) -> str:
        shown = (f"{n[1:]}='****'" if n[0] == "*" else f"{n}={getattr(self, n)!r}" for n in self._repr)
        return f"{type(self).__name__}({', '.join(shown)})"


class _HeaderAuth(Auth):
    """One ``Authorization`` value, computed once and the only copy of the secret kept."""

    _repr: tuple[str, ...] = ("username", "*password")

    def __init__(self, username: str, password: str) -> None:
        if not username or not password:
            raise ConfigError(f"{type(self).__name__} needs a username and a password")
        if ":" in username:
            # PHP splits the decoded header at the first ':' into PHP_AUTH_USER and PHP_AUTH_PW.
            raise ConfigError("a WordPress username for Basic auth cannot contain ':'")
        self.username = username
        self._header = _basic_header(username, password)

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        yield request.with_headers(Authorization=self._header)

    def secrets(self) -> tuple[str, ...]:
        scheme, _, credential = self._header.partition(" ")
        if scheme == "Basic":  # the password is the part after the first ':'
            credential = base64.b64decode(credential).decode().partition(":")[2]
        return credential, self._header


class ApplicationPassword(_HeaderAuth):
    """A WordPress Application Password (Users > Profile), sent as HTTP Basic; spaces in it are optional,
    letter case matters. Works over HTTPS, or over HTTP on sites whose environment type is ``local``."""

    _about = "the application password of {0.username!r}"

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, re.sub(r"\s+", "", password))


class BasicAuth(_HeaderAuth):
    """HTTP Basic with the user's login password: only for sites running a Basic-Auth plugin.
    Core WordPress ignores login passwords over Basic; use ``ApplicationPassword``."""

    _about = "the login password of {0.username!r} over Basic"


class BearerToken(_HeaderAuth):
    """A ready token sent as ``Authorization: Bearer`` (any JWT plugin or identity provider)."""

    _repr = ("*token",)
    _about = "a Bearer token"

    def __init__(self, token: str) -> None:  # no username: _HeaderAuth's checks do not apply
        if not token or any(c.isspace() for c in token):
            raise ConfigError("BearerToken needs a token without spaces (just the token, no 'Bearer ')")
        self._header = "Bearer " + token


def _json_or_none(resp: Response) -> Any:
    try:
        return _decode_json(resp.body)[0]
    except ValueError:
        return None


def _dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` through JSON objects only (WordPress sends an empty one as ``[]``)."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _ask(request: Request, method: str, route: str, body: bytes | None = None, content_type: str = "",
         **headers: str) -> Generator[Request, Response, tuple[Request, Response]]:
    """Send a step of an auth flow (no credentials) to another route of the API or a site URL."""
    if content_type:
        headers["Content-Type"] = content_type
    kept = {k: v for k, v in request.headers.items()
            if k.lower() in ("user-agent", "accept", "accept-encoding")}
    url = _build_url(request.api_root, route) if route.startswith("/") else route
    sent = Request(method, url, {**kept, **headers}, body, route=route if route.startswith("/") else "",
                   api_root=request.api_root, follow_redirects=False)
    return sent, (yield sent)


def _raise_for(request: Request, resp: Response, what: str) -> NoReturn:
    """An auth step failed: raise the WordPress error, or say what came back."""
    value = _json_or_none(resp)
    if value is None or resp.status < 400:
        ctype = resp.content_type or "no content type"
        raise _invalid_answer(f"{what}: unexpected {resp.status} answer ({ctype}) from {request.method} "
                              f"{request.route or request.url}", resp, request.method, request.url)
    raise _api_error(request, resp, value, authenticated=True)


def _index_value(request: Request, key: str, what: str) -> Generator[Request, Response, str]:
    """The string ``key`` of the REST index (``home``, ``url``), read without credentials."""
    index_request, resp = yield from _ask(request, "GET", "/")
    value = _dig(_json_or_none(resp), key)
    if resp.status != 200 or not isinstance(value, str):
        _raise_for(index_request, resp, what)
    return value


class _LoginAuth(Auth):
    """Logs in with the login password; keeps the headers it gives until they expire or are refused."""

    _repr: tuple[str, ...] = ("username", "*password")
    #: Error codes of a 401/403 that mean the kept headers were refused: log in again, retry once.
    _renew_codes: tuple[str, ...] = ()
    #: Of the subclass: the headers kept from the last login, None if unusable; and the login, which
    #: keeps what it gets and returns the headers to send (its bool: the kept ones were refused).
    _held: Callable[[], dict[str, str] | None]
    _login: Callable[[Request, bool], Generator[Request, Response, dict[str, str]]]

    def __init__(self, username: str, password: str) -> None:
        if not username or not password:
            raise ConfigError(f"{type(self).__name__} needs a username and the login password")
        self.username, self._password = username, password
        self._lock, self._login_lock = threading.Lock(), threading.Lock()

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        headers = self._held()
        if headers is None:
            headers = yield from self._renew(request, None)
        response = yield request.with_headers(**headers)
        code = _dig(_json_or_none(response), "code") if response.status in (401, 403) else None
        if code in self._renew_codes:
            _log.info("%s refused (%s); renewing once", type(self).__name__, code)
            headers = yield from self._renew(request, headers)
            response = yield request.with_headers(**headers)
        self._answered(response)

    def _renew(self, request: Request,
               refused: dict[str, str] | None) -> Generator[Request, Response, dict[str, str]]:
        # One login at a time: threads waiting here reuse its headers. The lock is held across the
        # yields; the thread that drives this flow took it, and Client closes the flow on any error.
        with self._login_lock:
            headers = self._held()  # only this lock's holder logs in
            if headers is None or headers == refused:
                headers = yield from self._login(request, refused is not None)
            return headers

    def _answered(self, response: Response) -> None:  # the final answer (CookieAuth's fresh nonce)
        pass


class JWTAuth(_LoginAuth):
    """JSON Web Tokens got with the login password from a JWT plugin's token route (Tmeister's ``{"token"}``
    or Useful Team's ``{"data": {"token"}}``), cached, renewed ahead of ``exp`` and on a 401/403 invalid-token
    code (then the request is retried once). ``self_signed()`` needs only the site's JWT secret."""

    #: Renew a token this many seconds before its ``exp``.
    renew_margin = 60.0
    _renew_codes = ("jwt_auth_invalid_token", "jwt_auth_obsolete_token", "jwt_auth_bad_iss",
                    "jwt_auth_expired_token")
    _about = "a JWT for {0.username!r} from {0.token_route}"
    _token: str | None = None
    _expires = 0.0
    # self_signed() only: the site's secret, the user to act as, the iss claim, each token's lifetime.
    _secret: bytes | None = None
    _user_id = ""
    _issuer: str | None = None
    _ttl = 300.0

    def __init__(self, username: str, password: str, *,
                 token_route: str = "/jwt-auth/v1/token",  # noqa: S107 (a route)
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(username, password)
        self.token_route: str | None = _check_route(token_route)
        self._clock = clock

    @classmethod
    def self_signed(cls, secret: str | bytes, user_id: int | str, *, issuer: str | None = None,
                    ttl: float = 300, clock: Callable[[], float] = time.time) -> JWTAuth:
        """Mint Tmeister-format tokens locally with ``secret``, the site's raw ``JWT_AUTH_SECRET_KEY``,
        as user ``user_id``. ``issuer`` is the ``iss`` claim: by default the site's ``home`` URL from its
        REST index (the plugin compares it exactly). ``ttl``: each token's lifetime in seconds."""
        if not secret:
            raise ConfigError("JWTAuth.self_signed needs the site's JWT secret")
        if not str(user_id).isdigit() or int(user_id) <= 0:
            raise ConfigError(f"user_id must be a positive integer, not {user_id!r}")
        auth = cls(f"user {user_id}", "unused", clock=clock)
        auth._password, auth.token_route = "", None
        auth._repr, auth._about = ("username", "*self_signed"), "a self-signed JWT for user {0._user_id}"
        auth._secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        auth._user_id, auth._issuer, auth._ttl = str(user_id), issuer, float(ttl)
        return auth

    def secrets(self) -> tuple[str, ...]:
        held = (self._password, (self._secret or b"").decode("utf-8", "replace"), self._token or "")
        return tuple(s for s in held if s)

    def _held(self) -> dict[str, str] | None:
        with self._lock:
            if self._token is None or self._clock() >= self._expires - self.renew_margin:
                return None
            return {"Authorization": "Bearer " + self._token}

    def _login(self, request: Request, refused: bool) -> Generator[Request, Response, dict[str, str]]:
        token = yield from (self._fetch(request) if self._secret is None else self._mint(request))
        expires = self._clock() + 300  # when the token has no usable exp
        with contextlib.suppress(TokenError, OverflowError):  # an exp of 10**400 fits no float
            exp = jwt_peek(token).get("exp")
            if isinstance(exp, (int, float)) and not isinstance(exp, bool) and math.isfinite(exp):
                expires = float(exp)
        with self._lock:
            self._token, self._expires = token, expires
        return {"Authorization": "Bearer " + token}

    def _fetch(self, request: Request) -> Generator[Request, Response, str]:
        login, resp = yield from _ask(request, "POST", self.token_route or "/jwt-auth/v1/token",
                                      _json_dumps({"username": self.username, "password": self._password}),
                                      "application/json; charset=utf-8")
        value = _json_or_none(resp)
        if resp.status != 200 or not isinstance(value, dict):
            _raise_for(login, resp, "JWT login failed")
        token = value.get("token") or _dig(value, "data", "token")
        if not isinstance(token, str):
            _raise_for(login, resp, "the JWT token route answered without a token")
        return token

    def _mint(self, request: Request) -> Generator[Request, Response, str]:
        if self._issuer is None:
            self._issuer = yield from _index_value(request, "home",
                                                   "reading the site's home URL for the JWT issuer")
        now = self._clock()
        # Back-dated so a client clock a little ahead of the server's is not
        # refused: the plugins check iat and nbf with no leeway (php-jwt's JWT::decode()).
        claims = {"iss": self._issuer, "iat": int(now) - 30, "nbf": int(now) - 30,
                  "exp": int(now + self._ttl), "data": {"user": {"id": self._user_id}}}
        assert self._secret is not None
        return jwt_encode(claims, self._secret)


class CookieAuth(_LoginAuth):
    """Log in through ``wp-login.php`` and send the cookies with a REST nonce (``X-WP-Nonce``): any
    WordPress, no plugin needed. A ``403 rest_cookie_invalid_nonce`` fetches a new nonce (logging in
    again if the session has ended) and retries once. Two-factor and CAPTCHA login plugins break this."""

    _about = "a cookie login as {0.username!r}"
    _renew_codes = ("rest_cookie_invalid_nonce",)
    _nonce: str | None = None
    _site_url: str | None = None

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._cookies: dict[str, str] = {}

    def secrets(self) -> tuple[str, ...]:
        with self._lock:
            return (self._password, *(f"{k}={v}" for k, v in self._cookies.items()),
                    *((self._nonce,) if self._nonce else ()))

    def _held(self) -> dict[str, str] | None:
        with self._lock:
            if not self._cookies or self._nonce is None:
                return None
            cookie = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
            return {"Cookie": cookie, "X-WP-Nonce": self._nonce}

    def _answered(self, response: Response) -> None:
        if fresh := response.headers.get("X-WP-Nonce"):
            with self._lock:
                self._nonce = fresh

    def _login(self, request: Request, refused: bool) -> Generator[Request, Response, dict[str, str]]:
        if refused:
            try:
                return (yield from self._fetch_nonce(request, self._cookies))
            except AuthenticationError:
                # wp-admin/admin-ajax.php registers rest-nonce for logged-in users only and answers
                # anyone else wp_die('0', 400): the session expired or was logged out elsewhere.
                _log.info("the login session has ended; logging in again once")
        if self._site_url is None:
            url = yield from _index_value(request, "url", "reading the site URL for the login form")
            self._site_url = url.rstrip("/")
        # No testcookie field: with it wp-login.php also wants its TEST_COOKIE, which we never got.
        form = urllib.parse.urlencode({"log": self.username, "pwd": self._password}).encode()
        login, resp = yield from _ask(request, "POST", self._site_url + "/wp-login.php", form,
                                      "application/x-www-form-urlencoded")
        set_cookies = (h.split(";", 1)[0].partition("=") for h in resp.headers.get_all("Set-Cookie"))
        cookies = {n.strip(): v.strip() for n, _, v in set_cookies
                   if n.strip() and v.strip() not in ("", "deleted")}  # not the deleted ones
        if resp.status not in (302, 303) or not any(k.startswith("wordpress_logged_in_") for k in cookies):
            error = re.search(r'id="login_error"[^>]*>(.*?)</div>', resp.body.decode("utf-8", "replace"),
                              re.DOTALL)
            why = _strip_tags(error.group(1)) if error else f"{resp.status} without login cookies"
            raise AuthenticationError(  # with wp-login.php's own status (200), as the nonce error below
                resp.status, "login_failed", f"wp-login.php refused the login: {why}", None,
                method="POST", url=login.url, route="/wp-login.php",
                hint="Check the login password (CookieAuth takes the login password, not an "
                     "application password); 2FA, CAPTCHA or a renamed login page break this flow.")
        return (yield from self._fetch_nonce(request, cookies))

    def _fetch_nonce(self, request: Request,
                     cookies: dict[str, str]) -> Generator[Request, Response, dict[str, str]]:
        """A REST nonce for the session of ``cookies``; keeps both and returns the headers to send."""
        assert self._site_url is not None
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        url = self._site_url + "/wp-admin/admin-ajax.php?action=rest-nonce"
        ask, resp = yield from _ask(request, "GET", url, Cookie=cookie)
        nonce = resp.body.decode("utf-8", "replace").strip()
        if resp.status != 200 or not re.fullmatch(r"[0-9a-f]{6,32}", nonce):
            raise AuthenticationError(
                resp.status, "rest_nonce_failed",
                f"admin-ajax.php?action=rest-nonce answered {resp.status} {nonce[:40]!r}", None,
                method="GET", url=ask.url, route="/wp-admin/admin-ajax.php",
                hint="The login cookies were not accepted; the session may have expired.")
        with self._lock:
            self._cookies, self._nonce = dict(cookies), nonce
        return {"Cookie": cookie, "X-WP-Nonce": nonce}


# OAuth 1.0a (RFC 5849): the WP-API OAuth1 plugin, and WooCommerce keys over plain http.
def _pct(value: str) -> str:
    """RFC 5849 3.6: UTF-8, then every byte but ALPHA DIGIT - . _ ~ as %XX."""
    return urllib.parse.quote(value, safe="~")


def _php_order(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """WooCommerce's order: ``WC_REST_Authentication::check_oauth_signature()`` runs ``uksort($params,
    'strcmp')`` on $_GET + $_POST + oauth_*, in which PHP renamed ' ' and '.' to '_', grouped ``a[b]`` under
    ``a`` (in query order) and kept the last of repeated names."""
    merged: dict[str, str] = {}
    for name, value in pairs:
        base, bracket, rest = name.partition("[")
        merged[re.sub(r"[ .]", "_", base) + bracket + rest] = value
    return sorted(merged.items(), key=lambda kv: kv[0].partition("[")[0].encode())


def _oauth_signature(method: str, url: str, pairs: list[tuple[str, str]], key: str,
                     signature_method: str, *, php_order: bool = False) -> str:
    """RFC 5849 3.4: the HMAC of the method, the base URI (3.4.1.2) and the sorted, encoded parameters."""
    if php_order:
        encoded = [(_pct(k), _pct(v)) for k, v in _php_order(pairs)]
    else:
        encoded = sorted((_pct(k), _pct(v)) for k, v in pairs)
    scheme, host, port = _origin(url)  # in lower case, the default port filled in
    host = f"[{host}]" if ":" in host else host
    port_part = "" if port == (443 if scheme == "https" else 80) else f":{port}"
    base_uri = f"{scheme}://{host}{port_part}{urllib.parse.urlsplit(url).path or '/'}"
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    base = "&".join((method.upper(), _pct(base_uri), _pct(normalized)))
    import hashlib
    import hmac
    digest = hashlib.sha256 if signature_method == "HMAC-SHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()


class OAuth1(Auth):
    """OAuth 1.0a (RFC 5849) signing, for the WP-API OAuth1 plugin; ``OAuth1Flow`` gets the token.
    A fresh nonce per request; the query and a form body are signed, a JSON body is not
    (RFC 5849 3.4.1.3.1). The servers allow 15 minutes of clock difference."""

    def __init__(self, consumer_key: str, consumer_secret: str, token: str = "",
                 token_secret: str = "", *, signature_method: str = "HMAC-SHA1",
                 clock: Callable[[], float] = time.time) -> None:
        if not consumer_key or not consumer_secret:
            raise ConfigError(f"{type(self).__name__} needs the consumer key and the consumer secret")
        if signature_method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise ConfigError(f"signature_method {signature_method!r}: use HMAC-SHA1 or HMAC-SHA256, "
                              "the two WordPress's OAuth servers accept")
        self.consumer_key, self.token, self.signature_method = consumer_key, token, signature_method
        self._key = f"{_pct(consumer_secret)}&{_pct(token_secret)}"  # RFC 5849 3.4.2
        self._clock = clock
        self._secrets = tuple(s for s in (consumer_secret, token_secret) if s)
        self._repr = ("consumer_key", "*consumer_secret", *(("token", "*token_secret") if token else ()))
        with_token = " with an access token" if token else ""
        self._about = "OAuth 1.0a for consumer {0.consumer_key!r}" + with_token

    def oauth_params(self, request: Request, *, php_order: bool = False) -> dict[str, str]:
        """The ``oauth_*`` protocol parameters of ``request``, ``oauth_signature`` included."""
        import secrets
        params = {"oauth_consumer_key": self.consumer_key, "oauth_nonce": secrets.token_hex(16),
                  "oauth_signature_method": self.signature_method,
                  "oauth_timestamp": str(int(self._clock()))}
        if self.token:
            params["oauth_token"] = self.token
        # Signed with them: the query and a form body, decoded as PHP fills $_GET/$_POST (RFC 5849 3.4.1.3.1).
        pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query, keep_blank_values=True)
        content_type = Headers(request.headers).get("Content-Type") or ""
        if request.body and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            pairs += urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        pairs += params.items()
        params["oauth_signature"] = _oauth_signature(request.method, request.url, pairs, self._key,
                                                     self.signature_method, php_order=php_order)
        return params

    def sign(self, request: Request) -> Request:
        """``request`` with an ``Authorization: OAuth ...`` header (values percent-encoded)."""
        header = ", ".join(f'{k}="{_pct(v)}"' for k, v in self.oauth_params(request).items())
        return request.with_headers(Authorization="OAuth " + header)

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        yield self.sign(request)


def _token_answer(request: Request, resp: Response, what: str) -> tuple[str, str]:
    """The token and its secret from the OAuth1 plugin's form-encoded answer; its plain-text errors
    (``rest_oauth1_loaded()`` echoes the WP_Error message with its status, else 500) become typed errors."""
    text = resp.body.decode("utf-8", "replace").strip()
    values = dict(urllib.parse.parse_qsl(text)) if resp.status == 200 else {}
    if values.get("oauth_token") and values.get("oauth_token_secret"):
        return values["oauth_token"], values["oauth_token_secret"]
    if resp.status < 400 or text.startswith("<") or len(text) > 300:
        _raise_for(request, resp, f"{what} (is the OAuth1 plugin active?)")
    rejected = text == "OAuth signature does not match"
    message = f"{what}: the server rejected the signature ({text})" if rejected else f"{what}: {text}"
    code = "oauth1_" + re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    err = _error_for_status(request, resp.status, {"code": code, "message": message}, authenticated=True)
    err.hint = ("Check the consumer secret (and the token secret); the site's clock and the host "
                "of its home URL count too." if rejected else "")
    raise err


class OAuth1Flow:
    """The three-legged flow of the WP-API OAuth1 plugin, its endpoints read from the REST index:
    ``request_token()``, send the user to ``authorize_url(token)``, then ``access_token(token,
    secret, verifier)`` gives the ``OAuth1`` to use. Keyword arguments go to ``Client``."""

    def __init__(self, site_url: str, consumer_key: str, consumer_secret: str, *,
                 signature_method: str = "HMAC-SHA1", **client_kwargs: Any) -> None:
        self.site_url, self.consumer_key, self.signature_method = site_url, consumer_key, signature_method
        self._secret, self._client_kwargs = consumer_secret, client_kwargs
        OAuth1(consumer_key, consumer_secret, signature_method=signature_method)  # checks the arguments
        self._endpoints: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"OAuth1Flow({self.site_url!r}, consumer_key={self.consumer_key!r}, consumer_secret='****')"

    def endpoints(self) -> dict[str, str]:
        """``request``, ``authorize`` and ``access`` URLs from the index's ``authentication.oauth1``."""
        if self._endpoints is None:
            with Client(self.site_url, **self._client_kwargs) as client:
                index = client.request("GET", "/", params={"_fields": "authentication"})
            found = _dig(index, "authentication", "oauth1")
            if not all(isinstance(_dig(found, k), str) for k in ("request", "authorize", "access")):
                raise ConfigError(f"{self.site_url} does not offer OAuth 1.0a: its REST index has no "
                                  "authentication.oauth1 (install and activate the OAuth1 plugin, "
                                  "WP REST API - OAuth 1.0a Server)")
            self._endpoints = {k: found[k] for k in ("request", "authorize", "access")}
        return self._endpoints

    def _exchange(self, endpoint: str, form: dict[str, str], what: str, *token: str) -> tuple[str, str]:
        """A token and its secret for the ``form`` (signed in the body: RFC 5849 3.5.2) and ``token``."""
        auth = OAuth1(self.consumer_key, self._secret, *token, signature_method=self.signature_method)
        with Client(self.site_url, auth=auth, **self._client_kwargs) as client:
            request = client.build_request(
                "POST", self.endpoints()[endpoint], body=urllib.parse.urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"})
            return _token_answer(request, client.send(request, follow_redirects=False), what)

    def request_token(self, callback: str = "oob") -> tuple[str, str]:
        """A request token and its secret; ``callback`` must be the consumer's registered one."""
        return self._exchange("request", {"oauth_callback": callback}, "getting a request token")

    def authorize_url(self, token: str) -> str:
        """The page where the user logs in and authorizes ``token``."""
        url = self.endpoints()["authorize"]
        return url + ("&" if "?" in url else "?") + urllib.parse.urlencode({"oauth_token": token})

    def access_token(self, token: str, secret: str, verifier: str) -> OAuth1:
        """Trade the authorized request token and the verifier for an access token."""
        access = self._exchange("access", {"oauth_verifier": verifier.strip()}, "getting the access token",
                                token, secret)
        return OAuth1(self.consumer_key, self._secret, *access, signature_method=self.signature_method)


class WooCommerceKeys(Auth):
    """WooCommerce REST API keys (``ck_...``/``cs_...``) for ``wc/`` routes: HTTP Basic over https, or the
    keys in the query with ``query_string=True`` (for hosts that strip the header; logs then hold the secret);
    over http the secret never leaves: one-legged OAuth 1.0a, HMAC-SHA256, in the query (WooCommerce's
    ``WC_REST_Authentication::perform_oauth_authentication()``)."""

    _repr = ("consumer_key", "*consumer_secret")
    _about = "the WooCommerce key {0.consumer_key:.7}..."

    def __init__(self, consumer_key: str, consumer_secret: str, *, query_string: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        if not consumer_key.startswith("ck_") or not consumer_secret.startswith("cs_"):
            raise ConfigError("WooCommerceKeys takes the consumer key (ck_...) and the consumer "
                              "secret (cs_...) from WooCommerce > Settings > Advanced > REST API")
        self.consumer_key, self.query_string = consumer_key, query_string
        self._secret, self._header = consumer_secret, _basic_header(consumer_key, consumer_secret)
        self._secrets = (consumer_secret, self._header)
        self._signer = OAuth1(consumer_key, consumer_secret, signature_method="HMAC-SHA256", clock=clock)

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme == "https" and not self.query_string:
            yield request.with_headers(Authorization=self._header)
            return
        if parts.scheme == "https":
            query = {"consumer_key": self.consumer_key, "consumer_secret": self._secret}
        else:
            query = self._signer.oauth_params(request, php_order=True)
        query_text = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        yield request.replace(url=request.url + ("&" if parts.query else "?") + query_text)


# The credentials file of `wp-rest login`: named sites for Client.from_env.
def credentials_path(environ: Mapping[str, str] | None = None) -> str:
    """The credentials file: ``$WP_REST_CONFIG``, else ``$XDG_CONFIG_HOME/wp-rest/credentials.json``,
    else ``~/.config/wp-rest/credentials.json``."""
    env = os.environ if environ is None else environ
    if env.get("WP_REST_CONFIG", "").strip():
        return os.path.expanduser(env["WP_REST_CONFIG"].strip())
    base = env.get("XDG_CONFIG_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "wp-rest", "credentials.json")


def _read_credentials(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            # Like ssh with its keys: a file others can read is refused, not used.
            if os.name == "posix" and os.fstat(f.fileno()).st_mode & 0o077:
                raise ConfigError(f"{path} holds passwords but other users can read it: "
                                  f"run `chmod 600 {path}`")
            data = json.load(f)
    except FileNotFoundError:
        return {"sites": {}}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the credentials file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sites"), dict):
        raise ConfigError(f"{path} is not a wp-rest credentials file (no \"sites\" object)")
    return data


def _write_credentials(path: str, data: dict[str, Any]) -> None:
    """Replace the file atomically, created with mode 0600 (never readable by others, even briefly)."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
    os.replace(tmp, path)


def stored_sites(environ: Mapping[str, str] | None = None) -> list[str]:
    """The names of the sites in the credentials file (``wp-rest login --name``)."""
    return sorted(_read_credentials(credentials_path(environ))["sites"])


def _auth_from_file(site: str | None, environ: Mapping[str, str] | None = None) -> tuple[str, Auth] | None:
    """(site URL, auth) of the stored site ``site``, else ``$WP_SITE``, else the only one; None if none."""
    env = os.environ if environ is None else environ
    path = credentials_path(env)
    sites: dict[str, Any] = _read_credentials(path)["sites"]
    name = site or env.get("WP_SITE", "").strip() or (next(iter(sites)) if len(sites) == 1 else "")
    if not name and not sites:
        return None
    if not name:
        raise ConfigError(f"{path} holds several sites ({', '.join(sorted(sites))}): choose one "
                          "with WP_SITE=NAME (or Client.from_env(site=NAME))")
    entry = sites.get(name)
    fields = ("url", "username", "application_password")
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in fields):
        raise ConfigError(f"no site named {name!r} in {path} (stored: {', '.join(sorted(sites)) or 'none'});"
                          f" add it with `wp-rest login SITE_URL --name {name}`")
    return entry["url"], ApplicationPassword(entry["username"], entry["application_password"])


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


class Retry(_Record):
    """When to try a request again: an immutable value, safe to share between clients.

    GET and HEAD are retried on connection failures and on ``status_forcelist`` answers; a write only
    when it provably never reached the server (the connection could not be opened), so a retry cannot
    duplicate a post. A negative or non-finite number raises ``ConfigError``.

    Args:
        total: attempts after the first one; 0 switches retrying off.
        backoff_factor: before retry ``n`` sleep between half of and all of ``backoff_factor * 2 ** (n - 1)``
            seconds, at most ``backoff_max`` (random, so that many clients do not retry in step).
        status_forcelist: statuses that make an idempotent request retry.
        idempotent_methods: the methods retried after the request may have reached the server.
        respect_retry_after: honour ``Retry-After`` (seconds or HTTP date) up to ``retry_after_max``;
            a longer wish raises the error at once (``RateLimited.retry_after`` tells the wish).
        sleep: how to wait (inject a fake in tests).
    """

    total: int = 2
    backoff_factor: float = 0.5
    backoff_max: float = 10.0
    status_forcelist: frozenset[int] = frozenset({429, 502, 503, 504})
    idempotent_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
    respect_retry_after: bool = True
    retry_after_max: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    #: Retries done so far (``increment`` counts them).
    attempts: int = 0

    def __repr__(self) -> str:  # without sleep: a function's repr says nothing useful
        return f"Retry({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields if n != 'sleep')})"

    def __post_init__(self) -> None:
        if isinstance(self.total, bool) or not isinstance(self.total, int) or self.total < 0:
            raise ConfigError(f"Retry(total=...) must be an int >= 0, not {self.total!r}")
        for name in ("backoff_factor", "backoff_max", "retry_after_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"Retry({name}=...) must be a finite number >= 0, not {value!r}")

    def increment(self, method: str, response: Response | None = None,
                  error: TransportError | None = None) -> Retry | None:
        """The ``Retry`` for one more attempt after this answer or error by the rules above, or None: give up.
        ``method`` is the one WordPress executes. A ``Retry-After`` over ``retry_after_max`` gives None."""
        idempotent = method in self.idempotent_methods
        if error is not None:  # an untrusted certificate stays untrusted: retrying only delays the error
            again = (idempotent or not error.request_sent) and not isinstance(
                error.__cause__, ssl.SSLCertVerificationError)
        else:
            again = idempotent and response is not None and response.status in self.status_forcelist and (
                not self.respect_retry_after or (self.retry_after(response) or 0) <= self.retry_after_max)
        return self.replace(attempts=self.attempts + 1) if again and self.attempts < self.total else None

    def delay(self, response: Response | None = None) -> float:
        """Seconds to sleep before the attempt this ``Retry`` counts: backoff, or the server's wish."""
        wish = self.retry_after(response) if response is not None and self.respect_retry_after else None
        return max(self.backoff(self.attempts), wish or 0.0)

    @classmethod
    def retry_after(cls, response: Response) -> float | None:
        return cls.parse_retry_after(response.headers.get("Retry-After"))

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), with jitter."""
        cap = min(self.backoff_max, self.backoff_factor * 2.0 ** min(max(attempt - 1, 0), 64))
        return random.uniform(cap / 2, cap) if cap > 0 else 0.0

    @staticmethod
    def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
        """``Retry-After`` as seconds from now (RFC 9110 10.2.3), or None when absent or unreadable.
        Delay-seconds is ASCII digits only; an HTTP date in the past gives 0. Never an exception."""
        value = (value or "").strip()
        if re.fullmatch(r"[0-9]+", value):  # str.isdigit() also takes "²" and "٣"
            return min(float(value), 1e9)  # 300 digits would be inf
        try:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:  # "-0000" means UTC without saying so (RFC 5322 3.3)
                when = when.replace(tzinfo=datetime.timezone.utc)
            return max(0.0, when.timestamp() - (time.time() if now is None else now))
        except (TypeError, ValueError, IndexError, OverflowError):  # also an absent or blank value
            return None


# --- Transport ----------------------------------------------------------------


def _connection_dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable has been closed (or broken) by the server."""
    try:
        if hasattr(select, "poll"):  # select() refuses a descriptor above 1023 (FD_SETSIZE)
            poller = select.poll()
            poller.register(conn.sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([conn.sock], [], [], 0)[0])
    except (OSError, TypeError, ValueError):  # closed, or its socket gone (None): unusable either way
        return True


def _time_left(deadline: float) -> float:
    """Seconds until ``deadline`` (a ``time.monotonic()`` value); TimeoutError once it has passed."""
    if (left := deadline - time.monotonic()) <= 0:
        raise TimeoutError("the answer did not arrive within the timeout")
    return left


class _DeadlineSocket(socket.socket):
    """A TCP socket whose receives all end by one ``deadline``: http.client reads a line in as many
    receives as it takes, so a timeout for each would let a server trickling bytes outlast ``timeout``."""

    deadline = math.inf

    @classmethod
    def connect_by(cls, address: tuple[str, int], deadline: float) -> _DeadlineSocket:
        sock = cls(fileno=socket.create_connection(address, _time_left(deadline)).detach())
        sock.deadline = deadline
        sock.settimeout(_time_left(deadline))  # a TLS handshake's one timeout: the time left
        return sock

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        self.settimeout(_time_left(self.deadline))
        return super().recv_into(*args, **kwargs)


class _DeadlineSSLSocket(_DeadlineSocket, ssl.SSLSocket):
    """The same over TLS; made by the client's own SSLContext (``sslsocket_class``)."""


#: An HTTP token (RFC 9110 5.6.2): what a method or a header name may consist of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Characters a header value cannot carry: controls other than tab, and beyond Latin-1.
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")


def _check_sendable(request: Request) -> None:
    """Refuse what http.client would refuse half-way, not quoting a header's value: it may be a secret."""
    if not _TOKEN.fullmatch(request.method):
        raise ConfigError(f"{request.method[:20]!r} is not an HTTP method")
    for name, value in request.headers.items():
        if not _TOKEN.fullmatch(name):
            raise ConfigError(f"{name[:40]!r} is not a valid HTTP header name")
        text = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
        if _BAD_HEADER_VALUE.search(text):
            raise ConfigError(f"header {name!r} has a value HTTP cannot carry (a line break, another control "
                              "character or one beyond Latin-1); not shown, as it may be a credential")


def _secret_forms(values: Iterable[str]) -> list[str]:
    """The spellings in which a server could echo these credentials, longest first: each as is,
    JSON-escaped (``\\u00e9``, PHP's ``\\/``) and URL-encoded; also a Basic or Bearer value's token,
    a Basic pair decoded and a cookie's value."""
    parts: list[str] = []
    for value in values:
        scheme, _, token = value.partition(" ")
        scheme, token = scheme.lower(), token.strip()
        parts += [value, token] if scheme in ("basic", "bearer") else [value]
        if scheme == "basic":
            try:
                pair = base64.b64decode(token, validate=True).decode("utf-8")
            except ValueError:  # binascii.Error is one
                pair = ""
            password = pair.partition(":")[2]
            # WordPress shows an application password in fours (WP_Application_Passwords::chunk_password()).
            parts += [pair, password, " ".join(re.findall(".{1,4}", password))]
        elif "=" in value and scheme != "bearer":  # a Cookie header
            parts += [v.partition("=")[2] for v in value.split(";")]
    forms: set[str] = set()
    for part in filter(None, (p.strip() for p in parts)):
        escaped = json.dumps(part)[1:-1]
        forms.update((part, escaped, part.replace("/", "\\/"), escaped.replace("/", "\\/"),
                      urllib.parse.quote(part, safe=""), urllib.parse.quote_plus(part, safe="")))
    return sorted(forms, key=len, reverse=True)


def _auth_secrets(auth: Auth | None) -> list[str]:
    """The credentials an auth object holds, in every spelling ``_secret_forms`` knows."""
    return _secret_forms(auth.secrets()) if auth is not None else []


def _redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret as ``****``; one under 8 characters only as a whole word, not in others."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "****")
        elif secret in text:
            text = re.sub(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", "****", text)
    return text


def _redact_error(exc: WPError, secrets: list[str]) -> None:
    """Mask secrets in an error's message and data, in place (an error page may echo a password)."""
    if not secrets:
        return
    for name, value in list(vars(exc).items()):
        if isinstance(value, str):
            setattr(exc, name, _redact(value, secrets))
        elif name == "data" and value is not None:
            setattr(exc, name, _json_loads(_redact(json.dumps(value), secrets)))
    exc.args = tuple(_redact(a, secrets) if isinstance(a, str) else a for a in exc.args)


#: ``proxy=ENV_PROXY`` (the default): the proxy that HTTP_PROXY, HTTPS_PROXY and NO_PROXY name.
ENV_PROXY: Any = type("EnvProxy", (), {"__repr__": lambda self: "ENV_PROXY"})()


def _check_proxy(proxy: object) -> str | object | None:
    if proxy is ENV_PROXY or proxy is None:
        return proxy
    try:
        parts = urllib.parse.urlsplit(proxy) if isinstance(proxy, str) else None
        if parts and parts.scheme == "http" and parts.hostname and parts.port != 0:
            return proxy
        shown = _show_proxy(str(proxy))
    except ValueError as exc:  # from urlsplit: a broken [IPv6] address; from .port: not a port number
        shown = f"(unusable URL: {exc})"
    raise ConfigError(f"proxy must be an http://host:port URL (or None), not {shown!r}")


def _proxy_for(url: str, proxy: object) -> str | None:
    """The proxy a request to ``url`` goes through, if any."""
    if proxy is not ENV_PROXY:
        return proxy if isinstance(proxy, str) else None
    import urllib.request  # only where a proxy is set: it costs import time

    parts = urllib.parse.urlsplit(url)
    found = urllib.request.getproxies_environment().get(parts.scheme)
    if not found or urllib.request.proxy_bypass_environment(parts.netloc):  # type: ignore[attr-defined]
        return None
    return str(_check_proxy(found if "://" in found else f"http://{found}"))


def _proxy_authorization(proxy: str) -> dict[str, str]:
    parts = urllib.parse.urlsplit(proxy)
    if parts.username is None:
        return {}
    user, password = urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")
    return {"Proxy-Authorization": _basic_header(user, password)}


def _show_proxy(proxy: str) -> str:
    """The proxy URL without its user and password."""
    parts = urllib.parse.urlsplit(proxy)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.hostname else "(unusable URL)"


class Transport(Protocol):
    """What ``Client`` sends through: one request in, one fully read response out (or ``TransportError``)."""

    def send(self, request: Request, *, timeout: float) -> Response: ...

    def close(self) -> None: ...


class MockTransport:
    """A transport that answers from ``handler(request) -> Response``; no network. The handler may raise
    ``TransportError`` to simulate a failure. Every request it was given is kept in ``requests``."""

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def send(self, request: Request, *, timeout: float) -> Response:
        _check_sendable(request)
        self.requests.append(request)
        resp = self.handler(request)
        return resp if resp.url else resp.replace(url=request.url)

    def close(self) -> None:
        pass


class HTTPTransport:
    """Sends each request over a keep-alive connection, pooled per origin and lent to one thread at a time.

    Socket, TLS and HTTP failures raise ``TransportError`` (``ProxyError`` for the proxy's), an unusable
    body ``InvalidResponse``. An attempt ends within ``timeout``, from connecting to the body's last byte
    (DNS resolution aside). Through a proxy, https goes in a ``CONNECT`` tunnel the proxy cannot read; the
    credentials in the proxy URL go to the proxy only, never into the tunnel.

    Args:
        verify: True, False (no TLS verification) or the path of a PEM CA bundle.
        proxy: ``http://[user:password@]host:port``, None for none, or by default (if ``HTTP_PROXY`` or
            ``HTTPS_PROXY`` is set when the transport is made) what they and ``NO_PROXY`` say, as curl does.
    """

    def __init__(self, verify: bool | str = True, *, proxy: str | object | None = ENV_PROXY) -> None:
        if proxy is ENV_PROXY and not any(k.lower() in ("http_proxy", "https_proxy") for k in os.environ):
            proxy = None  # none set now: nothing to look up on each request
        self.proxy = _check_proxy(proxy)
        if isinstance(verify, bool):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = verify  # before CERT_NONE, which a hostname check refuses
            ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
        elif isinstance(verify, (str, os.PathLike)):
            try:
                ctx = ssl.create_default_context(cafile=verify)
            except OSError as exc:  # no such file, not readable, or not PEM (ssl.SSLError)
                raise ConfigError(f"verify={os.fspath(verify)!r} is not a readable PEM CA bundle: "
                                  f"{exc}") from exc
        else:
            raise ConfigError("verify must be True, False or the path of a CA bundle (PEM)")
        ctx.sslsocket_class = _DeadlineSSLSocket
        #: Verifying without a CA bundle: the system's CAs (0.1 s to read) load on the first https request.
        self._default_cas_pending = ctx.verify_mode != ssl.CERT_NONE and not ctx.cert_store_stats()["x509_ca"]
        self.ssl_context = ctx
        self._idle: dict[tuple[tuple[str, str, int], str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        #: Connections opened so far (for tests and benchmarks).
        self.connections_opened = 0

    def _checkout(self, key: tuple[tuple[str, str, int], str], deadline: float) -> http.client.HTTPConnection:
        """An idle connection to ``key`` that the server has not closed, or a new one, unconnected."""
        (scheme, host, port), proxy = key
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                conn = idle.pop()
                if not _connection_dropped(conn):
                    return conn
                conn.close()
            self.connections_opened += 1
            if scheme == "https" and self._default_cas_pending:
                self.ssl_context.load_default_certs(ssl.Purpose.SERVER_AUTH)
                self._default_cas_pending = False
        address = _origin(proxy)[1:] if proxy else (host, port)
        if scheme == "http" and host == "localhost" and not proxy:
            # Plain http to localhost goes to the address _is_loopback() checked, not a new lookup.
            address = (_loopback_address(host) or host, port)
        if scheme == "http":
            conn = http.client.HTTPConnection(*address)
        else:
            conn = http.client.HTTPSConnection(*address, context=self.ssl_context)
            if proxy:
                conn.set_tunnel(host, port, headers=_proxy_authorization(proxy))
        # http.client makes its socket through this hook: a deadline socket from the start bounds
        # connecting, a proxy's CONNECT answer and the TLS handshake by the request's deadline.
        conn._create_connection = (  # type: ignore[attr-defined]
            lambda address, *_: _DeadlineSocket.connect_by(address, deadline))
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in (c for idle in self._idle.values() for c in idle):
                conn.close()
            self._idle.clear()

    def send(self, request: Request, *, timeout: float) -> Response:
        _check_sendable(request)
        deadline = time.monotonic() + timeout
        origin = _origin(request.url)
        proxy = _proxy_for(request.url, self.proxy) or ""
        forwarded = bool(proxy) and origin[0] == "http"
        parts = urllib.parse.urlsplit(request.url)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        headers = request.headers
        if forwarded:  # the absolute URI; http.client takes Host from it
            target = f"http://{parts.netloc}{target}"
            headers = {**headers, **_proxy_authorization(proxy)}
        conn = self._checkout((origin, proxy), deadline)
        if conn.host != origin[1] and not proxy:  # pinned: the Host header still names the site
            headers = {**headers, "Host": parts.netloc}
        reused = conn.sock is not None
        failure: BaseException | None = None
        connected = sent = False
        try:
            if not reused:
                conn.connect()
            assert isinstance(conn.sock, _DeadlineSocket)
            conn.sock.deadline = deadline
            conn.sock.settimeout(_time_left(deadline))  # sendall: one timeout for the whole body
            connected = True
            conn.request(request.method, target, body=request.body, headers=headers)
            sent = True
            resp = conn.getresponse()
            body = self._read_body(request, resp, deadline)
        except InvalidResponse:
            conn.close()
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            conn.close()
            if not connected and not isinstance(exc, (OSError, http.client.HTTPException)):
                # A host name IDNA cannot encode ("a..b", a label over 63 characters): not a network failure.
                raise ConfigError(f"cannot connect to {origin[1]!r}: {exc} ({request.method} "
                                  f"{request.url}); check the host name") from None
            failure = exc
        if failure is not None:  # raised out here, so that no __context__ keeps ``failure``
            # Not sent: http.client refused it before writing (not an OSError), or an idle
            # connection the server had already closed failed on writing.
            sent = sent or (connected and isinstance(failure, OSError) and not reused)
            raise self._no_answer(request, origin, proxy, failure, connected, sent)
        # A forwarding proxy may close after any answer without saying so (tinyproxy does after
        # a HEAD): a POST on that connection would fail in a way that looks like a lost write.
        with self._lock:
            idle = self._idle.setdefault((origin, proxy), [])
            if kept := not (resp.will_close or forwarded) and len(idle) < POOL_SIZE:
                idle.append(conn)
        if not kept:
            conn.close()
        if resp.status == 407 and proxy:
            raise ProxyError(f"the proxy {_show_proxy(proxy)} answered 407 Proxy Authentication Required "
                             f"({request.method} {request.url}): give its user and password in the proxy URL",
                             proxy=proxy, method=request.method, url=request.url, request_sent=False)
        return Response(resp.status, Headers(resp.msg.items()), body, request.url)

    @staticmethod
    def _no_answer(request: Request, origin: tuple[str, str, int], proxy: str, failure: BaseException,
                   connected: bool, sent: bool) -> TransportError:
        """The error for a request without a complete answer, free of credentials the server echoed."""
        secrets = _secret_forms(v for k, v in request.headers.items() if k.lower() in _SECRET_HEADERS)
        why = _redact(_describe_os_error(failure), secrets)
        what = f"{origin[1]}:{origin[2]}: {why} ({request.method} {request.url})" + (
            "; the request was not sent" if not sent else
            "; the server may have processed it" if request.method not in ("GET", "HEAD") else "")
        kwargs: dict[str, Any] = {"method": request.method, "url": request.url, "request_sent": sent}
        if connected:
            error = TransportError(f"no complete answer from {what}", **kwargs)
        elif proxy:  # a refused CONNECT: OSError("Tunnel connection failed: 407 ...")
            error = ProxyError(f"through the proxy {_show_proxy(proxy)} to {what}", proxy=proxy, **kwargs)
        else:
            error = TransportError(f"could not connect to {what}", **kwargs)
        if _redact(repr(failure.args), secrets) == repr(failure.args):
            error.__cause__ = failure
        return error

    @staticmethod
    def _read_body(request: Request, resp: http.client.HTTPResponse, deadline: float) -> bytes:
        """The whole body, gunzipped, at most MAX_BODY_BYTES; read by the deadline (``_DeadlineSocket``)."""
        def unusable(why: str) -> InvalidResponse:
            return _invalid_answer(f"{resp.status} answer with an unusable body: {why} ({request.method} "
                                   f"{request.url})", Response(resp.status, Headers(resp.msg.items()), b""),
                                   request.method, request.url)

        body = bytearray()
        gzipped = str(resp.headers.get("Content-Encoding", "")).lower().strip() in ("gzip", "x-gzip")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
        while _time_left(deadline) and not resp.isclosed() and (chunk := resp.read1(65536)):
            if inflater is not None:
                try:
                    chunk = inflater.decompress(chunk, MAX_BODY_BYTES + 1 - len(body))
                except zlib.error as exc:
                    raise unusable(f"it is not valid gzip ({exc})") from None
                if inflater.unused_data:  # else junk after the stream would be read until the timeout
                    raise unusable("data follows the end of its gzip stream")
            if len(body) + len(chunk) > MAX_BODY_BYTES:
                raise unusable(f"it is larger than {MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)")
            body += chunk
        if resp.length:  # read1() takes an early end of a Content-Length body for the end
            raise http.client.IncompleteRead(b"", resp.length)
        if inflater is not None and not inflater.eof:
            raise unusable("its gzip stream is truncated")
        resp.close()  # fully read: frees the connection for the next request (keep-alive)
        return bytes(body)


def _ascii_location(value: str) -> str:
    """A ``Location`` with non-ASCII percent-encoded, as browsers send it on (RFC 3986 2.1). http.client
    decodes header bytes as Latin-1 (UTF-8 ``é`` arrives as ``Ã©``): those bytes are what is encoded."""
    def quote(match: re.Match[str]) -> str:
        text = match.group()  # beyond Latin-1, it did not come from http.client: UTF-8
        return urllib.parse.quote(text.encode("utf-8" if max(text) > "\xff" else "latin-1"))

    return re.sub(r"[^\x00-\x7f]+", quote, value)


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS certificate not trusted ({exc.verify_message}); if the site uses a private "
                "CA, pass verify='/path/to/ca.pem' (or set WP_CA_BUNDLE)")
    if isinstance(exc, ssl.SSLError):
        return f"TLS failure ({exc.reason or exc})"
    if isinstance(exc, TimeoutError):  # also socket.timeout
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"host name not resolved ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(exc, http.client.RemoteDisconnected):  # a ConnectionResetError subclass
        return "the server closed the connection without answering"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, http.client.IncompleteRead):
        return "the body ended early" + (f" ({exc.expected} more bytes announced)" if exc.expected else "")
    return f"{type(exc).__name__}: {exc}"


# --- Pages --------------------------------------------------------------------


class Page(_Record):
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
    """A WordPress site's REST API; thread-safe, with one pool of keep-alive connections.

    Args:
        url: the API root (``/wp-json/``, ``?rest_route=/``) or the site URL (subdirectory installs
            too), whose root comes from its ``Link: rel="https://api.w.org/"``, else ``?rest_route=/``.
        auth: an ``Auth`` (``ApplicationPassword``...), a callable ``Request -> Request``, or None.
        timeout: seconds for one attempt (connect, send and the whole answer).
        verify: True, False (no TLS verification) or the path of a PEM CA bundle.
        allow_insecure_http: send credentials over plain HTTP to another machine (or proxy).
        user_agent: the ``User-Agent`` header; by default ``wp-rest/VERSION (Python X.Y.Z)``.
        retry: a ``Retry``, an int (attempts after the first) or False.
        transport: what sends requests (default ``HTTPTransport``; ``MockTransport`` in tests).
        proxy: ``http://[user:password@]host:port``, None, or by default ``HTTP(S)_PROXY`` and
            ``NO_PROXY`` as curl reads them; https goes through ``CONNECT``.

    Raises:
        ConfigError: a malformed URL, an unusable CA bundle, or credentials over plain HTTP
            without ``allow_insecure_http``.
    """

    def __init__(self, url: str, *, auth: Auth | Callable[[Request], Request] | None = None,
                 timeout: float = 30.0, verify: bool | str = True,
                 allow_insecure_http: bool = False, user_agent: str | None = None,
                 retry: Retry | int | bool | None = None, transport: Transport | None = None,
                 proxy: str | object | None = ENV_PROXY) -> None:
        try:
            parts = urllib.parse.urlsplit(url.strip() if isinstance(url, str) else "")
            parts.port  # noqa: B018 (validates the port)
        except ValueError:
            raise ConfigError(f"url {url!r} is not a valid URL (check brackets and the port)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"url must be an http(s) URL such as https://example.com, not {url!r}")
        if parts.username or parts.password:
            raise ConfigError("put credentials in auth=, not in the URL (URLs end up in logs)")
        _query_pairs({k: v for k, v in urllib.parse.parse_qsl(parts.query) if k != "rest_route"})
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400:
            raise ConfigError(f"timeout must be seconds, a number above 0 and at most 86400, not {timeout!r}")
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        self.auth = _as_auth(auth)
        self.timeout = float(timeout)
        self.allow_insecure_http = allow_insecure_http
        self.user_agent = user_agent or f"wp-rest/{__version__} (Python {sys.version.split()[0]})"
        if retry is None or retry is True:
            retry = Retry()
        elif not isinstance(retry, (Retry, int)):
            raise ConfigError("retry must be a wp_rest.Retry, an int or a bool")
        self.retry = retry if isinstance(retry, Retry) else Retry(total=int(retry))  # False: no retries
        self.transport: Transport = transport if transport is not None else HTTPTransport(verify, proxy=proxy)
        if self.auth is not None:
            self._check_secure(self.url)
        self._root: str | None = _root_from_url(self.url)
        self._root_lock = threading.Lock()
        #: Routes the site showed it does not batch (``create_items`` sends them one by one).
        self._unbatched: set[str] = set()
        self._types_cache: dict[str, dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"Client({self.url!r}, auth={self.auth!r})"

    def _check_secure(self, url: str, origin: tuple[str, str, int] | None = None) -> None:
        """Credentials may go to ``url``: https, this machine, or the caller opted in."""
        proxy = _proxy_for(url, getattr(self.transport, "proxy", None))
        _check_transport_security(url, self.allow_insecure_http, origin, proxy)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close idle connections (of every client sharing this transport)."""
        self.transport.close()

    def with_auth(self, auth: Auth | Callable[[Request], Request] | None) -> Client:
        """A client sharing this one's settings, pool and API root, with other credentials (None: none)."""
        twin = Client(self.url, auth=auth, timeout=self.timeout, user_agent=self.user_agent, retry=self.retry,
                      allow_insecure_http=self.allow_insecure_http, transport=self.transport, proxy=None)
        twin._root = self._root
        return twin

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, site: str | None = None,
                 **kwargs: Any) -> Client:
        """A client from ``WP_*`` variables; keyword arguments go on to ``Client``.

        ``WP_URL`` and one kind of credential: ``WP_USERNAME`` with ``WP_APP_PASSWORD``, or with
        ``WP_PASSWORD`` and ``WP_AUTH=jwt|cookie|basic``; ``WP_JWT_TOKEN``; ``WP_JWT_SECRET`` with
        ``WP_JWT_USER_ID``. ``WP_CA_BUNDLE`` becomes ``verify``. ``site=NAME``, ``WP_SITE`` or no ``WP_URL``
        take a site stored by ``wp-rest login``. Raises ``ConfigError`` naming the variable at fault.
        """
        env = os.environ if environ is None else environ
        def get(name: str) -> str:
            return env.get(name, "").strip()
        url, ca_bundle = get("WP_URL"), get("WP_CA_BUNDLE")
        # A site stored by `wp-rest login`: asked for by name, or the fallback when WP_URL is unset.
        chosen = site or get("WP_SITE")
        stored = _auth_from_file(chosen or None, env) if chosen or not url else None
        if stored is not None:
            url = stored[0]
            kwargs.setdefault("auth", stored[1])
        if not url:
            raise ConfigError("WP_URL is not set: set it to the site URL, e.g. https://example.com, "
                              "or store a site with `wp-rest login SITE_URL`")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"WP_URL must start with https:// or http://, got {url!r}")
        if ca_bundle and not os.path.isfile(ca_bundle):
            raise ConfigError(f"WP_CA_BUNDLE names no file: {ca_bundle!r}")
        if ca_bundle:
            kwargs.setdefault("verify", ca_bundle)
        if "auth" not in kwargs:
            kwargs["auth"] = _auth_from_env(get)
        return cls(url, **kwargs)

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
            resp = self._send_following(Request("HEAD", site, headers))
            root = _join_link(resp.url, resp.links.get(API_REL, ""))
            if resp.history and urllib.parse.urlsplit(resp.url).path != urllib.parse.urlsplit(site).path:
                _log.warning("%s redirects to %s; using the REST API that address names", site, resp.url)
        except (RedirectError, InvalidResponse):
            root = None
        if not root:
            # The Link header can be missing (a cache or plugin dropped it);
            # ?rest_route= works on every permalink setting (rest_api_loaded(), wp-includes/rest-api.php).
            root = site + "?rest_route=/"
            resp = self._send_following(Request("GET", root, headers))
            index = _json_or_none(resp)
            if resp.status != 200 or not isinstance(index, dict) or "namespaces" not in index:
                raise _invalid_answer(f"no WordPress REST API found at {self.url}: the site sends no Link "
                                      f'rel="{API_REL}" header and {root} answered {resp.status} '
                                      f"{resp.content_type or 'without a content type'}. Check the URL; a "
                                      "security plugin or firewall may block the REST API.", resp, url=root)
            root = _join_link(resp.url, resp.links.get(API_REL, "")) or root
        if self.auth is not None and _origin(root) != _origin(self.url):
            raise ConfigError(f"{self.url} says its REST API lives at {root}, another origin; credentials go "
                              f"only where you pointed the client: use Client({root!r}) (its canonical URL)")
        _log.debug("API root of %s is %s", self.url, root)
        return root

    def url_for(self, route: str, params: Mapping[str, Any] | None = None) -> str:
        """The full URL of ``route`` (e.g. ``/wp/v2/posts``) with query ``params``."""
        return _build_url(self.api_root, route, params)

    def request(self, method: str, route: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Call ``route`` (``/wp/v2/posts``) with retries; its decoded JSON, None for an empty body.

        Raises ``APIError`` (a subclass per status), TransportError, RedirectError, InvalidResponse,
        ConfigError."""
        return self._call(method, route, params=params, json=json, headers=headers)[0]

    def build_request(self, method: str, route: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, headers: Mapping[str, str] | None = None,
                      body: bytes | None = None) -> Request:
        """A ``Request`` for ``route`` below the API root, or for an absolute http(s) URL as is."""
        method = method.upper()
        hdrs = {"User-Agent": self.user_agent, "Accept": "application/json", "Accept-Encoding": "gzip"}
        if json is not None:
            body = _json_dumps(json)
            hdrs["Content-Type"] = "application/json; charset=utf-8"
        if headers:
            hdrs.update(headers)
            override = next((v for k, v in hdrs.items() if k.lower() == "x-http-method-override"), None)
            if override is not None and override.strip().upper() != method:
                # WP_REST_Server::serve_request() runs the method this header names: a "GET"
                # carrying it would write, and be retried as a read.
                raise ConfigError(f"header X-HTTP-Method-Override: {override[:20]!r} on a {method} is "
                                  f"refused; send the request with method={override.strip()[:20]!r}")
        if route.startswith(("http://", "https://")):
            url = _build_query(route, params) if params else route
            return Request(method, url, hdrs, body, api_root=self._root or "")
        return Request(method, self.url_for(route, params), hdrs, body, route=_check_route(route),
                       api_root=self.api_root)

    def send(self, request: Request, *, auth: bool = True, follow_redirects: bool = True) -> Response:
        """Send once (no retries) and return the answer whatever its status; ``auth=False`` sends it
        anonymously, ``follow_redirects`` follows a 3xx of GET and HEAD (credentials to the same origin).
        Raises TransportError, RedirectError, ConfigError."""
        if request.follow_redirects != follow_redirects:  # a copy only when needed: this is the hot path
            request = request.replace(follow_redirects=follow_redirects)
        return self._send_with_auth(request) if auth else self._send_following(request)

    def _call(self, method: str, route: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None, headers: Mapping[str, str] | None = None,
              body: bytes | None = None) -> tuple[Any, Response]:
        request = self.build_request(method, route, params=params, json=json, headers=headers, body=body)
        retry: Retry | None = self.retry
        while True:
            resp: Response | None = None
            try:
                resp = self._send_with_auth(request)
            except TransportError as exc:
                retry = retry.increment(request.method, error=exc) if retry else None
                if retry is None:
                    raise
                failure = str(exc)
            else:
                retry = retry.increment(request.method, response=resp) if retry else None
                if retry is None:
                    return self._decode(request, resp), resp
                failure = f"{request.method} {request.route} answered {resp.status}"
            _log.warning("%s; retry %d of %d", failure, retry.attempts, retry.total)
            retry.sleep(retry.delay(resp))

    def _send_with_auth(self, request: Request) -> Response:
        """Send what the auth flow yields and feed it the answers (httpx's pattern)."""
        if self.auth is None:
            return self._send_following(request)
        origin = _origin(request.url)
        self._check_secure(request.url, origin)
        flow = self.auth.flow(request)
        try:
            req = next(flow)
            while True:
                # An auth flow may log in or fetch tokens; only ever where the API lives.
                if req.url != request.url:
                    self._check_secure(req.url)
                    if _origin(req.url) != origin:
                        raise ConfigError(f"auth step {req.method} {req.url} would leave "
                                          f"{request.url}'s origin")
                resp = self._send_following(req)
                try:
                    req = flow.send(resp)
                except StopIteration:
                    return resp
        except WPError as exc:  # an auth step's error may quote what the server echoed
            _redact_error(exc, _auth_secrets(self.auth))
            raise
        finally:
            flow.close()

    def _send_following(self, request: Request) -> Response:
        """Send, following redirects of GET/HEAD; credentials (also the caller's) never cross origins."""
        home = _origin(request.url)
        if any(name.lower() in _SECRET_HEADERS for name in request.headers):
            self._check_secure(request.url, home)
        seen = {request.url}
        history: list[tuple[int, str]] = []
        for _ in range(MAX_REDIRECTS + 1):
            started = time.monotonic()
            resp = self.transport.send(request, timeout=self.timeout)
            _log.debug("%s %s -> %d (%.0f ms)", request.method, request.route or request.url,
                       resp.status, (time.monotonic() - started) * 1000)
            if (resp.status not in _REDIRECT_STATUSES or "Location" not in resp.headers
                    or not request.follow_redirects):
                return resp.replace(history=tuple(history)) if history else resp
            raw = _ascii_location(str(resp.headers["Location"]))
            target = _absolute_url(request.url, raw)
            location = target or raw
            what = f"{resp.status} redirect on {request.method} {request.route or request.url}"
            refused: dict[str, Any] = {"status": resp.status, "location": location,
                                       "method": request.method, "url": request.url}
            if target is None or re.search(r"[\x00-\x20\x7f]", location):
                # A file:, javascript: or host-less target would be sent to the wrong place.
                raise RedirectError(f"{what} to an unusable address {location[:200]!r}: not followed",
                                    **refused)
            if request.method not in ("GET", "HEAD"):
                raise RedirectError(
                    f"{what} to {location}: not followed, because a redirected write would be sent again "
                    "as a GET (and lost). Point the client at the final address (https, the "
                    f"canonical host): Client({_site_of(location)!r}).", **refused)
            if location in seen:
                raise RedirectError(f"redirect loop at {location} ({request.method} {request.url})",
                                    **refused)
            seen.add(location)
            history.append((resp.status, location))
            headers = dict(request.headers)
            if _origin(location) != home:
                # Never hand credentials to another origin (urllib.request would).
                headers = {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}
                if len(headers) < len(request.headers):
                    _log.warning("redirect to another origin %s: credentials not forwarded", location)
            request = request.replace(url=location, headers=headers)
        raise RedirectError(f"more than {MAX_REDIRECTS} redirects from {request.url}", status=resp.status,
                            location=request.url, method=request.method, url=request.url)

    def _decode(self, request: Request, resp: Response) -> Any:
        if resp.status in _REDIRECT_STATUSES:
            location = str(resp.headers.get("Location", ""))
            raise RedirectError(f"{resp.status} redirect to {location!r} ({request.method} {request.route})",
                                status=resp.status, location=location, method=request.method, url=request.url)
        if not resp.body.strip() and resp.status < 400:
            return None
        # Each object or array takes at least 2 bytes: a shorter body cannot pass the limit.
        if len(resp.body) > 2 * MAX_JSON_CONTAINERS and (
                resp.body.count(b"{") + resp.body.count(b"[") > MAX_JSON_CONTAINERS):
            raise _invalid_answer(
                f"{resp.status} answer to {request.method} {request.route or request.url} holds more "
                f"than {MAX_JSON_CONTAINERS} JSON objects and arrays (MAX_JSON_CONTAINERS): not decoded, "
                "to bound memory; ask for smaller pages (per_page) or fewer fields (_fields)",
                resp, request.method, request.url)
        parsed = True
        try:
            value, cleaned = _decode_json(resp.body)
        except ValueError:  # also UnicodeDecodeError and JSON nested too deeply
            value, cleaned, parsed = None, "", False
        if not parsed or resp.status >= 400 or cleaned:
            # Error texts quote the body: a debug page or WAF may echo our credentials there.
            text = resp.body.decode("utf-8", "surrogateescape")
            if (redacted := _redact(text, _auth_secrets(self.auth))) != text:
                resp = resp.replace(body=redacted.encode("utf-8", "surrogateescape"))
                try:
                    value, cleaned = _decode_json(resp.body) if parsed else (None, "")
                except ValueError:
                    parsed = False
        if not parsed and resp.status < 500 and resp.status != 429:
            raise _invalid_response(request, resp) from None
        if not parsed:  # a proxy's or PHP's error page: the status is the news, not the format
            value = {"code": "http_error", "data": {"status": resp.status}, "message": (
                f"HTTP {resp.status} with a {resp.content_type or 'non-JSON'} error page instead of "
                f"WordPress JSON, starting {_body_start(resp.body, 160)!r}")}
        if cleaned:
            _log.warning("%s %s: ignored %s; the site prints PHP messages into its output "
                         "(turn off display_errors)", request.method, request.route, cleaned)
        if resp.status >= 400:
            err = _api_error(request, resp, value, authenticated=self.auth is not None)
            _redact_error(err, _auth_secrets(self.auth))  # a message may quote a secret in any spelling
            if resp.status >= 500 and request.method not in self.retry.idempotent_methods:
                # Not retried (it could duplicate a post): say whether it may have happened.
                why = ("a 503 usually comes before WordPress runs (maintenance, overload), but that is not "
                       "certain" if resp.status == 503 else f"a {resp.status} can come after WordPress "
                       "carried the request out, so it may have happened")
                err.hint = (err.hint + "\n" if err.hint else "") + (
                    f"The {request.method} was not retried: {why}; check before sending it again.")
            raise err
        return value

    def _request_object(self, method: str, route: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call(method, route, **kwargs)[0]
        return result

    def index(self) -> dict[str, Any]:
        """The REST API index: site name, url, home, namespaces, authentication, routes."""
        return self._request_object("GET", "/")

    def me(self, **params: Any) -> dict[str, Any]:
        """The authenticated user with ``context=edit`` (roles, capabilities)."""
        params.setdefault("context", "edit")
        return self._request_object("GET", "/wp/v2/users/me", params=params)

    def abilities(self, *, category: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every ability the user may see, with schemas and ``meta.annotations``; ``NotFound`` when the
        site has no Abilities API (WordPress 6.9 or later has it)."""
        with self._abilities_api():
            return list(self.iter_items(f"{_ABILITIES}/abilities", category=category, namespace=namespace))

    def ability(self, name: str) -> dict[str, Any]:
        """One ability by its ``namespace/name``; ``NotFound`` when there is none."""
        with self._abilities_api():
            return self._request_object("GET", f"{_ABILITIES}/abilities/{_check_ability(name)}")

    def run_ability(self, name: str, input: Any = None) -> Any:
        """Run an ability (``input`` None sends none) and return its result.

        WP_REST_Abilities_V1_Run_Controller requires the method the annotations name: readonly GET,
        destructive and idempotent DELETE (``input`` in the query), else POST (``{"input": ...}``).
        Raises ``NotFound`` (no such ability or no Abilities API), ``BadRequest``
        (``ability_invalid_input``), ``AuthenticationError`` or ``PermissionDenied``.
        """
        annotations = (self.ability(name).get("meta") or {}).get("annotations") or {}
        method = ("GET" if annotations.get("readonly") else
                  "DELETE" if annotations.get("destructive") and annotations.get("idempotent") else "POST")
        route = f"{_ABILITIES}/abilities/{_check_ability(name)}/run"
        with self._abilities_api():
            if method == "POST":
                return self.request("POST", route, json={"input": input} if input is not None else {})
            return self.request(method, route, params={"input": input} if input is not None else None)

    @contextlib.contextmanager
    def _abilities_api(self) -> Iterator[None]:
        """A 404 of a site without the Abilities API becomes an error that says so."""
        try:
            yield
        except NotFound as exc:
            if exc.code != "rest_no_route" or _ABILITIES[1:] in self.index().get("namespaces", ()):
                raise
            raise NotFound(404, "rest_no_route", f"{self.url} has no Abilities API ({_ABILITIES[1:]} is "
                           "not among its REST namespaces): it needs WordPress 6.9 or later",
                           method=exc.method, url=exc.url, route=exc.route) from None

    def diagnose(self, *, login_password: str | None = None, login_username: str | None = None) -> Report:
        """Check the site and these credentials (reads only): what stops writes, and the fix; a ``Report``.

        ``login_password`` (an administrator's) runs WordPress's site-health test after a cookie login,
        telling a wrong credential from a stripped Authorization header. No secret enters the report."""
        return _diagnose(self, login_password=login_password, login_username=login_username)

    def list_items(self, route: str, **params: Any) -> Page:
        """One page of any collection route, with its totals."""
        page, per_page = _count(params, "page", 1), _count(params, "per_page", 10)
        value, resp = self._call("GET", route, params=params)
        if not isinstance(value, list):
            raise _invalid_answer(f"GET {route} did not return a list", resp)
        return Page(items=value, page=page, per_page=per_page,
                    total=_int_header(resp, "X-WP-Total", len(value)),
                    total_pages=_int_header(resp, "X-WP-TotalPages", 1 if value else 0))

    def iter_items(self, route: str, *, concurrency: int = 1, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page as you iterate (100 a page by default).

        ``concurrency`` pages after the first are fetched in parallel, still yielded in order. A page
        repeating the one before raises ``InvalidResponse`` (a broken cache would loop forever).
        """
        if not (isinstance(concurrency, int) and 1 <= concurrency <= 32):
            raise ConfigError("concurrency must be an integer from 1 to 32")
        params.setdefault("per_page", MAX_PER_PAGE)
        params["page"] = _count(params, "page", 1)
        first = self.list_items(route, **params)
        del params["page"]
        numbers = range(first.page + 1, first.total_pages + 1) if first.items else range(0)
        previous = first.items
        yield from first.items
        del first  # memory stays at about one page
        if concurrency == 1:
            pages: Iterator[Page] = (self.list_items(route, page=n, **params) for n in numbers)
        else:
            pages = self._pages_in_parallel(route, numbers, concurrency, params)
        for page in pages:
            if not page.items:
                return
            if page.items == previous:
                raise InvalidResponse(
                    f"GET {route} page {page.page} repeats page {page.page - 1}: the server (or a cache "
                    "in front of it) ignores the page parameter", status=200, content_type="",
                    body_start="", method="GET", url=self.url_for(route))
            previous = page.items
            yield from page.items

    def _pages_in_parallel(self, route: str, numbers: range, concurrency: int,
                           params: dict[str, Any]) -> Iterator[Page]:
        import concurrent.futures
        window: collections.deque[concurrent.futures.Future[Page]] = collections.deque()
        with concurrent.futures.ThreadPoolExecutor(concurrency, "wp_rest-page") as pool:
            try:
                for n in numbers:
                    window.append(pool.submit(self.list_items, route, page=n, **params))
                    if len(window) == concurrency:
                        yield window.popleft().result()
                while window:
                    yield window.popleft().result()
            finally:
                for future in window:
                    future.cancel()

    def post_types(self) -> dict[str, dict[str, Any]]:
        """Every post type the REST API serves (``show_in_rest``), by slug; read once per client."""
        if self._types_cache is None:
            types = self.request("GET", "/wp/v2/types")
            items = types.items() if isinstance(types, dict) else ()
            self._types_cache = {str(k): v for k, v in items if isinstance(v, dict)}
        return self._types_cache

    def type_route(self, post_type: str) -> str:
        """The route of a post type (``/wp/v2/pages`` for ``page``); ConfigError listing the valid ones."""
        if post_type in _CORE_ROUTES:
            return _CORE_ROUTES[post_type]
        types = self.post_types()
        if (info := types.get(post_type)) is None or not info.get("rest_base"):
            valid = ", ".join(sorted(t for t, i in types.items() if i.get("rest_base")))
            raise ConfigError(f"unknown post type {post_type!r}; this site has: {valid}")
        # rest_namespace appeared in WordPress 5.9; older sites serve every type under wp/v2.
        return f"/{info.get('rest_namespace') or 'wp/v2'}/{info['rest_base']}"

    def writable_types(self, capabilities: Mapping[str, Any]) -> list[str]:
        """Slugs of the post types a user with ``capabilities`` (from ``me()``) may create; each type maps
        ``create_posts`` to its own capability (get_post_type_capabilities() in post.php)."""
        try:
            editable = self.request("GET", "/wp/v2/types", params={"context": "edit"})
        except (AuthenticationError, PermissionDenied):
            return []
        needed = {str(k): _dig(v, "capabilities", "create_posts") or _dig(v, "capabilities", "edit_posts")
                  for k, v in dict(editable).items() if k != "attachment"}
        return sorted(slug for slug, cap in needed.items() if capabilities.get(cap or "edit_posts"))

    def find_term(self, taxonomy: str, name: str) -> dict[str, Any] | None:
        """The term whose name (case-insensitive) or slug is ``name``, or None."""
        wanted = name.strip().lower()
        page = self.list_terms(taxonomy, search=name.strip(), per_page=100, _fields="id,name,slug")
        return next((dict(term) for term in page.items
                     if wanted in (str(term.get("name", "")).lower(), str(term.get("slug", "")))), None)

    def term_id(self, taxonomy: str, name: str, *, create: bool = False) -> int:
        """The id of the term called ``name``; created when missing if ``create``, else ConfigError."""
        if (found := self.find_term(taxonomy, name)) is not None:
            return int(found["id"])
        if not create:
            raise ConfigError(f"{taxonomy}: there is no term named {name!r}")
        try:
            return int(self.create_term(taxonomy, name=name.strip())["id"])
        except BadRequest as exc:
            # Made meanwhile: wp_insert_term() (taxonomy.php) answers term_exists with the existing id.
            if exc.code == "term_exists" and isinstance(exc.data, dict) and "term_id" in exc.data:
                return int(exc.data["term_id"])
            raise

    def check_ids(self, fields: Mapping[str, Any]) -> None:
        """ConfigError for a category, tag or ``featured_media`` id the site lacks: WordPress would
        drop it and answer 200 (wp_set_object_terms(), taxonomy.php)."""
        for taxonomy in ("categories", "tags"):
            if ids := sorted({int(i) for i in fields.get(taxonomy) or ()}):
                found = self.list_terms(taxonomy, include=ids, per_page=100, _fields="id")
                if missing := set(ids) - {int(t["id"]) for t in found.items}:
                    raise ConfigError(f"{taxonomy}: no term with id {min(missing)}")
        if media := fields.get("featured_media"):
            try:
                self.request("GET", f"/wp/v2/media/{int(media)}", params={"_fields": "id"})
            except NotFound:
                raise ConfigError(f"featured_media: no media with id {media}") from None

    def guard_modified(self, route: str, expected_modified: str | None) -> dict[str, Any]:
        """The item at ``route`` (id, status, modified); ``EditConflict`` when not ``expected_modified``.
        WordPress has no conditional update: a write after this read or in the same second goes unseen."""
        current = self._request_object("GET", route, params={"_fields": "id,status,modified"})
        modified = str(current.get("modified", ""))
        if expected_modified is not None and expected_modified.strip() != modified:
            raise EditConflict(f"it was modified at {modified}, after the version read ({expected_modified})")
        return current

    def site_timezone(self) -> datetime.tzinfo:
        """The site's timezone from the REST index (``timezone_string``, else ``gmt_offset``)."""
        import zoneinfo  # only for scheduling: it costs import time
        index = self.index()
        if index.get("timezone_string"):
            with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):  # else the offset
                return zoneinfo.ZoneInfo(str(index["timezone_string"]))
        return datetime.timezone(datetime.timedelta(hours=float(index.get("gmt_offset") or 0)))

    def schedule_time(self, date: str | None, *, now: datetime.datetime | None = None) -> datetime.datetime:
        """When a ``future`` post goes live; ConfigError unless a date after now (else WordPress publishes
        at once). No offset means site time, as rest_get_date_with_gmt() (rest-api.php) reads it."""
        if not date:
            raise ConfigError("status future needs a date in the future (none was given)")
        try:
            when = datetime.datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"date {date!r} is not an ISO 8601 date") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.site_timezone())
        now = now or datetime.datetime.now(datetime.timezone.utc)
        if when <= now:
            raise ConfigError(f"date {date!r} is not in the future (it is {when.isoformat()}, now is "
                              f"{now.astimezone(when.tzinfo).isoformat(timespec='seconds')}); "
                              "WordPress would publish at once")
        return when

    @staticmethod
    def not_kept(requested: Mapping[str, Any], saved: Mapping[str, Any]) -> list[str]:
        """A sentence per requested field not stored as asked: WordPress drops unregistered meta and
        refused terms silently (WP_REST_Meta_Fields::update_value(),
        WP_REST_Posts_Controller::handle_terms())."""
        out: list[str] = []
        meta: dict[str, Any] = saved["meta"] if isinstance(saved.get("meta"), dict) else {}
        for key, value in (requested.get("meta") or {}).items():
            if key not in meta:
                out.append(f"meta {key!r} was not kept: the key is not registered for the REST API")
            elif meta[key] != value:
                out.append(f"meta {key!r} was stored as {meta[key]!r}")
        for name in ("categories", "tags"):
            if missing := sorted({int(i) for i in requested.get(name) or ()}
                                 - {int(i) for i in saved.get(name) or ()}):
                out.append(f"{name} {missing} were not kept")
        for name in ("featured_media", "status", "sticky", "format", "template", "comment_status"):
            if name in requested and name in saved and requested[name] != saved[name]:
                out.append(f"{name} is {saved[name]!r}, not {requested[name]!r}")
        return out

    def list_terms(self, taxonomy: str, **params: Any) -> Page:
        """One page of a taxonomy's terms: ``"categories"``, ``"tags"`` or another REST base."""
        return self.list_items(f"/wp/v2/{_check_slug(taxonomy)}", **params)

    def create_term(self, taxonomy: str, *, name: str, **fields: Any) -> dict[str, Any]:
        """Create a term; WordPress answers ``400 term_exists`` (with ``data['term_id']``) for a duplicate."""
        return self._request_object("POST", f"/wp/v2/{_check_slug(taxonomy)}", json={"name": name, **fields})

    def upload_media(self, file: str | os.PathLike[str] | bytes, *, filename: str | None = None,
                     content_type: str | None = None, status: str | None = None,
                     **fields: Any) -> dict[str, Any]:
        """Upload a path or bytes (then ``filename`` is required) and return the attachment.

        The file is public at once (``source_url``); ``status="private"`` hides only its page and REST
        entry. ``fields``: ``alt_text``, ``caption``, ``title``, ``post``...
        """
        if isinstance(file, bytes):
            data = file
            if not filename:
                raise ConfigError("upload_media needs filename= when given bytes")
        else:
            try:
                with open(file, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise ConfigError(f"cannot read {os.fspath(file)!r}: {exc.strerror}") from exc
            filename = filename or os.path.basename(os.fspath(file))
        name = _safe_filename(filename)
        import mimetypes
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        # WordPress reads only a plain filename= (no RFC 6266 filename*=), so a
        # non-ASCII name travels as its UTF-8 bytes (http.client sends latin-1).
        disposition = f'attachment; filename="{name}"'.encode().decode("latin-1")
        return self._request_object("POST", "/wp/v2/media", params={**fields, "status": status}, body=data,
                                    headers={"Content-Type": ctype, "Content-Disposition": disposition})

    def create_posts(self, posts: Iterable[Mapping[str, Any]], *,
                     chunk_size: int = 25) -> list[dict[str, Any] | APIError]:
        """Create many posts (drafts unless ``status`` says otherwise); see ``create_items``."""
        return self.create_items("/wp/v2/posts", ({"status": "draft", **post} for post in posts),
                                 chunk_size=chunk_size)

    def create_users(self, users: Iterable[Mapping[str, Any]], *,
                     chunk_size: int = 25) -> list[dict[str, Any] | APIError]:
        """Create many users (``username``, ``email``, ``password``, ``roles``...); see ``create_items``."""
        return self.create_items("/wp/v2/users", users, chunk_size=chunk_size)

    def create_items(self, route: str, items: Iterable[Mapping[str, Any]], *,
                     chunk_size: int = 25) -> list[dict[str, Any] | APIError]:
        """Create items through ``/batch/v1``, or one by one where the site does not batch the route.

        Returns per item, in order, the item or its ``APIError`` (batches are not transactional).
        Raises ``WPError`` when a request fails whole, with ``completed``: the results before it.
        """
        if not (isinstance(chunk_size, int) and 1 <= chunk_size <= 25):
            raise ConfigError("chunk_size must be 1 to 25 (WordPress's batch limit)")
        route = _check_route(route)
        todo = [dict(item) for item in items]
        results: list[dict[str, Any] | APIError] = []
        try:
            for start in range(0, len(todo), chunk_size):
                results.extend(self._batch_create(route, todo[start:start + chunk_size]))
        except WPError as exc:
            exc.completed = results
            raise
        return results

    def _batch_create(self, route: str, chunk: list[dict[str, Any]]) -> list[dict[str, Any] | APIError]:
        """Create ``chunk`` in one ``/batch/v1`` request, or one by one if the site does not batch it."""
        if route in self._unbatched:
            return [self._create_or_error(route, item) for item in chunk]
        body = {"requests": [{"method": "POST", "path": route, "body": item} for item in chunk]}
        try:
            value, resp = self._call("POST", "/batch/v1", json=body)
        except NotFound:
            self._unbatched.add(route)  # WordPress < 5.6, or the route is blocked: nothing ran
            return self._batch_create(route, chunk)
        answers = value.get("responses") if isinstance(value, dict) else None
        if not isinstance(answers, list) or len(answers) != len(chunk):
            raise _invalid_answer("POST /batch/v1 answered without one response per request", resp, "POST")
        out: list[dict[str, Any] | APIError] = []
        for item, answer in zip(chunk, answers, strict=True):
            status, payload = _dig(answer, "status"), _dig(answer, "body")
            if isinstance(status, bool) or not isinstance(status, int):
                status = 500  # an answer without a readable status is a failure of that item
            if isinstance(payload, dict) and payload.get("code") == "rest_batch_not_allowed":
                self._unbatched.add(route)  # not executed, so creating it alone cannot duplicate it
                out.append(self._create_or_error(route, item))
            elif 200 <= status < 300 and isinstance(payload, dict):
                out.append(payload)
            else:
                sub = Request("POST", resp.url, {}, route=f"{route} (in /batch/v1)")
                out.append(_error_for_status(sub, status, payload, authenticated=self.auth is not None))
        return out

    def _create_or_error(self, route: str, item: dict[str, Any]) -> dict[str, Any] | APIError:
        try:
            return self._request_object("POST", route, json=item)
        except APIError as exc:
            return exc

    def create_post(self, *, title: str, content: str = "", status: str = "draft",
                    **fields: Any) -> dict[str, Any]:
        """Create a post (a draft unless ``status`` says otherwise) and return it (``context=edit``)."""
        return self._request_object("POST", "/wp/v2/posts", json={
            "title": title, "content": content, "status": status, **fields})

    def create_post_once(self, slug: str, *, title: str, content: str = "", status: str = "draft",
                         settle: float = 2.0, **fields: Any) -> dict[str, Any]:
        """Create the post with ``slug`` unless it exists; a lost answer never makes two.

        WordPress keeps slugs unique (a taken one becomes ``<slug>-2``), so the slug marks the post (the
        lookup needs edit rights). After a lost answer (a sent ``TransportError``, 5xx, unreadable body)
        it waits ``settle`` seconds, looks again, POSTs again (at most ``retry.total`` times); a
        ``<slug>-N`` copy is deleted.
        Returns the post created or found. Raises the last ``WPError`` when it is not there, and
        ``ConfigError`` for a slug WordPress would change (not lowercase letters, digits and single
        hyphens with a letter, over 190 characters, a feed name or ``embed``: wp_unique_post_slug()),
        ``pending`` by a user who cannot publish (wp_insert_post() empties the slug), and a slug of a
        post the user cannot read. A trashed post is not found; a request still running after
        ``settle`` seconds can make a second copy, removed only if it is the later one.
        """
        if (not isinstance(slug, str) or len(slug) > 190 or not _ONCE_SLUG.fullmatch(slug)
                or slug in _REWRITTEN_SLUGS):
            raise ConfigError(f"slug {slug!r} is not one WordPress keeps unchanged: use lowercase letters, "
                              "digits and single hyphens, with a letter, not a feed name or 'embed', e.g. "
                              "f'import-{uuid.uuid4().hex}'")
        if status == "pending" and not self.me().get("capabilities", {}).get("publish_posts"):
            # wp_insert_post() (post.php) empties the slug of a new pending post whose author cannot publish.
            raise ConfigError("create_post_once cannot create a pending post for a user who cannot publish: "
                              "WordPress drops its slug, so it could not be found again. Create it as a "
                              "draft, then update_post(id, status='pending').")
        post = self._post_by_slug(slug)
        tries_left = self.retry.total
        while post is None:
            try:
                post = self.create_post(title=title, content=content, status=status, **fields, slug=slug)
            except (TransportError, ServerError, InvalidResponse) as exc:
                if isinstance(exc, TransportError) and not exc.request_sent:
                    raise  # never reached WordPress (and the client already retried the connection)
                _log.warning("creating post %r may have happened (%s); looking it up in %.1f s",
                             slug, exc, settle)
                self.retry.sleep(settle)
                post = self._post_by_slug(slug)
                if post is None and not tries_left:
                    raise
                tries_left -= 1
        if post.get("slug") != slug:
            # Ours is "<slug>-N" (a post found by the lookup has the slug itself): another post holds it.
            self.delete_post(int(post["id"]), force=True)
            keep = self._post_by_slug(slug)
            if keep is None:  # a post this user may not read: another user's draft or private post
                raise ConfigError(
                    f"slug {slug!r} belongs to a post this user cannot see (another user's draft or private "
                    f"post): WordPress named the new post {post.get('slug')!r}, so it was deleted again. "
                    "Choose another slug, or use an account that can edit others' posts.")
            _log.warning("post %r was created twice (%s, %s); deleted the later copy",
                         slug, keep["id"], post["id"])
            post = keep
        return post

    def _post_by_slug(self, slug: str) -> dict[str, Any] | None:
        page = self.list_posts(slug=slug, status="any", context="edit", per_page=2, orderby="id", order="asc")
        return page.items[0] if page.items else None

    def list_posts(self, **params: Any) -> Page:
        """One page of posts; WordPress's parameters (``status``, ``search``, ``per_page``...)."""
        return self.list_items("/wp/v2/posts", **params)

    def iter_posts(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every post matching ``params``, across pages, lazily."""
        return self.iter_items("/wp/v2/posts", **params)

    def get_post(self, id: int, **params: Any) -> dict[str, Any]:
        """One post by id (``context="edit"`` for raw title and content)."""
        return self._request_object("GET", f"/wp/v2/posts/{_check_id(id)}", params=params)

    def update_post(self, id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a post and return it."""
        return self._request_object("POST", f"/wp/v2/posts/{_check_id(id)}", json=fields)

    def delete_post(self, id: int, *, force: bool = False) -> dict[str, Any]:
        """Move a post to the trash, or delete it for good with ``force=True``."""
        return self._request_object("DELETE", f"/wp/v2/posts/{_check_id(id)}",
                                    params={"force": True} if force else None)


def _count(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 10**9:
        raise ConfigError(f"{name} must be a whole number from 1, not {value!r}")
    return value


def _int_header(resp: Response, name: str, default: int) -> int:
    """A count header (X-WP-Total...); anything but 1 to 9 digits counts as absent."""
    value = (resp.headers.get(name) or "").strip()
    return int(value) if re.fullmatch(r"[0-9]{1,9}", value) else default


_APP_PASSWORD = re.compile(r"\A[A-Za-z0-9]{24}\Z")
#: WP_AUTH values that take WP_USERNAME and WP_PASSWORD (the login password).
_ENV_LOGIN_AUTHS: dict[str, Callable[[str, str], Auth]] = {
    "jwt": JWTAuth, "cookie": CookieAuth, "basic": BasicAuth}


def _auth_from_env(get: Callable[[str], str]) -> Auth | None:
    """The auth that the ``WP_*`` variables describe; exactly one kind may be configured."""
    method = get("WP_AUTH").lower()
    if method not in ("", "application-password", "basic", "jwt", "cookie"):
        raise ConfigError(f"WP_AUTH={method!r}: use application-password (default), basic, jwt or cookie")
    given = [name for name in ("WP_APP_PASSWORD", "WP_PASSWORD", "WP_JWT_TOKEN", "WP_JWT_SECRET")
             if get(name)]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(given)} are both set: set only the one credential to use")
    username, app_password = get("WP_USERNAME"), get("WP_APP_PASSWORD")
    if get("WP_JWT_TOKEN"):
        return BearerToken(get("WP_JWT_TOKEN"))
    if get("WP_JWT_SECRET"):
        if not get("WP_JWT_USER_ID").isdigit():
            raise ConfigError("WP_JWT_SECRET needs WP_JWT_USER_ID, the numeric id of the user to act as")
        return JWTAuth.self_signed(get("WP_JWT_SECRET"), int(get("WP_JWT_USER_ID")))
    if get("WP_PASSWORD"):
        if not username:
            raise ConfigError("WP_PASSWORD is set but WP_USERNAME is not: set the user's login name")
        if method not in _ENV_LOGIN_AUTHS:
            raise ConfigError("WP_PASSWORD (a login password) needs WP_AUTH=jwt, cookie or basic; "
                              "for an application password use WP_APP_PASSWORD")
        return _ENV_LOGIN_AUTHS[method](username, get("WP_PASSWORD"))
    if method in _ENV_LOGIN_AUTHS:
        raise ConfigError(f"WP_AUTH={method} needs WP_USERNAME and WP_PASSWORD (the login password)")
    if not username and not app_password:
        return None
    if not username:
        raise ConfigError("WP_APP_PASSWORD is set but WP_USERNAME is not: set the user's login name")
    if not app_password:
        raise ConfigError("WP_USERNAME is set but WP_APP_PASSWORD is not: create an application "
                          "password in Users > Profile and put it in WP_APP_PASSWORD")
    if not _APP_PASSWORD.match(re.sub(r"\s+", "", app_password)):
        raise ConfigError("WP_APP_PASSWORD does not look like an application password "
                          "(24 letters and digits, spaces optional); a login password goes in "
                          "WP_PASSWORD with WP_AUTH=jwt, cookie or basic")
    return ApplicationPassword(username, app_password)


# --- Doctor -------------------------------------------------------------------
#
# Client.diagnose() and `wp-rest doctor URL`: why requests or writes fail, the
# evidence and the fix. It changes nothing: it sends GET and HEAD, a POST to the
# JWT plugin's validate route, with a login password one cookie login, and one
# POST /wp/v2/posts with values WordPress refuses with a 400 before any handler
# runs (WP_REST_Server::dispatch() validates the arguments first).

_DOCTOR_OUTCOMES = ("ok", "warn", "fail")
#: "user:pwd", the test value of WP_Site_Health::get_test_authorization_header(): nobody's password.
_PROBE_AUTHORIZATION = "Basic dXNlcjpwd2Q="
_ROUTE_VALIDATE = "/jwt-auth/v1/token/validate"
_ROUTE_SITE_HEALTH = "/wp-site-health/v1/tests/authorization-header"
#: JWT plugins check iat, nbf and exp without leeway; self-signed tokens are back-dated 30 s.
_CLOCK_SKEW_WARN = 30.0

_FIX_STRIPPED = (
    "Make the web server pass the Authorization header to PHP, with one of:\n"
    "  Apache 2.4.13+ (vhost or .htaccess): CGIPassAuth On\n"
    '  Apache (vhost or .htaccess): SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=$1\n'
    "  Apache mod_rewrite (WordPress's .htaccess block): "
    "RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]\n"
    "  nginx + PHP-FPM (in the PHP location): fastcgi_param HTTP_AUTHORIZATION $http_authorization;")
_FIX_NO_CREDENTIALS = (
    "Set WP_USERNAME and WP_APP_PASSWORD (an application password from Users > Profile), or pass "
    "auth=ApplicationPassword(username, password) to Client; or WP_AUTH=jwt|cookie|basic with WP_PASSWORD.")
_FIX_PHP = "Set display_errors = Off in php.ini (or WP_DEBUG_DISPLAY false), then fix what the message names."
_FIX_ALLOW = "allow-list this machine's IP address, or the /wp-json/ and ?rest_route= paths"
_FIX_LOGIN = ("Check WP_USERNAME and WP_PASSWORD: this method takes the login password, "
              "not an application password.")
_FIX_CLOCKS = "Synchronise the clocks of this machine and the server with NTP (timedatectl set-ntp true)."
_FIX_WOO = "Copy the key and secret again from WooCommerce > Settings > Advanced > REST API."
_FIX_CANONICAL = "Use the site's canonical address: Client({canonical!r}) or WP_URL={canonical}."
_FIX_HEADER_FIRST = "Fix the web server as auth-header says, then run doctor again."
_FIX_UNKNOWN_CODE = ("A plugin answered with its own error code: find the plugin that defines it "
                     "(grep -r CODE wp-content/plugins) and do what its message asks.")
_UNTRUSTED = "{where}: the TLS certificate of {host} is not trusted: {detail}"
_HANDSHAKE = "{where}: the TLS handshake failed ({detail})"
_OTHER_ROOT = "{seen}. But {root} answers the REST index"
_APPS_OFF = 'unavailable: the REST index has "authentication": {detail}'
_JWT_REFUSED = "{seen}: the JWT plugin refused the token"
_BASIC_PLUGIN = ('{seen}. This 500 with "data": null is the JSON Basic Authentication plugin '
                 "(WP-API/Basic-Auth), which checks every Basic header as a login password")
_LOGIN_CODES = r"^\d+ (\[jwt_auth\] )?(incorrect_password|invalid_username|invalid_email|login_failed) "

#: What doctor knows: cause -> (check, outcome, evidence, meaning, fix). ``evidence`` is a
#: regular expression over "STATUS CODE MESSAGE" of an answer ("(text)" or "(json)" in place
#: of a code it lacks), tried in the order the caller lists; "" where the probes decide. An
#: empty check or outcome is the caller's; {names} are facts of the run.
_CAUSES: dict[str, tuple[str, str, str, str, str]] = {
    # No HTTP answer.
    "tls-expired": ("tls", "fail", "", _UNTRUSTED, "Renew the certificate (certbot renew) and check this "
                    "machine's clock; a CA bundle does not help."),
    "tls-name": ("tls", "fail", "", _UNTRUSTED, "The certificate does not name {host}: use the name it was "
                 "issued for (with or without www.), or have it reissued to include {host}."),
    "tls-untrusted": ("tls", "fail", "", _UNTRUSTED, "For a private CA or a self-signed certificate, pass "
                      "its PEM file: verify='/path/to/ca.pem', WP_CA_BUNDLE or --ca-bundle FILE."),
    "tls-not-tls": ("tls", "fail", "", _HANDSHAKE,
                    "Nothing speaks TLS on port {port}: use http:// or the https port."),
    "tls-handshake": ("tls", "fail", "", _HANDSHAKE, "Check the server's TLS protocols, ciphers and chain."),
    "dns": ("reachable", "fail", "", "{where}: the host name {host} does not resolve ({detail})", "Check the "
            "spelling of {host} and its DNS record (dig {host}); a private name needs /etc/hosts or VPN."),
    "conn-refused": ("reachable", "fail", "", "{where}: connection refused, nothing listens on {host} port "
                     "{port}", "Check the URL's port and that the web server runs; a firewall may block it."),
    "timeout": ("reachable", "fail", "", "{where}: no answer within {detail} s", "Check that the host is up "
                "and no firewall drops the connection; a slow site needs a larger Client(timeout=...)."),
    "reset": ("reachable", "fail", "", "{where}: the server closed the connection without answering", "A "
              "firewall or the server dropped the request (see its logs), or http:// went to an https port."),
    "unreachable": ("reachable", "fail", "", "{where}: {detail}", "Check the URL and the network."),
    "redirect-error": ("redirects", "fail", "", "{detail}", "Fix the site's address (Settings > General, "
                       "WP_HOME, WP_SITEURL) and the web server's redirect rules."),
    # The site and its API root.
    "reachable": ("reachable", "ok", "", "{seen} in {detail} ms{after}", ""),
    "tls-ok": ("tls", "ok", "", "the certificate of {host} is valid and trusted", ""),
    "tls-unverified": ("tls", "warn", "", "the certificate of {host} was not verified (verify=False)", "Pass "
                       "verify='/path/to/ca.pem' instead: else anyone on the path reads the credentials."),
    "tls-plain": ("tls", "warn", "", "plain http to {host}: credentials travel unencrypted", "Use https://."),
    "redirects": ("redirects", "", "", "{detail}", _FIX_CANONICAL + " Only GET and HEAD follow redirects (a "
                  "301 or 302 turns a POST into a GET), never with credentials to another origin."),
    "api": ("api", "ok", "", "GET {root} answered the REST index of {detail}; the root was {how}", ""),
    "api-closed": ("api", "warn", "",
                   "{seen} (the root was {how}); the index checks were skipped", "{detail}"),
    # rest_api_register_rewrites() maps /wp-json/ only under pretty permalinks, and
    # get_rest_url() names ?rest_route=/ otherwise (wp-includes/rest-api.php).
    "api-plain": ("api", "fail", "", _OTHER_ROOT, "Use the site's address or Client({root!r}): under plain "
                  "permalinks /wp-json/ does not exist (Settings > Permalinks)."),
    "api-rewrites": ("api", "fail", "", _OTHER_ROOT, "Use the site's address or Client({root!r}). Or make "
                     "the web server send /wp-json/ to WordPress: Apache needs mod_rewrite, AllowOverride "
                     "FileInfo and WordPress's .htaccess; nginx try_files $uri $uri/ /index.php?$args;"),
    "no-api": ("credentials", "fail", "", "not checked: no REST API answered", "Fix the REST API first."),
    "permalinks": ("permalinks", "warn", "", "plain permalinks: the client uses the API root {detail}",
                   "None needed; for /wp-json/ URLs pick another structure (Settings > Permalinks)."),
    "php-output": ("php-output", "warn", "", "{where}: the JSON came after {detail}", _FIX_PHP),
    "bom": ("php-output", "warn", "", "{where}: the JSON came after {detail}", "Save the PHP file "
            "(wp-config.php, a theme's functions.php) as plain UTF-8, not 'UTF-8 with BOM'."),
    # An answer that is not what was asked for.
    "server-auth": ("server-auth", "fail", "", "{seen}, WWW-Authenticate: {detail}: the web server asks for "
                    "its own login before WordPress runs", "That login (.htpasswd) takes the one "
                    "Authorization header: exempt /wp-json/ and ?rest_route= from it (Apache: Require all "
                    "granted; nginx: auth_basic off;) or allow this machine's IP address."),
    "firewall": ("", "", "", "{seen}: a block or challenge page of {detail}, not WordPress",
                 "A script cannot pass a browser challenge: in {detail}, " + _FIX_ALLOW + "."),
    # WP_REST_Server registers the index route / itself (__construct()): a root answering rest_no_route
    # lost it to the rest_endpoints filter (get_routes(), wp-includes/rest-api/class-wp-rest-server.php).
    "no-route": ("", "", r"^404 rest_no_route ", "{seen}: WordPress's REST API answers, but a plugin or a "
                 "rest_endpoints filter removed its index (the route /)", "Credentials may still work (see "
                 "credentials); CookieAuth, self-signed JWTs and doctor's index checks need it: let that "
                 "plugin or filter keep the route /."),
    "rest-disabled": ("", "", r"^(\d+ rest_disabled|404 [^(\s]\S*) ", "{seen}: the REST API is switched off",
                      "Remove the plugin or filter that disables it (rest_enabled, rest_endpoints)."),
    "rest-closed": ("", "", r"^40[13] [^(\s]", "{seen}: a plugin or filter closes the REST API to visitors",
                    "Credentials may still work (see credentials); that plugin must allow anonymous reads."),
    "php-error": ("", "", r"^\d+ \(text\) .*(Notice|Warning|Deprecated|Fatal error|Parse error)(</b>)?:",
                  "{seen}: PHP printed an error message instead of the JSON", _FIX_PHP),
    "server-error": ("", "", r"^5\d\d ", "{seen}: the server failed (PHP fatal error, overload, broken "
                     "proxy)", "Read the web server's and PHP's error logs."),
    "blocked": ("", "", r"^(40[1369]|429) ", "{seen}: refused by the web server, a security plugin or a "
                "firewall", "Let API clients through: " + _FIX_ALLOW + "."),
    "not-found": ("", "", r"^404 \(", "{seen}: no REST API at this address", "Give the site's address."),
    "not-index": ("", "", r"^\d+ (?!\(text\))",
                  "{seen}: JSON, but not a WordPress REST index", "Check the URL."),
    "not-json": ("", "", "", "{seen}: {detail}, not the REST API", "Check the URL; a maintenance page or a "
                 "page cache in front of WordPress answers like this too."),
    # The index. rest_add_application_passwords_to_index() lists application passwords only
    # when wp_is_application_passwords_available(): is_ssl() or environment type 'local'
    # (wp-includes/rest-api.php, user.php); is_ssl() never reads X-Forwarded-Proto (load.php).
    "apps-ok": ("app-passwords", "ok", "", "available: the REST index lists application-passwords", ""),
    "apps-no-field": ("app-passwords", "warn", "", "the REST index has no 'authentication' field (WordPress "
                      "before 5.6, or a plugin)", "Update WordPress, or use WP_AUTH=cookie."),
    "apps-http": ("app-passwords", "", "", _APPS_OFF + " over plain http ({root}) and the environment type "
                  "is not 'local'", "Serve the site over HTTPS and use https://; on a development site "
                  "define('WP_ENVIRONMENT_TYPE', 'local') in wp-config.php."),
    "apps-http-xfp": ("app-passwords", "", "", _APPS_OFF + " over plain http ({root}), but lists "
                      "application-passwords when the request carries X-Forwarded-Proto: https, which this "
                      "site's wp-config.php takes as HTTPS (Debian's does)",
                      "Put HTTPS in front: a TLS proxy that sends X-Forwarded-Proto: https is enough here "
                      "(or, on a development site, define('WP_ENVIRONMENT_TYPE', 'local')). Never send that "
                      "header yourself over plain http: the password would travel unencrypted."),
    "apps-proxy": ("app-passwords", "", "", _APPS_OFF + " over https and home is {home}: PHP does not see "
                   "HTTPS (is_ssl() is false) behind this TLS proxy",
                   "In wp-config.php: if (($_SERVER['HTTP_X_FORWARDED_PROTO'] ?? '') === 'https') { "
                   "$_SERVER['HTTPS'] = 'on'; } or nginx: fastcgi_param HTTPS on;"),
    "apps-proxy-xfp": ("app-passwords", "", "", _APPS_OFF + " over https and home is {home}, but lists them "
                       "with X-Forwarded-Proto: https: this site's wp-config.php honours that header, which "
                       "the proxy does not send",
                       "Make the proxy send it (nginx: proxy_set_header X-Forwarded-Proto $scheme;)."),
    "apps-off": ("app-passwords", "", "", _APPS_OFF + " over https: a plugin or the "
                 "wp_is_application_passwords_available filter turns them off",
                 "Re-enable them in that plugin, or use WP_AUTH=cookie with the login password."),
    "address": ("address", "warn", "", "WordPress's address (home) is {home}, but the API answered at {root}",
                "Use Client({home!r}): login cookies, links and JWT issuers follow it."),
    "plugins": ("plugins", "ok", "", "{detail}", ""),
    "plugins-jwt-missing": ("plugins", "fail", "", "{detail}. JWTAuth needs the jwt-auth/v1 token route",
                            "Activate JWT Authentication for WP REST API, or use an application password."),
    "plugins-no-token": ("plugins", "warn", "", "{detail}. No JWT plugin: a Bearer token needs one that "
                         "reads it", "Check which plugin should accept the token."),
    "plugins-no-oauth1": ("plugins", "fail", "", "{detail}. OAuth1 needs the OAuth 1.0a server plugin",
                          "Activate WP-API/OAuth1, or use an application password."),
    "plugins-no-woo": ("plugins", "fail", "", "{detail}. WooCommerce keys need WooCommerce (no wc/ "
                       "namespace)", "Activate WooCommerce, or use an application password."),
    "clock": ("clock", "ok", "", "{detail}", ""),
    "clock-skew": ("clock", "warn", "",
                   "{detail}; JWT plugins refuse tokens that look expired or not yet valid", _FIX_CLOCKS),
    # Credentials. Before any answer:
    "no-credentials": ("credentials", "fail", "",
                       "none given: only the site was checked", _FIX_NO_CREDENTIALS),
    "other-origin": ("credentials", "fail", "",
                     "not sent: the REST API answered at {root}, another origin than {url}", _FIX_CANONICAL),
    "step-failed": ("credentials", "fail", "", "{detail}", "{fix}"),
    "step-not-wordpress": ("credentials", "fail", "", "{detail}; the answer starts {start!r}", "A page cache, "
                           "maintenance page or security plugin may answer there for WordPress: let {where} "
                           "through to WordPress."),
    # A plugin's wp_authenticate() also runs wp_authenticate_application_password() (hooked on
    # 'authenticate', wp-includes/default-filters.php): a wrong login password can come back
    # worded as an application-password error.
    "login-no-route": ("credentials", "fail", r"^\d+ rest_no_route ", "{seen}", "No JWT plugin answers that "
                       "route: activate JWT Authentication for WP REST API, or use an application password."),
    "login-app-words": ("credentials", "fail", _LOGIN_CODES + r".*application password", "{seen} (WordPress "
                        "words a wrong login password as an application-password error once one exists)",
                        _FIX_LOGIN),
    "login-wrong": ("credentials", "fail", _LOGIN_CODES, "{seen}", _FIX_LOGIN),
    "login-config": ("credentials", "fail", r"jwt_auth_bad_config ", "{seen}",
                     "Define JWT_AUTH_SECRET_KEY in wp-config.php."),
    "login-other": ("credentials", "fail", "", "{seen}", "{fix}"),
    # GET /wp/v2/users/me. Core answers a failed check as for a visitor: it sets the user
    # before REST_REQUEST is defined (wp-settings.php), so the application password is not
    # tried then, and rest_cookie_check_errors() finds user 0 (wp-includes/rest-api.php).
    # Its own codes show only where something asked for the user earlier (WooCommerce).
    "authenticated": ("credentials", "ok", "", "authenticated as {detail} with {auth}; roles: {roles}", ""),
    "basic-plugin": ("credentials", "fail", r"^500 (incorrect_password|invalid_username|invalid_email) ",
                     _BASIC_PLUGIN + ": the username or login password is wrong", _FIX_LOGIN),
    "basic-plugin-app": ("credentials", "fail", "", _BASIC_PLUGIN + ", so application passwords always fail, "
                         "on public routes too", "Deactivate that plugin: application passwords need none "
                         "(on a development site only, WP_AUTH=basic works too)."),
    "anonymous": ("credentials", "fail",
                  r"^(\d+ rest_not_logged_in|401 rest_(?!cookie_invalid_nonce)\S+) ", "", ""),
    "wrong": ("credentials", "fail", r"^\d+ (incorrect_password|invalid_username|invalid_email) ",
              "{seen}: the Authorization header reached WordPress and the credentials are wrong", "{fix}"),
    "nonce": ("credentials", "fail", r"^\d+ rest_cookie_invalid_nonce ", "{seen}: an X-WP-Nonce came without "
              "a valid login cookie", "Send X-WP-Nonce only with the login cookies (CookieAuth)."),
    "jwt-iss": ("credentials", "fail", r"^\d+ jwt_auth_bad_iss ", _JWT_REFUSED,
                "The token's iss must be exactly {home} (scheme and trailing slash included)."),
    "jwt-time": ("credentials", "fail", r"(?i)^\d+ jwt_auth\S* .*(expired|prior to)", _JWT_REFUSED, "The "
                 "token has expired or is not valid yet: get a new one, and check the clocks (see clock)."),
    "jwt-key": ("credentials", "fail", r"(?i)^\d+ jwt_auth\S* .*signature", _JWT_REFUSED,
                "The token was signed with another key: WP_JWT_SECRET must equal JWT_AUTH_SECRET_KEY."),
    "jwt": ("credentials", "fail", r"^\d+ jwt_auth", _JWT_REFUSED, "Get a new token, or check the plugin."),
    # Signed requests, as WP-API/OAuth1 (lib/class-wp-rest-oauth1.php) and WooCommerce
    # (WC_REST_Authentication, includes/class-wc-rest-authentication.php) refuse them.
    "oauth1-signature": ("", "", r"^\d+ json_oauth1_signature_mismatch ",
                         "{seen}: the OAuth1 plugin rejected the signature",
                         "Check the consumer and token secrets; a proxy that changes the URL breaks it."),
    "oauth1-token": ("", "", r"^\d+ json_oauth1_\S*token", "{seen}: the OAuth1 plugin does not know this "
                     "access token (revoked or never authorized)", "Get a new one with wp_rest.OAuth1Flow."),
    "oauth1-no-token": ("", "", r"^\d+ json_oauth1_missing_parameter .*oauth_token", "{seen}: REST requests "
                        "need an access token, not the consumer alone", "Get one with wp_rest.OAuth1Flow."),
    # WP-API/OAuth1 answers its own routes in plain text (lib/class-wp-rest-oauth1.php).
    "oauth1": ("", "", r"^(\d+ json_oauth1_|40\d \(text\) (OAuth|Consumer|Callback))", "{seen}: the OAuth1 "
               "plugin refused it", "Check the consumer key and secret and the token of wp_rest.OAuth1."),
    "woo-secret": ("", "", r"^\d+ woocommerce_rest_\S+ Consumer secret is invalid",
                   "{seen}: the key is known, the secret is not its secret", _FIX_WOO),
    "woo-scope": ("", "", r"^\d+ woocommerce_rest_\S+ .*cannot be used to access this endpoint", "{seen}: "
                  "WooCommerce keys reach only wc/ routes", "Posts and users need an application password."),
    "woo-signature": ("", "", r"^\d+ woocommerce_rest_\S+ .*(Invalid signature|Missing OAuth)", "{seen}: "
                      "over http WooCommerce checks a one-legged OAuth 1.0a signature: it failed", "Use "
                      "https:// (keys then go as Basic), or check the secret and that home is this host."),
    "woo-time": ("", "", r"^\d+ woocommerce_rest_\S+ .*(Invalid timestamp|nonce)", "{seen}: WooCommerce "
                 "allows 15 minutes of clock difference and no repeated nonce", _FIX_CLOCKS),
    "woo-rights": ("", "", r"^\d+ woocommerce_rest_\S+ .*read/write", "{seen}: its permissions do not allow "
                   "this method", "Give the key Read/Write in WooCommerce > Settings > Advanced > REST API."),
    "woo": ("", "", r"^\d+ woocommerce_rest_", "{seen}: WooCommerce refused the keys", _FIX_WOO),
    "me-other": ("credentials", "fail", r"^\d+ [^(\s]", "{seen}", _FIX_UNKNOWN_CODE),
    "me-server-auth": ("credentials", "fail", "",
                       "{seen}: refused by the web server's login (see server-auth)", ""),
    # 401 rest_not_logged_in: wrong credentials, or a stripped header? Probe (a): the JWT
    # plugin's validate route tells a missing header from a malformed one
    # (Jwt_Auth_Public::validate_token()). Probe (b): WP_Site_Health::get_test_authorization_header()
    # (wp-admin/includes/class-wp-site-health.php): status "good", else a label saying
    # missing or invalid; capability view_site_health_checks.
    "probe-arrives": ("", "", r"^\d+ jwt_auth_bad_auth_header ", ", so the header reaches PHP", ""),
    "probe-stripped": ("", "", r"^\d+ jwt_auth_no_auth_header ", ": PHP got no HTTP_AUTHORIZATION", ""),
    # The JSON Basic Authentication plugin reads PHP_AUTH_*, as probe (b) does: see header-no-http-auth.
    "probe-basic-plugin": ("", "", r"^500 (invalid_username|incorrect_password) ",
                           ": the JSON Basic Authentication plugin read the test credentials", ""),
    "header-arrives": ("auth-header", "ok", "", "the Authorization header reaches PHP: {detail}", ""),
    "header-stripped": ("auth-header", "fail", "",
                        "the Authorization header does not reach PHP: {detail}", _FIX_STRIPPED),
    "header-mangled": ("auth-header", "fail", "", "the Authorization header reaches PHP altered: {detail}",
                       "Make every proxy, firewall and the server's own login pass it unchanged."),
    # PHP-FPM and CGI fill PHP_AUTH_* from HTTP_AUTHORIZATION only; mod_php fills them for
    # Basic itself (php_handle_auth_data() in php-src), never for Bearer.
    "header-no-http-auth": ("auth-header", "fail", "", "{detail}. On PHP-FPM or CGI the web server strips "
                            "the header; only Apache mod_php still hands Basic credentials (never Bearer "
                            "tokens) to PHP without it", _FIX_STRIPPED),
    "header-bearer": ("auth-header", "warn", "",
                      "{detail}: Basic credentials reach PHP, but under Apache mod_php a Bearer token needs "
                      "one of these lines too, and no probe showed whether it arrives", _FIX_STRIPPED),
    "header-unknown": ("auth-header", "warn", "", "inconclusive: {detail}", _FIX_STRIPPED),
    "cookie-refused": ("credentials", "fail", "", "{seen}: the login cookies and nonce were not accepted",
                       "The cookies' path or domain may not match this address (compare home)."),
    "anon-stripped": ("credentials", "fail", "",
                      "{seen}: WordPress saw an anonymous request, because the Authorization header does not "
                      "reach PHP intact (see auth-header){detail}", _FIX_HEADER_FIRST),
    "anon-no-http-auth": ("credentials", "fail", "", "{seen}: most likely because the web server strips the "
                          "header (see auth-header)", _FIX_HEADER_FIRST + " If it still fails: {fix}"),
    "anon-unavailable": ("credentials", "fail", "", "{seen}: application passwords are unavailable on this "
                         "site (see app-passwords), so WordPress ignores them{detail}", "Make them available "
                         "as app-passwords says, or use WP_AUTH=cookie with the login password."),
    "anon-arrives": ("credentials", "fail", "",
                     "{seen}, although the Authorization header reaches PHP{detail}: {wrong}", "{fix}"),
    "anon-unknown": ("credentials", "fail", "",
                     "{seen}: WordPress answers this both for wrong credentials and when the web server "
                     "strips the Authorization header, and doctor could not tell which: {detail}", "If the "
                     "credentials are wrong: {fix}\nIf the server strips the header: " + _FIX_STRIPPED + "\n"
                     "To tell them apart, give doctor an administrator's login password (WP_LOGIN_PASSWORD, "
                     "or diagnose(login_password=...)) for WordPress's site-health test."),
    # Wrong credentials, per kind.
    "wrong-app": ("", "", "", "WordPress did not accept this username and application password (wrong, "
                  "revoked, another user's or site's)", "Create a new application password for this user "
                  "(Users > Profile) and use it with the user's login name; case matters, spaces do not."),
    "wrong-basic": ("", "", "", "core WordPress ignores login passwords over Basic",
                    "Use an application password (WP_APP_PASSWORD)."),
    "wrong-token": ("", "", "", "no plugin accepted the token", "Check that the token's user exists and that "
                    "a JWT plugin reads Bearer tokens on REST routes (Simple JWT Login: its middleware)."),
    "wrong-other": ("", "", "", "WordPress did not accept the credentials", "Check what your auth adds."),
    "not-app-password": ("", "", "", "", " The password given is not 24 letters and digits, so it is no "
                         "application password: a login password needs WP_AUTH=cookie or jwt."),
    # Rights: the default roles' capabilities (populate_roles(), wp-admin/includes/schema.php).
    "can-publish": ("permissions", "ok", "",
                    "{login} can create posts (edit_posts) and publish them (publish_posts){detail}", ""),
    "can-draft": ("permissions", "warn", "", "{login} can create posts (edit_posts) but not publish them (no "
                  "publish_posts){detail}", "To publish, give {login} the Author or Editor role."),
    "cannot-write": ("permissions", "fail", "",
                     "{login} may not create posts (no edit_posts; roles: {roles}){detail}",
                     "Give {login} the Author role (Users > All Users), or use a user who has one."),
    "woo-keys": ("permissions", "warn", "", "WooCommerce keys work on wc/ routes only: they cannot create "
                 "posts", "For posts, use an application password."),
    "basic-auth-plugin": ("basic-auth-plugin", "warn", "", "the login password was accepted over Basic: the "
                          "JSON Basic Authentication plugin is active and sends the real password with every "
                          "request", "Use an application password and remove the plugin."),
    # The write path.
    "write-ok": ("write-path", "ok", r"^400 rest_invalid_param ", "{where} reached WordPress: refused with "
                 "400 rest_invalid_param before anything was written", ""),
    "write-redirected": ("write-path", "fail", "",
                         "{where} was redirected ({detail}): a redirected POST comes back as a GET, so "
                         "wp_rest does not follow it", "Use the final address: Client({canonical!r})."),
    "write-accepted": ("write-path", "fail", "", "{seen}: invalid values were accepted; post {detail} may "
                       "exist", "Delete that post; a plugin skips WordPress's parameter checks."),
    "write-as-get": ("write-path", "fail", "", "{seen} with a list, as a GET would: something turns the POST "
                     "into a GET", "Use the site's final https address."),
    "write-refused": ("write-path", "fail", r"^40[13] [^(\s]", "{seen}", "Reads work but writes are refused: "
                      "a security plugin, or a JWT plugin that wants a token on every write."),
    "write-other": ("write-path", "fail", r"^\d+ [^(\s]", "{seen}", _FIX_UNKNOWN_CODE),
    "write-failed": ("write-path", "fail", "", "{seen}", "{fix}"),
}
_ANSWER_KEYS = ("oauth1", "no-route", "rest-disabled", "rest-closed", "php-error", "server-error",
                "blocked", "not-found", "not-index")
_SIGNED_KEYS = ("oauth1-signature", "oauth1-token", "oauth1-no-token", "oauth1", "woo-secret", "woo-scope",
                "woo-signature", "woo-time", "woo-rights", "woo")

#: (who, markers) of block and challenge pages, sought in the lower-cased headers and body.
_FIREWALLS = (
    ("Cloudflare", ("cf-mitigated", "cf-chl", "challenge-platform", "just a moment...", "| cloudflare")),
    ("Sucuri", ("sucuri website firewall", "x-sucuri-block")),
    ("Wordfence", ("wordfence",)),
    ("ModSecurity", ("mod_security", "modsecurity")),
    ("Imunify360", ("imunify360",)),
    ("a CAPTCHA page", ("captcha",)),
)
#: The family of credentials the causes depend on, by class (the first that matches).
_AUTH_KINDS = {type(None): "none", ApplicationPassword: "app", BasicAuth: "basic", BearerToken: "token",
               JWTAuth: "token", CookieAuth: "cookie", OAuth1: "oauth1", WooCommerceKeys: "woo"}
#: (REST namespace, route or index key, the credentials it serves, what it is) of plugins that change
#: authentication; credentials of a kind listed here need one of its plugins.
_AUTH_PLUGINS = (
    ("jwt-auth/v1", "token", "JWT Authentication (Tmeister) or JWT Auth (Useful Team): Bearer tokens from "
                             "POST /jwt-auth/v1/token (wp_rest.JWTAuth)"),
    ("simple-jwt-login/v1", "token", "Simple JWT Login: tokens from POST /simple-jwt-login/v1/auth; core "
                                     "routes take them only with its middleware on"),
    ("wpuser/v1", "token", "WP User: JWTs from POST /wpuser/v1/token/generate"),
    ("oauth1", "oauth1", "OAuth 1.0a server (WP-API/OAuth1): {oauth1} (wp_rest.OAuth1Flow)"),
    ("wc/", "woo", "WooCommerce (wc/...): keys for wc/ routes (wp_rest.WooCommerceKeys); it also makes "
                   "WordPress report wrong application passwords as 401 incorrect_password"),
    ("/wp/v2/token", "", "WP-API/jwt-auth: Bearer tokens from POST /wp/v2/token; it wants a token on "
                         "every write"),
)


class Check(_Record):
    """One finding of ``Client.diagnose()``.

    Attributes:
        name: what was checked, a stable identifier: "reachable", "tls", "redirects", "api",
            "server-auth", "permalinks", "php-output", "app-passwords", "address", "plugins", "clock",
            "credentials", "auth-header", "permissions", "write-path", "basic-auth-plugin".
        outcome: "ok"; "warn" (works, but something should change); "fail".
        seen: the evidence: what was sent and what came back.
        fix: what to change; "" when nothing needs to.
    """

    name: str
    outcome: str
    seen: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in _DOCTOR_OUTCOMES:
            raise ConfigError(f"Check.outcome must be one of {_DOCTOR_OUTCOMES}, not {self.outcome!r}")

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "outcome": self.outcome, "seen": self.seen, "fix": self.fix}


class Report(_Record):
    """What ``Client.diagnose()`` found: ``render()`` for people, ``to_dict()`` for programs.

    Attributes:
        url: the URL the client was given.
        checks: the findings, in the order they were made.
        writes_possible: True when the credentials are valid, the user may create
            posts, and a POST reaches WordPress at the API root the client uses.
        api_root: the REST API root that answered, or None when none did.
    """

    url: str
    checks: tuple[Check, ...]
    writes_possible: bool
    api_root: str | None

    def get(self, name: str) -> Check | None:
        """The check called ``name``, or None when it was not made."""
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "api_root": self.api_root, "writes_possible": self.writes_possible,
                "checks": [c.to_dict() for c in self.checks]}

    def render(self) -> str:
        """The report as text: one block per check, ``ok``/``warn``/``FAIL``, fixes indented."""
        lines = [f"wp-rest doctor: {self.url}", f"API root: {self.api_root or 'not found'}", ""]
        for check in self.checks:
            seen, fix = check.seen.splitlines() or [""], check.fix.splitlines()
            lines.append(f"{'FAIL' if check.outcome == 'fail' else check.outcome:<5} {check.name}: {seen[0]}")
            lines += [f"      {line}" for line in seen[1:]]
            lines += [("      fix: " if n == 0 else "           ") + line for n, line in enumerate(fix)]
        failed = [c.name for c in self.checks if c.outcome == "fail"]
        verdict = "yes" if self.writes_possible else "NO" + (f" (see {', '.join(failed)})" if failed else "")
        return "\n".join([*lines, "", f"Writes can work: {verdict}"])


class _Answer(_Record):
    """An anonymous answer doctor got, how long it took and when it came (for the clock)."""
    method: str
    url: str
    resp: Response
    elapsed: float
    received: float


class _DoctorStop(Exception):
    """Nothing further can be checked (no HTTP answer, no REST API)."""


def _diagnose(client: Client, *, login_password: str | None = None,
              login_username: str | None = None) -> Report:
    return _Doctor(client, login_password, login_username).run()


def _fill(template: str, facts: dict[str, Any]) -> str:
    """``template`` with each {name} or {name!r} that ``facts`` holds replaced."""
    def value(m: re.Match[str]) -> str:
        return m.group(0) if m.group(1) not in facts else (repr if m.group(2) else str)(facts[m.group(1)])
    return re.sub(r"\{(\w+)(!r)?\}", value, template)


def _told(cause: str, facts: dict[str, Any]) -> tuple[str, str]:
    """The meaning and the fix of ``cause``, filled with ``facts``."""
    return _fill(_CAUSES[cause][3], facts), _fill(_CAUSES[cause][4], facts)


def _json_of(resp: Response) -> tuple[Any, str]:
    """(value, what had to be cleaned away) of a body, or (None, "") when it is not JSON."""
    try:
        return _decode_json(resp.body)
    except ValueError:  # also UnicodeDecodeError and JSON nested too deeply
        return None, ""


def _is_index(resp: Response) -> bool:
    value = _json_of(resp)[0]
    return resp.status == 200 and isinstance(value, dict) and isinstance(value.get("namespaces"), list)


def _status_of(resp: Response) -> str:
    return f"{resp.status} ({resp.content_type or 'no content type'})"


def _evidence(resp: Response) -> tuple[str, str]:
    """(what causes are matched on, how to show the answer)."""
    value = _json_of(resp)[0]
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        message = _strip_tags(str(value.get("message", "")))[:300]
        return f"{resp.status} {value['code']} {message}", f'{resp.status} {value["code"]} "{message}"'
    title = re.search(rb"<title[^>]*>(.*?)</title>", resp.body[:65536], re.I | re.S)
    glimpse = re.sub(r"\s+", " ", title.group(1).decode("utf-8", "replace")).strip()[:120] if title else ""
    glimpse = glimpse or _body_start(resp.body, 120)
    return (f"{resp.status} {'(text)' if value is None else '(json)'} {_body_start(resp.body, 2000)}",
            _status_of(resp) + (f": {glimpse!r}" if glimpse else ""))


def _match(evidence: str, keys: Iterable[str]) -> str:
    """The first of ``keys`` whose evidence pattern matches, or ""."""
    return next((k for k in keys if re.search(_CAUSES[k][2], evidence, re.S)), "")


def _answer_cause(resp: Response) -> tuple[str, str]:
    """(cause, detail) of an answer that is not what was asked for."""
    if _json_of(resp)[0] is None:
        if resp.status == 401 and resp.headers.get("WWW-Authenticate"):
            return "server-auth", str(resp.headers.get("WWW-Authenticate"))
        headers = " ".join(f"{k}: {v}" for k, v in resp.headers.items())
        text = (headers + resp.body[:20000].decode("utf-8", "replace")).lower()
        if who := next((who for who, marks in _FIREWALLS if any(m in text for m in marks)), ""):
            return "firewall", who
    html = "html" in resp.content_type.lower() or resp.body.lstrip()[:1] == b"<"
    return _match(_evidence(resp)[0], _ANSWER_KEYS) or "not-json", "an HTML page" if html else "not JSON"


def _transport_cause(exc: TransportError | RedirectError, timeout: float) -> tuple[str, dict[str, Any]]:
    """(cause, facts) of a request that got no HTTP answer."""
    if isinstance(exc, RedirectError):
        return "redirect-error", {"detail": str(exc)}
    cause, name, detail = exc.__cause__, "unreachable", str(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        # X509_V_ERR_CERT_NOT_YET_VALID, _CERT_HAS_EXPIRED, _HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
        codes = {9: "tls-expired", 10: "tls-expired", 62: "tls-name", 64: "tls-name"}
        name = codes.get(cause.verify_code, "tls-untrusted")
        detail = f"{cause.verify_message} (OpenSSL verify error {cause.verify_code})"
    elif isinstance(cause, ssl.SSLError):
        detail = str(cause.reason or cause)
        name = "tls-not-tls" if "WRONG_VERSION_NUMBER" in detail.upper() else "tls-handshake"
    elif isinstance(cause, socket.gaierror):
        name, detail = "dns", str(cause.strerror)
    elif isinstance(cause, TimeoutError):  # socket.timeout too
        name, detail = "timeout", f"{timeout:g}"
    elif isinstance(cause, ConnectionRefusedError):
        name = "conn-refused"
    elif isinstance(cause, (ConnectionResetError, http.client.RemoteDisconnected)):
        name = "reset"
    _, host, port = _origin(exc.url)
    return name, {"where": f"{exc.method} {exc.url}", "host": host, "port": port, "detail": detail}


def _redirect_kind(start: str, final: str) -> str:
    a, b = urllib.parse.urlsplit(start), urllib.parse.urlsplit(final)
    host_a, host_b = (a.hostname or "").lower(), (b.hostname or "").lower()
    kinds = [f"{a.scheme} to {b.scheme}"] if a.scheme != b.scheme else []
    if host_a != host_b and host_a.removeprefix("www.") == host_b.removeprefix("www."):
        kinds.append("www to apex" if host_a.startswith("www.") else "apex to www")
    elif host_a != host_b:
        kinds.append(f"the site moved to {host_b}")
    elif a.port != b.port:
        kinds.append(f"to port {b.port or 'default'}")
    if not kinds and a.path != b.path:
        kinds.append(f"the site moved to {b.path}")
    return ", ".join(kinds) or "same address"


class _Doctor:
    """The probes of one ``Client.diagnose()`` run, in order; each adds Checks."""

    def __init__(self, client: Client, login_password: str | None, login_username: str | None,
                 findings: Iterable[Check] = ()) -> None:
        self.client, self.auth = client, client.auth
        self.kind = next((kind for cls, kind in _AUTH_KINDS.items() if isinstance(self.auth, cls)), "other")
        # A JWTAuth with a password logs in at its token route; a self-signed one has none.
        self.jwt_login = isinstance(self.auth, JWTAuth) and self.auth.token_route is not None
        self.login_password, self.login_username = login_password or None, login_username or None
        self.checks: list[Check] = list(findings)
        self.cache: dict[str, _Answer] = {}
        self.root: str | None = None
        self.index: dict[str, Any] = {}
        self.routes: dict[str, Any] | None = None
        self.client_root_ok = self.post_ok = False
        self.apps_available: bool | None = None
        self.probe_auths: list[Auth] = []

    def run(self) -> Report:
        with contextlib.suppress(_DoctorStop):
            self.find_api()
            self.check_credentials()
        values = [s for auth in (self.auth, *self.probe_auths) if auth for s in auth.secrets()]
        values += [self.login_password] if self.login_password else []
        # Application passwords are shown in groups of four (WP_Application_Passwords::chunk_password()).
        secrets = _secret_forms([*values, *(" ".join(re.findall(".{1,4}", v)) for v in values)])
        checks = tuple(Check(c.name, c.outcome, _redact(c.seen, secrets), _redact(c.fix, secrets))
                       for c in self.checks)
        return Report(self.client.url, checks, self.client_root_ok and self.post_ok, self.root)

    def add(self, cause: str, check: str = "", outcome: str = "fail", **facts: Any) -> None:
        """A Check from the cause's row; ``check`` and ``outcome`` where the row leaves them open."""
        name, fixed = _CAUSES[cause][:2]
        facts.setdefault("auth", self.auth.describe() if self.auth else "no credentials")
        self.checks.append(Check(name or check, fixed or outcome, *_told(cause, facts)))

    def fetch(self, method: str, url: str, headers: dict[str, str] | None = None) -> _Answer:
        """An anonymous request through the client's redirect loop (GET and HEAD follow)."""
        key = f"{method} {url} {headers}"
        if key not in self.cache:
            started = time.monotonic()
            try:
                resp = self.client.send(self.client.build_request(method, url, headers=headers), auth=False)
            except (TransportError, RedirectError) as exc:
                cause, facts = _transport_cause(exc, self.client.timeout)
                self.add(cause, **facts)
                raise _DoctorStop from None
            self.cache[key] = _Answer(method, url, resp, time.monotonic() - started, time.time())
        return self.cache[key]

    def request(self, method: str, route: str, **kwargs: Any) -> Request:
        """A request for ``route`` below the root that answered (the client's own when it works)."""
        assert self.root is not None
        target = route if self.client_root_ok else _build_url(self.root, route)
        return self.client.build_request(method, target, **kwargs)

    def php_output(self, where: str, cleaned: str) -> None:
        if cleaned and all(c.name != "php-output" for c in self.checks):
            self.add("bom" if "byte order mark" in cleaned else "php-output", where=where, detail=cleaned)

    def find_api(self) -> None:
        given = _root_from_url(self.client.url)
        site = _site_of(given) if given else self.client.url.rstrip("/") + "/"
        first = self.fetch("GET" if given else "HEAD", given or site)
        self.reached(first)
        root, how = (given, "the URL given is the API root") if given else self.client_root(site, first)
        answer = self.fetch("GET", root)
        self.report_redirects(first, answer, bool(given))
        if _is_index(answer.resp):
            self.client_root_ok = not answer.resp.history
            self.read_index(answer, answer.resp.url if answer.resp.history else root, "api", how)
            return
        cause, detail = _answer_cause(answer.resp)
        seen = f"GET {root} answered {_evidence(answer.resp)[1]}"
        if cause in ("rest-closed", "no-route") and not answer.resp.history:
            # WordPress answered but keeps its index from visitors: credentials may still work.
            self.root, self.client_root_ok = root, True
            meaning, fix = _told(cause, {"seen": seen})
            self.add("api-closed", seen=meaning, how=how, detail=fix)
            return
        # The root the client would use does not answer: name one that does.
        link = self.fetch("HEAD", site).resp.links.get(API_REL) if given else None
        candidates = (urllib.parse.urljoin(site, link) if link else root, site + "?rest_route=/")
        for alt in dict.fromkeys(a for a in candidates if a != root):
            found = self.fetch("GET", alt)
            if _is_index(found.resp):
                plain = "rest_route=" in (found.resp.links.get(API_REL) or "")
                failed = _told(cause, {"seen": seen, "detail": detail})[0]
                self.read_index(found, found.resp.url, "api-plain" if plain else "api-rewrites", failed)
                return
        self.add(cause, "api", seen=seen + f" ({how})", detail=detail)  # server-auth keeps its own name
        self.add("no-api")
        raise _DoctorStop

    def client_root(self, site: str, head: _Answer) -> tuple[str, str]:
        """The API root the client's own discovery arrives at, and how."""
        link, fallback = head.resp.links.get(API_REL), site + "?rest_route=/"
        try:
            root = self.client.api_root
        except ConfigError:  # a root on another origin: check_credentials says so
            root = _join_link(head.resp.url, link or "") or fallback
        except (InvalidResponse, RedirectError, TransportError):
            root = fallback
        if link:
            return root, f"named by the Link header of HEAD {site}"
        named = f", whose Link header names {root}" if root != fallback else ""
        return root, (f'HEAD {site} ({head.resp.status}) sent no Link rel="{API_REL}" header, so the client '
                      f"falls back to {fallback}{named}")

    def reached(self, answer: _Answer) -> None:
        resp = answer.resp
        after = f" after {len(resp.history)} redirect(s)" if resp.history else ""
        self.add("reachable", seen=f"{answer.method} {answer.url} answered {_status_of(resp)}",
                 detail=f"{answer.elapsed * 1000:.0f}", after=after)
        scheme, host, _ = _origin(resp.url)
        context = getattr(self.client.transport, "ssl_context", None)
        if scheme == "https":
            unverified = isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_NONE
            self.add("tls-unverified" if unverified else "tls-ok", host=host)
        elif self.auth is not None and not _is_loopback(host):
            self.add("tls-plain", host=host)

    def report_redirects(self, first: _Answer, answer: _Answer, given: bool) -> None:
        chains = [a for a in ((first,) if answer is first else (first, answer)) if a.resp.history]
        if not chains:
            return
        lines = [f"{a.method} {a.url} -> " + " -> ".join(f"{s} {u}" for s, u in a.resp.history)
                 + f" ({_redirect_kind(a.url, a.resp.url)})" for a in chains]
        cross = any(_origin(a.resp.url) != _origin(a.url) for a in chains)
        # A redirected API root redirects every write too; a redirected site URL
        # only matters to credentials when it leaves the origin.
        moved = bool(first.resp.history and given) or (answer is not first and bool(answer.resp.history))
        self.add("redirects", outcome="fail" if moved or (cross and self.auth is not None) else "warn",
                 detail="\n".join(lines), canonical=_site_of(chains[0].resp.url))

    # -- the anonymous index (read without credentials: on some sites stale ones fail even public routes) --

    def read_index(self, answer: _Answer, root: str, cause: str, how: str) -> None:
        """The index at ``root``; ``how`` says how it was found ("api") or what failed (the others)."""
        value, cleaned = _json_of(answer.resp)
        self.index, self.root = value, root
        self.routes = value["routes"] if isinstance(value.get("routes"), dict) else None
        name = f"{str(value.get('name', ''))!r} ({len(value['namespaces'])} namespaces)"
        self.add(cause, root=root, how=how, seen=how, detail=name)
        self.php_output(f"GET {root}", cleaned)
        if "rest_route=" in (link := answer.resp.links.get(API_REL) or ""):
            self.add("permalinks", detail=link)
        self.check_app_passwords()
        home = str(value.get("home", ""))
        if home.startswith(("http://", "https://")) and _origin(home) != _origin(root):
            self.add("address", home=home, root=root)
        self.check_plugins()
        self.check_clock(answer)

    def check_app_passwords(self) -> None:
        assert self.root is not None
        field = self.index.get("authentication")
        self.apps_available = isinstance(field, dict) and "application-passwords" in field
        if self.apps_available or field is None:
            self.add("apps-ok" if self.apps_available else "apps-no-field")
            return
        home, cause = str(self.index.get("home", "")), "apps-off"
        if self.root.startswith("http://") or home.startswith("http://"):
            # Does the site take X-Forwarded-Proto as HTTPS (Debian's wp-config.php sets
            # $_SERVER['HTTPS'] = 'on' for it)? Then a TLS proxy is all it needs.
            xfp = self.fetch("GET", self.root, {"X-Forwarded-Proto": "https"}).resp
            offered = _json_of(xfp)[0] if _is_index(xfp) else {}
            cause = "apps-http" if self.root.startswith("http://") else "apps-proxy"
            cause += "-xfp" if "application-passwords" in (offered.get("authentication") or ()) else ""
        self.add(cause, outcome="fail" if self.kind == "app" else "warn", detail=json.dumps(field),
                 root=self.root, home=home)

    def check_plugins(self) -> None:
        spaces = [str(n) for n in self.index.get("namespaces", [])]
        field = self.index.get("authentication")
        oauth1 = field.get("oauth1") if isinstance(field, dict) else None

        def present(marker: str) -> bool:
            if marker.startswith("/"):
                return marker in (self.routes or {})
            return bool(oauth1) if marker == "oauth1" else any(n.startswith(marker) for n in spaces)

        routes = oauth1.items() if isinstance(oauth1, dict) else ()
        where = ", ".join(f"{k} {v}" for k, v in routes if k != "version")
        found = [_fill(what, {"oauth1": where}) for marker, _, what in _AUTH_PLUGINS if present(marker)]
        detail = "authentication plugins: " + "; ".join(found) if found else (
            "no authentication plugin among the namespaces (core: application passwords and cookies)")
        wanted = [marker for marker, kind, _ in _AUTH_PLUGINS if kind == self.kind]
        missing = f"plugins-no-{self.kind}" if wanted and not any(present(m) for m in wanted) else "plugins"
        if self.jwt_login and "jwt-auth/v1" not in spaces:
            missing = "plugins-jwt-missing"
        self.add(missing, detail=f"{detail}. Namespaces: {', '.join(spaces)}")

    def check_clock(self, answer: _Answer) -> None:
        date = str(answer.resp.headers.get("Date") or "")
        try:
            server = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            return
        age = str(answer.resp.headers.get("Age") or "")
        skew = server + (int(age) if age.isdigit() else 0) - answer.received
        side = "ahead of" if skew > 0 else "behind"
        detail = (f"the server's Date ({date}) matches this machine's clock" if abs(skew) <= 2 else
                  f"the server's clock is {abs(skew):.0f} s {side} this machine's (Date: {date})")
        self.add("clock" if abs(skew) <= _CLOCK_SKEW_WARN else "clock-skew", detail=detail)

    def check_credentials(self) -> None:
        if self.auth is None:
            if all(c.name != "credentials" for c in self.checks):
                self.add("no-credentials")
            return
        assert self.root is not None
        if _origin(self.root) != _origin(self.client.url):
            self.add("other-origin", root=self.root, url=self.client.url, canonical=_site_of(self.root))
            return
        # WooCommerce keys work on wc/ routes only (WC_REST_Authentication::is_request_to_rest_api()).
        route, params = ("/wc/v3/products", {"per_page": 1}) if self.kind == "woo" else (
            "/wp/v2/users/me", {"context": "edit"})
        where = f"GET {route}?{urllib.parse.urlencode(params)}"
        try:
            resp = self.client.send(self.request("GET", route, params=params))
        except WPError as exc:
            self.auth_step_failed(exc)
            return
        value, cleaned = _json_of(resp)
        self.php_output(where, cleaned)
        if resp.status == 200 and ((isinstance(value, dict) and "id" in value) or self.kind == "woo"):
            self.credentials_ok(value if isinstance(value, dict) else {})
        else:
            self.credentials_refused(resp, where)

    def credentials_refused(self, resp: Response, where: str) -> None:
        assert self.auth is not None
        evidence, shown = _evidence(resp)
        seen = f"{where} with {self.auth.describe()} answered {shown}"
        keys = ("basic-plugin", "anonymous", "wrong", "nonce", "jwt-iss", "jwt-time", "jwt-key", "jwt",
                *_SIGNED_KEYS, "me-other")
        cause = _match(evidence, keys)
        if cause == "anonymous":
            self.not_logged_in(seen)
        elif cause:
            cause = "basic-plugin-app" if cause == "basic-plugin" and self.kind == "app" else cause
            self.add(cause, "credentials", seen=seen, fix=self.wrong()[1],
                     home=self.index.get("home", "the site's home URL"))
        else:
            cause, detail = _answer_cause(resp)
            if cause == "server-auth":
                self.add(cause, seen=f"{where} answered {shown}", detail=detail)
                cause, seen = "me-server-auth", where
            self.add(cause, "credentials", seen=seen, detail=detail)

    def auth_step_failed(self, exc: WPError) -> None:
        """The auth flow itself failed (a JWT login, a cookie login, a redirect, the network)."""
        who = self.auth.describe() if self.auth else ""
        if isinstance(exc, (TransportError, RedirectError)):
            meaning, fix = _told(*_transport_cause(exc, self.client.timeout))
            self.add("step-failed", detail=meaning, fix=fix)
        elif isinstance(exc, APIError):
            message = _strip_tags(exc.message)
            seen = f'{who}: {exc.method} {exc.route or exc.url} answered {exc.status} {exc.code} "{message}"'
            keys = ("login-no-route", "login-app-words", "login-wrong", "login-config", *_SIGNED_KEYS)
            cause = _match(f"{exc.status} {exc.code} {message}", keys) or "login-other"
            self.add(cause, "credentials", seen=seen, fix=exc.hint or "")
        elif isinstance(exc, InvalidResponse) and exc.body_start:
            self.add("step-not-wordpress", detail=f"{who}: {exc}", start=exc.body_start[:120],
                     where=f"{exc.method} {exc.url}")
        else:
            self.add("step-failed", detail=f"{who}: {exc}", fix="")

    def wrong(self) -> tuple[str, str]:
        """(what wrong credentials of this kind are, the fix)."""
        cause = f"wrong-{self.kind}" if self.kind in ("app", "basic", "token") else "wrong-other"
        _, _, _, meaning, fix = _CAUSES[cause]
        secrets = self.auth.secrets() if self.auth else ()
        if self.kind == "app" and not _APP_PASSWORD.match(secrets[0] if secrets else ""):
            fix += _CAUSES["not-app-password"][4]
        return meaning, fix

    def credentials_ok(self, me: dict[str, Any]) -> None:
        if self.kind == "woo":
            self.add("authenticated", detail="the keys' user", roles="not shown to WooCommerce keys")
            self.add("woo-keys")
            return
        roles = [str(r) for r in me.get("roles", [])] if isinstance(me.get("roles"), list) else []
        shown, name, login = ", ".join(roles) or "none", str(me.get("name", "")), str(me.get("username", ""))
        self.add("authenticated", roles=shown, detail=f"{name!r} (login {login!r}, user {me.get('id')})")
        caps, source = me.get("capabilities"), ""
        if isinstance(caps, dict):
            create, publish = caps.get("edit_posts") is True, caps.get("publish_posts") is True
        else:
            create = bool({"administrator", "editor", "author", "contributor"} & set(roles))
            publish, source = bool({"administrator", "editor", "author"} & set(roles)), (
                " (judged by the roles: the answer has no capabilities)")
        cause = "can-publish" if create and publish else "can-draft" if create else "cannot-write"
        self.add(cause, login=str(me.get("username", "this user")), roles=shown, detail=source)
        if self.kind == "basic":
            self.add("basic-auth-plugin")
        if create:
            self.probe_write()

    def not_logged_in(self, seen: str) -> None:
        if self.kind == "cookie":
            self.add("cookie-refused", seen=seen)
            return
        bearer = self.kind == "token"
        probes = {"a": self.probe_validate(), "b": self.probe_site_health()}
        a, b = probes["a"][0], probes["b"][0]
        basic = b == "arrives" or a == "basic"  # PHP_AUTH_* filled: Basic credentials arrive
        if b == "missing" or (bearer and a == "stripped"):
            state = "stripped"
        elif a == "arrives" or (basic and not bearer):
            state = "arrives"
        else:
            state = "mangled" if b == "invalid" else "no-http-auth" if a == "stripped" else "unknown"
        if evidence := "; ".join(text + (" (inconclusive)" if got is None else "")
                                 for got, text in probes.values() if got != "skipped"):
            bearer_unknown = state == "unknown" and bearer and basic
            self.add("header-bearer" if bearer_unknown else "header-" + state, detail=evidence)
        untold = "; ".join(f"({n}) {text}" for n, (got, text) in probes.items() if got in (None, "skipped"))
        unavailable = self.kind == "app" and self.apps_available is False
        wrong, fix = self.wrong()
        if state in ("stripped", "mangled"):
            also = " (and application passwords are unavailable, see app-passwords)" if unavailable else ""
            self.add("anon-stripped", seen=seen, detail=also)
        elif state == "no-http-auth" and not unavailable:
            self.add("anon-no-http-auth", seen=seen, fix=fix)
        elif unavailable:
            arrives = "; the header does reach PHP" if state == "arrives" else ""
            self.add("anon-unavailable", seen=seen, detail=arrives)
        elif state == "arrives":
            self.add("anon-arrives", seen=seen, wrong=wrong, fix=fix,
                     detail=" and application passwords are available" if self.apps_available else "")
        else:
            self.add("anon-unknown", seen=seen, fix=fix, detail=untold or "no probe answered")

    # The probes of the Authorization header return (what they found, what they saw): None when
    # the answer tells nothing, "skipped" (and why) when the probe could not run.

    def probe_validate(self) -> tuple[str | None, str]:
        """Probe (a): the JWT plugin's validate route names a missing or a malformed header."""
        if _ROUTE_VALIDATE not in (self.routes or {}):
            return "skipped", f"no JWT plugin's {_ROUTE_VALIDATE} route"
        try:
            request = self.request("POST", _ROUTE_VALIDATE, headers={"Authorization": _PROBE_AUTHORIZATION})
            resp = self.client.send(request, auth=False, follow_redirects=False)
        except WPError as exc:
            return None, f"POST {_ROUTE_VALIDATE}: {exc}"
        evidence, shown = _evidence(resp)
        seen = f"POST {_ROUTE_VALIDATE} with WordPress's test header (Basic user:pwd) answered {shown}"
        found = {"probe-arrives": "arrives", "probe-stripped": "stripped", "probe-basic-plugin": "basic"}
        if cause := _match(evidence, found):
            return found[cause], seen + _CAUSES[cause][3]
        return None, seen

    def probe_site_health(self) -> tuple[str | None, str]:
        """Probe (b): WordPress's site-health test of the header, after one cookie login."""
        username = self.login_username
        if username is None and (self.kind in ("app", "basic", "cookie") or self.jwt_login):
            username = getattr(self.auth, "username", None)
        if not self.login_password:
            return "skipped", "no login password for WordPress's site-health test"
        if not username:
            return "skipped", "no username for the site-health test's login (login_username)"
        if self.routes is not None and _ROUTE_SITE_HEALTH not in self.routes:
            return "skipped", f"the site has no {_ROUTE_SITE_HEALTH} route"
        what = f"WordPress's site-health test (GET {_ROUTE_SITE_HEALTH} after a cookie login as {username!r})"
        cookie = CookieAuth(username, self.login_password)
        self.probe_auths.append(cookie)
        try:
            request = self.request("GET", _ROUTE_SITE_HEALTH, headers={"Authorization": _PROBE_AUTHORIZATION})
            resp = self.client.with_auth(cookie).send(request)
        except WPError as exc:
            return None, f"{what} failed: {_strip_tags(exc.message) if isinstance(exc, APIError) else exc}"
        value = _json_of(resp)[0]
        if resp.status != 200 or not isinstance(value, dict):
            admin = f" (it needs an administrator: {username} lacks view_site_health_checks)"
            return None, f"{what} answered {_evidence(resp)[1]}{admin if resp.status in (401, 403) else ''}"
        label = _strip_tags(str(value.get("label", "")))
        found = "invalid" if "invalid" in label.lower() else "missing"
        return ("arrives" if value.get("status") == "good" else found), f"{what} says {label!r}"

    def probe_write(self) -> None:
        """A POST with values WordPress must refuse, to show that a write reaches it as a POST."""
        where = "POST /wp/v2/posts (a deliberately invalid post)"
        body = {"status": "wp-rest-doctor-invalid", "author": "wp-rest-doctor-invalid"}
        try:
            request = self.request("POST", "/wp/v2/posts", json=body)
            resp = self.client.send(request, follow_redirects=False)
        except (TransportError, RedirectError) as exc:
            fix = _told(*_transport_cause(exc, self.client.timeout))[1]
            self.add("write-failed", seen=f"{where}: {exc}", fix=fix)
            return
        except WPError as exc:  # the auth flow's own errors say what to fix
            self.add("write-failed", seen=f"{where}: {exc}", fix="")
            return
        value = _json_of(resp)[0]
        evidence, shown = _evidence(resp)
        if resp.status in _REDIRECT_STATUSES and resp.headers.get("Location"):
            target = urllib.parse.urljoin(request.url, str(resp.headers.get("Location")))
            self.add("write-redirected", where=where, detail=f"{resp.status} to {target}",
                     canonical=_site_of(target))
        elif _match(evidence, ("write-ok",)):
            self.post_ok = True
            self.add("write-ok", where=where)
        elif resp.status in (200, 201) and isinstance(value, dict) and "id" in value:
            self.add("write-accepted", seen=f"{where} answered {resp.status}", detail=value.get("id"))
        elif resp.status == 200 and isinstance(value, list):
            self.add("write-as-get", seen=f"{where} answered 200")
        elif cause := _match(evidence, (*_SIGNED_KEYS, "write-refused", "write-other")):
            self.add(cause, "write-path", seen=f"{where} answered {shown}")
        else:
            cause, detail = _answer_cause(resp)
            self.add(cause, "write-path", seen=f"POST {request.url} answered {shown}", detail=detail)


# --- Command line -------------------------------------------------------------


def _add_doctor_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``doctor`` subcommand of ``wp-rest``."""
    doctor = sub.add_parser(
        "doctor", help="diagnose why requests or writes fail (exit 0 when writes can work)",
        description="Check a WordPress site and the credentials from the environment: reachability, "
                    "TLS, redirects, the REST API, application passwords, plugins, clock, whether the "
                    "Authorization header reaches PHP, the user's rights. Reads only. Exit codes: 0 writes "
                    "can work, 1 they cannot, 2 usage error.",
        epilog="A login password (WP_LOGIN_PASSWORD, the variable --login-password-env names, else "
               "WP_PASSWORD when WP_AUTH is jwt or basic) lets doctor log in with a cookie once and run "
               "WordPress's site-health test of the Authorization header (needs an administrator).")
    doctor.add_argument("doctor_url", nargs="?", metavar="URL", help="site URL (default: --url or $WP_URL)")
    doctor.add_argument("--json", action="store_true", help="the report as JSON")
    doctor.add_argument("--ca-bundle", metavar="FILE", help="PEM CA bundle to trust (default: $WP_CA_BUNDLE)")
    doctor.add_argument("--login-password-env", metavar="NAME",
                        help="environment variable holding a login password (default: WP_LOGIN_PASSWORD)")
    doctor.add_argument("--login-user", metavar="NAME",
                        help="user for that login (default: the credentials' user)")


def _connect_options(args: argparse.Namespace, ca_bundle: str | None = None) -> dict[str, Any]:
    """Client options from --timeout, --insecure-http and the CA bundle (given, else $WP_CA_BUNDLE)."""
    ca_bundle = ca_bundle or os.environ.get("WP_CA_BUNDLE", "").strip()
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise ConfigError(f"CA bundle {ca_bundle!r}: no such file")
    return {"timeout": args.timeout, "verify": ca_bundle or True, "allow_insecure_http": args.insecure_http}


def _doctor_command(args: argparse.Namespace) -> int:
    """``wp-rest doctor [URL]``: print the report; 0 when writes can work, 1 when not, 2 on misuse."""
    env = os.environ

    def get(name: str) -> str:
        return env.get(name, "").strip()

    url = args.doctor_url or args.url or get("WP_URL")
    if not url:
        raise ConfigError("doctor needs the site URL: wp-rest doctor https://example.com (or set WP_URL)")
    options = _connect_options(args, args.ca_bundle)
    login_password = env.get(args.login_password_env or "WP_LOGIN_PASSWORD") or None
    if args.login_password_env and not login_password:
        raise ConfigError(f"--login-password-env {args.login_password_env}: that variable is not set")
    if login_password is None and get("WP_AUTH").lower() in ("jwt", "basic"):
        login_password = env.get("WP_PASSWORD") or None
    findings: list[Check] = []
    try:
        auth = _auth_from_env(get)
    except ConfigError as exc:
        auth = None
        findings.append(Check("credentials", "fail", f"the WP_* credential variables are not usable: {exc}",
                              _FIX_NO_CREDENTIALS))
    try:
        client = Client(url, auth=auth, **options)
    except ConfigError as exc:
        if auth is None:
            raise
        client = Client(url, **options)  # a bad URL raises again: a usage error
        findings.append(Check("credentials", "fail", f"not sent: {exc}", "Use the site's https:// address, "
                              "or add --insecure-http (allow_insecure_http=True) if you accept that risk."))
    with client:
        report = _Doctor(client, login_password, args.login_user, findings).run()
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.render())
    return 0 if report.writes_possible else 1


#: How long `wp-rest login` waits for the browser to come back, in seconds.
LOGIN_WAIT = 600.0


def _callback_server(state: str, found: dict[str, str]) -> Any:
    """A one-shot HTTP server on 127.0.0.1 that keeps the query of ``/callback?state=<state>``."""
    import hmac
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
            ours = parts.path == "/callback" and hmac.compare_digest(query.get("state", ""), state)
            if ours and not found:
                found.update(query)
            self.send_response(200 if ours else 404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            done = "nothing was stored" if query.get("success") == "false" else "back to the terminal"
            self.wfile.write(f"wp-rest: {done}; you can close this page.".encode() if ours else b"Not found")

        def log_message(self, *args: Any) -> None:  # the query holds the password: never logged
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 0.5
    return server


def _login_command(args: argparse.Namespace) -> int:
    """`wp-rest login`: approve in the browser, check the password with users/me, then store it."""
    import getpass
    import uuid
    import webbrowser

    site = args.site_url.strip().rstrip("/")
    name = args.name or urllib.parse.urlsplit(site).netloc.replace(":", "-")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ConfigError(f"--name {name!r}: use letters, digits, '.', '_' and '-'")
    kwargs = _connect_options(args)
    with Client(site, **kwargs) as client:
        index = client.request("GET", "/", params={"_fields": "authentication"})
    endpoint = _dig(index, "authentication", "application-passwords", "endpoints", "authorization")
    if not isinstance(endpoint, str):
        raise ConfigError(f"{site} offers no application passwords (no authentication.application-"
                          "passwords in its REST index): WordPress enables them over https, or over "
                          "http where the environment type is 'local'; a plugin may disable them")
    query = {"app_name": args.app_name, "app_id": str(uuid.uuid4())}
    answer: dict[str, str] = {}
    state = uuid.uuid4().hex
    # WordPress takes an http success_url only where the environment type is 'local'
    # (wp_is_authorize_application_redirect_url_valid(), wp-admin/includes/user.php), and an
    # http site offers application passwords only then (wp_is_application_passwords_supported()).
    server = _callback_server(state, answer) if site.startswith("http:") else None
    if server is not None:
        query["success_url"] = f"http://127.0.0.1:{server.server_address[1]}/callback?state={state}"
    url = endpoint + ("&" if "?" in endpoint else "?") + urllib.parse.urlencode(query)
    print(f"Open this page, log in and approve wp-rest:\n  {url}", file=sys.stderr)
    if not args.no_browser:
        webbrowser.open(url)
    if server is None:
        answer = {"user_login": input("WordPress username: ").strip(),
                  "password": getpass.getpass("The application password WordPress shows: ")}
    else:
        deadline = time.monotonic() + LOGIN_WAIT
        with server:
            while not answer and time.monotonic() < deadline:
                server.handle_request()
    if answer.get("success") == "false" or answer.get("error") or not answer.get("password"):
        why = ("no answer from the browser" if not answer else f"WordPress answered error={answer['error']!r}"
               if answer.get("error") else "the request was rejected in the browser")
        raise WPError(f"no application password ({why}); nothing was stored")  # main exits 1
    with Client(site, auth=ApplicationPassword(answer.get("user_login", ""), answer["password"]),
                **kwargs) as client:
        user = client.me()  # raises AuthenticationError if WordPress does not take it
    path = credentials_path()
    data = _read_credentials(path)
    data["sites"][name] = {"url": site, "username": answer["user_login"],
                           "application_password": answer["password"].replace(" ", ""),
                           "app_id": query["app_id"]}
    _write_credentials(path, data)
    print(f"Logged in to {site} as {user.get('username') or answer['user_login']}; stored as site "
          f"{name!r} in {path} (select it with WP_SITE={name})", file=sys.stderr)
    return 0


def _cli_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="wp-rest",
        description="WordPress REST API from the command line. Configuration comes from the environment "
                    "only (never arguments, which `ps` shows): WP_URL; WP_USERNAME with WP_APP_PASSWORD "
                    "(an application password), or with WP_PASSWORD and WP_AUTH=jwt|cookie|basic; or "
                    "WP_JWT_TOKEN; or WP_JWT_SECRET with WP_JWT_USER_ID; WP_CA_BUNDLE for a private CA; "
                    "or a site stored by `wp-rest login` (WP_SITE=NAME).",
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
    psub.add_parser("get", help="one post as JSON").add_argument("id", type=int)
    pupdate = psub.add_parser("update", help="change a post's title, content or status")
    pupdate.add_argument("id", type=int)
    pupdate.add_argument("--title")
    pupdate.add_argument("--content-file", metavar="FILE|-")
    pupdate.add_argument("--status")
    pdelete = psub.add_parser("delete", help="move a post to the trash (--force: delete)")
    pdelete.add_argument("id", type=int)
    pdelete.add_argument("--force", action="store_true")
    sub.add_parser("me", help="the authenticated user (checks the credentials)")
    _add_doctor_parser(sub)
    login = sub.add_parser(
        "login", help="create an application password in the browser and store it",
        description="Opens WordPress's Authorize Application page; after you approve, stores the site "
                    "URL, user and application password in the credentials file (mode 0600; "
                    "$WP_REST_CONFIG, default ~/.config/wp-rest/credentials.json).")
    login.add_argument("site_url", help="the site, e.g. https://example.com")
    login.add_argument("--app-name", default="wp-rest", help="the name WordPress shows for the password")
    login.add_argument("--name", help="store the site under this name (default: its host); "
                                      "select it later with WP_SITE=NAME")
    login.add_argument("--no-browser", action="store_true", help="only print the page's address")
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
        command = {"doctor": _doctor_command, "login": _login_command}.get(args.command)
        if command is not None:
            return command(args)
        env: Mapping[str, str] = {**os.environ, "WP_URL": args.url} if args.url else os.environ
        with Client.from_env(env, timeout=args.timeout, allow_insecure_http=args.insecure_http) as client:
            return _run_command(client, args)
    except WPError as exc:  # one line on stderr; a ConfigError is a usage error
        print(f"wp-rest: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        return 130


def _run_command(client: Client, args: argparse.Namespace) -> int:
    """Run `me` or a `posts` action, printing JSON (or `posts list --table` rows)."""
    rows: Iterable[Mapping[str, Any]]
    if args.command == "me":
        user = client.me()
        rows = [{k: user.get(k) for k in ("id", "username", "name", "email", "roles")}]
    elif args.action == "list":
        params = {"status": args.status, "search": args.search}
        if args.all:
            rows = client.iter_posts(**params)
        else:
            page = client.list_posts(page=args.page, per_page=args.per_page, **params)
            rows = page.items
            print(f"# page {page.page} of {page.total_pages}, {page.total} posts", file=sys.stderr)
    elif args.action == "create":
        rows = [client.create_post(title=args.title, content=_read_content(args.content_file) or "",
                                   status=args.status)]
    elif args.action == "get":
        rows = [client.get_post(args.id)]
    elif args.action == "update":
        fields = {"title": args.title, "content": _read_content(args.content_file), "status": args.status}
        rows = [client.update_post(args.id, **{k: v for k, v in fields.items() if v is not None})]
    else:
        rows = [client.delete_post(args.id, force=args.force)]
    for post in rows:
        if getattr(args, "table", False):  # only `posts list` has --table
            title = post.get("title")
            text = title.get("rendered", "") if isinstance(title, dict) else str(title or "")
            print(f"{post.get('id', ''):>7}  {post.get('status', ''):<8}  {post.get('date', ''):<19}  "
                  f"{_strip_tags(text)}")
        else:
            print(json.dumps(post, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

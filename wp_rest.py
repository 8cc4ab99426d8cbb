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
    "BearerToken",
    "Client",
    "ConfigError",
    "CookieAuth",
    "ExpiredToken",
    "ImmatureToken",
    "InvalidAudience",
    "InvalidIssuer",
    "InvalidResponse",
    "InvalidSignature",
    "JWTAuth",
    "MalformedToken",
    "NotFound",
    "Page",
    "PermissionDenied",
    "RateLimited",
    "RedirectError",
    "Request",
    "Response",
    "Retry",
    "ServerError",
    "TokenError",
    "TransportError",
    "WPError",
    "WeakSecretWarning",
    "jwt_decode",
    "jwt_encode",
    "jwt_peek",
    "main",
]

import argparse
import base64
import binascii
import collections
import concurrent.futures
import dataclasses
import datetime
import email.utils
import hashlib
import hmac
import http.client
import ipaddress
import itertools
import json
import logging
import math
import mimetypes
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

    #: ``create_posts`` only: the results of the posts handled before this error.
    completed: list[Any] | None = None


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


# --- JWT ----------------------------------------------------------------------
# HS256 only (RFC 7518 §3.2), compact serialisation only (RFC 7515 §7.1).
# The algorithm is fixed here and never taken from a token (RFC 8725 §2.1, §3.1).
#
# WPError
#  +-- TokenError                  jwt_decode/jwt_peek rejected a token
#       +-- MalformedToken         not an HS256 JWS with JSON-object header and payload
#       +-- InvalidSignature       HMAC mismatch, or a header alg other than HS256
#       +-- ExpiredToken           exp has passed
#       +-- ImmatureToken          nbf or iat lies in the future
#       +-- InvalidIssuer          iss missing or not the expected one
#       +-- InvalidAudience        aud missing or naming none of the expected audiences

#: HMAC key length below which jwt_encode warns ("a key of the same size as the
#: hash output ... or larger MUST be used", RFC 7518 §3.2).
_JWT_MIN_KEY_BYTES = 32
#: Longest integer accepted in token JSON; CPython's default int_max_str_digits,
#: enforced here even if a program raised the global limit (quadratic parsing).
_JWT_MAX_INT_DIGITS = 4300
#: One base64url segment: RFC 4648 §5 alphabet, no padding (RFC 7515 §2).
_JWT_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class WeakSecretWarning(UserWarning):
    """An HS256 secret shorter than 32 bytes (RFC 7518 §3.2) was used to sign."""


class TokenError(WPError):
    """A JWT was rejected; base of every jwt_decode/jwt_peek error.

    Attributes:
        claim: The header parameter or claim at fault ("alg", "exp", ...), or None.
        value: Its value as found in the token, or None.
    """

    def __init__(self, message: str, *, claim: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.claim = claim
        self.value = value


class MalformedToken(TokenError):
    """The token is not a well-formed HS256 JWS carrying a JSON-object payload."""


class InvalidSignature(TokenError):
    """The HMAC does not match, or the header asks for an algorithm other than HS256."""


class _TimeClaimError(TokenError):
    """A time claim failed; carries the clock reading used."""

    def __init__(
        self,
        message: str,
        *,
        claim: str | None = None,
        value: Any = None,
        now: float = 0.0,
        leeway: float = 0.0,
        by_seconds: float = 0.0,
    ) -> None:
        super().__init__(message, claim=claim, value=value)
        self.now = now
        self.leeway = leeway
        self.by_seconds = by_seconds


class ExpiredToken(_TimeClaimError):
    """``exp`` has passed; ``by_seconds`` is ``now - exp``, ``now``/``leeway`` in seconds."""


class ImmatureToken(_TimeClaimError):
    """``nbf`` or ``iat`` lies in the future; ``by_seconds`` is ``claim - now``."""


class InvalidIssuer(TokenError):
    """``iss`` is missing or differs from ``expected``."""

    def __init__(
        self, message: str, *, claim: str | None = "iss", value: Any = None, expected: str = ""
    ) -> None:
        super().__init__(message, claim=claim, value=value)
        self.expected = expected


class InvalidAudience(TokenError):
    """``aud`` is missing or names none of ``expected``."""

    def __init__(
        self,
        message: str,
        *,
        claim: str | None = "aud",
        value: Any = None,
        expected: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(message, claim=claim, value=value)
        self.expected = expected


def jwt_encode(
    payload: Mapping[str, Any],
    secret: str | bytes,
    *,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``payload`` as a compact HS256 JWT.

    The header is ``{"alg":"HS256","typ":"JWT"}`` followed by ``headers``; keys
    keep their order, JSON is compact UTF-8, segments are unpadded base64url.
    Nothing is added to the payload: WordPress plugins want ``iss``, ``iat``,
    ``nbf``, ``exp`` and ``data.user.id`` (back-date ``iat``/``nbf`` by ~30 s).

    Args:
        payload: The claims; must be JSON-serialisable with finite numbers.
        secret: The HMAC key; a str is used as its UTF-8 bytes, as PHP does.
        headers: Extra header parameters such as ``kid``; ``alg`` may only be
            "HS256" and ``crit`` is refused.

    Returns:
        The token, ``header.payload.signature``.

    Raises:
        ConfigError: Empty secret, another ``alg``, ``crit``, NaN/infinite
            numbers, unpaired surrogates or circular references.
        TypeError: ``secret`` is not str/bytes, ``payload`` not a Mapping, or a
            value is not JSON-serialisable.

    Warns:
        WeakSecretWarning: The secret is shorter than 32 bytes.
    """
    key = _jwt_key(secret)
    if len(key) < _JWT_MIN_KEY_BYTES:
        warnings.warn(
            f"HS256 secret is {len(key)} bytes; RFC 7518 §3.2 requires at least {_JWT_MIN_KEY_BYTES}",
            WeakSecretWarning,
            stacklevel=2,
        )
    if not isinstance(payload, Mapping):
        raise TypeError(f"JWT payload must be a mapping, not {type(payload).__name__}")
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT", **(headers or {})}
    if header["alg"] != "HS256":
        raise ConfigError(f"jwt_encode signs HS256 only, not alg={_jwt_show(header['alg'])}")
    if "crit" in header:
        raise ConfigError("jwt_encode does not support the 'crit' header parameter")
    signing_input = f"{_jwt_b64encode(_jwt_dumps(header))}.{_jwt_b64encode(_jwt_dumps(payload))}"
    return f"{signing_input}.{_jwt_b64encode(_jwt_mac(key, signing_input))}"


def jwt_decode(
    token: str,
    secret: str | bytes,
    *,
    leeway: float | datetime.timedelta = 0,
    issuer: str | None = None,
    audience: str | Iterable[str] | None = None,
    verify_exp: bool = True,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Verify an HS256 JWT and return its claims.

    Checks, in order: three strict base64url segments; a JSON-object header
    whose ``alg`` is exactly "HS256" and that has no ``crit``; the HMAC over the
    received segments (constant time); a JSON-object payload; ``nbf``, ``iat``
    and ``exp``; then ``iss`` and ``aud`` when asked. Time rules follow php-jwt
    (Tmeister) and PyJWT: expired when ``now - leeway >= exp`` (so ``exp == now``
    is expired); not yet valid when ``nbf`` or ``iat`` is ``> now + leeway``.
    Each of ``exp``/``nbf``/``iat`` is optional, but when present must be a
    finite JSON number (not a boolean). ``typ`` is not checked. Whatever the
    token string holds, only TokenError subclasses come out of it.

    JSON objects with a duplicate member name are rejected at any depth
    (RFC 7515 §4 allows rejecting; PHP keeps the last and other parsers the
    first, so accepting would let two verifiers see different claims).
    NaN/Infinity and integers over 4300 digits are rejected too.

    Args:
        token: The compact JWT.
        secret: The HMAC key; a str is used as its UTF-8 bytes.
        leeway: Allowed clock skew, seconds or a timedelta, applied to all
            time claims.
        issuer: If given, ``iss`` must equal it exactly (case-sensitive, as the
            WordPress plugins compare it).
        audience: If given, ``aud`` (a string or a list of strings, RFC 7519
            §4.1.3) must contain it or one of them. If not given, a token that
            carries ``aud`` is accepted unchecked (RFC 7519 §4.1.3 would have
            it rejected, as PyJWT does; WordPress plugins never set ``aud``
            and a client has no audience name of its own).
        verify_exp: False skips the ``exp`` comparison (to renew an expired
            token); its type is still checked.
        clock: Returns the current time as seconds since the epoch.

    Returns:
        The payload as a new dict.

    Raises:
        MalformedToken: Bad shape, base64url, JSON, ``alg`` missing, ``crit``
            present, or a malformed registered claim.
        InvalidSignature: ``alg`` is not HS256, or the HMAC does not match.
        ExpiredToken: ``exp`` has passed.
        ImmatureToken: ``nbf`` or ``iat`` is in the future.
        InvalidIssuer: ``issuer`` given and ``iss`` missing or different.
        InvalidAudience: ``audience`` given and ``aud`` missing or not matching.
        ConfigError: Empty secret, negative or non-finite leeway, empty audience.
        TypeError: ``secret``, ``leeway`` or ``audience`` of the wrong type.
    """
    key = _jwt_key(secret)
    slack = _jwt_leeway(leeway)
    wanted = _jwt_audiences(audience)
    try:
        claims = _jwt_verify(token, key)
        _jwt_check_times(claims, float(clock()), slack, verify_exp)
        if issuer is not None:
            _jwt_check_issuer(claims, issuer)
        if wanted is not None:
            _jwt_check_audience(claims, wanted)
    except TokenError as exc:
        _log.debug("JWT rejected: %s", exc)
        raise
    return claims


def jwt_peek(token: str) -> dict[str, Any]:
    """Return a JWT's payload WITHOUT verifying it.

    UNVERIFIED: anyone can forge what this returns. Use it only to read claims
    of a token someone else signed and you cannot check, such as the ``exp`` of
    a token the server issued, to decide when to renew it. Never base an access
    decision on it.

    Args:
        token: The compact JWT.

    Returns:
        The payload as a new dict.

    Raises:
        MalformedToken: Not three strict base64url segments with JSON-object
            header and payload (same rules as jwt_decode).
    """
    h64, p64, s64 = _jwt_segments(token)
    _jwt_b64decode(s64, "signature")
    _jwt_object(_jwt_b64decode(h64, "header"), "header")
    return _jwt_object(_jwt_b64decode(p64, "payload"), "payload")


def _jwt_key(secret: str | bytes) -> bytes:
    """Return the HMAC key bytes; a str secret is UTF-8, as PHP uses it."""
    if isinstance(secret, str):
        try:
            key: bytes | None = secret.encode("utf-8")
        except UnicodeEncodeError:
            key = None
        if key is None:  # raised outside the handler: the UnicodeEncodeError holds the secret
            raise ConfigError("JWT secret is not valid Unicode (unpaired surrogate)")
    elif isinstance(secret, (bytes, bytearray)):
        key = bytes(secret)
    else:
        raise TypeError(f"JWT secret must be str or bytes, not {type(secret).__name__}")
    if not key:
        raise ConfigError("JWT secret is empty")
    return key


def _jwt_leeway(leeway: float | datetime.timedelta) -> float:
    """Return the leeway in seconds; converted once (PyJWT's pattern)."""
    if isinstance(leeway, datetime.timedelta):
        seconds = leeway.total_seconds()
    elif isinstance(leeway, (int, float)) and not isinstance(leeway, bool):
        try:
            seconds = float(leeway)
        except OverflowError:
            seconds = math.inf
    else:
        raise TypeError(f"leeway must be seconds or a timedelta, not {type(leeway).__name__}")
    if not 0 <= seconds < math.inf:
        raise ConfigError(f"leeway must be finite and >= 0, not {leeway!r}")
    return seconds


def _jwt_audiences(audience: str | Iterable[str] | None) -> frozenset[str] | None:
    if audience is None:
        return None
    wanted = frozenset((audience,) if isinstance(audience, str) else audience)
    if not wanted or not all(isinstance(a, str) for a in wanted):
        raise ConfigError("audience must be a string or a non-empty iterable of strings")
    return wanted


def _jwt_b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _jwt_b64decode(segment: str, what: str) -> bytes:
    """Decode one segment strictly (RFC 7515 §2 and Appendix C)."""
    # urlsafe_b64decode alone silently drops characters outside the alphabet and
    # accepts padding; a length of 4n+1 can never come from an encoder.
    if len(segment) % 4 == 1 or not _JWT_SEGMENT.fullmatch(segment):
        raise MalformedToken(f"{what} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):  # unreachable after the checks above
        raise MalformedToken(f"{what} is not unpadded base64url") from None
    # RFC 4648 §3.5: the unused bits of the last character must be zero; other
    # spellings of the same bytes are non-canonical, so re-encode and compare.
    if _jwt_b64encode(raw) != segment:
        raise MalformedToken(f"{what} is non-canonical base64url (non-zero trailing bits)")
    return raw


def _jwt_dumps(value: Mapping[str, Any]) -> bytes:
    try:
        # ensure_ascii=False: UTF-8 is shorter and refuses unpaired surrogates
        # (RFC 8259 §8.1); allow_nan=False: NaN/Infinity are not JSON.
        text = json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except ValueError as exc:
        raise ConfigError(f"cannot serialise JWT content as JSON: {exc}") from None


def _jwt_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member name")
    return obj


def _jwt_int(text: str) -> int:
    if len(text.lstrip("-")) > _JWT_MAX_INT_DIGITS:
        raise ValueError("integer too long")
    return int(text)


def _jwt_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 parses as inf
        raise ValueError("number out of range")
    return number


def _jwt_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")  # NaN, Infinity, -Infinity (RFC 8259 §6)


def _jwt_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse a segment's bytes as one JSON object."""
    try:
        value = json.loads(
            raw.decode("utf-8"),  # RFC 8259 §8.1; a BOM is then a JSON error
            object_pairs_hook=_jwt_pairs,
            parse_int=_jwt_int,
            parse_float=_jwt_float,
            parse_constant=_jwt_constant,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:80]
        raise MalformedToken(f"{what} is not valid JSON: {reason}") from None
    if not isinstance(value, dict):
        raise MalformedToken(f"{what} is JSON {_jwt_kind(value)}, not an object")
    return value


def _jwt_segments(token: str) -> tuple[str, str, str]:
    if not isinstance(token, str):
        raise MalformedToken(f"token must be a str, not {type(token).__name__}")
    if not token.isascii():
        raise MalformedToken("token contains non-ASCII characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken(f"token has {len(parts)} segments, a JWS has 3 (RFC 7515 §7.1)")
    return parts[0], parts[1], parts[2]


def _jwt_mac(key: bytes, signing_input: str) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def _jwt_verify(token: str, key: bytes) -> dict[str, Any]:
    """Check shape, header and HMAC (RFC 7515 §5.2), then parse the payload."""
    h64, p64, s64 = _jwt_segments(token)
    header_raw = _jwt_b64decode(h64, "header")
    payload_raw = _jwt_b64decode(p64, "payload")
    signature = _jwt_b64decode(s64, "signature")
    header = _jwt_object(header_raw, "header")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise MalformedToken("header has no 'alg' string (RFC 7515 §4.1.1)", claim="alg", value=alg)
    # The algorithm is ours to choose: "none" is unsigned (RFC 7518 §3.6) and
    # RS/ES/PS with an HMAC secret is the alg-confusion attack (RFC 8725 §2.1).
    if alg != "HS256":
        raise InvalidSignature(
            f"algorithm {_jwt_show(alg)} is not accepted, only HS256", claim="alg", value=alg
        )
    # We implement no extension, so any crit is unknown and must fail (§4.1.11);
    # this also refuses RFC 7797 unencoded payloads, which require crit.
    if "crit" in header:
        raise MalformedToken(
            "header has 'crit'; no critical extension is supported",
            claim="crit",
            value=header["crit"],
        )
    # Over the received segments, never re-serialised; constant time (RFC 7518 §3.2).
    if not hmac.compare_digest(signature, _jwt_mac(key, f"{h64}.{p64}")):
        raise InvalidSignature("signature verification failed")
    return _jwt_object(payload_raw, "payload")


def _jwt_numeric(claims: dict[str, Any], name: str) -> float | None:
    """Return a NumericDate claim (RFC 7519 §2) as a float, or None if absent."""
    if name not in claims:
        return None
    value = claims[name]
    # bool is an int subclass in Python, but true/false are not numbers in JSON.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedToken(
            f"claim {name!r} must be a number, not JSON {_jwt_kind(value)}", claim=name, value=value
        )
    try:
        return float(value)
    except OverflowError:
        raise MalformedToken(f"claim {name!r} is out of range", claim=name, value=value) from None


def _jwt_check_times(claims: dict[str, Any], now: float, leeway: float, verify_exp: bool) -> None:
    nbf, iat, exp = (_jwt_numeric(claims, name) for name in ("nbf", "iat", "exp"))
    context = f"now={_jwt_secs(now)}, leeway={_jwt_secs(leeway)} s"
    # RFC 7519 makes iat informational, but php-jwt and PyJWT reject a future iat;
    # nbf and iat are checked before exp, as php-jwt does.
    for name, when in (("nbf", nbf), ("iat", iat)):
        if when is not None and when > now + leeway:
            ahead = when - now
            raise ImmatureToken(
                f"token not valid yet: {name} is {_jwt_secs(ahead)} s in the future"
                f" ({name}={_jwt_secs(when)}, {context})",
                claim=name,
                value=claims[name],
                now=now,
                leeway=leeway,
                by_seconds=ahead,
            )
    # RFC 7519 §4.1.4: now must be *before* exp, so exp == now is expired.
    if verify_exp and exp is not None and now - leeway >= exp:
        ago = now - exp
        raise ExpiredToken(
            f"token expired {_jwt_secs(ago)} s ago (exp={_jwt_secs(exp)}, {context})",
            claim="exp",
            value=claims["exp"],
            now=now,
            leeway=leeway,
            by_seconds=ago,
        )


def _jwt_check_issuer(claims: dict[str, Any], issuer: str) -> None:
    if "iss" not in claims:
        raise InvalidIssuer(f"token has no 'iss' claim, expected {issuer!r}", expected=issuer)
    iss = claims["iss"]
    if iss != issuer:
        raise InvalidIssuer(
            f"issuer mismatch: iss={_jwt_show(iss)}, expected {issuer!r}",
            value=iss,
            expected=issuer,
        )


def _jwt_check_audience(claims: dict[str, Any], wanted: frozenset[str]) -> None:
    expected = ", ".join(repr(a) for a in sorted(wanted))
    if "aud" not in claims:
        raise InvalidAudience(f"token has no 'aud' claim, expected {expected}", expected=wanted)
    aud = claims["aud"]
    # RFC 7519 §4.1.3: a single StringOrURI or an array of them.
    names = [aud] if isinstance(aud, str) else aud
    if not isinstance(names, list) or not all(isinstance(a, str) for a in names):
        raise MalformedToken(
            f"claim 'aud' must be a string or an array of strings, not JSON {_jwt_kind(aud)}",
            claim="aud",
            value=aud,
        )
    if wanted.isdisjoint(names):
        raise InvalidAudience(
            f"audience mismatch: aud={_jwt_show(aud)}, expected {expected}",
            value=aud,
            expected=wanted,
        )


def _jwt_kind(value: Any) -> str:
    """Name a parsed JSON value's type the way JSON does."""
    for kind, name in ((bool, "boolean"), (str, "string"), (dict, "object"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else "number"


def _jwt_show(value: Any) -> str:
    """Short, safe rendering of an untrusted value for messages."""
    flat_list = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if flat_list or value is None or isinstance(value, (str, int, float)):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"<JSON {_jwt_kind(value)}>"  # repr of deep nesting could recurse too far


def _jwt_secs(seconds: float) -> str:
    """Format seconds for messages: 42, 0.5, 1700000000.123."""
    if abs(seconds) >= 1e15:
        return f"{seconds:.6g}"
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


# --- Auth ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Request:
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


class BearerToken(Auth):
    """A ready token sent as ``Authorization: Bearer`` (any JWT plugin or identity provider)."""

    def __init__(self, token: str) -> None:
        if not token or any(c.isspace() for c in token):
            raise ConfigError("BearerToken needs a token without spaces (just the token, no 'Bearer ')")
        self._header = "Bearer " + token

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        yield request.with_headers(Authorization=self._header)

    def __repr__(self) -> str:
        return "BearerToken(token='****')"


def _json_or_none(resp: Response) -> Any:
    try:
        return _decode_json(resp.body)[0]
    except ValueError:
        return None


def _auth_route_request(request: Request, method: str, route: str, *,
                        form: Mapping[str, str] | None = None, json_body: Any = None) -> Request:
    """A request to another route of the same API, sent by an auth flow (no credentials yet)."""
    headers = {k: v for k, v in request.headers.items()
               if k.lower() in ("user-agent", "accept", "accept-encoding")}
    body = None
    if json_body is not None:
        body = _json_dumps(json_body)
        headers["Content-Type"] = "application/json; charset=utf-8"
    elif form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    url = _build_url(request.api_root, route) if route.startswith("/") else route
    return Request(method, url, headers, body, route=route if route.startswith("/") else "",
                   api_root=request.api_root, follow_redirects=False)


def _raise_for(request: Request, resp: Response, what: str) -> NoReturn:
    """An auth step failed: raise the WordPress error, or say what came back."""
    value = _json_or_none(resp)
    if value is None or resp.status < 400:
        raise InvalidResponse(
            f"{what}: unexpected {resp.status} answer ({resp.content_type or 'no content type'}) "
            f"from {request.method} {request.route or request.url}",
            status=resp.status, content_type=resp.content_type, body_start=_body_start(resp.body),
            method=request.method, url=request.url)
    raise _api_error(request, resp, value, authenticated=True)


_JWT_RENEW_CODES = ("jwt_auth_invalid_token", "jwt_auth_obsolete_token", "jwt_auth_bad_iss",
                    "jwt_auth_expired_token")


class JWTAuth(Auth):
    """JSON Web Tokens from a JWT plugin's token route (``/jwt-auth/v1/token``).

    Logs in with the user's login password once, caches the token, renews it
    ahead of its ``exp`` (read without the secret), and on a 401/403 with a
    ``jwt_auth_*`` invalid-token code renews once and retries the request once.
    Both response shapes in the field are read: Tmeister ``{"token": ...}`` and
    Useful Team ``{"success": true, "data": {"token": ...}}``.

    Use ``JWTAuth.self_signed(secret, user_id)`` where you hold the site's
    ``JWT_AUTH_SECRET_KEY``: then no password leaves the process.
    """

    #: Renew a token this many seconds before its ``exp``.
    renew_margin = 60.0

    def __init__(self, username: str, password: str, *, token_route: str = "/jwt-auth/v1/token",  # noqa: S107 (a route)
                 clock: Callable[[], float] = time.time) -> None:
        if not username or not password:
            raise ConfigError("JWTAuth needs a username and the login password")
        self.username = username
        self._password = password
        self._token_route = _check_route(token_route)
        self._clock = clock
        self._secret: bytes | None = None
        self._user_id = ""
        self._issuer: str | None = None
        self._ttl = 300.0
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    @classmethod
    def self_signed(cls, secret: str | bytes, user_id: int | str, *, issuer: str | None = None,
                    ttl: float = 300, clock: Callable[[], float] = time.time) -> JWTAuth:
        """Mint tokens locally in the Tmeister format for a server holding ``JWT_AUTH_SECRET_KEY``.

        Args:
            secret: the site's ``JWT_AUTH_SECRET_KEY`` (the raw string).
            user_id: the WordPress user to act as.
            issuer: the ``iss`` claim; by default the site's ``home`` URL as its
                REST index reports it (the plugin compares it exactly).
            ttl: lifetime of each token in seconds.
        """
        if not secret:
            raise ConfigError("JWTAuth.self_signed needs the site's JWT secret")
        if not str(user_id).isdigit() or int(user_id) <= 0:
            raise ConfigError(f"user_id must be a positive integer, not {user_id!r}")
        auth = cls.__new__(cls)
        auth.username = f"user {user_id}"
        auth._password = ""
        auth._token_route = "/jwt-auth/v1/token"  # noqa: S105 (a route)
        auth._clock = clock
        auth._secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        auth._user_id = str(user_id)
        auth._issuer = issuer
        auth._ttl = float(ttl)
        auth._token = None
        auth._expires = 0.0
        auth._lock = threading.Lock()
        return auth

    def __repr__(self) -> str:
        kind = "self_signed" if self._secret is not None else "password"
        return f"JWTAuth(username={self.username!r}, {kind}='****')"

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        with self._lock:
            token = self._token if self._clock() < self._expires - self.renew_margin else None
        if token is None:
            token = yield from self._renew(request)
        response = yield request.with_headers(Authorization="Bearer " + token)
        if response.status in (401, 403):
            value = _json_or_none(response)
            code = str(value.get("code", "")) if isinstance(value, dict) else ""
            if code in _JWT_RENEW_CODES:
                _log.info("JWT refused (%s); renewing the token once", code)
                token = yield from self._renew(request)
                yield request.with_headers(Authorization="Bearer " + token)

    def _renew(self, request: Request) -> Generator[Request, Response, str]:
        if self._secret is not None:
            token, expires = yield from self._mint(request)
        else:
            token, expires = yield from self._fetch(request)
        with self._lock:
            self._token, self._expires = token, expires
        return token

    def _fetch(self, request: Request) -> Generator[Request, Response, tuple[str, float]]:
        login = _auth_route_request(request, "POST", self._token_route,
                                    json_body={"username": self.username, "password": self._password})
        resp = yield login
        value = _json_or_none(resp)
        if resp.status != 200 or not isinstance(value, dict):
            _raise_for(login, resp, "JWT login failed")
        data = value.get("data")
        token = value.get("token") or (data.get("token") if isinstance(data, dict) else None)
        if not isinstance(token, str):
            _raise_for(login, resp, "the JWT token route answered without a token")
        try:
            exp = jwt_peek(token).get("exp")
        except TokenError:
            exp = None
        expires = float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) \
            else self._clock() + 300
        return token, expires

    def _mint(self, request: Request) -> Generator[Request, Response, tuple[str, float]]:
        if self._issuer is None:
            index_request = _auth_route_request(request, "GET", "/")
            resp = yield index_request
            index = _json_or_none(resp)
            if resp.status != 200 or not isinstance(index, dict) or not isinstance(index.get("home"), str):
                _raise_for(index_request, resp, "reading the site's home URL for the JWT issuer")
            self._issuer = index["home"]
        now = self._clock()
        # Back-dated so a client clock a little ahead of the server's is not
        # refused: the plugins check iat and nbf with no leeway (PROTOCOLS.md 5).
        claims = {"iss": self._issuer, "iat": int(now) - 30, "nbf": int(now) - 30,
                  "exp": int(now + self._ttl), "data": {"user": {"id": self._user_id}}}
        assert self._secret is not None
        return jwt_encode(claims, self._secret), float(claims["exp"])  # type: ignore[arg-type]


class CookieAuth(Auth):
    """Log in through ``wp-login.php`` and send the cookies with a REST nonce (``X-WP-Nonce``).

    Works on any WordPress without plugins, including sites without
    application passwords. A ``403 rest_cookie_invalid_nonce`` fetches a new
    nonce once and retries once. Two-factor and CAPTCHA login plugins break
    this flow; prefer ``ApplicationPassword`` where it is available.
    """

    def __init__(self, username: str, password: str) -> None:
        if not username or not password:
            raise ConfigError("CookieAuth needs a username and the login password")
        self.username = username
        self._password = password
        self._cookies: dict[str, str] = {}
        self._nonce: str | None = None
        self._site_url: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CookieAuth(username={self.username!r}, password='****')"

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        with self._lock:
            cookies, nonce = dict(self._cookies), self._nonce
        if not cookies or nonce is None:
            cookies, nonce = yield from self._login(request)
        response = yield self._signed(request, cookies, nonce)
        if response.status == 403:
            value = _json_or_none(response)
            if isinstance(value, dict) and value.get("code") == "rest_cookie_invalid_nonce":
                _log.info("REST nonce refused; fetching a new one once")
                nonce = yield from self._fetch_nonce(request, cookies)
                response = yield self._signed(request, cookies, nonce)
        fresh = response.headers.get("X-WP-Nonce")
        if fresh:
            with self._lock:
                self._nonce = str(fresh)

    @staticmethod
    def _signed(request: Request, cookies: Mapping[str, str], nonce: str) -> Request:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return request.with_headers(Cookie=cookie, **{"X-WP-Nonce": nonce})

    def _login(self, request: Request) -> Generator[Request, Response, tuple[dict[str, str], str]]:
        if self._site_url is None:
            index_request = _auth_route_request(request, "GET", "/")
            resp = yield index_request
            index = _json_or_none(resp)
            if resp.status != 200 or not isinstance(index, dict) or not isinstance(index.get("url"), str):
                _raise_for(index_request, resp, "reading the site URL for the login form")
            self._site_url = index["url"].rstrip("/")
        # No testcookie field: with it WordPress also wants its test cookie (PROTOCOLS.md 2).
        login = _auth_route_request(request, "POST", self._site_url + "/wp-login.php",
                                    form={"log": self.username, "pwd": self._password})
        resp = yield login
        cookies = _set_cookies(resp)
        if resp.status not in (302, 303) or not any(k.startswith("wordpress_logged_in_") for k in cookies):
            text = resp.body.decode("utf-8", "replace")
            error = re.search(r'id="login_error"[^>]*>(.*?)</div>', text, re.DOTALL)
            why = _strip_tags(error.group(1)) if error else f"{resp.status} without login cookies"
            raise AuthenticationError(
                401, "login_failed", f"wp-login.php refused the login: {why}", None,
                method="POST", url=login.url, route="/wp-login.php",
                hint="Check the login password (CookieAuth takes the login password, not an "
                     "application password); 2FA, CAPTCHA or a renamed login page break this flow.")
        nonce = yield from self._fetch_nonce(request, cookies)
        return cookies, nonce

    def _fetch_nonce(self, request: Request, cookies: dict[str, str]) -> Generator[Request, Response, str]:
        assert self._site_url is not None
        ask = _auth_route_request(request, "GET", self._site_url + "/wp-admin/admin-ajax.php?action=rest-nonce")
        resp = yield ask.with_headers(Cookie="; ".join(f"{k}={v}" for k, v in cookies.items()))
        nonce = resp.body.decode("utf-8", "replace").strip()
        if resp.status != 200 or not re.fullmatch(r"[0-9a-f]{6,32}", nonce):
            raise AuthenticationError(
                resp.status, "rest_nonce_failed",
                f"admin-ajax.php?action=rest-nonce answered {resp.status} {nonce[:40]!r}", None,
                method="GET", url=ask.url, route="/wp-admin/admin-ajax.php",
                hint="The login cookies were not accepted; the session may have expired.")
        with self._lock:
            self._cookies, self._nonce = dict(cookies), nonce
        return nonce


def _set_cookies(resp: Response) -> dict[str, str]:
    """name -> value of the cookies a response sets (deleted ones left out)."""
    cookies: dict[str, str] = {}
    for header in resp.headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0]
        name, _, value = pair.partition("=")
        if name.strip() and value.strip() and value.strip() != "deleted":
            cookies[name.strip()] = value.strip()
    return cookies


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
        return _build_url(self.api_root, route, params)

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
        req = Request(method, url, hdrs, body, route=_check_route(route), api_root=self.api_root)
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
        flow = self.auth.flow(request)
        try:
            req = next(flow)
            while True:
                # An auth flow may log in or fetch tokens; only ever where the API lives.
                _check_transport_security(req.url, self.allow_insecure_http)
                if _origin(req.url) != _origin(request.url):
                    raise ConfigError(f"auth step {req.method} {req.url} would leave {request.url}'s origin")
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
            if (resp.status not in (301, 302, 303, 307, 308) or "Location" not in resp.headers
                    or not request.follow_redirects):
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
        return _api_error(request, resp, value, authenticated=self.auth is not None)

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

    def iter_items(self, route: str, *, concurrency: int = 1, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page as you iterate (100 a page by default).

        Args:
            concurrency: pages fetched in parallel after the first one (which
                tells the page count); items still come in order, and at most
                ``concurrency`` pages are held at once.
        """
        if not (isinstance(concurrency, int) and 1 <= concurrency <= 32):
            raise ConfigError("concurrency must be an integer from 1 to 32")
        params.setdefault("per_page", MAX_PER_PAGE)
        page_no = int(params.pop("page", 1))
        first = self.list_items(route, page=page_no, **params)
        yield from first.items
        if first.next_page is None or not first.items:
            return
        if concurrency == 1:
            page_no = first.next_page
            while True:
                page = self.list_items(route, page=page_no, **params)
                yield from page.items
                if page.next_page is None or not page.items:
                    return
                page_no = page.next_page
        remaining = iter(range(first.next_page, first.total_pages + 1))
        with concurrent.futures.ThreadPoolExecutor(concurrency, "wp_rest-page") as pool:
            window: collections.deque[concurrent.futures.Future[Page]] = collections.deque(
                pool.submit(self.list_items, route, page=n, **params)
                for n in itertools.islice(remaining, concurrency))
            try:
                while window:
                    page = window.popleft().result()
                    for n in itertools.islice(remaining, 1):
                        window.append(pool.submit(self.list_items, route, page=n, **params))
                    yield from page.items
            finally:
                for future in window:
                    future.cancel()

    # -- terms and media --

    def list_terms(self, taxonomy: str, **params: Any) -> Page:
        """One page of a taxonomy's terms: ``"categories"``, ``"tags"`` or another REST base."""
        return self.list_items(f"/wp/v2/{_check_slug(taxonomy)}", **params)

    def create_term(self, taxonomy: str, *, name: str, **fields: Any) -> dict[str, Any]:
        """Create a term; WordPress answers ``400 term_exists`` (with ``data['term_id']``) for a duplicate."""
        result: dict[str, Any] = self.request("POST", f"/wp/v2/{_check_slug(taxonomy)}",
                                              json={"name": name, **fields})
        return result

    def upload_media(self, file: str | os.PathLike[str] | bytes, *, filename: str | None = None,
                     content_type: str | None = None, **fields: Any) -> dict[str, Any]:
        """Upload a file to the media library in one request and return the attachment.

        Args:
            file: a path, or the file's bytes (then ``filename`` is required).
            filename: the name WordPress stores (default: the path's name).
            content_type: the MIME type (default: guessed from the name).
            fields: attachment fields such as ``alt_text``, ``caption``,
                ``title`` or ``post`` (the id of the post it belongs to).
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
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        # WordPress reads only a plain filename= (no RFC 6266 filename*=), so a
        # non-ASCII name travels as its UTF-8 bytes (http.client sends latin-1).
        disposition = f'attachment; filename="{name}"'.encode().decode("latin-1")
        value, _ = self._call("POST", "/wp/v2/media", params=fields or None, body=data,
                              headers={"Content-Type": ctype, "Content-Disposition": disposition})
        result: dict[str, Any] = value
        return result

    # -- posts --

    def create_posts(self, posts: Iterable[Mapping[str, Any]], *,
                     chunk_size: int = 25) -> list[dict[str, Any] | APIError]:
        """Create many posts through ``/batch/v1`` (25 a request), one by one where batching is unavailable.

        Each post is a mapping of fields (``title``, ``content``, ``status``
        defaults to draft...). Returns one entry per post, in order: the
        created post, or the ``APIError`` WordPress gave for that item (other
        items still run: batches are not transactional).

        Raises:
            WPError: a request failed as a whole; its ``completed`` attribute
                holds the results of the posts handled before it, and the
                posts of the failed request may or may not exist.
        """
        if not (isinstance(chunk_size, int) and 1 <= chunk_size <= 25):
            raise ConfigError("chunk_size must be 1 to 25 (WordPress's batch limit)")
        items = [{"status": "draft", **post} for post in posts]
        results: list[dict[str, Any] | APIError] = []
        try:
            for start in range(0, len(items), chunk_size):
                chunk = items[start:start + chunk_size]
                answers = self._batch_create(chunk) if self._batch_ok else None
                if answers is None:
                    answers = [self._create_or_error(item) for item in chunk]
                results.extend(answers)
        except WPError as exc:
            exc.completed = results
            raise
        return results

    #: False once the site showed it has no batch route for posts.
    _batch_ok = True

    def _batch_create(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any] | APIError] | None:
        body = {"requests": [{"method": "POST", "path": "/wp/v2/posts", "body": item} for item in chunk]}
        try:
            value, resp = self._call("POST", "/batch/v1", json=body)
        except NotFound:
            self._batch_ok = False  # WordPress < 5.6, or the route is blocked: nothing ran
            return None
        answers = value.get("responses") if isinstance(value, dict) else None
        if not isinstance(answers, list) or len(answers) != len(chunk):
            raise InvalidResponse("POST /batch/v1 answered without one response per request",
                                  status=resp.status, content_type=resp.content_type,
                                  body_start=_body_start(resp.body), method="POST", url=resp.url)
        out: list[dict[str, Any] | APIError] = []
        for item, answer in zip(chunk, answers, strict=True):
            status = answer.get("status", 500) if isinstance(answer, dict) else 500
            payload = answer.get("body") if isinstance(answer, dict) else None
            if isinstance(payload, dict) and payload.get("code") == "rest_batch_not_allowed":
                self._batch_ok = False  # not executed, so creating it alone cannot duplicate it
                out.append(self._create_or_error(item))
            elif 200 <= status < 300 and isinstance(payload, dict):
                out.append(payload)
            else:
                sub = Request("POST", resp.url, {}, route="/wp/v2/posts (in /batch/v1)")
                out.append(_error_for_status(sub, status, payload, authenticated=self.auth is not None))
        return out

    def _create_or_error(self, item: dict[str, Any]) -> dict[str, Any] | APIError:
        try:
            result: dict[str, Any] = self.request("POST", "/wp/v2/posts", json=item)
            return result
        except APIError as exc:
            return exc


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


def _api_error(request: Request, resp: Response, value: Any, *, authenticated: bool) -> APIError:
    """The ``APIError`` subclass for a WordPress error answer, with a hint where one helps."""
    err = _error_for_status(request, resp.status, value, authenticated=authenticated)
    if isinstance(err, RateLimited):
        err.retry_after = Retry.parse_retry_after(resp.headers.get("Retry-After"))
    return err


def _error_for_status(request: Request, status: int, value: Any, *, authenticated: bool) -> APIError:
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        code, message, data = value["code"], str(value.get("message", "")), value.get("data")
    else:
        code, message, data = "http_error", f"HTTP {status}", value
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
    hint = ""
    if status == 401:
        hint = _HINT_401 if authenticated else _HINT_401_ANONYMOUS
    elif status == 500 and data is None and code in ("incorrect_password", "invalid_username"):
        hint = ("This 500 with data null is the JSON Basic Authentication plugin's answer to "
                "a wrong login password; it also rejects application passwords. Use "
                "BasicAuth with the login password, or remove that plugin and use "
                "ApplicationPassword.")
    elif code.startswith("jwt_auth_"):
        hint = ("The JWT plugin refused the token. JWTAuth renews tokens by itself; for "
                "self-signed tokens the secret must be the site's JWT_AUTH_SECRET_KEY and "
                "iss exactly the site's home URL (see `wp-rest doctor`).")
    return cls(status, code, message, data, method=request.method, url=request.url,
               route=request.route, hint=hint)


def _build_url(root: str, route: str, params: Mapping[str, Any] | None = None) -> str:
    """``route`` below the API ``root``, path-style (``/wp-json/``) or query-style (``?rest_route=``)."""
    route = _check_route(route)
    reserved = _RESERVED_PARAMS.intersection(params or ())
    if reserved:
        raise ConfigError(f"query parameter {sorted(reserved)[0]!r} is reserved: it would change "
                          "the route, the method or the response format that WordPress serves")
    query = [(k, _encode_param(v)) for k, v in (params or {}).items() if v is not None]
    parts = urllib.parse.urlsplit(root)
    if "rest_route=" in parts.query:
        base = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "rest_route"]
        encoded = urllib.parse.urlencode([*base, ("rest_route", route), *query], safe="/:@!$'()*,;")
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, ""))
    path = parts.path.rstrip("/") + route
    encoded = urllib.parse.urlencode(query, safe="/:@!$'()*,;")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, encoded, ""))


def _check_slug(value: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9_-]{1,64}", value):
        raise ConfigError(f"{value!r} is not a REST base such as 'categories' or 'tags'")
    return value


def _safe_filename(name: str) -> str:
    """A bare file name for ``Content-Disposition``: no directories, quotes or control characters."""
    base = re.split(r"[\\/]", name)[-1].strip()
    if not base or base in (".", "..") or any(c in base for c in '"\r\n\x00') or \
            any(ord(c) < 32 for c in base):
        raise ConfigError(f"unusable file name {name!r}: give a plain name such as 'photo.jpg'")
    return base


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
    """The auth that the ``WP_*`` variables describe; exactly one kind may be configured."""
    method = get("WP_AUTH").lower()
    if method not in ("", "application-password", "basic", "jwt", "cookie"):
        raise ConfigError(f"WP_AUTH={method!r}: use application-password (default), basic, jwt or cookie")
    given = [name for name in ("WP_APP_PASSWORD", "WP_PASSWORD", "WP_JWT_TOKEN", "WP_JWT_SECRET")
             if get(name)]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(given)} are both set: set only the one credential to use")
    username = get("WP_USERNAME")
    if get("WP_JWT_TOKEN"):
        return BearerToken(get("WP_JWT_TOKEN"))
    if get("WP_JWT_SECRET"):
        if not get("WP_JWT_USER_ID").isdigit():
            raise ConfigError("WP_JWT_SECRET needs WP_JWT_USER_ID, the numeric id of the user to act as")
        return JWTAuth.self_signed(get("WP_JWT_SECRET"), int(get("WP_JWT_USER_ID")))
    if get("WP_PASSWORD"):
        if not username:
            raise ConfigError("WP_PASSWORD is set but WP_USERNAME is not: set the user's login name")
        if method == "jwt":
            return JWTAuth(username, get("WP_PASSWORD"))
        if method == "cookie":
            return CookieAuth(username, get("WP_PASSWORD"))
        if method == "basic":
            return BasicAuth(username, get("WP_PASSWORD"))
        raise ConfigError("WP_PASSWORD (a login password) needs WP_AUTH=jwt, cookie or basic; "
                          "for an application password use WP_APP_PASSWORD")
    if method in ("jwt", "cookie", "basic"):
        raise ConfigError(f"WP_AUTH={method} needs WP_USERNAME and WP_PASSWORD (the login password)")
    app_password = get("WP_APP_PASSWORD")
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

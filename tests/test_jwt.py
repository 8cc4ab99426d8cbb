"""HS256 JWT: known answers, PyJWT interop, tamper/claim tables and a fuzz loop.

Every test reaches the code through ``wp_rest.<name>``. Test-only dependencies:
pytest, hypothesis and PyJWT (the ``test`` extra in pyproject.toml).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import pickle
import random
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import jwt as pyjwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wp_rest as W

SECRET = "lab-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # 48 bytes: no warning
KEY = SECRET.encode()
NOW = 1_700_000_000.0
HOME = "http://127.0.0.1:8765"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HS256_HEADER = {"alg": "HS256", "typ": "JWT"}
REGISTERED = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})

# RFC 7515 Appendix A.1 (also RFC 7519 §3.1): the header and payload contain CR LF.
A1_KEY = base64.urlsafe_b64decode(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow=="
)
A1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
A1_SIGNATURE = bytes(
    [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
     22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]
)  # fmt: skip
A1_EXP = 1300819380
JWT_IO_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
# Any PEM public key: with alg confusion it would be used as the HMAC secret.
PEM = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"


def clock() -> float:
    return NOW


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def raw_json(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()


def mint(payload: Any, header: Any = HS256_HEADER, key: bytes = KEY) -> str:
    """Sign arbitrary header/payload JSON (or raw bytes) independently of wp_rest."""
    h = b64(raw_json(header))
    p = b64(raw_json(payload))
    return f"{h}.{p}.{b64(hmac.new(key, f'{h}.{p}'.encode(), hashlib.sha256).digest())}"


def decode(token: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("clock", clock)
    return W.jwt_decode(token, kwargs.pop("secret", SECRET), **kwargs)


def rejection(token: str, **kwargs: Any) -> W.TokenError:
    with pytest.raises(W.TokenError) as info:
        decode(token, **kwargs)
    return info.value


# --- Known answers --------------------------------------------------------------


def test_rfc7515_a1_known_answer() -> None:
    signing_input, _, signature = A1_TOKEN.rpartition(".")
    assert unb64(signature) == A1_SIGNATURE
    assert hmac.new(A1_KEY, signing_input.encode(), hashlib.sha256).digest() == A1_SIGNATURE
    claims = W.jwt_decode(A1_TOKEN, A1_KEY, clock=lambda: A1_EXP - 1)
    assert claims == {"iss": "joe", "exp": A1_EXP, "http://example.com/is_root": True}
    assert W.jwt_decode(A1_TOKEN, A1_KEY, issuer="joe", clock=lambda: A1_EXP - 0.001)["iss"] == "joe"
    with pytest.raises(W.ExpiredToken) as at_exp:
        W.jwt_decode(A1_TOKEN, A1_KEY, clock=lambda: A1_EXP)
    assert at_exp.value.by_seconds == 0
    with pytest.raises(W.ExpiredToken) as today:  # the real clock: 2011 is long gone
        W.jwt_decode(A1_TOKEN, A1_KEY)
    assert today.value.by_seconds > 400_000_000
    assert W.jwt_peek(A1_TOKEN) == claims


def test_jwt_io_default_token_both_ways() -> None:
    payload = {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}
    with pytest.warns(W.WeakSecretWarning):
        assert W.jwt_encode(payload, "your-256-bit-secret") == JWT_IO_TOKEN
    assert W.jwt_decode(JWT_IO_TOKEN, "your-256-bit-secret") == payload
    assert W.jwt_decode(JWT_IO_TOKEN, b"your-256-bit-secret") == payload
    with pytest.raises(W.InvalidSignature):
        W.jwt_decode(JWT_IO_TOKEN, "your-256-bit-secreT")


def test_rfc4231_tc2_hmac_primitive() -> None:
    # the primitive both this file's mint() and wp_rest rely on
    mac = hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest()
    assert mac == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_encode_output_shape() -> None:
    token = W.jwt_encode({"b": 1, "a": "é"}, SECRET, headers={"kid": "k1"})
    h, p, s = token.split(".")
    assert unb64(h) == b'{"alg":"HS256","typ":"JWT","kid":"k1"}'
    assert unb64(p) == '{"b":1,"a":"é"}'.encode()  # compact, UTF-8, caller's key order
    assert len(unb64(s)) == 32 and "=" not in token
    assert W.jwt_encode({}, SECRET, headers={"typ": "at+jwt"}).startswith(
        b64(b'{"alg":"HS256","typ":"at+jwt"}')
    )


def test_tmeister_shaped_token_with_php_escaped_slashes() -> None:
    # json_encode() in PHP writes "http:\/\/..." and puts typ first; both are fine.
    payload = (
        b'{"iss":"http:\\/\\/127.0.0.1:8765","iat":1699999970,"nbf":1699999970,'
        b'"exp":1700604770,"data":{"user":{"id":"1"}}}'
    )
    token = mint(payload, {"typ": "JWT", "alg": "HS256"})
    claims = decode(token, issuer=HOME)
    assert claims["data"] == {"user": {"id": "1"}} and claims["iss"] == HOME


# --- PyJWT interop (property based) ----------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
payloads = st.dictionaries(
    st.text(max_size=12).filter(lambda k: k not in REGISTERED), json_values, max_size=6
)
QUICK = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
FAST = settings(QUICK, max_examples=150)


@FAST
@given(payload=payloads)
def test_our_encode_pyjwt_decode(payload: dict[str, Any]) -> None:
    token = W.jwt_encode(payload, SECRET)
    assert pyjwt.decode(token, SECRET, algorithms=["HS256"]) == payload
    assert W.jwt_decode(token, SECRET) == payload
    assert W.jwt_peek(token) == payload


@FAST
@given(payload=payloads)
def test_pyjwt_encode_our_decode(payload: dict[str, Any]) -> None:
    token = pyjwt.encode(payload, SECRET, algorithm="HS256")
    assert W.jwt_decode(token, SECRET) == payload
    assert W.jwt_decode(token, KEY) == payload


# --- Tampering ------------------------------------------------------------------


def flips(token: str) -> Iterator[str]:
    """Every character changed once, and every decoded byte with one bit flipped."""
    for i, ch in enumerate(token):
        if ch != ".":
            yield token[:i] + ALPHABET[(ALPHABET.index(ch) + 1) % 64] + token[i + 1 :]
    segments = token.split(".")
    for n, segment in enumerate(segments):
        raw = unb64(segment)
        for i in range(len(raw)):
            for bit in (0x01, 0x80):
                changed = bytearray(raw)
                changed[i] ^= bit
                yield ".".join([*segments[:n], b64(bytes(changed)), *segments[n + 1 :]])


@pytest.mark.parametrize(
    ("token", "key", "now"),
    [
        (A1_TOKEN, A1_KEY, A1_EXP - 1),
        (W.jwt_encode({"iss": HOME, "exp": NOW + 60, "data": {"user": {"id": "1"}}}, SECRET), KEY, NOW),
        (JWT_IO_TOKEN, b"your-256-bit-secret", NOW),
    ],
    ids=["rfc7515-a1", "tmeister-like", "jwt.io"],
)
def test_every_single_change_is_rejected(token: str, key: bytes, now: float) -> None:
    W.jwt_decode(token, key, clock=lambda: now)
    count = 0
    for bad in flips(token):
        assert bad != token
        with pytest.raises(W.TokenError):
            W.jwt_decode(bad, key, clock=lambda: now)
        count += 1
    assert count > 2 * len(token)
    with pytest.raises(W.InvalidSignature):
        W.jwt_decode(token, key + b"x", clock=lambda: now)


ALG_CASES: list[tuple[str, Any, type[W.TokenError]]] = [
    ("none", {"alg": "none", "typ": "JWT"}, W.InvalidSignature),
    ("None", {"alg": "None"}, W.InvalidSignature),
    ("NONE", {"alg": "NONE"}, W.InvalidSignature),
    ("HS512", {"alg": "HS512", "typ": "JWT"}, W.InvalidSignature),
    ("HS384", {"alg": "HS384"}, W.InvalidSignature),
    ("RS256", {"alg": "RS256"}, W.InvalidSignature),
    ("ES256", {"alg": "ES256"}, W.InvalidSignature),
    ("lowercase", {"alg": "hs256"}, W.InvalidSignature),
    ("trailing-space", {"alg": "HS256 "}, W.InvalidSignature),
    ("missing", {"typ": "JWT"}, W.MalformedToken),
    ("null", {"alg": None}, W.MalformedToken),
    ("list", {"alg": ["HS256"]}, W.MalformedToken),
    ("number", {"alg": 256}, W.MalformedToken),
    ("crit", {"alg": "HS256", "crit": ["exp"]}, W.MalformedToken),
    ("crit-empty", {"alg": "HS256", "crit": []}, W.MalformedToken),
    ("b64-false", {"alg": "HS256", "b64": False, "crit": ["b64"]}, W.MalformedToken),
    ("duplicate-alg", b'{"alg":"none","alg":"HS256"}', W.MalformedToken),
]


@pytest.mark.parametrize(("header", "error"), [c[1:] for c in ALG_CASES], ids=[c[0] for c in ALG_CASES])
def test_header_algorithm_table(header: Any, error: type[W.TokenError]) -> None:
    token = mint({"sub": "1"}, header)  # correctly signed with HS256: only the header is at fault
    exc = rejection(token)
    assert type(exc) is error
    assert exc.claim in {"alg", "crit", None}


def test_alg_none_with_empty_signature() -> None:
    h, p, _ = mint({"sub": "1"}, {"alg": "none"}).split(".")
    for token in (f"{h}.{p}.", f"{h}.{p}"):
        with pytest.raises(W.TokenError):
            decode(token)
    assert rejection(f"{h}.{p}.").claim == "alg"


def test_alg_confusion_rs256_signed_with_public_key() -> None:
    token = mint({"sub": "admin"}, {"alg": "RS256", "typ": "JWT"}, key=PEM)
    exc = rejection(token, secret=PEM)
    assert isinstance(exc, W.InvalidSignature) and exc.claim == "alg" and exc.value == "RS256"
    assert "RS256" in str(exc)


def test_extra_header_parameters_are_ignored() -> None:
    for header in ({"alg": "HS256"}, {"alg": "HS256", "kid": "x", "typ": "JOSE", "x5u": "http://evil"}):
        assert decode(mint({"a": 1}, header)) == {"a": 1}


def noncanonical(segment: str) -> str:
    """Same bytes, different spelling: set unused low bits of the last character."""
    assert len(segment) % 4 in (2, 3)  # 4 or 2 unused bits at the end
    other = ALPHABET[ALPHABET.index(segment[-1]) ^ 1]
    assert unb64(segment[:-1] + other) == unb64(segment)  # a lenient decoder can't tell
    return segment[:-1] + other


def encoding_cases() -> Iterator[tuple[str, str]]:
    # lengths chosen so that no segment is a multiple of 3 bytes (37, 22 and 32 bytes)
    token = W.jwt_encode({"sub": "1", "pad": "xx"}, SECRET, headers={"kid": "k"})
    segments = token.split(".")
    assert all(len(s) % 4 in (2, 3) for s in segments)
    for n, name in enumerate(("header", "payload", "signature")):

        def put(new: str, n: int = n) -> str:
            return ".".join([*segments[:n], new, *segments[n + 1 :]])

        seg = segments[n]
        yield f"{name}-padded", put(seg + "=" * (-len(seg) % 4))
        yield f"{name}-one-equals", put(seg + "=")
        yield f"{name}-noncanonical", put(noncanonical(seg))
        yield f"{name}-4n+1", put(seg + "A" * ((1 - len(seg)) % 4))
        standard = base64.b64encode(unb64(seg)).decode().rstrip("=")
        if standard != seg:
            yield f"{name}-standard-alphabet", put(standard)
        for ch in "+/= \t\n\r%*~\x00é":
            yield f"{name}-char-{ord(ch):x}", put(seg[:5] + ch + seg[6:])
            yield f"{name}-insert-{ord(ch):x}", put(seg[:5] + ch + seg[5:])
        yield f"{name}-empty", put("")
    for ws in (" ", "\n", "\t", "\r\n", "\ufeff", "\u00a0"):
        yield f"leading-{ws!r}", ws + token
        yield f"trailing-{ws!r}", token + ws
    yield "bearer-prefix", "Bearer " + token


@pytest.mark.parametrize(("name", "token"), list(encoding_cases()))
def test_strict_base64url_table(name: str, token: str) -> None:
    exc = rejection(token)
    # an empty payload or signature is valid base64url of b"": only the MAC fails
    expected = W.InvalidSignature if name in {"payload-empty", "signature-empty"} else W.MalformedToken
    assert type(exc) is expected
    if name.endswith("noncanonical"):
        assert "non-canonical" in str(exc)


def test_non_canonical_signature_is_rejected_even_though_the_bytes_match() -> None:
    h, p, s = W.jwt_encode({"sub": "1"}, SECRET).split(".")
    other = noncanonical(s)
    assert unb64(other) == unb64(s) and other != s
    with pytest.raises(W.MalformedToken, match="non-canonical"):
        decode(f"{h}.{p}.{other}")


@pytest.mark.parametrize(
    "token",
    ["", ".", "..", "...", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "x" * 100],
)
def test_segment_count(token: str) -> None:
    assert isinstance(rejection(token), W.MalformedToken)


def test_two_and_four_segments_from_a_valid_token() -> None:
    token = W.jwt_encode({"sub": "1"}, SECRET)
    h, p, s = token.split(".")
    for bad in (f"{h}.{p}", f"{p}.{s}", f"{token}.", f".{token}", f"{token}.{s}", f"{h}.{h}.{p}.{s}"):
        exc = rejection(bad)
        assert isinstance(exc, W.MalformedToken) and "segments" in str(exc)


JSON_CASES: list[tuple[str, bytes]] = [
    ("array", b"[]"),
    ("string", b'"x"'),
    ("number", b"1"),
    ("null", b"null"),
    ("true", b"true"),
    ("empty", b""),
    ("truncated", b'{"a":1'),
    ("trailing-garbage", b'{"a":1}x'),
    ("two-objects", b"{}{}"),
    ("single-quotes", b"{'a':1}"),
    ("bom", b'\xef\xbb\xbf{"a":1}'),
    ("latin1", b'{"a":"\xe9"}'),
    ("utf16", '{"a":1}'.encode("utf-16")),
    ("nan", b'{"a":NaN}'),
    ("infinity", b'{"a":-Infinity}'),
    ("huge-float", b'{"a":1e999}'),
    ("huge-int", b'{"a":' + b"9" * 5000 + b"}"),
    ("duplicate", b'{"a":1,"a":2}'),
    ("nested-duplicate", b'{"d":{"x":1,"x":1}}'),
    ("deep-array", b"[" * 100_000 + b"]" * 100_000),
    ("deep-object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("control-char", b'{"a":"\x01"}'),
]


@pytest.mark.parametrize(("payload"), [c[1] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES])
def test_payload_json_table(payload: bytes) -> None:
    token = mint(payload)  # validly signed: the payload itself is at fault
    assert isinstance(rejection(token), W.MalformedToken)
    with pytest.raises(W.MalformedToken):
        W.jwt_peek(token)


@pytest.mark.parametrize(("header"), [c[1] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES])
def test_header_json_table(header: bytes) -> None:
    assert isinstance(rejection(mint({"a": 1}, header)), W.MalformedToken)


def test_big_but_legal_numbers_survive() -> None:
    payload = {"big": 10**4000, "neg": -(10**300), "f": 1.7976931348623157e308, "tiny": 5e-324}
    assert decode(W.jwt_encode(payload, SECRET)) == payload


# --- Claims ---------------------------------------------------------------------

Leeway = float | datetime.timedelta
TIME_CASES: list[tuple[str, dict[str, Any], Leeway, type[W.TokenError] | None, float]] = [
    ("exp-future", {"exp": NOW + 1}, 0, None, 0),
    ("exp-float-future", {"exp": NOW + 0.25}, 0, None, 0),
    ("exp-equals-now", {"exp": NOW}, 0, W.ExpiredToken, 0),
    ("exp-past", {"exp": NOW - 42}, 0, W.ExpiredToken, 42),
    ("exp-past-float", {"exp": NOW - 0.5}, 0, W.ExpiredToken, 0.5),
    ("exp-leeway-boundary", {"exp": NOW - 1}, 1, W.ExpiredToken, 1),
    ("exp-leeway-float", {"exp": NOW - 1}, 1.5, None, 0),
    ("exp-leeway-timedelta", {"exp": NOW - 1}, datetime.timedelta(seconds=2), None, 0),
    ("exp-leeway-timedelta-boundary", {"exp": NOW - 2}, datetime.timedelta(seconds=2), W.ExpiredToken, 2),
    ("exp-beyond-leeway", {"exp": NOW - 100}, 60, W.ExpiredToken, 100),
    ("nbf-now", {"nbf": NOW}, 0, None, 0),
    ("nbf-past", {"nbf": NOW - 10}, 0, None, 0),
    ("nbf-future", {"nbf": NOW + 1}, 0, W.ImmatureToken, 1),
    ("nbf-future-float", {"nbf": NOW + 0.001}, 0, W.ImmatureToken, 0.001),
    ("nbf-leeway-boundary", {"nbf": NOW + 1}, 1, None, 0),
    ("nbf-beyond-leeway", {"nbf": NOW + 1.5}, 1, W.ImmatureToken, 1.5),
    ("nbf-leeway-timedelta", {"nbf": NOW + 30}, datetime.timedelta(minutes=1), None, 0),
    ("iat-past", {"iat": NOW - 30}, 0, None, 0),
    ("iat-now", {"iat": NOW}, 0, None, 0),
    ("iat-future", {"iat": NOW + 30}, 0, W.ImmatureToken, 30),
    ("iat-future-leeway", {"iat": NOW + 30}, 30, None, 0),
    ("tmeister", {"iat": NOW, "nbf": NOW, "exp": NOW + 7 * 86400}, 0, None, 0),
    ("nbf-checked-first", {"nbf": NOW + 5, "iat": NOW + 6, "exp": NOW - 1}, 0, W.ImmatureToken, 5),
]


@pytest.mark.parametrize(
    ("claims", "leeway", "error", "by"), [c[1:] for c in TIME_CASES], ids=[c[0] for c in TIME_CASES]
)
def test_time_claims_table(
    claims: dict[str, Any], leeway: Leeway, error: type[W.TokenError] | None, by: float
) -> None:
    token = W.jwt_encode(claims, SECRET)
    if error is None:
        assert decode(token, leeway=leeway) == claims
        return
    with pytest.raises(error) as info:
        decode(token, leeway=leeway)
    exc = info.value
    assert isinstance(exc, (W.ExpiredToken, W.ImmatureToken))
    assert exc.claim in claims and exc.value == claims[exc.claim]
    assert exc.now == NOW
    assert exc.by_seconds == pytest.approx(by, abs=1e-6)
    expected_leeway = leeway.total_seconds() if isinstance(leeway, datetime.timedelta) else leeway
    assert exc.leeway == expected_leeway
    message = str(exc)
    assert exc.claim in message and f"leeway={expected_leeway:g} s" in message
    assert f"{by:g} s" in message


def test_expired_message_format() -> None:
    exc = rejection(W.jwt_encode({"exp": 1_699_999_958}, SECRET))
    assert str(exc) == "token expired 42 s ago (exp=1699999958, now=1700000000, leeway=0 s)"
    exc = rejection(W.jwt_encode({"nbf": NOW + 30}, SECRET), leeway=5)
    assert (
        str(exc)
        == "token not valid yet: nbf is 30 s in the future (nbf=1700000030, now=1700000000, leeway=5 s)"
    )


def test_verify_exp_false_skips_only_the_comparison() -> None:
    token = W.jwt_encode({"exp": NOW - 3600}, SECRET)
    assert decode(token, verify_exp=False) == {"exp": NOW - 3600}
    with pytest.raises(W.MalformedToken):
        decode(W.jwt_encode({"exp": "soon"}, SECRET), verify_exp=False)
    with pytest.raises(W.ImmatureToken):
        decode(W.jwt_encode({"nbf": NOW + 3600}, SECRET), verify_exp=False)


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [True, False, None, "1700000000", [NOW], {"t": NOW}, 10**400], ids=repr)
def test_malformed_numeric_claims(claim: str, value: Any) -> None:
    exc = rejection(mint({claim: value}))
    assert isinstance(exc, W.MalformedToken) and exc.claim == claim and exc.value == value
    assert repr(claim) in str(exc)


ISSUER_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("exact", {"iss": HOME}, True),
    ("trailing-slash", {"iss": HOME + "/"}, False),
    ("https", {"iss": HOME.replace("http", "https")}, False),
    ("case", {"iss": HOME.upper()}, False),
    ("missing", {}, False),
    ("number", {"iss": 1}, False),
    ("null", {"iss": None}, False),
    ("list", {"iss": [HOME]}, False),
]


@pytest.mark.parametrize(("claims", "ok"), [c[1:] for c in ISSUER_CASES], ids=[c[0] for c in ISSUER_CASES])
def test_issuer_table(claims: dict[str, Any], ok: bool) -> None:
    token = W.jwt_encode(claims, SECRET)
    assert decode(token) == claims  # not checked unless asked
    if ok:
        assert decode(token, issuer=HOME) == claims
        return
    with pytest.raises(W.InvalidIssuer) as info:
        decode(token, issuer=HOME)
    assert info.value.claim == "iss" and info.value.expected == HOME
    assert info.value.value == claims.get("iss") and "iss" in str(info.value)


AUDIENCE_CASES: list[tuple[str, dict[str, Any], Any, type[W.TokenError] | None]] = [
    ("string", {"aud": "a"}, "a", None),
    ("list-hit", {"aud": ["a", "b"]}, "b", None),
    ("several-wanted", {"aud": "b"}, ["x", "b"], None),
    ("tuple-wanted", {"aud": ["a"]}, ("a",), None),
    ("unchecked", {"aud": "a"}, None, None),
    ("unchecked-malformed", {"aud": 7}, None, None),
    ("mismatch", {"aud": "a"}, "b", W.InvalidAudience),
    ("list-miss", {"aud": ["a", "c"]}, {"b"}, W.InvalidAudience),
    ("case", {"aud": "A"}, "a", W.InvalidAudience),
    ("empty-list", {"aud": []}, "a", W.InvalidAudience),
    ("missing", {}, "a", W.InvalidAudience),
    ("number", {"aud": 1}, "a", W.MalformedToken),
    ("list-of-numbers", {"aud": ["a", 1]}, "a", W.MalformedToken),
    ("object", {"aud": {"a": 1}}, "a", W.MalformedToken),
    ("null", {"aud": None}, "a", W.MalformedToken),
]


@pytest.mark.parametrize(
    ("claims", "audience", "error"), [c[1:] for c in AUDIENCE_CASES], ids=[c[0] for c in AUDIENCE_CASES]
)
def test_audience_table(claims: dict[str, Any], audience: Any, error: type[W.TokenError] | None) -> None:
    token = W.jwt_encode(claims, SECRET)
    if error is None:
        assert decode(token, audience=audience) == claims
        return
    with pytest.raises(error) as info:
        decode(token, audience=audience)
    assert type(info.value) is error and info.value.claim == "aud"
    if isinstance(info.value, W.InvalidAudience):
        wanted = {audience} if isinstance(audience, str) else set(audience)
        assert info.value.expected == wanted and "aud" in str(info.value)


# --- Configuration errors and the weak-secret warning ---------------------------


def test_configuration_errors() -> None:
    token = W.jwt_encode({"a": 1}, SECRET)
    cases: list[tuple[Callable[[], object], type[Exception]]] = [
        (lambda: W.jwt_encode({}, ""), W.ConfigError),
        (lambda: W.jwt_encode({}, b""), W.ConfigError),
        (lambda: W.jwt_decode(token, ""), W.ConfigError),
        (lambda: W.jwt_encode({}, "\ud800" * 40), W.ConfigError),
        (lambda: W.jwt_encode({}, SECRET, headers={"alg": "HS512"}), W.ConfigError),
        (lambda: W.jwt_encode({}, SECRET, headers={"alg": "none"}), W.ConfigError),
        (lambda: W.jwt_encode({}, SECRET, headers={"crit": ["x"]}), W.ConfigError),
        (lambda: W.jwt_encode({"f": float("nan")}, SECRET), W.ConfigError),
        (lambda: W.jwt_encode({"s": "\udc80"}, SECRET), W.ConfigError),
        (lambda: decode(token, leeway=-1), W.ConfigError),
        (lambda: decode(token, leeway=float("inf")), W.ConfigError),
        (lambda: decode(token, leeway=datetime.timedelta(seconds=-1)), W.ConfigError),
        (lambda: decode(token, audience=[]), W.ConfigError),
        (lambda: decode(token, audience=[1]), W.ConfigError),
        (lambda: W.jwt_encode({"o": object()}, SECRET), TypeError),
        (lambda: W.jwt_encode([("a", 1)], SECRET), TypeError),  # type: ignore[arg-type]
        (lambda: W.jwt_encode({}, 12345), TypeError),  # type: ignore[arg-type]
        (lambda: decode(token, leeway="5"), TypeError),
        (lambda: decode(token, leeway=True), TypeError),
    ]
    for call, error in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", W.WeakSecretWarning)
            with pytest.raises(error) as info:
                call()
        assert not isinstance(info.value, W.TokenError)
        if error is W.ConfigError:
            assert isinstance(info.value, (W.WPError, ValueError))
        assert SECRET not in str(info.value)


def test_weak_secret_warning() -> None:
    with pytest.warns(W.WeakSecretWarning, match="31 bytes") as record:
        W.jwt_encode({"a": 1}, "x" * 31)
    assert record[0].filename == __file__  # stacklevel=2 points at the caller
    assert "x" * 31 not in str(record[0].message)
    assert issubclass(W.WeakSecretWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W.jwt_encode({"a": 1}, "x" * 32)
        W.jwt_encode({"a": 1}, bytes(32))
        W.jwt_decode(JWT_IO_TOKEN, "your-256-bit-secret")  # only signing warns


def test_error_hierarchy_and_pickling() -> None:
    for cls in (
        W.MalformedToken,
        W.InvalidSignature,
        W.ExpiredToken,
        W.ImmatureToken,
        W.InvalidIssuer,
        W.InvalidAudience,
    ):
        assert issubclass(cls, W.TokenError) and not issubclass(cls, W.ConfigError)
    assert issubclass(W.TokenError, W.WPError)
    exc = rejection(W.jwt_encode({"exp": NOW - 42}, SECRET))
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is W.ExpiredToken and str(copy) == str(exc)
    assert isinstance(copy, W.ExpiredToken) and (copy.claim, copy.by_seconds, copy.now) == ("exp", 42, NOW)


def test_messages_never_contain_the_secret_or_the_token() -> None:
    cases = [
        W.jwt_encode({"exp": NOW - 42}, SECRET),
        W.jwt_encode({"nbf": NOW + 42}, SECRET),
        W.jwt_encode({"iss": "other"}, SECRET),
        W.jwt_encode({"aud": "other"}, SECRET),
        W.jwt_encode({"exp": True}, SECRET),
        mint({"a": 1}, {"alg": "HS512"}),
        mint({"a": 1}, {"alg": "HS256", "crit": ["x"]}),
        mint({"a": 1}, key=b"wrong-key-wrong-key-wrong-key-wrong"),
        mint(b'{"a":' + SECRET.encode()),
        mint({"iss": "x" * 500}),
        *list(flips(W.jwt_encode({"sub": "1"}, SECRET)))[:40],
    ]
    for token in cases:
        try:
            decode(token, issuer=HOME, audience="me")
        except W.TokenError as exc:
            text = f"{exc} {exc!r} {exc.args}"
            assert SECRET not in text and token not in text
            assert token.rpartition(".")[2] not in text  # nor the signature
        else:
            raise AssertionError("accepted")


# --- jwt_peek ----------------------------------------------------------------------


def test_peek_reads_without_verifying() -> None:
    claims = {"iss": HOME, "exp": NOW - 10, "data": {"user": {"id": "1"}}}
    token = W.jwt_encode(claims, "a secret we do not hold, at least 32 bytes")
    assert W.jwt_peek(token) == claims
    h, p, s = token.split(".")
    assert W.jwt_peek(f"{h}.{p}.{b64(b'forged')}") == claims  # unverified by design
    assert W.jwt_peek(mint(claims, {"alg": "none"})) == claims
    for garbage in ("", "a.b", "a.b.c", f"{h}.{p}", f"{h}.{p}.=", f"{h}.{b64(b'[1]')}.{s}", f"{h}.{p}.{s}.x"):
        with pytest.raises(W.MalformedToken):
            W.jwt_peek(garbage)



@pytest.mark.parametrize("token", [b"a.b.c", None, 12345], ids=repr)
def test_a_token_that_is_not_a_str_is_malformed_not_a_type_error(token: Any) -> None:
    for call in (lambda: decode(token), lambda: W.jwt_peek(token)):
        with pytest.raises(W.MalformedToken, match=f"token must be a str, not {type(token).__name__}"):
            call()


def test_a_leeway_too_big_for_a_float_is_a_config_error() -> None:
    with pytest.raises(W.ConfigError, match="leeway must be finite and >= 0"):
        decode(W.jwt_encode({"a": 1}, SECRET), leeway=10**400)


def test_a_nested_value_is_named_by_its_json_kind_in_messages() -> None:
    with pytest.raises(W.ConfigError, match=r"not alg=<JSON object>"):
        W.jwt_encode({}, SECRET, headers={"alg": {"name": "HS256"}})
    exc = rejection(mint({"iss": {"url": HOME}}), issuer=HOME)
    assert isinstance(exc, W.InvalidIssuer) and "iss=<JSON object>" in str(exc)

# --- Fuzzing ---------------------------------------------------------------------

FUZZ = settings(QUICK, max_examples=1000)


def only_token_errors(token: str, **kwargs: Any) -> dict[str, Any] | None:
    try:
        return decode(token, **kwargs)
    except W.TokenError:
        return None


@FUZZ
@given(token=st.text())
def test_fuzz_arbitrary_text(token: str) -> None:
    assert only_token_errors(token) is None
    with pytest.raises(W.MalformedToken):
        W.jwt_peek(token)


segments = st.text(alphabet=ALPHABET + "+/=. \n", max_size=60)


@settings(QUICK, max_examples=500)
@given(parts=st.lists(segments, min_size=1, max_size=5))
def test_fuzz_token_shaped(parts: list[str]) -> None:
    assert only_token_errors(".".join(parts)) is None


@settings(QUICK, max_examples=300)
@given(
    header=json_values
    | st.fixed_dictionaries({"alg": st.just("HS256")}, optional={"crit": json_values, "typ": json_values}),
    payload=json_values | payloads | st.binary(max_size=40),
    issuer=st.none() | st.just(HOME),
    audience=st.none() | st.just("me"),
    leeway=st.floats(min_value=0, max_value=1e6),
)
def test_fuzz_validly_signed_json(
    header: Any, payload: Any, issuer: str | None, audience: str | None, leeway: float
) -> None:
    token = mint(payload, header)
    result = only_token_errors(token, issuer=issuer, audience=audience, leeway=leeway)
    if result is not None:  # accepted: then it must really be what was signed
        assert header["alg"] == "HS256" and "crit" not in header
        assert result == json.loads(raw_json(payload))


def mutate(rng: random.Random, token: str, key: bytes) -> tuple[str, bool]:
    """One random mutation; returns (token, resigned) where resigned keeps the MAC valid."""
    h, p, s = token.split(".")
    kind = rng.randrange(12)
    pos = rng.randrange(len(token) + 1)
    junk = rng.choice(
        [rng.choice(ALPHABET), rng.choice("+/=.% \t\n\x00"), chr(rng.randrange(0x80, 0x110000))]
    )
    if kind == 0:  # substitute
        return token[:pos] + junk + token[pos + 1 :], False
    if kind == 1:  # insert
        return token[:pos] + junk + token[pos:], False
    if kind == 2:  # delete
        return token[:pos] + token[pos + 1 :], False
    if kind == 3:  # truncate
        return token[:pos], False
    if kind == 4:  # swap or repeat segments
        parts = [h, p, s]
        return ".".join(rng.choice(parts) for _ in range(rng.choice([2, 3, 3, 4]))), False
    if kind == 5:  # random base64url segment
        parts = [h, p, s]
        parts[rng.randrange(3)] = b64(rng.randbytes(rng.randrange(48)))
        return ".".join(parts), False
    if kind == 6:  # random unicode string
        return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(60))), False
    if kind == 7:  # bit flip inside a decoded segment
        parts = [h, p, s]
        n = rng.randrange(3)
        raw = bytearray(unb64(parts[n]))
        if raw:
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        parts[n] = b64(bytes(raw))
        return ".".join(parts), False
    # re-signed with the right key: the JSON itself is mutated, the MAC is valid
    which = rng.randrange(2)
    raw = bytearray(unb64((h, p)[which]))
    for _ in range(rng.randrange(1, 4)):
        i = rng.randrange(len(raw) + 1)
        op = rng.randrange(3)
        if op == 0 and raw:
            raw[i % len(raw)] = rng.choice(b'{}[]",:0e-.\\tfn\xff\x80 ')
        elif op == 1:
            raw[i:i] = rng.choice(
                [
                    b"[",
                    b"{",
                    b'"',
                    b"1e999",
                    b"9" * 5000,
                    b"NaN",
                    b'"exp":true,',
                    b'"alg":"none",',
                    b"\xc3",
                    b"\x00",
                ]
            )
        else:
            del raw[i : i + rng.randrange(1, 4)]
    header_raw, payload_raw = (bytes(raw), unb64(p)) if which == 0 else (unb64(h), bytes(raw))
    return mint(payload_raw, header_raw, key), True


LEEWAYS: list[Leeway] = [0, 1.5, datetime.timedelta(minutes=5)]


def test_fuzz_seeded_mutations() -> None:
    rng = random.Random(20240611)
    tmeister = {
        "iss": HOME,
        "iat": NOW - 30,
        "nbf": NOW - 30,
        "exp": NOW + 300,
        "data": {"user": {"id": "1"}},
    }
    mixed = {"sub": "ü∂ƒ©", "aud": ["me", "you"], "n": [1, 2.5, None, True, {"x": 10**30}]}
    seeds = [  # (token, key, a time at which it is valid)
        (W.jwt_encode(tmeister, SECRET), KEY, NOW),
        (W.jwt_encode(mixed, SECRET), KEY, NOW),
        (JWT_IO_TOKEN, b"your-256-bit-secret", NOW),
        (A1_TOKEN, A1_KEY, A1_EXP - 1.0),
    ]
    runs = accepted = 0
    for _ in range(6000):
        token, key, now = rng.choice(seeds)

        def at_now(now: float = now) -> float:
            return now

        assert W.jwt_decode(token, key, clock=at_now)
        for _ in range(4):
            bad, resigned = mutate(rng, token, key)
            leeway = rng.choice(LEEWAYS)
            try:
                W.jwt_decode(bad, key, clock=at_now, leeway=leeway)
            except W.TokenError:
                pass
            else:
                accepted += 1
                assert resigned or bad == token, "a mutated token was accepted"
            try:
                W.jwt_peek(bad)
            except W.MalformedToken:
                pass
            runs += 1
    assert runs >= 20_000 and accepted < runs // 4

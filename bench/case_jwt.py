# ruff: noqa: RUF001  (table text uses the multiplication sign, micro and en dash on purpose)
"""Case 3: JWT HS256 encode and decode-with-verify per second, against PyJWT.

The same WordPress-style claims (``iss``, ``iat``, ``nbf``, ``exp``,
``data.user.id``) and the same 48-byte secret for both. Decoding verifies the
signature and the time claims in both libraries; each decodes the other's
tokens (checked before timing).
"""

from __future__ import annotations

import time
from typing import Any

from common import CaseResult, Row, Stat, Target, paired_ratios, profile_top, rounds

TARGET = 1.5
SECRET = "wp-rest-bench-jwt-secret-0123456789abcdef-xyz!"


def run(quick: bool) -> CaseResult:
    import jwt

    import wp_rest

    result = CaseResult(3, "jwt", "JWT HS256 encode / decode-with-verify vs PyJWT",
                        ratio_label="× PyJWT's rate")
    now = int(time.time())
    claims: dict[str, Any] = {"iss": "https://example.com", "iat": now - 30, "nbf": now - 30,
                              "exp": now + 3600, "data": {"user": {"id": "1"}}}
    ours = wp_rest.jwt_encode(claims, SECRET)
    theirs = jwt.encode(claims, SECRET, algorithm="HS256")
    if not (jwt.decode(ours, SECRET, algorithms=["HS256"]) == wp_rest.jwt_decode(theirs, SECRET)
            == claims):
        raise AssertionError("wp_rest and PyJWT do not decode each other's tokens to the same claims")
    fns = {
        "wp_rest.jwt_encode": lambda: wp_rest.jwt_encode(claims, SECRET),
        "jwt.encode (PyJWT)": lambda: jwt.encode(claims, SECRET, algorithm="HS256"),
        "wp_rest.jwt_decode": lambda: wp_rest.jwt_decode(ours, SECRET),
        "jwt.decode (PyJWT)": lambda: jwt.decode(ours, SECRET, algorithms=["HS256"]),
    }
    n_rounds, number = (5, 1500) if quick else (15, 5000)
    times = rounds(fns, rounds=n_rounds, number=number, warmup=500)
    for ours_name, theirs_name in (("wp_rest.jwt_encode", "jwt.encode (PyJWT)"),
                                   ("wp_rest.jwt_decode", "jwt.decode (PyJWT)")):
        speed = paired_ratios(times[theirs_name], times[ours_name])
        result.rows.append(Row(ours_name, Stat([1 / t for t in times[ours_name]]), "ops/s",
                               speed.median))
        result.rows.append(Row(theirs_name, Stat([1 / t for t in times[theirs_name]]), "ops/s", 1.0))
        what = "encode" if "encode" in ours_name else "decode with verify"
        result.targets.append(Target(f"{what}: at least {TARGET}× PyJWT's rate",
                                     f"{speed.median:.2f}× (IQR {speed.q1:.2f}–{speed.q3:.2f})",
                                     speed.median >= TARGET))
    calls = 2000 if quick else 10000
    result.profile = (profile_top(lambda: wp_rest.jwt_decode(ours, SECRET), calls=calls, limit=12)
                      + "\n\n" + profile_top(lambda: wp_rest.jwt_encode(claims, SECRET),
                                             calls=calls, limit=10))
    result.notes = [f"{n_rounds} rounds × {number} calls each, interleaved; value = calls per "
                    "second in one round; ratio = PyJWT's time / wp_rest's time within a round.",
                    f"PyJWT {jwt.__version__}; token of {len(ours)} characters."]
    return result

"""The retry policy: ``Retry`` as a value (no sockets), then what the client
retries against a loopback server, with an injected sleep (nothing really waits).

Reads (GET, HEAD) are retried on connection failures, 429, 502, 503 and 504;
a write only when the request provably never left (connection refused).
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wp_rest
from faultkit import (
    Conn,
    FaultServer,
    Hit,
    Sleeps,
    basic_token,
    describe,
    fault_server,
    free_port,
    http_date,
    leaks,
    response,
    script,
    secret_forms,
    wp_error,
)
from fuzzkit import Counter, fuzz
from reliability_log import observe

USER = "admin"
SECRET = "abcd EFGH 1234 ijkl MNOP 6789"
SECRETS = [*secret_forms(SECRET), basic_token(USER, SECRET)]
OK = response(200, {"id": 1})
CREATED = response(201, {"id": 7})


def client_for(url: str, retry: wp_rest.Retry | int | bool, **kwargs: Any) -> wp_rest.Client:
    kwargs.setdefault("timeout", 0.3)
    return wp_rest.Client(url + "/wp-json/", auth=wp_rest.ApplicationPassword(USER, SECRET),
                          retry=retry, **kwargs)


def send(data: bytes) -> Any:
    return lambda hit, conn: conn.send(data)


def reset(hit: Hit, conn: Conn) -> None:
    conn.reset()


def close(hit: Hit, conn: Conn) -> None:
    conn.close()


def silent(hit: Hit, conn: Conn) -> None:
    conn.stall(3)


# --- Retry as a value ---------------------------------------------------------------


def test_defaults_and_immutability() -> None:
    retry = wp_rest.Retry()
    assert (retry.total, retry.backoff_factor, retry.backoff_max) == (2, 0.5, 10.0)
    assert retry.status_forcelist == {429, 502, 503, 504}
    assert retry.idempotent_methods == {"GET", "HEAD", "OPTIONS"}
    assert {"POST", "PUT", "PATCH", "DELETE"}.isdisjoint(retry.idempotent_methods)
    with pytest.raises(AttributeError, match="immutable"):
        retry.total = 5  # type: ignore[misc]
    assert retry.replace(total=5).total == 5 and retry.total == 2
    assert "sleep" not in repr(retry)


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_is_capped_exponential_with_jitter(attempt: int) -> None:
    retry = wp_rest.Retry(backoff_factor=0.5, backoff_max=4.0)
    cap = min(4.0, 0.5 * 2 ** (attempt - 1))
    samples = [retry.backoff(attempt) for _ in range(200)]
    assert all(cap / 2 <= s <= cap for s in samples)
    assert len(set(samples)) > 100  # jittered: clients do not retry in step


def test_backoff_zero_and_huge_attempts() -> None:
    assert wp_rest.Retry(backoff_factor=0).backoff(5) == 0.0
    assert wp_rest.Retry(backoff_max=3).backoff(10_000) <= 3  # no OverflowError


@pytest.mark.parametrize("kwargs", [
    {"total": -1}, {"total": 1.5}, {"total": True}, {"total": "3"},
    {"backoff_factor": -0.1}, {"backoff_factor": math.nan}, {"backoff_factor": math.inf},
    {"backoff_max": -1}, {"retry_after_max": math.inf}, {"retry_after_max": "60"},
])
def test_bad_values_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(wp_rest.ConfigError, match=next(iter(kwargs))):
        wp_rest.Retry(**kwargs)


NOW = 1_700_000_000.0


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("", None), (None, None),
    ("-1", None), ("1.5", None), ("\u00b2", None), ("\u0663", None), ("soon", None),
    ("9" * 400, 1e9),
    (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),             # IMF-fixdate
    (time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(NOW + 45)), 45.0),  # RFC 850
    (time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(NOW + 60)), 60.0),        # asctime
    (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),              # in the past
    (email.utils.formatdate(NOW + 10).replace("+0000", "-0000"), 10.0),
    ("Mon, 32 Foo 2024 99:99:99 GMT", None), ("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799.0 - NOW),
])
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    got = wp_rest.Retry.parse_retry_after(value, now=NOW)
    if seconds is None:
        assert got is None
    else:
        assert got == pytest.approx(seconds, abs=1.0)


@pytest.mark.parametrize(("given", "total"), [(None, 2), (True, 2), (False, 0), (0, 0), (5, 5)])
def test_client_accepts_retry_as_int_or_bool(given: Any, total: int) -> None:
    assert wp_rest.Client("http://127.0.0.1:1/wp-json/", retry=given).retry.total == total


@pytest.mark.parametrize("given", [-1, "3", 1.5])
def test_client_refuses_a_bad_retry(given: Any) -> None:
    with pytest.raises(wp_rest.ConfigError):
        wp_rest.Client("http://127.0.0.1:1/wp-json/", retry=given)


def test_a_retry_object_is_used_as_is() -> None:
    retry = wp_rest.Retry(total=7, sleep=Sleeps())
    assert wp_rest.Client("http://127.0.0.1:1/wp-json/", retry=retry).retry is retry


# --- What the client retries --------------------------------------------------------


def retried_read(first: Any, *, case: str, expected: str, total: int = 2) -> tuple[Sleeps, FaultServer, Any]:
    sleeps = Sleeps()
    with fault_server(script(first, send(OK))) as server:
        client = client_for(server.url, wp_rest.Retry(total=total, sleep=sleeps))
        with observe("retry", case, expected) as obs:
            result = client.get_post(1)
            obs.observed = f"{server.methods().count('GET')} GETs, slept {[round(s, 2) for s in sleeps.calls]}, returned {result}"
            assert result == {"id": 1}
    return sleeps, server, result


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_is_retried_on_retryable_statuses(status: int) -> None:
    sleeps, server, _ = retried_read(send(wp_error(status)), case=f"GET answered {status}, then 200",
                                     expected="retried once after a backoff; 200 returned")
    assert server.methods() == ["GET", "GET"]
    assert len(sleeps.calls) == 1 and 0.25 <= sleeps.calls[0] <= 0.5


@pytest.mark.parametrize(("name", "fault"), [("reset", reset), ("closed", close)], ids=["reset", "closed"])
def test_get_is_retried_after_a_broken_connection(name: str, fault: Any) -> None:
    _, server, _ = retried_read(fault, case=f"GET: connection {name} before the answer, then 200",
                                expected="retried; 200 returned")
    assert server.methods() == ["GET", "GET"]


def test_get_is_retried_after_a_timeout() -> None:
    start = time.monotonic()
    _, server, _ = retried_read(silent, case="GET: no answer within the timeout (0.3 s), then 200",
                                expected="retried after the timeout; 200 returned")
    assert server.methods() == ["GET", "GET"]
    assert time.monotonic() - start < 0.3 + 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_get_is_not_retried_on_other_statuses(status: int) -> None:
    sleeps = Sleeps()
    with fault_server(script(send(wp_error(status)), send(OK))) as server:
        with pytest.raises(wp_rest.APIError) as info:
            client_for(server.url, wp_rest.Retry(sleep=sleeps)).get_post(1)
    assert info.value.status == status and server.methods() == ["GET"] and sleeps.calls == []


@contextlib.contextmanager
def server_started_by_sleep(handler: Any) -> Iterator[tuple[int, Sleeps, list[FaultServer]]]:
    """A port where nothing listens until the client's first backoff sleep starts a server there."""
    port = free_port()
    started: list[FaultServer] = []

    class StartingSleep(Sleeps):
        def __call__(self, seconds: float) -> None:
            super().__call__(seconds)
            if not started:
                started.append(FaultServer(handler, port=port))

    try:
        yield port, StartingSleep(), started
    finally:
        for server in started:
            server.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_connection_refused_is_retried_even_for_a_write(method: str) -> None:
    with observe("retry", f"{method}: connection refused, then the server comes up",
                 "retried (the request provably never left); exactly one request arrives") as obs:
        with server_started_by_sleep(send(CREATED if method == "POST" else OK)) as (port, sleeps, started):
            client = client_for(f"http://127.0.0.1:{port}", wp_rest.Retry(sleep=sleeps))
            result = client.create_post(title="t") if method == "POST" else client.get_post(1)
            arrived = started[0].methods()
        obs.observed = f"{len(sleeps.calls)} backoff, {arrived} arrived, returned {result}"
        assert arrived == [method] and len(sleeps.calls) == 1


WRITE_FAULTS = [
    pytest.param(method, name, fault, error, pattern, id=f"{method}-{name}")
    for name, fault, error, pattern in [
        ("reset", reset, wp_rest.TransportError, "may have processed it"),
        ("502", send(wp_error(502)), wp_rest.ServerError, "may have happened"),
        ("503", send(wp_error(503)), wp_rest.ServerError, "not certain"),
        ("504", send(wp_error(504)), wp_rest.ServerError, "may have happened"),
        ("429", send(wp_error(429)), wp_rest.RateLimited, "429"),
    ]
    for method in ("POST", "PUT", "PATCH", "DELETE")
] + [pytest.param("POST", "timeout", silent, wp_rest.TransportError, "timed out.*may have processed it",
                  id="POST-timeout")]


@pytest.mark.parametrize(("method", "name", "fault", "error", "pattern"), WRITE_FAULTS)
def test_a_write_that_may_have_reached_the_server_is_not_retried(
        method: str, name: str, fault: Any, error: type[wp_rest.WPError], pattern: str) -> None:
    sleeps = Sleeps()
    with observe("retry", f"{method}: {name} after the request was sent",
                 "not retried; the error says whether it may have happened") as obs:
        with fault_server(script(fault, send(CREATED))) as server:
            client = client_for(server.url, wp_rest.Retry(total=3, sleep=sleeps))
            with pytest.raises(error) as info:
                client.request(method, "/wp/v2/posts/5", json={"title": "t"})
            arrived = server.methods()
        obs.observed = describe(info.value)
        assert arrived == [method] and sleeps.calls == []
        assert re.search(pattern, str(info.value), re.DOTALL), str(info.value)
        if isinstance(info.value, wp_rest.TransportError):
            assert info.value.request_sent is True


def test_retry_after_in_seconds_is_honoured() -> None:
    sleeps, _, _ = retried_read(send(response(429, {"code": "x", "message": "", "data": {}}, {"Retry-After": "7"})),
                                case="GET: 429 with Retry-After: 7",
                                expected="waits 7 s (not the backoff), then succeeds")
    assert sleeps.calls == [7.0]


def test_retry_after_as_an_http_date_is_honoured() -> None:
    sleeps, _, _ = retried_read(send(response(503, "busy", {"Retry-After": http_date(20), "Content-Type": "text/plain"})),
                                case="GET: 503 with Retry-After as an HTTP date (+20 s)",
                                expected="waits about 20 s, then succeeds")
    assert 18 <= sleeps.calls[0] <= 21


def test_retry_after_above_the_cap_fails_at_once() -> None:
    sleeps = Sleeps()
    with observe("retry", "GET: 429 with Retry-After: 3600 (cap retry_after_max=60)",
                 "no wait, no retry: RateLimited with retry_after=3600") as obs:
        with fault_server(script(send(response(429, {"code": "too_many", "message": "Later", "data": {}},
                                                {"Retry-After": "3600"})), send(OK))) as server:
            with pytest.raises(wp_rest.RateLimited) as info:
                client_for(server.url, wp_rest.Retry(sleep=sleeps)).get_post(1)
        obs.observed = describe(info.value) + f"; slept {sleeps.calls}"
        assert info.value.retry_after == 3600 and sleeps.calls == [] and server.methods() == ["GET"]


def test_retry_after_can_be_ignored() -> None:
    sleeps = Sleeps()
    with fault_server(script(send(response(429, "x", {"Retry-After": "30"})), send(OK))) as server:
        client_for(server.url, wp_rest.Retry(respect_retry_after=False, sleep=sleeps)).get_post(1)
    assert len(sleeps.calls) == 1 and sleeps.calls[0] <= 0.5


def test_retrying_can_be_switched_off() -> None:
    with observe("retry", "retry=False, GET answered 503", "one request, ServerError at once") as obs:
        with fault_server(script(send(wp_error(503)), send(OK))) as server:
            with pytest.raises(wp_rest.ServerError) as info:
                client_for(server.url, False).get_post(1)
        obs.observed = describe(info.value) + f"; {len(server.methods())} request(s)"
        assert server.methods() == ["GET"]


def test_the_budget_ends_with_the_last_error() -> None:
    sleeps = Sleeps()
    with observe("retry", "GET answered 503 every time, Retry(total=3, backoff_max=1)",
                 "4 requests, 3 capped backoffs, then ServerError") as obs:
        with fault_server(send(wp_error(503))) as server:
            with pytest.raises(wp_rest.ServerError):
                client_for(server.url, wp_rest.Retry(total=3, backoff_factor=0.8, backoff_max=1, sleep=sleeps)).get_post(1)
        obs.observed = f"{len(server.methods())} requests, slept {[round(s, 2) for s in sleeps.calls]}"
        assert len(server.methods()) == 4
        assert len(sleeps.calls) == 3 and all(s <= 1 for s in sleeps.calls)
        assert 0.4 <= sleeps.calls[0] <= 0.8 and 0.5 <= sleeps.calls[2] <= 1


def test_timeouts_times_attempts_bound_the_total_time() -> None:
    sleeps = Sleeps()
    with observe("retry", "GET to a silent server, timeout=0.3 s, Retry(total=2)",
                 "3 attempts, about 0.9 s in all, then TransportError") as obs:
        with fault_server(silent) as server:
            start = time.monotonic()
            with pytest.raises(wp_rest.TransportError) as info:
                client_for(server.url, wp_rest.Retry(total=2, sleep=sleeps), timeout=0.3).get_post(1)
            elapsed = time.monotonic() - start
        obs.observed = describe(info.value, elapsed)
        assert len(server.methods()) == 3 and 0.9 <= elapsed < 0.9 + 0.6


def test_retry_logs_carry_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    with fault_server(script(reset, send(wp_error(503)), send(OK))) as server:
        with caplog.at_level(logging.DEBUG, logger="wp_rest"):
            client_for(server.url, wp_rest.Retry(total=3, sleep=Sleeps())).get_post(1)
    assert "retry 1 of 3" in caplog.text and "retry 2 of 3" in caplog.text
    assert leaks(SECRETS, caplog.text) == []


# --- Retry.increment: the decision, as a value ---------------------------------------------


def _answer(status: int, **headers: str) -> wp_rest.Response:
    return wp_rest.Response(status, {k.replace("_", "-"): v for k, v in headers.items()}, b"", "https://x/")


def test_increment_counts_and_gives_up_when_the_budget_is_spent() -> None:
    retry: wp_rest.Retry | None = wp_rest.Retry(total=2)
    seen = []
    while retry is not None:
        seen.append(retry.attempts)
        retry = retry.increment("GET", response=_answer(503))
    assert seen == [0, 1, 2]


@pytest.mark.parametrize(("method", "status", "expected"), [
    ("GET", 503, 1), ("GET", 404, None), ("GET", 500, None), ("POST", 503, None), ("PATCH", 429, None),
])
def test_increment_retries_answers_only_for_idempotent_methods_and_listed_statuses(
        method: str, status: int, expected: int | None) -> None:
    after = wp_rest.Retry().increment(method, response=_answer(status))
    assert (after.attempts if after else None) == expected


def test_increment_retries_a_write_only_when_it_never_left() -> None:
    never_left = wp_rest.TransportError("refused", request_sent=False)
    maybe_done = wp_rest.TransportError("reset", request_sent=True)
    assert wp_rest.Retry().increment("POST", error=never_left) is not None
    assert wp_rest.Retry().increment("POST", error=maybe_done) is None
    assert wp_rest.Retry().increment("GET", error=maybe_done) is not None


def test_increment_gives_up_on_a_retry_after_beyond_the_cap_and_delay_honours_a_short_one() -> None:
    retry = wp_rest.Retry(retry_after_max=5, backoff_factor=0)
    assert retry.increment("GET", response=_answer(429, Retry_After="60")) is None
    after = retry.increment("GET", response=_answer(429, Retry_After="3"))
    assert after is not None and after.delay(_answer(429, Retry_After="3")) == 3.0


# --- Fuzzed: Retry-After parsing is total (tests/fuzzkit.py) -------------------------------


_retry_after_count = Counter()
DATES = st.builds(
    lambda when, zone, cut: email.utils.formatdate(when, usegmt=zone == "GMT").replace("+0000", zone)[:cut],
    st.floats(0, 2.5e11), st.sampled_from(["GMT", "+0000", "-0000", "+9999", "EST", "XYZ"]), st.integers(0, 40))


@fuzz(200)
@given(value=st.text(max_size=40) | DATES | st.integers(0, 10**400).map(lambda n: f" {n} "))
def prop_retry_after_parsing_is_total(value: str) -> None:
    _retry_after_count()
    got = wp_rest.Retry.parse_retry_after(value)
    assert got is None or (isinstance(got, float) and 0 <= got < math.inf)


def test_retry_after_observation() -> None:
    with observe("hostile input", "fuzzed Retry-After values (text, date-like strings)",
                 "None or a finite number of seconds >= 0; never an exception") as obs:
        prop_retry_after_parsing_is_total()
        obs.observed = f"{_retry_after_count.n} examples, all held"

# ruff: noqa: RUF001  (table text uses the multiplication sign, micro and en dash on purpose)
"""Shared pieces of the benchmark suite: results, statistics, timing, subprocesses, the lab.

Every case compares against baselines measured in the same run (interleaved
rounds where it matters), because the machine is small and noisy: a ratio
measured now means something, an absolute time from another day does not.
"""

from __future__ import annotations

import contextlib
import cProfile
import dataclasses
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LAB_JSON = ROOT / "tests" / "wp" / "lab.json"
SITE_PACKAGES = sysconfig.get_paths()["purelib"]
PYCACHE = os.path.join(tempfile.gettempdir(), "wp-rest-bench-pycache")


def wp_rest_dir() -> Path:
    """Directory of the wp_rest.py under test: the tree's, or ``--wp-rest`` (``WP_REST_BENCH_DIR``)."""
    return Path(os.environ.get("WP_REST_BENCH_DIR") or ROOT)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for child Pythons: the wp_rest under test first on the path."""
    env = dict(os.environ)
    # Imports are timed as users see them, from cached bytecode. Where the
    # environment forbids writing __pycache__ (PYTHONDONTWRITEBYTECODE), the
    # cache goes to a private directory outside the tree instead.
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        env.setdefault("PYTHONPYCACHEPREFIX", PYCACHE)
    paths = [str(wp_rest_dir()), str(ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra)
    return env


# --- Results -------------------------------------------------------------------


@dataclasses.dataclass
class Stat:
    """Median and spread of repeated measurements (one value per round)."""

    values: list[float]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def q1(self) -> float:
        return self._quartiles()[0]

    @property
    def q3(self) -> float:
        return self._quartiles()[2]

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def _quartiles(self) -> list[float]:
        if len(self.values) < 2:
            return [self.values[0]] * 3
        return statistics.quantiles(self.values, n=4, method="inclusive")


@dataclasses.dataclass
class Row:
    """One measured line of a case's table."""

    name: str
    stat: Stat | None
    unit: str
    #: Against the case's baseline, in the sense the case's ``ratio_label`` says.
    ratio: float | None = None
    note: str = ""


@dataclasses.dataclass
class Target:
    """A goal from the issue, with the measured value it is judged on."""

    text: str
    measured: str
    met: bool


@dataclasses.dataclass
class CaseResult:
    number: int
    key: str
    title: str
    ratio_label: str = "ratio"
    rows: list[Row] = dataclasses.field(default_factory=list)
    targets: list[Target] = dataclasses.field(default_factory=list)
    #: Method and context lines for BENCHMARKS.md.
    notes: list[str] = dataclasses.field(default_factory=list)
    #: Where the time goes (cProfile/importtime extracts), shown when a target is missed.
    profile: str = ""
    #: What would close a missed target.
    analysis: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def missed(self) -> list[Target]:
        return [t for t in self.targets if not t.met]


# --- Measuring -------------------------------------------------------------------


def rounds(fns: dict[str, Callable[[], Any]], *, rounds: int, number: int,
           warmup: int = 0) -> dict[str, list[float]]:
    """Seconds per call of each function, one value per round; rounds interleave the functions.

    The order within a round rotates so no function always runs right after
    another one (caches, CPU frequency, the neighbour's load).
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn = fns[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            out[name].append((time.perf_counter() - start) / number)
    return out


def paired_ratios(a: Sequence[float], b: Sequence[float]) -> Stat:
    """a/b per round: a ratio taken within a round cancels the drift between rounds."""
    return Stat([x / y for x, y in zip(a, b, strict=True)])


def profile_top(fn: Callable[[], Any], *, calls: int, limit: int = 15, sort: str = "tottime",
                strip: str = "") -> str:
    """cProfile of ``calls`` calls of ``fn``: the top entries, paths shortened."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(sort).print_stats(limit)
    text = out.getvalue()
    lines = text.splitlines()
    # Keep the header line ("ncalls tottime ...") and the entries.
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    kept = [line.rstrip() for line in lines[start:] if line.strip()]
    total = stats.total_tt  # type: ignore[attr-defined]
    head = f"cProfile, {calls} calls, {total * 1e6 / calls:.0f} µs per call under the profiler, by {sort}:"
    body = "\n".join(kept)
    for prefix in (str(ROOT) + "/", sysconfig.get_paths()["stdlib"] + "/", SITE_PACKAGES + "/", strip):
        if prefix:
            body = body.replace(prefix, "")
    return head + "\n" + body


@contextlib.contextmanager
def child_process(args: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    """A child we started; stopped by its own pid on the way out."""
    proc = subprocess.Popen(args, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@contextlib.contextmanager
def fake_wordpress() -> Iterator[str]:
    """Start bench/fakewp.py in its own process; yields its base URL."""
    with child_process([sys.executable, str(BENCH / "fakewp.py")], stdout=subprocess.PIPE,
                       text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"bench/fakewp.py did not start (printed {line!r})")
        yield f"http://127.0.0.1:{line}"


# --- The WordPress lab -------------------------------------------------------------


class LabUnavailable(RuntimeError):
    """The real WordPress lab is not running; cases that need it cannot run."""


def lab_site() -> dict[str, Any]:
    """The lab's main site from tests/wp/lab.json, checked to answer."""
    if not LAB_JSON.is_file():
        raise LabUnavailable(f"{LAB_JSON.relative_to(ROOT)} is missing: run `bash tests/wp/lab.sh up`")
    site: dict[str, Any] = json.loads(LAB_JSON.read_text())["sites"]["main"]
    import urllib.request

    try:
        with urllib.request.urlopen(site["api_root"], timeout=10) as resp:
            resp.read()
    except OSError as exc:
        raise LabUnavailable(f"the lab at {site['url']} does not answer ({exc}): "
                             "run `bash tests/wp/lab.sh up`") from exc
    return site


def lab_client(site: dict[str, Any], role: str | None = None, **kwargs: Any) -> Any:
    import wp_rest

    auth = None
    if role is not None:
        user = site["users"][role]
        auth = wp_rest.ApplicationPassword(user["username"], user["app_password"])
    return wp_rest.Client(site["api_root"], auth=auth, **kwargs)


def fmt(value: float, unit: str) -> str:
    """A number in a unit, with sensible digits."""
    if unit in ("x", "×"):
        return f"{value:.2f}×"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"

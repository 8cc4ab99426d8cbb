"""Observations of the reliability tests, for RELIABILITY.md.

A test wraps each case in ``observe(area, case, expected)`` and sets
``.observed`` to what actually happened. Each record (with the outcome, the
test id, the time taken and when it ran) goes into
``tests/.reliability/<module>.json``, replacing the record of the same area
and case from an earlier run, so a partial run (``-k``) updates its rows and
leaves the others. ``python tests/reliability_report.py`` renders the files
as the table in RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

OUT = Path(os.environ.get("WP_RELIABILITY_DIR", Path(__file__).resolve().parent / ".reliability"))

_lock = threading.Lock()


@dataclass
class Observation:
    area: str
    case: str
    expected: str
    observed: str = ""
    outcome: str = "not run"
    seconds: float = 0.0
    test: str = ""
    recorded: str = ""


@contextmanager
def observe(area: str, case: str, expected: str, *, known_gap: str = "") -> Iterator[Observation]:
    """Record what happens inside the block; a failing block is recorded as FAILED and re-raised.

    ``known_gap`` (for xfail tests) names a known shortcoming: a failure is then
    recorded as "known gap: ..." instead, and a pass as a pass.
    """
    obs = Observation(area, case, expected)
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    obs.test = current.rsplit(" ", 1)[0]
    start = time.monotonic()
    try:
        yield obs
    except BaseException as exc:
        obs.outcome = f"known gap: {known_gap}" if known_gap else f"FAILED ({type(exc).__name__})"
        raise
    else:
        obs.outcome = "pass"
    finally:
        obs.seconds = round(time.monotonic() - start, 3)
        _write(obs)


def _write(obs: Observation) -> None:
    obs.recorded = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    module = Path(obs.test.split("::", 1)[0]).stem or "unknown"
    path = OUT / f"{module}.json"
    with _lock:
        OUT.mkdir(parents=True, exist_ok=True)
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            records = {}
        records[f"{obs.area} | {obs.case}"] = asdict(obs)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)

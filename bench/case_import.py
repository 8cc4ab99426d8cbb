# ruff: noqa: RUF001  (table text uses the multiplication sign, micro and en dash on purpose)
"""Case 2: import time of wp_rest against requests (``python -X importtime``).

Each run is a fresh interpreter started with ``-S``: site-packages is put on
``sys.path`` by hand, so no ``.pth`` hook of the host environment runs first
(such hooks may import certifi, pathlib, re... and hide part of either
module's cost). The figure is the cumulative time ``-X importtime`` reports
for the ``import X`` statement. Runs alternate between the modules. A second
measure, with the normal startup (``site`` and its hooks), is shown too.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections import defaultdict

from common import SITE_PACKAGES, CaseResult, Row, Stat, Target, child_env, wp_rest_dir

TARGET = 1 / 3
#: At most this many times the floor: what wp_rest adds to the modules it needs.
FLOOR_TARGET = 1.25
#: The standard-library modules wp_rest needs (its floor).
STDLIB_FLOOR = "http.client, ssl, json, hmac, hashlib, base64, socket, urllib.parse, logging, threading, zlib"


def _code(module: str) -> str:
    return (f"import sys; sys.path[:0] = [{str(wp_rest_dir())!r}]; "
            f"sys.path.append({SITE_PACKAGES!r}); import {module}")


def importtime(module: str, *, clean: bool = True) -> list[tuple[int, str, int]]:
    """(depth, module, cumulative µs) for every line of one ``-X importtime`` run."""
    args = [sys.executable, "-X", "importtime"]
    args += ["-S", "-c", _code(module)] if clean else ["-c", f"import {module}"]
    done = subprocess.run(args, capture_output=True, text=True, check=True, env=child_env(),
                          cwd=str(wp_rest_dir()))
    out = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip(" "))) // 2
        out.append((depth, name.strip(), int(cumulative)))
    return out


def total(lines: list[tuple[int, str, int]], module: str) -> float:
    """Milliseconds of the top-level ``import module`` (or of ``import a, b, ...``: the sum)."""
    names = {m.strip() for m in module.split(",")}
    found = [c for d, n, c in lines if d == 0 and n in names]
    if not found:
        raise RuntimeError(f"-X importtime printed no line for {module}")
    # A module can show up twice at depth 0 only during interpreter startup; take the last.
    last = {n: c for d, n, c in lines if d == 0 and n in names}
    return sum(last.values()) / 1000


def children(lines: list[tuple[int, str, int]], module: str) -> dict[str, float]:
    """ms of each import made directly by ``module`` (its own body, first-time imports only)."""
    out: dict[str, float] = {}
    index = next(i for i, (d, n, _) in enumerate(lines) if d == 0 and n == module)
    # importtime prints children before their parent, one level deeper.
    i = index - 1
    while i >= 0 and lines[i][0] > 0:
        if lines[i][0] == 1:
            out[lines[i][1]] = lines[i][2] / 1000
        i -= 1
    return out


def run(quick: bool) -> CaseResult:
    result = CaseResult(2, "import", "Import time: wp_rest vs requests (-X importtime)",
                        ratio_label="× requests")
    runs = 5 if quick else 21
    modules = ["wp_rest", "requests", STDLIB_FLOOR]
    for module in modules:  # warm the bytecode caches
        importtime(module)
    clean: dict[str, list[float]] = {m: [] for m in modules}
    normal: dict[str, list[float]] = {m: [] for m in modules}
    parts: dict[str, list[float]] = defaultdict(list)
    for i in range(runs):
        for module in (modules if i % 2 == 0 else modules[::-1]):
            lines = importtime(module)
            clean[module].append(total(lines, module))
            if module == "wp_rest":
                for name, ms in children(lines, module).items():
                    parts[name].append(ms)
        if i < max(3, runs // 3):
            for module in modules[:2]:
                normal[module].append(total(importtime(module, clean=False), module))
    base = statistics.median(clean["requests"])
    for module in modules:
        stat = Stat(clean[module])
        label = "stdlib floor: import " + module if module == STDLIB_FLOOR else f"import {module}"
        result.rows.append(Row(f"{label} (-S, clean)", stat, "ms", stat.median / base))
    normal_base = statistics.median(normal["requests"])
    for module in modules[:2]:
        stat = Stat(normal[module])
        result.rows.append(Row(f"import {module} (normal startup)", stat, "ms",
                               stat.median / normal_base))
    ratio = statistics.median(clean["wp_rest"]) / base
    floor = statistics.median(clean[STDLIB_FLOOR])
    over_floor = statistics.median(clean["wp_rest"]) / floor
    result.targets = [Target(f"wp_rest within {FLOOR_TARGET}× of the stdlib modules it needs (-S, clean)",
                             f"{over_floor:.2f}× ({statistics.median(clean['wp_rest']):.1f} ms vs "
                             f"{floor:.1f} ms)", over_floor <= FLOOR_TARGET),
                      Target("wp_rest under a third of requests (-S, clean)",
                             f"{ratio:.2f}× ({statistics.median(clean['wp_rest']):.1f} ms vs "
                             f"{base:.1f} ms)", ratio < TARGET)]
    top = sorted(((statistics.median(v), k) for k, v in parts.items() if len(v) == runs), reverse=True)
    listed = "\n".join(f"  {ms:6.1f} ms  {name}" for ms, name in top[:14])
    own = statistics.median(clean["wp_rest"]) - sum(ms for ms, _ in top)
    result.profile = ("Where `import wp_rest` spends its time (median cumulative ms of each import "
                      "wp_rest's body triggers first; a module shared by several is counted "
                      "under the first):\n" + listed + f"\n  {own:6.1f} ms  wp_rest's own body "
                      "(class bodies, re.compile)")
    result.notes = [
        f"{runs} runs per module, alternating; `{sys.executable} -X importtime -S -c "
        "\"import sys; sys.path...; import X\"`; value = cumulative µs of the top-level import.",
        "Normal startup: the same without -S (fewer runs); the host's site hooks preload "
        "modules both need, so both look cheaper there.",
        "Stdlib floor: the modules any stdlib HTTP+JSON client imports (wp_rest cannot go below "
        "it without dropping http.client); a third of requests is the target line.",
    ]
    return result


#: Imports wp_rest makes at the top that only some features need.
DEFERRABLE = {"argparse": "the CLI only", "concurrent.futures": "iter_items(concurrency>1) only",
              "typing": "annotations only (TYPE_CHECKING)", "hashlib": "JWT only", "hmac": "JWT only",
              "mimetypes": "upload_media only"}


def analysis(result: CaseResult) -> list[str]:
    med = {row.name: row.stat.median for row in result.rows if row.stat}
    wp = med.get("import wp_rest (-S, clean)")
    req = med.get("import requests (-S, clean)")
    floor = med.get(f"stdlib floor: import {STDLIB_FLOOR} (-S, clean)")
    lines = []
    if wp and req and floor:
        lines.append(
            f"The stdlib floor alone (http.client with the email package it parses headers with, "
            f"ssl, socket, json, re, logging...) takes {floor:.0f} ms = {floor / req:.2f}× requests "
            f"on this machine: a client built on http.client cannot reach a third of requests "
            f"({req / 3:.0f} ms) here. wp_rest adds {wp - floor:.0f} ms above that floor.")
    parts = {}
    for line in result.profile.splitlines()[1:]:
        bits = line.split("ms", 1)
        if len(bits) == 2:
            try:
                parts[bits[1].strip()] = float(bits[0])
            except ValueError:
                pass
    movable = [(name, ms) for name, ms in parts.items() if name in DEFERRABLE]
    if movable:
        lines.append(
            "Imports that could move into the functions that need them: "
            + ", ".join(f"{name} {ms:.1f} ms ({DEFERRABLE[name]})" for name, ms in movable)
            + " (shared dependencies such as re then count elsewhere, so the saving is smaller "
            "than the sum; measured effect in the report).")
    if "dataclasses" in parts:
        lines.append(
            f"dataclasses ({parts['dataclasses']:.1f} ms with inspect) is the largest module wp_rest "
            "adds for itself; plain classes with __slots__ for Request/Response/Page/Retry would "
            "drop it, at the cost of hand-written __init__/__repr__/__eq__/replace.")
    if movable or "dataclasses" in parts:
        lines.append("With those changes, wp_rest would sit close to the stdlib floor; the target as "
                     "written (a third of requests) would still be missed unless requests' own cost grows.")
    return lines

# ruff: noqa: RUF001  (table text uses the multiplication sign, micro and en dash on purpose)
"""wp-rest benchmark suite: one command, a table, and BENCHMARKS.md.

    python bench/run.py              # full run (~5 min), writes BENCHMARKS.md
    python bench/run.py --quick      # CI: small counts (~1 min), prints the table, writes nothing
    python bench/run.py --quick --output /tmp/bench.md
    python bench/run.py --cases 1,3  # some cases only (never writes BENCHMARKS.md unless --output)
    python bench/run.py --wp-rest /tmp/copy/wp_rest.py   # measure another copy of wp_rest.py

Cases 4, 5, 7 and half of 6 run against the real WordPress lab
(``bash tests/wp/lab.sh up``); ``--no-lab`` skips them. Exit status: 0 when
every case ran, whether or not its targets were met (the table says);
1 when a case crashed or the lab was needed and missing; 2 on usage errors;
``--strict`` makes a missed target exit 3.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, CaseResult, LabUnavailable, fmt, lab_site

CASES = {1: "overhead", 2: "import", 3: "jwt", 4: "read", 5: "create", 6: "mcp", 7: "memory"}
LAB_CASES = {4, 5, 7}
PACKAGES = ["requests", "urllib3", "PyJWT", "mcp", "pydantic", "markdown-it-py", "anyio"]


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    info = {
        "cpus": f"{os.cpu_count()} (nproc {len(os.sched_getaffinity(0))})",
        "cpu": cpu,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(versions),
    }
    wp_version = Path("/usr/share/wordpress/wp-includes/version.php")
    if wp_version.is_file():
        for line in wp_version.read_text().splitlines():
            if line.startswith("$wp_version"):
                info["wordpress"] = line.split("'")[1] + " (Debian package, `php -S` with 4 workers)"
    try:
        php = subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True,
                             timeout=10, check=False).stdout.strip()
        if php:
            info["php"] = php
    except OSError:
        pass
    return info


def wp_rest_identity() -> str:
    from common import wp_rest_dir

    path = wp_rest_dir() / "wp_rest.py"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    text = f"{path} (sha256 {digest}…)"
    if path.parent == ROOT:
        try:
            head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=10, check=False).stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--", "wp_rest.py", "mcp_server.py"],
                                   cwd=ROOT, capture_output=True, text=True, timeout=10,
                                   check=False).stdout.strip()
            text = f"commit {head}{' + uncommitted changes to ' + ', '.join(line.split()[-1] for line in dirty.splitlines()) if dirty else ''}, wp_rest.py sha256 {digest}…"
        except OSError:
            pass
    return text


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run_case(number: int, quick: bool, site: dict[str, Any] | None) -> CaseResult:
    module = __import__(f"case_{CASES[number]}")
    started = time.perf_counter()
    if number in LAB_CASES:
        assert site is not None
        result: CaseResult = module.run(quick, site)
    elif number == 6:
        result = module.run(quick, site)
    else:
        result = module.run(quick)
    result.seconds = time.perf_counter() - started
    analyse = getattr(module, "analysis", None)
    if analyse is not None and result.missed:
        result.analysis = analyse(result)
    return result


# --- Output ------------------------------------------------------------------------


def _spread(result_row: Any) -> tuple[str, str]:
    s = result_row.stat
    if s is None:
        return "", ""
    if s.n < 2:
        return "", ""
    return (f"{fmt(s.q1, result_row.unit)}–{fmt(s.q3, result_row.unit)}",
            f"{fmt(s.low, result_row.unit)}–{fmt(s.high, result_row.unit)}")


def print_case(result: CaseResult, show_profile: bool) -> None:
    print(f"\n== {result.number}. {result.title}  [{result.seconds:.1f} s]")
    if result.error:
        print("   CRASHED:\n" + "\n".join("   " + line for line in result.error.rstrip().splitlines()))
        return
    width = max([len(r.name) for r in result.rows] + [20])
    print(f"   {'':{width}}  {'median':>14}  {'IQR':>17}  {'min–max':>17}  {'n':>3}  {result.ratio_label}")
    for row in result.rows:
        median = f"{fmt(row.stat.median, row.unit)} {row.unit}" if row.stat else ""
        iqr, rng = _spread(row)
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        n = row.stat.n if row.stat else ""
        print(f"   {row.name:{width}}  {median:>14}  {iqr:>17}  {rng:>17}  {n:>3}  {ratio}"
              + (f"   {row.note}" if row.note else ""))
    for target in result.targets:
        print(f"   TARGET {'met   ' if target.met else 'MISSED'}  {target.text}: {target.measured}")
    if result.profile and (show_profile or result.missed or not result.targets):
        print("   " + result.profile.replace("\n", "\n   "))
    for line in result.analysis:
        print(f"   > {line}")


def markdown(results: list[CaseResult], info: dict[str, str], command: str, quick: bool,
             started: datetime.datetime, seconds: float, loads: tuple[str, str], identity: str,
             show_profile: bool) -> str:
    out = [
        "# Benchmarks",
        "",
        "Latest figures of the benchmark suite in `bench/` (see `bench/run.py` for what each case "
        "measures). Every figure is compared with baselines measured in the same run; on a small, "
        "noisy machine the ratios are what carry over, the absolute times do not.",
        "",
        f"- Command: `{command}`{' (quick mode: smaller counts)' if quick else ''}",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}, {seconds:.0f} s in all; load average "
        f"{loads[0]} at the start, {loads[1]} at the end",
        f"- Under test: {identity}",
    ]
    labels = {"cpus": "CPUs", "cpu": "CPU model", "memory": "Memory", "os": "OS", "python": "Python",
              "packages": "Packages", "wordpress": "WordPress", "php": "PHP"}
    out += [f"- {labels.get(key, key)}: {value}" for key, value in info.items()]
    out += ["", "## Summary", "", "| # | case | target | measured | |", "|---|---|---|---|---|"]
    for r in results:
        if r.error:
            out.append(f"| {r.number} | {r.title} | | crashed: {r.error.strip().splitlines()[-1]} | ✗ |")
            continue
        if not r.targets:
            out.append(f"| {r.number} | {r.title} | (none set) | see below | |")
        for t in r.targets:
            out.append(f"| {r.number} | {r.title} | {t.text} | {t.measured} | "
                       f"{'met' if t.met else '**missed**'} |")
    for r in results:
        out += ["", f"## {r.number}. {r.title}", ""]
        if r.error:
            out += ["Crashed:", "", "```", r.error.rstrip(), "```"]
            continue
        out += [f"| | median | IQR | min–max | n | {r.ratio_label} | |", "|---|---|---|---|---|---|---|"]
        for row in r.rows:
            median = f"{fmt(row.stat.median, row.unit)} {row.unit}" if row.stat else ""
            iqr, rng = _spread(row)
            ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
            n = row.stat.n if row.stat else ""
            out.append(f"| {row.name} | {median} | {iqr} | {rng} | {n} | {ratio} | {row.note} |")
        out.append("")
        for t in r.targets:
            out.append(f"- Target: {t.text}: **{t.measured}**, {'met' if t.met else '**missed**'}.")
        out += [f"- {note}" for note in r.notes]
        if r.profile and (show_profile or r.missed or not r.targets):
            out += ["", "Where the time goes:", "", "```", r.profile.rstrip(), "```"]
        if r.analysis:
            out += ["", "What would close it:", ""] + [f"- {line}" for line in r.analysis]
        out.append(f"\n_{r.seconds:.0f} s._")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--quick", action="store_true", help="CI mode: small counts, writes no file")
    parser.add_argument("--cases", help="comma-separated case numbers or names (default: all)")
    parser.add_argument("--output", type=Path, help="write the Markdown report here")
    parser.add_argument("--no-write", action="store_true", help="full run without writing BENCHMARKS.md")
    parser.add_argument("--no-lab", action="store_true", help="skip the cases that need the WordPress lab")
    parser.add_argument("--wp-rest", type=Path, help="benchmark this wp_rest.py (or its directory)")
    parser.add_argument("--profiles", action="store_true", help="show profiles of met targets too")
    parser.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    args = parser.parse_args(argv)

    if args.wp_rest:
        where = args.wp_rest.resolve()
        where = where.parent if where.is_file() else where
        if not (where / "wp_rest.py").is_file():
            parser.error(f"no wp_rest.py at {args.wp_rest}")
        os.environ["WP_REST_BENCH_DIR"] = str(where)
    from common import wp_rest_dir

    sys.path.insert(1, str(wp_rest_dir()))
    selected = sorted(CASES)
    if args.cases:
        names = {v: k for k, v in CASES.items()}
        try:
            selected = sorted({int(c) if c.strip().isdigit() else names[c.strip()]
                               for c in args.cases.split(",") if c.strip()})
        except KeyError as exc:
            parser.error(f"unknown case {exc}; cases: {CASES}")
    output = args.output
    if output is None and not args.quick and not args.no_write and not args.cases and not args.wp_rest:
        output = ROOT / "BENCHMARKS.md"

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    load_start = load_avg()
    info = machine()
    identity = wp_rest_identity()
    print(f"wp-rest benchmarks{' (quick)' if args.quick else ''}, {started:%Y-%m-%d %H:%M} UTC")
    print(f"  {info['cpus']} × {info['cpu']}, {info['python']}, load {load_start}")
    print(f"  under test: {identity}")

    site: dict[str, Any] | None = None
    lab_error = ""
    if not args.no_lab and any(n in LAB_CASES or n == 6 for n in selected):
        try:
            site = lab_site()
        except LabUnavailable as exc:
            lab_error = str(exc)
    results: list[CaseResult] = []
    crashed = False
    for number in selected:
        if number in LAB_CASES and args.no_lab:
            print(f"\n== {number}. skipped (--no-lab)")
            continue
        try:
            if number in LAB_CASES and site is None:
                raise LabUnavailable(lab_error)
            result = run_case(number, args.quick, site)
        except Exception:
            crashed = True
            result = CaseResult(number, CASES[number], f"case {number} ({CASES[number]})",
                                error=traceback.format_exc())
        results.append(result)
        print_case(result, args.profiles)
    seconds = time.perf_counter() - t0
    missed = [t for r in results for t in r.missed]
    print(f"\n{len(results)} case(s) in {seconds:.0f} s; "
          f"{sum(len(r.targets) for r in results) - len(missed)} target(s) met, {len(missed)} missed"
          f"{', CRASHES' if crashed else ''}.")
    if output is not None:
        command = "python bench/run.py" + "".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:]))
        output.write_text(markdown(results, info, command, args.quick, started, seconds,
                                   (load_start, load_avg()), identity, args.profiles))
        print(f"wrote {output}")
    if crashed:
        return 1
    if args.strict and missed:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

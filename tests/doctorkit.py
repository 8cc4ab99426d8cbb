"""Helpers shared by the doctor tests (tests/test_doctor.py, tests/test_doctor_wordpress.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import wp_rest

#: The module holding the doctor: ``Check``, ``Report``, ``_add_doctor_parser``, ``_doctor_command``.
DOCTOR: Any = wp_rest
Check: Any = wp_rest.Check
Report: Any = wp_rest.Report

ROOT = Path(__file__).resolve().parent.parent
#: ``python wp_rest.py`` (its ``doctor`` subcommand).
DOCTOR_COMMAND = [sys.executable, str(ROOT / "wp_rest.py")]


def diagnose(client: wp_rest.Client, **kwargs: Any) -> wp_rest.Report:
    """``client.diagnose(**kwargs)``."""
    return client.diagnose(**kwargs)


def main(argv: list[str] | None = None) -> int:
    """``wp_rest.main``."""
    return wp_rest.main(argv)


def outcomes(report: Any) -> dict[str, str]:
    """check name -> ok / warn / fail."""
    return {c.name: c.outcome for c in report.checks}


def text_of(report: Any, name: str) -> str:
    """What a check saw and its fix, as one text to search."""
    check = report.get(name)
    assert check is not None, f"no {name!r} check in:\n{report.render()}"
    return f"{check.seen}\n{check.fix}"

"""Helpers shared by the doctor tests (tests/test_doctor.py, tests/test_doctor_wordpress.py).

They run the doctor of wp_rest once its table of causes is in it, else the draft
beside it (_draft_doctor.py), so the same tests prove both.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import wp_rest

#: The module holding the doctor: ``Check``, ``Report``, ``_add_doctor_parser``, ``_doctor_command``.
DOCTOR: Any = wp_rest if hasattr(wp_rest, "_CAUSES") else importlib.import_module("_draft_doctor")
Check: Any = DOCTOR.Check
Report: Any = DOCTOR.Report

ROOT = Path(__file__).resolve().parent.parent
#: ``python wp_rest.py`` with only the doctor replaced while it is a draft.
DOCTOR_COMMAND = ([sys.executable, str(ROOT / "wp_rest.py")] if DOCTOR is wp_rest else
                  [sys.executable, "-c", "import sys; from doctorkit import main; sys.exit(main(sys.argv[1:]))"])


def diagnose(client: wp_rest.Client, **kwargs: Any) -> Any:
    """``client.diagnose(**kwargs)``."""
    if DOCTOR is wp_rest:
        return client.diagnose(**kwargs)
    return DOCTOR.diagnose(client, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """``wp_rest.main``, with the draft's doctor subcommand while it is a draft."""
    if DOCTOR is wp_rest:
        return wp_rest.main(argv)
    saved = wp_rest._add_doctor_parser, wp_rest._doctor_command
    wp_rest._add_doctor_parser, wp_rest._doctor_command = DOCTOR._add_doctor_parser, DOCTOR._doctor_command
    try:
        return wp_rest.main(argv)
    finally:
        wp_rest._add_doctor_parser, wp_rest._doctor_command = saved


def outcomes(report: Any) -> dict[str, str]:
    """check name -> ok / warn / fail."""
    return {c.name: c.outcome for c in report.checks}


def text_of(report: Any, name: str) -> str:
    """What a check saw and its fix, as one text to search."""
    check = report.get(name)
    assert check is not None, f"no {name!r} check in:\n{report.render()}"
    return f"{check.seen}\n{check.fix}"

"""Helpers shared by the doctor tests (tests/test_doctor.py, tests/test_doctor_wordpress.py)."""

from __future__ import annotations

from wp_rest import Report


def outcomes(report: Report) -> dict[str, str]:
    """check name -> ok / warn / fail."""
    return {c.name: c.outcome for c in report.checks}


def text_of(report: Report, name: str) -> str:
    """What a check saw and its fix, as one text to search."""
    check = report.get(name)
    assert check is not None, f"no {name!r} check in:\n{report.render()}"
    return check.seen + "\n" + check.fix

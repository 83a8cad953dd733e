"""frictionless as the test oracle: its errors in the shape the tests compare."""

from __future__ import annotations

import frictionless as fl

Error = tuple[str, int | None, str | None, str]


def frictionless_errors(report: fl.Report) -> tuple[bool, list[Error]]:
    """(valid, [(type, row number, field name, message)]) of a frictionless report."""
    found = report.tasks[0].errors if report.tasks else report.errors
    return report.valid, [
        (
            error.type,
            getattr(error, "row_number", None),
            getattr(error, "field_name", None) or None,
            error.message,
        )
        for error in found
    ]

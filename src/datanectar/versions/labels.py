"""Version labels: a UTC timestamp by default, or a template over a few named values.

Labels and property names follow FrogML's names: at most 60 letters, digits, '_', '-' and '.',
never starting with '_' or '.' (names the layout keeps for itself: `_manifests`, `_latest.json`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

LABEL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}")
TEMPLATE_FIELDS = ("date", "time", "run_id", "code_version", "content_hash", "partition")
_FIELD = re.compile(r"\{([^{}]*)\}")


def check_name(name: str, *, what: str) -> str:
    """`name` if it is a valid label or property name, else ValueError saying why."""
    if not isinstance(name, str) or not LABEL_PATTERN.fullmatch(name):
        raise ValueError(
            f"{what} {name!r} is not a name: at most 60 letters, digits, '_', '-' and '.', "
            "starting with a letter or digit"
        )
    return name


def template_fields(template: str) -> list[str]:
    """The fields a label template names, each checked to be one of `TEMPLATE_FIELDS`
    (never `str.format`: the template is user text)."""
    names = _FIELD.findall(template)
    rest = _FIELD.sub("", template)
    if "{" in rest or "}" in rest:
        raise ValueError(f"label template {template!r} has a brace that is no field")
    unknown = [name for name in names if name not in TEMPLATE_FIELDS]
    if unknown:
        raise ValueError(
            f"label template {template!r} names {', '.join(repr(n) for n in unknown)}; its "
            f"fields are {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}"
        )
    sample = _FIELD.sub("x", template)
    if not LABEL_PATTERN.fullmatch(sample):
        raise ValueError(
            f"label template {template!r} would not make a label: at most 60 letters, "
            "digits, '_', '-' and '.' (besides its fields), starting with a letter or digit"
        )
    return names


def make_label(
    template: str | None, values: Mapping[str, str | None], *, now: dt.datetime | None = None
) -> str:
    """The label of a new version: the template with its fields filled (a field with no
    value, such as `{partition}` of an unpartitioned entry, is an error), or by default the
    UTC time to the microsecond (`20261203T110512.123456Z`)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if template is None:
        return moment.strftime("%Y%m%dT%H%M%S.%fZ")
    known = {
        "date": moment.strftime("%Y-%m-%d"),
        "time": moment.strftime("%H%M%S"),
        **{name: value for name, value in values.items() if value is not None},
    }

    def filled(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            fix = {
                "code_version": "give the function producing it a version "
                "(datanectar.asset(version=...))",
                "partition": "write one namespace of a partitioned entry, or remove {partition}",
            }.get(name, "remove it from the template")
            raise ValueError(
                f"label template field '{{{name}}}' has no value for this write. Fix: {fix}"
            )
        return re.sub(r"[^A-Za-z0-9_.-]", "-", str(known[name]))

    label = _FIELD.sub(filled, template)[:60]
    return check_name(label, what="label")

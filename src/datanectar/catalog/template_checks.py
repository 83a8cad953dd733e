"""Checks on the operands of what a catalog template computes (operators, str.format and
printf widths, str methods, filters): a value past the bounds of one file is refused before it
is built, from the sizes of its operands."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from string import Formatter
from typing import TYPE_CHECKING, Any

from jinja2.runtime import Markup
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter

from . import bounds
from .bounds import (
    CONTAINERS,
    SEQUENCES,
    SIZED,
    BoundExceeded,
    Budget,
    allow,
    graph_size,
    shown,
    text_size,
    value_children,
)

if TYPE_CHECKING:
    from .sandbox import BoundedEnvironment

# Printf-style directives ('%%', or '%(name)-08.3f'): the mapping key, width and precision.
_PRINTF = re.compile(r"%%|%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


# -- operators, methods and filters -----------------------------------------------------------


def _check_int_bits(bits: float, what: str) -> None:
    if bits > bounds.INT_DIGITS * math.log2(10):
        raise BoundExceeded(
            f"{what} would build an integer of about {shown(bits * math.log10(2))} digits, past "
            f"the bound of {bounds.INT_DIGITS:,} digits.",
            "use smaller numbers.",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _check_times(left: Any, right: Any) -> None:
    if isinstance(right, int) and isinstance(left, SEQUENCES):
        left, right = right, left
    if isinstance(left, int) and isinstance(right, SEQUENCES):
        if left * len(right) > bounds.RENDER_CHARS:  # the message only when refusing: this is hot
            allow(left * len(right), f"'*' repeating a {type(right).__name__}")
    elif isinstance(left, int) and isinstance(right, int):
        _check_int_bits(left.bit_length() + right.bit_length(), "'*'")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        # A 64-bit exponent or more is past any bound, and too large for a float.
        bits = exponent * math.log2(abs(base)) if exponent.bit_length() < 64 else math.inf
        _check_int_bits(bits, "'**'")


def _check_plus(left: Any, right: Any) -> None:
    if isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        allow(len(left) + len(right), "'+'")


def _check_modulo(left: Any, right: Any) -> None:
    if isinstance(left, str):
        _check_printf("'%' formatting", left, right)


QUOTED = {operator: f"'{operator}'" for operator in ("*", "**", "+", "%")}
BINOP_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "*": _check_times,
    "**": _check_power,
    "+": _check_plus,
    "%": _check_modulo,
}


def _check_width(digits: str, what: str) -> None:
    width = int(digits) if len(digits) <= 18 else math.inf  # int() refuses 4,300 digits
    allow(width, f"{what} with a width of {shown(width)}")


def _check_printf(what: str, template: str, args: Any) -> None:
    """`template % args`: widths and precisions, and the text the values add."""
    directives = [match.groups() for match in _PRINTF.finditer(template)]
    keyed = isinstance(args, Mapping) and any(key is not None for key, _, _ in directives)
    values = args if isinstance(args, tuple) else (args,)
    size = len(template)
    for key, width, precision in directives:
        for digits in (width, precision):
            if digits == "*":  # the width is one of the values
                for value in values:
                    if _is_int(value):
                        allow(value, f"{what} with a '*' width")
            elif digits:
                _check_width(digits, what)
        if keyed and key is not None:
            size += text_size(args.get(key))
    if not keyed:
        size += sum(map(text_size, values))
    allow(size, what)


def _check_format_spec(value: Any, spec: str) -> None:
    for digits in _DIGITS.findall(spec):
        _check_width(digits, "str.format")
    allow(text_size(value), "str.format")


class _FieldBound(Formatter):
    """str.format's formatter, refusing huge widths and stopping once the text passes the bound."""

    built = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.built = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(value, format_spec)
        text = super().format_field(value, format_spec)
        self.built += len(text)
        allow(self.built, "str.format")
        return text


class _BoundedFormatter(_FieldBound, SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_FieldBound, SandboxedEscapeFormatter):
    pass


def formatter_for(environment: BoundedEnvironment, text: str) -> _FieldBound:
    if isinstance(text, Markup):  # escape the values, as the sandbox does
        return _BoundedEscapeFormatter(environment, escape=text.escape)
    return _BoundedFormatter(environment)


def _replaced_size(text: Any, old: Any, new: Any, count: Any) -> int:
    if not all(isinstance(x, str) for x in (text, old, new)):
        return text_size(text)
    hits = text.count(old) if old else len(text) + 1
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _joined(what: str, separator: Any, items: Any) -> list[Any]:
    """The items, listed once (they may be a generator), if joining them stays in bounds."""
    items = list(items)
    gaps = len(str(separator)) * max(len(items) - 1, 0)
    allow(gaps + sum(map(text_size, items)), what)
    return items


def check_method(method: Any, args: tuple, kwargs: dict) -> tuple:
    """Methods of str, bytes and int that can multiply a size in one call; returns the args."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, (str, bytes, int)):
        return args
    name, what = getattr(method, "__name__", ""), f"'{getattr(method, '__name__', '')}'"
    for value in (*args, *kwargs.values()):
        if _is_int(value):  # center, ljust, rjust, zfill, to_bytes...
            allow(value, what)
    if name == "replace" and len(args) >= 2:
        allow(_replaced_size(owner, args[0], args[1], _arg(args, kwargs, 2, "count")), what)
    elif name == "join" and args:
        return (_joined(what, owner, args[0]), *args[1:])
    elif name == "expandtabs" and isinstance(owner, str):
        tab = _arg(args, kwargs, 0, "tabsize", 8)
        if _is_int(tab):
            allow(len(owner) + owner.count("\t") * tab, what)
    return args


def _arg(args: tuple, kwargs: Mapping[str, Any], index: int, name: str, default: Any = None) -> Any:
    return kwargs.get(name, args[index] if len(args) > index else default)


def check_text(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """A filter that turns its value into text: refuse values whose text would be huge."""
    allow(text_size(args[0]), what)
    return args


def _check_counts(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """batch, slice: the count of items or groups they make, without turning values into text."""
    for value in (*args[1:], *kwargs.values()):
        if _is_int(value):
            allow(value, what)
    return args


def _check_widths(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """center, truncate, wordwrap...: a width or length argument bounds the text they make."""
    _check_counts(budget, what, args, kwargs)
    return check_text(budget, what, args, kwargs)


def _check_wordwrap(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """wordwrap puts `wrapstring` at every break: a line of `width` characters at most."""
    text, width = args[0], _arg(args, kwargs, 1, "width", 79)
    wrap = _arg(args, kwargs, 3, "wrapstring")
    if isinstance(text, str) and isinstance(wrap, str) and _is_int(width):
        allow(len(text) + len(text) // max(width, 1) * len(wrap), what)
    return _check_widths(budget, what, args, kwargs)


def _check_urlize(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """urlize writes each link twice, with its rel and target attributes."""
    text = args[0]
    extra = sum(
        len(x)
        for x in (_arg(args, kwargs, 4, "rel"), _arg(args, kwargs, 3, "target"))
        if isinstance(x, str)
    )
    if isinstance(text, str):
        links = text.count("://") + text.count("www.") + text.count("@")
        allow(2 * len(text) + links * (40 + extra), what)
    return _check_widths(budget, what, args, kwargs)


def _check_escape(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """Escaping turns each of <>&'" into up to 5 characters."""
    text = args[0]
    if isinstance(text, str) and not isinstance(text, Markup):
        allow(len(text) + 4 * sum(map(text.count, "<>&'\"")), what)
    return check_text(budget, what, args, kwargs)


def _check_tojson(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """tojson(indent) starts each item on a line of its own, indented."""
    indent = _arg(args, kwargs, 1, "indent")
    step = max(indent, 0) if _is_int(indent) else len(indent) if isinstance(indent, str) else 0
    if step and isinstance(args[0], CONTAINERS):
        items = graph_size(args[0], value_children, _item_count, limit=bounds.RENDER_CHARS)[0]
        allow(items * step, what)
    return _check_widths(budget, what, args, kwargs)


def _item_count(value: Any) -> int:
    return len(value) if isinstance(value, (list, tuple, dict, set, frozenset)) else 0


def _check_indent(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    text, width = args[0], _arg(args, kwargs, 1, "width", 4)
    width_size = max(width, 0) if _is_int(width) else len(str(width))
    lines = text.count("\n") + 1 if isinstance(text, str) else 1
    allow(text_size(text) + lines * width_size, what)
    return args


def _check_replace(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    old, new = _arg(args, kwargs, 1, "old"), _arg(args, kwargs, 2, "new")
    allow(_replaced_size(args[0], old, new, _arg(args, kwargs, 3, "count")), what)
    return args


def _check_format(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    _check_printf(what, str(args[0]), kwargs or args[1:])
    return args


def _check_join(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    if _arg(args, kwargs, 2, "attribute") is not None:
        return args  # the joined attributes are only known inside the filter: checked after
    return (_joined(what, _arg(args, kwargs, 1, "d", ""), args[0]), *args[1:])


def _check_sum(budget: Budget, what: str, args: tuple, kwargs: dict) -> tuple:
    """sum(start=[]) over lists copies the running total at each item: count every copy."""
    if _arg(args, kwargs, 1, "attribute") is not None:
        return args
    items, length, copied = list(args[0]), _sized(_arg(args, kwargs, 2, "start", 0)), 0
    for item in items:
        length += _sized(item)
        copied += length
    allow(length, what)
    budget.spend(copied)
    return (items, *args[1:])


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, SIZED) else 0


FILTER_CHECKS: dict[str, Callable[[Budget, str, tuple, dict], tuple]] = {
    "center": _check_widths,
    "truncate": _check_widths,
    "batch": _check_counts,
    "slice": _check_counts,
    "wordwrap": _check_wordwrap,
    "urlize": _check_urlize,
    "tojson": _check_tojson,
    "e": _check_escape,
    "escape": _check_escape,
    "forceescape": _check_escape,
    "indent": _check_indent,
    "replace": _check_replace,
    "format": _check_format,
    "join": _check_join,
    "sum": _check_sum,
}
# Filters that do not turn their value into text (their results are still checked).
NON_TEXT_FILTERS = frozenset(
    "abs attr count d default dictsort first float groupby int items last length list "
    "map max min random reject rejectattr reverse round select selectattr sort "
    "unique".split()
)

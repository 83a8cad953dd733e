"""The Jinja2 sandbox catalog files render in, with every loop, call, operator, filter and
output checked against the bounds of one file (`bounds`): a runaway template is interrupted,
and a huge value refused before it is built, without signals, threads or tracing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import wraps
from inspect import signature
from itertools import islice
from typing import Any

from jinja2 import nodes, pass_eval_context
from jinja2.runtime import LoopContext, markup_join, str_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from . import bounds
from .bounds import (
    CONTAINERS,
    SCALARS,
    SPLIT_FIX,
    BoundExceeded,
    Budget,
    allow,
    text_size,
)
from .template_checks import (
    BINOP_CHECKS,
    FILTER_CHECKS,
    NON_TEXT_FILTERS,
    QUOTED,
    check_method,
    check_text,
    formatter_for,
)

# Reserved names of the helpers the bounded templates call. Users cannot write them: a filter
# name in template text cannot contain ':'.
_LOOP = "datanectar:loop"
_CONCAT = "datanectar:concat"
_CHARGE = "datanectar:charge"
_BATCH = 64
_LIPSUM = signature(generate_lorem_ipsum)
# Outputs that need no check before becoming text (the common case, kept fast).
PLAIN = frozenset({str, int, float, bool, type(None)})
_NUMERIC_SAFE = frozenset({"+", "%"})


def _bounded_items(items: Any, budget: Budget) -> Iterator[Any]:
    """What a `{% for %}` loops over: the same items, each one counted and timed.

    A generator with Budget.step inlined, the cheapest per item; loop.length still works (the
    LoopContext lists the rest of the items, through here).
    """
    for item in items:
        budget.iterations += 1
        if budget.iterations > bounds.LOOP_ITERATIONS or time.monotonic() > budget.deadline:
            budget.step()  # raises the bound passed
        yield item


class _BoundTemplate(NodeTransformer):
    """Routes loops, `~` and slices (which Jinja2 compiles to plain Python) through the budget."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        node = self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, _CONCAT, [], [], None, None, lineno=node.lineno)

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Expr:
        node = self.generic_visit(node)
        if not isinstance(node.arg, nodes.Slice):
            return node
        return nodes.Filter(node, _CHARGE, [], [], None, None, lineno=node.lineno)


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with every loop, call, operator, filter and output checked against a Budget.

    Work can only repeat without end in loops and calls (macros recurse through calls), so those
    check the clock: a runaway template is interrupted without signals, threads or tracing.
    Every other step is bounded by the size of its operands, which the checks keep bounded.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, budget: Budget, **options: Any) -> None:
        super().__init__(finalize=_finalizer(budget), **options)
        self.budget = budget
        self.concat = self._join
        self.globals["lipsum"] = self._lipsum
        self.filters = {name: self._bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP] = self._loop
        self.filters[_CONCAT] = self._concat
        self.filters[_CHARGE] = budget.charge

    def compile(  # type: ignore[override]
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        """Every template (the file, and any it includes) is compiled from the bounded AST."""
        if isinstance(source, str):
            source = self.parse(source, name, filename)
        source = _BoundTemplate().visit(source)
        source.set_environment(self)
        return super().compile(source, name, filename, raw=raw, defer_init=defer_init)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.budget.tick()
        if isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (self._loop(args[0]), *args[1:])
        else:
            args = check_method(obj, args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, (list, dict, set, bytearray)) and len(owner) > bounds.RENDER_CHARS:
            allow(len(owner), f"'{obj.__name__}'")  # l.extend(l) grows l, and returns None
        return self.budget.charge(result, "a call")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        # Arithmetic is most of the operators a catalog uses: `+` and `%` on numbers build
        # nothing large, so they skip the checks.
        if operator in _NUMERIC_SAFE and type(left) in SCALARS and type(right) in SCALARS:
            return self.binop_table[operator](left, right)
        BINOP_CHECKS[operator](left, right)
        return self.budget.charge(self.binop_table[operator](left, right), QUOTED[operator])

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format / format_map, as the sandbox does, with widths and total size bounded."""
        if super().wrap_str_format(value) is None:
            return None
        text, is_map = value.__self__, value.__name__ == "format_map"

        def format_bounded(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument and no keywords")
                args, kwargs = (), args[0]
            formatter = formatter_for(self, text)
            return type(text)(formatter.vformat(text, args, kwargs))

        return format_bounded

    def _join(self, pieces: Any) -> str:
        """Every join of output: a macro's or block's (a list), and the file's own (a generator,
        from Template.render), which is streamed, to stop as soon as it passes the bound."""
        if not isinstance(pieces, list):
            return _join_stream(pieces)
        size = sum(map(len, pieces))
        if size > bounds.RENDER_CHARS:
            allow(size, "this block's output")
        return self.budget.charge("".join(pieces))

    def _loop(self, items: Any) -> Iterator[Any]:
        return _bounded_items(items, self.budget)

    @pass_eval_context
    def _concat(self, eval_ctx: Any, items: list[Any]) -> str:
        size = 0
        for item in items:  # strings and numbers, the usual items, without a call each
            kind = type(item)
            if kind is str:
                size += len(item)
            elif kind not in SCALARS:
                size += text_size(item)
        if size > bounds.RENDER_CHARS:
            allow(size, "'~'")
        join = markup_join if eval_ctx.volatile or eval_ctx.autoescape else str_join
        return self.budget.charge(join(items), "'~'")

    def _lipsum(self, *args: Any, **kwargs: Any) -> str:
        options = _LIPSUM.bind(*args, **kwargs)
        options.apply_defaults()
        paragraphs, fewest, most = (options.arguments[k] for k in ("n", "min", "max"))
        if all(isinstance(x, int) for x in (paragraphs, fewest, most)):
            # Two characters a word at least, one Python step a word.
            allow(2 * paragraphs * max(fewest, most), "lipsum()")
        return self.budget.charge(generate_lorem_ipsum(*args, **kwargs))

    def _bounded_filter(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        check = FILTER_CHECKS.get(name, None if name in NON_TEXT_FILTERS else check_text)
        # Filters marked pass_context / pass_eval_context / pass_environment get that first.
        skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
        budget, what = self.budget, f"the '{name}' filter"

        @wraps(function)  # keeps jinja_pass_arg, which the compiler reads
        def bounded(*args: Any, **kwargs: Any) -> Any:
            if check is not None and len(args) > skip:
                value = args[skip]
                # The usual case, a short string through a text filter, needs no call.
                if (
                    check is not check_text
                    or type(value) is not str
                    or len(value) > bounds.RENDER_CHARS
                ):
                    args = (*args[:skip], *check(budget, what, args[skip:], kwargs))
            return budget.charge(function(*args, **kwargs), what)

        return bounded


def _finalizer(budget: Budget) -> Callable[[Any], Any]:
    """Before `{{ value }}` becomes text: refuse values whose text would pass the bound.

    A closure, not a method: it runs for every output, and binding a method costs as much as
    the check.
    """

    def finalize(value: Any, plain: frozenset[type] = PLAIN) -> Any:
        if type(value) not in plain and isinstance(value, CONTAINERS):
            size = text_size(value)
            allow(size, "writing this value as text")
            budget.spend(size)
        return value

    return finalize


def _join_stream(stream: Iterator[str]) -> str:
    """The file's rendered text, refused once it passes bounds.RENDER_CHARS."""
    pieces: list[str] = []
    size = 0
    # In batches, so the per-piece work stays in C. A batch holds at most _BATCH pieces of
    # values already bounded, and repeated pieces are the same object, so it stays small.
    while batch := list(islice(stream, _BATCH)):
        size += sum(map(len, batch))
        if size > bounds.RENDER_CHARS:
            raise BoundExceeded(
                f"the rendered file is longer than {bounds.RENDER_CHARS:,} characters, the bound for "
                "one catalog file.",
                SPLIT_FIX,
                line=_stream_line(stream),
            )
        pieces += batch
    return "".join(pieces)


def _stream_line(stream: Any) -> int | None:
    """The template line whose output passed the bound: where the render function paused."""
    frame = getattr(stream, "gi_frame", None)
    # Jinja2 keeps the template in its code's globals, and finds lines this way too.
    template = frame.f_globals.get("__jinja_template__") if frame is not None else None
    return template.get_corresponding_lineno(frame.f_lineno) if template is not None else None

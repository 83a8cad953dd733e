"""Bounds on the time and memory one catalog file may cost to render and to parse.

Catalog files are Jinja2 templates. The sandbox stops templates reaching Python internals, but
not from looping for hours or building gigabytes, and YAML aliases can make a small document
expand to gigabytes when it is later walked. Every bound here is checked *before* the costly
step where it can be (a huge repetition, width or alias expansion is refused without being
built), and otherwise after each step, so a growing value stops at the first step past the bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from jinja2.utils import Namespace

# A generated 2,000-entry catalog renders in milliseconds, so 10 s is only reached by a runaway
# template, yet leaves a slow CI machine a wide margin.
RENDER_SECONDS = 10.0
# A 2,000-entry catalog renders to ~165 KB; 4 MiB is 25 times that (more than anyone writes by
# hand or generates sensibly), and parses in a few seconds into some 400 MB at most. It bounds
# the rendered text and every single value (string, list) a template builds.
RENDER_CHARS = 4 * 1024 * 1024
# Everything a template builds in total, temporaries included: 10 files' worth, so values built
# and kept (in a macro's buffer, in a list) cannot add up to gigabytes either.
BUILT_CHARS = 10 * RENDER_CHARS
# A generated 2,000-entry catalog runs a few thousand iterations; 1,000,000 empty ones take
# ~0.3 s, so the count trips before the clock does, the same way on every machine.
LOOP_ITERATIONS = 1_000_000
# Python refuses to print integers longer than this (sys.int_info.default_max_str_digits), and
# multiplying much longer ones takes seconds.
INT_DIGITS = 4300
# How much YAML aliases may add to a document: each node counts 1 and each scalar also counts
# its characters, so this is about 1 MB of text once the document is expanded (dumped, walked).
# Merging a 10-key `<<: *defaults` into 2,000 entries adds ~150,000; the "billion laughs"
# (nine nested levels of nine aliases) adds ~10^9.
YAML_ALIAS_EXPANSION = 1_000_000


SEQUENCES = (str, bytes, list, tuple)
SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
CONTAINERS = (list, tuple, dict, set, frozenset, Namespace)
SPLIT_FIX = "generate fewer entries from this file, or split it into several catalog files."
VALUE_FIX = "build smaller values; " + SPLIT_FIX
SCALARS = frozenset({int, float, bool, type(None)})


class BoundExceeded(Exception):
    """A bound was passed; render() and parse_yaml() turn it into a CatalogError."""

    def __init__(self, problem: str, fix: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.line = line


def allow(size: float, what: str) -> None:
    """Refuse, before it is built, a value of `size` characters or items past RENDER_CHARS."""
    if size > RENDER_CHARS:
        raise BoundExceeded(
            f"{what} would build a value of {shown(size)} characters or items, past the "
            f"bound of {RENDER_CHARS:,} on any value a catalog template builds.",
            VALUE_FIX,
        )


class Budget:
    """What one catalog file has left to spend: time, loop iterations, characters built."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS
        self.iterations = 0
        self.built = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            self._late()

    def step(self) -> None:
        """Refuse if the loops have run too many iterations, or too long."""
        if self.iterations > LOOP_ITERATIONS:
            raise BoundExceeded(
                f"the template's loops ran more than {LOOP_ITERATIONS:,} iterations, the bound "
                "for one catalog file.",
                "loop over less: " + SPLIT_FIX,
            )
        if time.monotonic() > self.deadline:
            self._late()

    def charge(self, value: Any, what: str = "an operation") -> Any:
        """Count a value just built against the bounds, and return it (inlined: it is hot)."""
        if type(value) not in SCALARS and isinstance(value, SIZED):
            size = len(value)
            if size > RENDER_CHARS:
                allow(size, what)
            self.built += size
            if self.built > BUILT_CHARS:
                self.spend(0)
        return value

    def spend(self, size: int) -> None:
        """Count `size` characters or items built (or about to be) against BUILT_CHARS."""
        self.built += size
        if self.built > BUILT_CHARS:
            raise BoundExceeded(
                f"the template built more than {BUILT_CHARS:,} characters or items of values "
                "in total, the bound for one catalog file.",
                VALUE_FIX,
            )

    def _late(self) -> None:
        raise BoundExceeded(
            f"rendering took longer than {RENDER_SECONDS:g} seconds, the bound for one catalog "
            "file.",
            "loop over less or generate fewer entries from this file, or split it into several "
            "catalog files.",
        )


def shown(amount: float) -> str:
    """An amount for a message; huge ones (a '*' by 10**400) are not worth printing out."""
    return f"{int(amount):,}" if amount < 1e18 else "more than 10^18"


# -- sizes ------------------------------------------------------------------------------------


def text_size(value: Any) -> int:
    """A lower bound on len(str(value)), linear in the distinct containers inside it."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, CONTAINERS):
        return 0
    return graph_size(value, value_children, _repr_weight, limit=RENDER_CHARS)[0]


def value_children(value: Any) -> list[Any]:
    """The items worth visiting: numbers and None are counted by their container's weight."""
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, Namespace):
        items = [getattr(value, "_Namespace__attrs", {})]
    elif isinstance(value, CONTAINERS):
        items = list(value)
    else:
        return []
    return [item for item in items if type(item) not in SCALARS]


def _repr_weight(value: Any) -> int:
    """Characters the repr of `value` has at least, beyond those of its items' contents."""
    if isinstance(value, str):
        return len(value) + 1  # its quotes, less the one character its container counts
    if isinstance(value, dict):
        return 6 * len(value)  # a key and a value of 1 character at least, ': ' and ', '
    if isinstance(value, (list, tuple, set, frozenset)):
        return 3 * len(value)  # an item of 1 character at least, and ', '
    return 0


def graph_size(
    root: Any,
    children: Callable[[Any], list[Any]],
    weight: Callable[[Any], int],
    *,
    limit: float = math.inf,
    on_cycle: Callable[[Any], None] | None = None,
) -> tuple[int, int, dict[int, int]]:
    """(expanded size, size counting each node once, expanded size by node id) of a graph.

    Memoized by node id, so shared nodes cost once: linear in the distinct nodes however much
    they would expand. Iterative, so deep nesting does not hit the recursion limit. A node met
    again inside itself calls on_cycle (which may raise), else counts as 5 ('[...]').
    """
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()
    distinct = 0
    # (node, its children once entered, its weight); leaves, most nodes, finish on entry.
    stack: list[tuple[Any, list[Any] | None, int]] = [(root, None, 0)]
    while stack:
        node, kids, own = stack.pop()
        key = id(node)
        if kids is not None:  # every child is done: this node is too
            open_ids.discard(key)
            try:
                sizes[key] = own + sum(map(sizes.__getitem__, map(id, kids)))
            except KeyError:  # a child still open: a cycle
                sizes[key] = own + sum(sizes.get(id(kid), 5) for kid in kids)
        elif key in sizes:
            pass
        elif key in open_ids:
            if on_cycle is not None:
                on_cycle(node)
        else:
            own = weight(node)
            distinct += own
            if distinct > limit:
                return distinct, distinct, sizes
            kids = children(node)
            if kids:
                open_ids.add(key)
                stack.append((node, kids, own))
                stack.extend([(kid, None, 0) for kid in kids])
            else:
                sizes[key] = own
    return sizes[id(root)], distinct, sizes


# -- YAML -------------------------------------------------------------------------------------


def check_yaml_aliases(root: yaml.Node) -> None:
    """Refuse a composed document whose aliases would expand it past YAML_ALIAS_EXPANSION.

    Runs on the node graph, before any Python value is built: an alias is the same node object
    reached again, so the graph stays as small as the text however much it would expand.
    """
    expanded, distinct, sizes = graph_size(root, _yaml_children, _yaml_weight, on_cycle=_yaml_cycle)
    if expanded - distinct > YAML_ALIAS_EXPANSION:
        raise BoundExceeded(
            f"YAML aliases (*name) would expand the document by {expanded - distinct:,} nodes "
            f"and characters, past the bound of {YAML_ALIAS_EXPANSION:,}; it was refused "
            "before expanding them.",
            "use fewer aliases, or alias smaller values; write large repeated values out.",
            line=_heaviest_line(root, sizes),
        )


def _yaml_children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _yaml_weight(node: yaml.Node) -> int:
    return 1 + len(node.value) if isinstance(node, yaml.ScalarNode) else 1


def _yaml_cycle(node: yaml.Node) -> None:
    raise BoundExceeded(
        "YAML aliases (*name) refer to a node from inside itself, so the document would expand "
        "without end.",
        "alias only anchors defined outside the value that uses them.",
        line=node.start_mark.line + 1,
    )


def _heaviest_line(root: yaml.Node, sizes: Mapping[int, int]) -> int | None:
    """The line of the top-level key whose value expands the most: where to look."""
    if not isinstance(root, yaml.MappingNode) or not root.value:
        return None
    key, _ = max(root.value, key=lambda pair: sizes.get(id(pair[1]), 0))
    return key.start_mark.line + 1

"""Catalog rendering and YAML parsing are bounded: runaway templates and alias bombs are refused.

Each test opens a throwaway project with `datanectar.catalog(project)`, as a user would, and
checks the error a user reads: it names the catalog file (and the line when known), the bound,
and how to fix it. Bounds are shrunk with monkeypatch where a test would otherwise wait for the
default one; every test finishes in about a second.
"""

from __future__ import annotations

import datetime
import json
import time

import pytest
import yaml

import datanectar
from datanectar.catalog import bounds
from datanectar.catalog.render import parse_yaml
from datanectar.errors import CatalogError
from runs import catalog_error

MAIN = "catalog/main.yaml"
QUICK = 1.0  # seconds: what "refused quickly" means here, for a slow CI machine too


def quick_error(make_project, catalog: str, **kwargs) -> CatalogError:
    start = time.monotonic()
    error = catalog_error(make_project, catalog, **kwargs)
    assert time.monotonic() - start < QUICK, f"took {time.monotonic() - start:.1f}s: {error}"
    return error


def generated_catalog(count: int = 2000) -> str:
    return (
        f"{{% for i in range({count}) %}}\n"
        "entry_{{ i }}:\n"
        "  format: csv\n"
        '  path: "{{ folder }}/entry_{{ i }}.csv"\n'
        "  description: \"Entry {{ i }} of {{ loop.length }}{{ '' if loop.last else '.' }}\"\n"
        "{% endfor %}\n"
    )


def plain_catalog(count: int = 2000) -> str:
    return "".join(
        f'entry_{i}:\n  format: csv\n  path: "data/entry_{i}.csv"\n  description: "Entry {i}"\n'
        for i in range(count)
    )


# -- YAML aliases ---------------------------------------------------------------------------

BILLION_LAUGHS = "x:\n  format: csv\n  metadata:\n    a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"    {name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_yaml_alias_bomb_in_a_catalog_is_refused_before_expanding(make_project):
    error = quick_error(make_project, BILLION_LAUGHS)
    assert error.file == MAIN
    assert str(error).startswith(f"{MAIN}, line 1: YAML aliases")
    assert f"past the bound of {bounds.YAML_ALIAS_EXPANSION:,}" in error.problem
    assert "refused before expanding" in error.problem
    assert "aliases" in error.fix


def test_yaml_alias_bomb_in_globals_is_refused_naming_that_file(make_project):
    bomb = BILLION_LAUGHS.replace("x:\n  format: csv\n  metadata:\n", "")
    error = quick_error(make_project, "x:\n  format: csv\n", globals_yaml=bomb)
    assert error.file is not None and error.file.endswith("globals.yaml")
    assert "YAML aliases" in error.problem


def test_aliasing_a_long_scalar_many_times_is_refused(make_project):
    long = "x" * 10_000
    catalog = (
        f"x:\n  format: csv\n  metadata:\n    a: &a {long}\n"
        f"    b: &b [{', '.join(['*a'] * 100)}]\n"
        f"    c: [{', '.join(['*b'] * 100)}]\n"
    )
    error = quick_error(make_project, catalog)
    assert error.file == MAIN
    assert "YAML aliases" in error.problem


def test_recursive_yaml_alias_is_refused(make_project):
    error = quick_error(make_project, "x:\n  format: csv\n  metadata: &m {self: *m}\n")
    assert error.file == MAIN
    assert "YAML aliases" in error.problem
    assert "without end" in error.problem


def test_anchors_and_merge_keys_in_a_2000_entry_catalog_still_work(make_project):
    catalog = "x: &defaults\n  format: csv\n  tags: {team: data}\n" + "".join(
        f"entry_{i}:\n  <<: *defaults\n  path: data/{i}.csv\n" for i in range(2000)
    )
    opened = datanectar.catalog(make_project(catalog))
    assert opened.entry("entry_1999").path == "data/1999.csv"
    assert opened.entry("entry_1999").format == "csv"
    assert opened.entry("entry_0").tags == {"team": "data"}


@pytest.mark.parametrize("catalog", [plain_catalog(), generated_catalog()], ids=["plain", "loop"])
def test_a_2000_entry_catalog_passes_the_default_bounds(make_project, catalog):
    opened = datanectar.catalog(make_project(catalog, globals_yaml="folder: data\n"))
    assert len(list(opened.entry(f"entry_{i}") for i in range(2000))) == 2000
    assert opened.entry("entry_7").path.endswith("entry_7.csv")


def test_yaml_values_are_the_ones_pyyaml_safe_load_gives():
    text = (
        "when: 2001-12-14t21:59:43.10-05:00\nday: 2002-12-14\noctal: 017\nbig: 1_000\n"
        "inf: .inf\nyes_: yes\nnull_: ~\nbinary: !!binary aGVsbG8=\nset: !!set {a, b}\n"
        "base: &base {x: 1, y: [1, 2]}\nmerged:\n  <<: *base\n  y: 3\nglob: data/*.csv\n"
        "pairs: !!omap [a: 1, b: 2]\n"
    )
    parsed = parse_yaml(text, display=MAIN)
    assert parsed == yaml.safe_load(text)
    assert parsed["when"].tzinfo is not None and isinstance(parsed["day"], datetime.date)
    assert parsed["merged"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("a:\n\t- x\n", 2, "found character '\\t' that cannot start any token"),
        ("good:\n  format: csv\n bad: [\n", 3, "expected <block end>, but found"),
        ("a: *nope\n", 1, "found undefined alias 'nope'"),
    ],
)
def test_invalid_yaml_keeps_its_messages_and_lines(make_project, text, line, problem):
    error = catalog_error(make_project, text)
    assert (error.file, error.line) == (MAIN, line)
    assert error.problem.startswith("invalid YAML after Jinja2 rendering: ")
    assert problem in error.problem


# -- render time ----------------------------------------------------------------------------


@pytest.fixture
def short_render(monkeypatch):
    """A 0.2 s render bound, and loop iterations unbounded, so the clock is what trips."""
    monkeypatch.setattr(bounds, "RENDER_SECONDS", 0.2)
    monkeypatch.setattr(bounds, "LOOP_ITERATIONS", 10**12)


def assert_too_slow(error: CatalogError, line: int) -> None:
    assert (error.file, error.line) == (MAIN, line)
    assert error.problem == (
        "rendering took longer than 0.2 seconds, the bound for one catalog file."
    )
    assert "split it into several catalog files" in error.fix


@pytest.mark.parametrize(
    "catalog",
    [
        "x:\n  format: csv\n"
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
        "x:\n  format: csv\n{% set r = range(100000) %}\n"
        "{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}\n",
        "x:\n  format: csv\n{% for i in range(100000) recursive %}"
        "{{ loop(range(100000)) if loop.depth < 3 else '' }}{% endfor %}\n",
    ],
    ids=["nested-loops", "set-variable", "recursive-loop"],
)
def test_runaway_loops_are_interrupted(make_project, short_render, catalog):
    error = quick_error(make_project, catalog)
    assert_too_slow(error, line=catalog.count("\n"))


def test_runaway_recursive_macro_is_interrupted(make_project, short_render):
    catalog = (
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}\n"
        "x:\n  format: csv\n  description: '{{ f(40) }}'\n"
    )
    error = quick_error(make_project, catalog)
    assert_too_slow(error, line=1)


def test_loop_iterations_are_bounded(make_project, monkeypatch):
    monkeypatch.setattr(bounds, "LOOP_ITERATIONS", 5000)
    catalog = "x:\n  format: csv\n{% for i in range(3000) %}{% for j in range(2) %}{% endfor %}{% endfor %}\n"
    error = quick_error(make_project, catalog)
    assert (error.file, error.line, error.entry) == (MAIN, 3, "x")
    assert "loops ran more than 5,000 iterations" in error.problem


def test_deep_recursion_is_a_catalog_error(make_project):
    catalog = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\nx:\n  format: csv\n  description: '{{ f(1) }}'\n"
    error = quick_error(make_project, catalog)
    assert error.file == MAIN and error.line == 1
    assert "recursion is too deep" in error.problem


# -- render size ----------------------------------------------------------------------------


def test_rendered_text_past_the_bound_is_refused(make_project, monkeypatch):
    monkeypatch.setattr(bounds, "RENDER_CHARS", 20_000)
    error = quick_error(make_project, generated_catalog(), globals_yaml="folder: data\n")
    assert error.file == MAIN
    assert error.line is not None and 2 <= error.line <= 5  # inside the loop's body
    assert error.problem == (
        "the rendered file is longer than 20,000 characters, the bound for one catalog file."
    )
    assert (
        error.fix
        == "generate fewer entries from this file, or split it into several catalog files."
    )


@pytest.mark.parametrize(
    ("expression", "what"),
    [
        ("'x' * 3000000000", "'*' repeating a str"),
        ("[1] * 3000000000", "'*' repeating a list"),
        ("3000000000 * (1, 2)", "'*' repeating a tuple"),
        ("10 ** (10 ** 10)", "'**' would build an integer"),
        ("'%3000000000s' % 1", "'%' formatting with a width of 3,000,000,000"),
        ("'%.3000000000f' % 1.0", "'%' formatting with a width of 3,000,000,000"),
        ("'%*s' % (3000000000, 'x')", "'%' formatting with a '*' width"),
        ("'x'|center(3000000000)", "the 'center' filter"),
        ("'x'|indent(3000000000)", "the 'indent' filter"),
        ("'x'|truncate(3000000000)", "the 'truncate' filter"),
        ("'x'|wordwrap(3000000000)", "the 'wordwrap' filter"),
        ("'%3000000000s'|format(1)", "the 'format' filter with a width of 3,000,000,000"),
        ("'{:>3000000000}'.format(1)", "str.format with a width of 3,000,000,000"),
        ("'{:>{w}}'.format(1, w=3000000000)", "str.format with a width of 3,000,000,000"),
        ("'{a:>3000000000}'.format_map({'a': 1})", "str.format with a width"),
        ("'x'.ljust(3000000000)", "'ljust'"),
        ("'x'.zfill(3000000000)", "'zfill'"),
        ("(1).to_bytes(3000000000, 'big')", "'to_bytes'"),
        ("(('x' * 1000)|replace('x', 'x' * 1000))|replace('x', 'x' * 1000)", "'replace' filter"),
        ("('x' * 100000).replace('x', 'x' * 1000)", "'replace'"),
        ("('\\t' * 1000000).expandtabs(1000)", "'expandtabs'"),
        ("(['x' * 4000000] * 100)|join", "the 'join' filter"),
        ("('x' * 10000).join(['x' * 10000] * 10000)", "'join'"),
        ("lipsum(100000000)", "lipsum()"),
        ("[[1] * 1000000] * 1000", "writing this value as text"),
        ("([[1] * 1000000] * 1000)|tojson", "the 'tojson' filter"),
        ("([[1] * 1000000] * 1000)|string", "the 'string' filter"),
        ("'{}'.format([[1] * 1000000] * 1000)", "str.format"),
        ("'x' * 2000000 ~ 'x' * 2000000 ~ 'x' * 2000000", "'~'"),
        ("[1, 2]|tojson(3000000000)", "the 'tojson' filter"),
        ("(range(100000)|list)|tojson(1000)", "the 'tojson' filter"),
        ("('a ' * 1000000)|wordwrap(2, true, 'x' * 1000)", "the 'wordwrap' filter"),
        ("('http://a.b ' * 100000)|urlize(target='x' * 1000)", "the 'urlize' filter"),
        ("('<' * 2000000)|e", "the 'e' filter"),
        ("[1]|batch(3000000000, 0)", "the 'batch' filter"),
        ("[1]|slice(3000000000)", "the 'slice' filter"),
    ],
)
def test_a_single_huge_value_is_refused_before_it_is_built(make_project, expression, what):
    error = quick_error(
        make_project, f'x:\n  format: csv\n  description: "{{{{ {expression} }}}}"\n'
    )
    assert (error.file, error.line, error.entry) == (MAIN, 3, "x")
    assert what in error.problem, error.problem
    assert "past the bound" in error.problem
    assert error.fix


@pytest.mark.parametrize(
    "loop_body",
    [
        "{% set ns.s = ns.s ~ ns.s %}",
        "{% set ns.s = ns.s + ns.s %}",
        "{% set ns.s = ns.s|replace('x', 'xx') %}",
        "{% set _ = ns.l.extend(ns.l) %}",
        "{% set ns.l = ns.l + ns.l %}",
        "{% set ns.x = ns.x * ns.x %}",
    ],
)
def test_values_growing_in_a_loop_stop_at_the_bound(make_project, loop_body):
    catalog = (
        "{% set ns = namespace(s='x' * 100000, l=[1] * 100000, x=10 ** 100) %}\n"
        f"{{% for i in range(40) %}}{loop_body}{{% endfor %}}\n"
        "x:\n  format: csv\n"
    )
    error = quick_error(make_project, catalog)
    assert (error.file, error.line) == (MAIN, 2)
    assert "past the bound" in error.problem


@pytest.mark.parametrize(
    "catalog",
    [
        "{% set b = 'x' * 4000000 %}{% macro m() %}{% for i in range(100) %}{{ b }}"
        "{% endfor %}{% endmacro %}\nx:\n  format: csv\n  description: '{{ m() }}'\n",
        "{% set b = 'x' * 4000000 %}{% set y %}{% for i in range(100) %}{{ b }}"
        "{% endfor %}{% endset %}\nx:\n  format: csv\n",
    ],
    ids=["macro", "set-block"],
)
def test_a_block_of_output_is_bounded(make_project, catalog):
    error = quick_error(make_project, catalog)
    assert (error.file, error.line) == (MAIN, 1)
    assert "this block's output would build a value of 400,000,000 characters" in error.problem


def test_values_built_and_kept_are_bounded_in_total(make_project, monkeypatch):
    monkeypatch.setattr(bounds, "RENDER_CHARS", 10_000)
    monkeypatch.setattr(bounds, "BUILT_CHARS", 100_000)
    catalog = (
        "{% set b = 'x' * 5000 %}{% set kept = [] %}\n"
        "{% for i in range(1000) %}{% set _ = kept.append(b ~ i) %}{% endfor %}\n"
        "x:\n  format: csv\n"
    )
    error = quick_error(make_project, catalog)
    assert (error.file, error.line) == (MAIN, 2)
    assert "built more than 100,000 characters or items of values in total" in error.problem


def test_slices_count_against_the_total(make_project, monkeypatch):
    monkeypatch.setattr(bounds, "BUILT_CHARS", 1_000_000)
    catalog = (
        "{% set b = [1] * 100000 %}{% set kept = [] %}\n"
        "{% for i in range(100) %}{% set _ = kept.append(b[:]) %}{% endfor %}\n"
        "x:\n  format: csv\n"
    )
    error = quick_error(make_project, catalog)
    assert (error.file, error.line) == (MAIN, 2)
    assert "built more than 1,000,000" in error.problem


# -- what stays the same --------------------------------------------------------------------


def test_templates_within_the_bounds_render_as_before(make_project, monkeypatch):
    monkeypatch.setenv("DATANECTAR_TEST_BOUNDS", "from_env")
    catalog = """\
        {% set tree = [{'name': 'a', 'kids': [{'name': 'b', 'kids': []}]}] %}
        {% macro entry(name, path) -%}
        {{ name }}:
          format: csv
          path: {{ path }}
        {%- endmacro %}
        {% for node in tree recursive %}
        {{ entry(node.name, node.name ~ '/' ~ loop.depth ~ '.csv') }}
          description: "{{ '%05d|%-3s|' % (loop.index, 'x') }}{{ '{:>4}{}'.format(7, '!') }}"
        {{ loop(node.kids) }}{% endfor %}
        c:
          format: csv
          path: "{{ env('DATANECTAR_TEST_BOUNDS') }}/{{ ['x', 'y']|join('-') }}{{ 'ab'[::-1] }}"
          description: "{{ 'a b'|replace(' ', '_')|center(7)|trim }} {{ [[1], [2]]|sum(start=[]) }}"
          metadata: {n: "{{ 2 ** 10 }} {{ 'ab' * 2 }} {{ ([1] + [2])|length }} {{ lipsum(1, False, 3, 5)|length > 0 }}",
                 m: "{{ [1, 2, 3]|batch(2)|list|length }} {{ [1, 2, 3]|slice(2)|list|length }} {{ '<a>'|e }} {{ {'a': [1]}|tojson(1)|length }} {{ 'a b c'|wordwrap(1, wrapstring='/') }}"}
        """
    opened = datanectar.catalog(make_project(catalog))
    assert opened.entry("a").path == "a/1.csv"
    assert opened.entry("b").path == "b/2.csv"
    assert opened.entry("a").description == "00001|x  |   7!"
    assert opened.entry("c").path == "from_env/x-yba"
    assert opened.entry("c").description == "a_b [1, 2]"
    tojson_length = len(json.dumps({"a": [1]}, indent=1))
    assert opened.entry("c").metadata == {
        "n": "1024 abab 2 True",
        "m": f"2 2 &lt;a&gt; {tojson_length} a/b/c",
    }


def test_undefined_names_in_a_loop_keep_their_line_and_entry(make_project):
    catalog = (
        "x:\n  format: csv\n{% for i in missing_list %}\ny{{ i }}:\n  format: csv\n{% endfor %}\n"
    )
    error = catalog_error(make_project, catalog)
    assert (error.file, error.line, error.entry) == (MAIN, 3, "x")
    assert "Jinja2 variable undefined: 'missing_list' is undefined" in error.problem


def test_helper_names_cannot_be_written_in_a_template(make_project):
    error = catalog_error(
        make_project, "x:\n  format: csv\n  description: '{{ 1|datanectar:loop }}'\n"
    )
    assert (error.file, error.line) == (MAIN, 3)
    assert "Jinja2 template error" in error.problem


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__",
        "cycler.__init__.__globals__",
        "lipsum.__globals__",
        "lipsum.__globals__['os']",
        "joiner.__init__.__globals__",
        "namespace.__init__.__globals__",
        "env.__globals__",
        "'{0.__class__}'.format('')",
    ],
)
def test_the_sandbox_still_refuses_escapes(make_project, expression):
    error = catalog_error(
        make_project, f'x:\n  format: csv\n  description: "{{{{ {expression} }}}}"\n'
    )
    assert (error.file, error.line, error.entry) == (MAIN, 3, "x")
    assert "Jinja2 template error: access to attribute" in error.problem
    assert "is unsafe" in error.problem


def test_the_default_bounds_are_sane():
    assert 1 <= bounds.RENDER_SECONDS <= 60
    assert 1024 * 1024 <= bounds.RENDER_CHARS <= 100 * 1024 * 1024
    assert bounds.RENDER_CHARS <= bounds.BUILT_CHARS <= 100 * bounds.RENDER_CHARS
    assert 10_000 <= bounds.LOOP_ITERATIONS <= 100_000_000
    assert bounds.INT_DIGITS >= 1000
    assert 100_000 <= bounds.YAML_ALIAS_EXPANSION <= 10_000_000

"""`datanectar catalog list|show|validate|schema`, and what every command shares: `--version`,
one message and exit 2 for a user's mistake (`--debug` for the traceback), the same global
options and help texts everywhere, progress on a terminal only.

Commands run in process (`datanectar.cli.main(argv)`, output through capsys) and as the
`datanectar` command in subprocesses; the JSON Schema is checked with the `jsonschema`
package against the demo's catalog files and against the loader itself."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

import datanectar
from datanectar.catalog import parse_entry
from datanectar.cli import build_parser, main
from datanectar.errors import CatalogError

REPO = Path(__file__).resolve().parents[1]
DEMO_CATALOG = sorted((REPO / "demo" / "catalog").glob("*.yaml"))

CATALOG = """
readings:
  format: csv
  group: raw
  description: Station readings.
  schema: {fields: [{name: station, type: string}, {name: temp, type: number}]}
  checks:
    - row_count: {min: 1}
    - {not_null: [station], severity: warn}
cities:
  format: parquet
  path: "cities/{namespace}.parquet"
  group: raw
  namespaces: [paris, lyon]
"""

MODULE = """
import pandas as pd

import datanectar


@datanectar.asset(format="parquet", group="gold")
def means(readings: pd.DataFrame) -> pd.DataFrame:
    return readings.groupby("station", as_index=False).mean()
"""

ENVIRONMENTS = """
[tool.datanectar.environments.prod.stores.local]
root = "prod_data"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def environment() -> dict[str, str]:
    """This process's environment for a `datanectar` subprocess: this worktree's package, no
    project or environment chosen by the caller's variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATANECTAR_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def datanectar_command(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datanectar.cli", *argv],
        env=environment(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def project(make_project, monkeypatch) -> Path:
    monkeypatch.delenv("DATANECTAR_ENV", raising=False)
    monkeypatch.delenv("DATANECTAR_PROJECT", raising=False)
    return make_project(CATALOG, modules={"cli_catalog_pipes": MODULE}, settings=ENVIRONMENTS)


# -- list ---------------------------------------------------------------------------------


def test_list_shows_each_entry_as_resolved(project, capsys):
    code, out, err = run(capsys, "--project", str(project), "catalog", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "FORMAT", "STORE", "NAMESPACES", "CHECKS", "GROUP"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert sorted(rows) == ["cities", "means", "readings"]  # `means`: declared by its function
    assert rows["readings"].split()[1:3] == ["csv", "local"]
    assert "table_schema, row_count, not_null" in rows["readings"]
    assert "namespace: paris, lyon" in rows["cities"]
    assert rows["means"].split()[1:3] == ["parquet", "local"]

    code, out, _ = run(capsys, "catalog", "list", "--json", "--project", str(project))
    assert code == 0
    listed = {item["name"]: item for item in json.loads(out)}
    assert listed["readings"]["checks"] == ["table_schema", "row_count", "not_null"]
    assert listed["cities"]["namespaces"] == [{"name": "namespace", "values": ["paris", "lyon"]}]
    assert listed["means"]["producer"] == "cli_catalog_pipes.means"
    assert listed["means"]["group"] == "gold"
    assert listed["means"]["source"] is None


# -- show ---------------------------------------------------------------------------------


def test_show_gives_locations_per_namespace_in_the_active_environment(project, capsys, monkeypatch):
    code, out, err = run(capsys, "--project", str(project), "catalog", "show", "cities", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["name"] == "cities"
    assert (shown["store"], shown["store_type"], shown["environment"]) == (
        "local",
        "local",
        "(base settings)",
    )
    data = (project / "data").resolve()
    assert {item["namespace"]: item["uri"] for item in shown["locations"]} == {
        "paris": str(data / "cities" / "paris.parquet"),
        "lyon": str(data / "cities" / "lyon.parquet"),
    }

    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    code, out, err = run(capsys, "--project", str(project), "catalog", "show", "cities", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["environment"] == "prod"
    prod = (project / "prod_data").resolve()
    assert shown["locations"][0]["uri"] == str(prod / "cities" / "paris.parquet")


def test_show_gives_schema_checks_producer_and_upstreams(project, capsys):
    code, out, err = run(capsys, "--project", str(project), "catalog", "show", "readings")
    assert code == 0, err
    assert "format: csv\n" in out
    assert f"  -: {(project / 'data' / 'readings.csv').resolve()}\n" in out
    assert "schema: " in out and '"name": "station"' in out
    assert '  row_count (error): {"row_count": {"min": 1}}' in out
    assert '  not_null (warn): {"not_null": ["station"]}' in out

    code, out, err = run(capsys, "--project", str(project), "catalog", "show", "means", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["producer"] == "cli_catalog_pipes.means (asset function)"
    assert shown["upstreams"] == ["readings"]
    assert shown["locations"] == [
        {"namespace": None, "uri": str((project / "data" / "means.parquet").resolve())}
    ]


def test_show_of_an_unknown_entry_is_one_message_and_exit_2(project, capsys):
    code, out, err = run(capsys, "--project", str(project), "catalog", "show", "reading")
    assert code == 2
    assert out == ""
    assert err.startswith("datanectar: no catalog entry named 'reading'. Did you mean 'readings'?")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# -- validate -----------------------------------------------------------------------------

BROKEN = {
    "a.yaml": """
        fine:
          format: csv
        typo:
          format: csv
          colour: red
        wrong_type:
          format: parquet
          profile: maybe
    """,
    "b.yaml": """
        nowhere:
          format: parquet
          store: elsewhere
        two_rules:
          format: csv
          checks:
            - {row_count: {min: 1}, unique: [a]}
    """,
}

READS_BROKEN = """
import pandas as pd

import datanectar


@datanectar.asset(format="parquet")
def derived(wrong_type: pd.DataFrame) -> pd.DataFrame:
    return wrong_type
"""


def test_validate_reports_every_error_of_every_file(make_project, capsys):
    """Parsing errors of both files and a resolution error (an unknown store) together; the
    function reading the broken entry is not reported a second time."""
    project = make_project(BROKEN, modules={"cli_reads_broken": READS_BROKEN})
    code, out, err = run(capsys, "--project", str(project), "catalog", "validate")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 4, out
    assert lines[0].startswith("catalog/a.yaml: entry 'typo': field 'colour': unknown field")
    assert lines[1].startswith("catalog/a.yaml: entry 'wrong_type': field 'profile': ")
    assert lines[2].startswith("catalog/b.yaml: entry 'two_rules': field 'checks[0]': ")
    assert lines[3].startswith("catalog/b.yaml: entry 'nowhere': field 'store': ")
    assert "derived" not in out
    assert err == "4 problem(s) in the catalog\n"

    code, out, _ = run(capsys, "--project", str(project), "catalog", "validate", "--json")
    assert code == 1
    found = [(p["file"], p["name"], p["field"]) for p in json.loads(out)]
    assert found == [
        ("catalog/a.yaml", "typo", "colour"),
        ("catalog/a.yaml", "wrong_type", "profile"),
        ("catalog/b.yaml", "two_rules", "checks[0]"),
        ("catalog/b.yaml", "nowhere", "store"),
    ]


def test_validate_of_a_valid_catalog_exits_0(project, capsys):
    code, out, err = run(capsys, "--project", str(project), "catalog", "validate")
    assert (code, out, err) == (0, "the catalog is valid\n", "")
    code, out, _ = run(capsys, "--project", str(project), "catalog", "validate", "--json")
    assert (code, json.loads(out)) == (0, [])


# -- schema -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    """The printed schema, as an editor would read it."""
    result = subprocess.run(
        [sys.executable, "-m", "datanectar.cli", "catalog", "schema"],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("file", DEMO_CATALOG, ids=lambda path: path.name)
def test_schema_accepts_the_demo_catalog(validator, file):
    """As the editor sees the file: before Jinja2 renders it."""
    document = yaml.safe_load(file.read_text())
    assert [error.message for error in validator.iter_errors(document)] == []


def test_schema_accepts_the_scaffolds_catalog(validator, tmp_path):
    """What `datanectar init` writes is what the schema describes, template braces and all."""
    assert main(["init", str(tmp_path / "schema_checked")]) == 0
    files = sorted((tmp_path / "schema_checked" / "catalog").glob("*.yaml"))
    assert len(files) == 3
    for file in files:
        document = yaml.safe_load(file.read_text())
        assert [error.message for error in validator.iter_errors(document)] == [], file.name


BODIES = {
    "empty": (None, True),
    "short forms": (
        {
            "format": "csv",
            "versioned": True,
            "dialect": {"delimiter": ";", "headerRows": 2},
            "namespaces": {"city": ["paris"], "date": {"daily": {"start": "2024-01-01"}}},
            "checks": [{"range": {"t": [0, None]}, "severity": "warn"}],
            "automation": {"on_cron": "0 3 * * *"},
        },
        True,
    ),
    "static keys": ({"namespaces": ["a", 3]}, True),
    "dynamic": ({"namespaces": {"dynamic": "scenarios"}}, True),
    "unknown field": ({"format": "csv", "colour": "red"}, False),
    "wrong type": ({"profile": "maybe"}, False),
    "unknown format": ({"format": "exel"}, False),
    "two rules in a check": ({"checks": [{"row_count": {"min": 1}, "unique": ["a"]}]}, False),
    "no rule in a check": ({"checks": [{"severity": "warn"}]}, False),
    "unknown rule setting": ({"checks": [{"row_count": {"least": 1}}]}, False),
    "bad report": ({"report": "everything"}, False),
    "unknown cadence": ({"namespaces": {"yearly": {"start": "2024"}}}, False),
    "versioned keep 0": ({"versioned": {"keep": 0}}, False),
}


@pytest.mark.parametrize("body, valid", BODIES.values(), ids=BODIES)
def test_schema_agrees_with_the_loader(validator, body, valid):
    """The schema accepts what the catalog loader accepts and rejects what it rejects."""
    errors = [error.message for error in validator.iter_errors({"entry": body})]
    assert (not errors) is valid, errors
    try:
        parse_entry("entry", body, display="catalog/main.yaml")
        loaded = True
    except CatalogError:
        loaded = False
    assert loaded is valid


def test_schema_rejects_a_broken_demo_entry(validator):
    document = yaml.safe_load(DEMO_CATALOG[0].read_text())
    name = next(iter(document))
    document[name]["colour"] = "red"
    document[name]["profile"] = "yes"
    messages = sorted(error.message for error in validator.iter_errors(document))
    assert messages == [
        "'yes' is not of type 'boolean'",
        "Additional properties are not allowed ('colour' was unexpected)",
    ]


def test_schema_is_written_to_a_file(tmp_path, capsys):
    target = tmp_path / "catalog.schema.json"
    code, out, err = run(capsys, "catalog", "schema", "-o", str(target))
    assert (code, out, err) == (0, "", f"wrote {target}\n")
    assert json.loads(target.read_text())["title"] == "datanectar catalog file"


# -- errors, --debug, --version, help -----------------------------------------------------


def test_a_user_error_in_a_subprocess_has_no_traceback_unless_debug(project):
    quiet = datanectar_command("catalog", "show", "nope", cwd=project)
    assert quiet.returncode == 2
    assert quiet.stdout == ""
    assert quiet.stderr.startswith("datanectar: no catalog entry named 'nope'.")
    assert "Traceback" not in quiet.stderr

    loud = datanectar_command("--debug", "catalog", "show", "nope", cwd=project)
    assert loud.returncode == 2
    assert "Traceback (most recent call last)" in loud.stderr
    assert "UnknownEntryError" in loud.stderr
    assert loud.stderr.rstrip().splitlines()[-1] == quiet.stderr.rstrip()

    upwards = datanectar_command("catalog", "list", cwd=project / "catalog")  # found above
    assert upwards.returncode == 0, upwards.stderr

    version = datanectar_command("--version", cwd=project)
    assert (version.returncode, version.stdout) == (0, f"datanectar {datanectar.__version__}\n")


def test_a_missing_project_is_a_user_error(tmp_path, capsys):
    code, _, err = run(capsys, "--project", str(tmp_path / "nowhere"), "catalog", "list")
    assert code == 2
    assert err.startswith("datanectar: ") and "Traceback" not in err


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [((*path, name), sub), *_commands(sub, (*path, name))]
    return found


LISTING = [
    ("cache", "ls"),
    ("catalog", "list"),
    ("catalog", "show"),
    ("catalog", "validate"),
    ("namespaces", "list"),
    ("quarantine", "list"),
    ("versions",),
]


def test_every_command_has_the_global_options_and_a_description():
    commands = dict(_commands(build_parser()))
    assert {("catalog", action) for action in ("list", "show", "validate", "schema")} <= set(
        commands
    )
    for path, parser in commands.items():
        options = {option for action in parser._actions for option in action.option_strings}
        assert {"--project", "--debug", "--help"} <= options, path
        assert parser.description and parser.description.endswith("."), path
        if path in LISTING:
            assert "--json" in options, path
        for action in parser._actions:
            if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                assert (action.metavar or "").isupper(), (path, action.dest)  # ENTRY, NAME


def test_global_options_are_accepted_after_the_command(project, capsys):
    code, out, _ = run(capsys, "catalog", "list", "--json", "--project", str(project))
    assert code == 0 and {item["name"] for item in json.loads(out)} == {
        "cities",
        "means",
        "readings",
    }
    # given before the command, an option is not undone by the command's own default
    code, out, _ = run(capsys, "--project", str(project), "catalog", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 3


# -- progress -----------------------------------------------------------------------------

VERSIONED = """
notes:
  format: json
  versioned: true
"""

CACHED = """
import datanectar


@datanectar.cache(cache_args=["n"], version="1")
def squares(n: int) -> dict:
    return {"n": n * n}
"""


def _on_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm")


def _save_versions(project: Path, count: int) -> datanectar.Catalog:
    catalog = datanectar.catalog(project)
    for number in range(count):
        catalog.save("notes", {"n": number})
    return catalog


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_versions_prune_shows_progress_on_a_terminal_only(
    make_project, capsys, monkeypatch, terminal
):
    project = make_project(VERSIONED)
    catalog = _save_versions(project, 5)
    labels = [manifest.label for manifest in catalog.versions("notes")]
    assert len(labels) == 5
    if terminal:
        _on_a_terminal(monkeypatch)
    code, out, err = run(
        capsys, "--project", str(project), "versions", "notes", "--prune", "--keep", "2"
    )
    assert code == 0, err
    assert out.splitlines() == ["removed 3 version(s) of notes:", *(f"  {x}" for x in labels[:3])]
    if terminal:
        assert "\rpruning versions of 'notes': 3/3" in err
        assert err.endswith("\r")  # the progress line cleared
    else:
        assert err == ""
    left = [manifest.label for manifest in datanectar.catalog(project).versions("notes")]
    assert left == labels[3:]
    assert datanectar.catalog(project).load("notes") == {"n": 4}


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
@pytest.mark.usefixtures("hermetic_cache")
def test_cache_clear_shows_progress_on_a_terminal_only(
    make_cache_project, capsys, monkeypatch, terminal
):
    project = make_cache_project(modules={"cli_catalog_cached": CACHED})
    catalog = datanectar.catalog(project)  # imports the project's module, from its folder
    module = importlib.import_module("cli_catalog_cached")
    with catalog.activate():
        for n in range(4):
            module.squares(n)
    if terminal:
        _on_a_terminal(monkeypatch)
    code, out, err = run(capsys, "--project", str(project), "cache", "clear", "squares")
    assert code == 0, err
    assert out == "removed 4 stored result(s) of 'squares' from the root level\n"
    if terminal:
        assert "removing stored results of 'squares': 4/4" in err
    else:
        assert err == ""
    code, out, _ = run(capsys, "--project", str(project), "cache", "ls", "squares", "--json")
    assert (code, json.loads(out)) == (0, [])

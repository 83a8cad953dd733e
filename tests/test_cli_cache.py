"""`datanectar cache ls` and `datanectar cache clear` on results stored by plain calls.

The command runs in process (`datanectar.cli.main(argv)`, output through capsys) and once as
the installed `datanectar` script in a subprocess. What it removed is checked on disk directly
(files, and deltalake for delta tables).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from deltalake import DeltaTable

import datanectar
from datanectar.cache import cache_key
from datanectar.cli import main

RECORDS = ".datanectar/records"
SCRIPT = Path(sys.executable).parent / "datanectar"
HEADER = ["LEVEL", "ENTRY", "KEY", "NAMESPACE", "VERSION", "SIZE", "AGE", "ARGUMENTS"]

PIPES = """
import pandas as pd

import datanectar

CALLS = []
FACTOR = {"value": 1.0}


@datanectar.cache(cache_args=["agg_days"], version="0.1.0", format="delta")
def means(agg_days: int = 1) -> pd.DataFrame:
    CALLS.append(f"means({agg_days})")
    return pd.DataFrame({"day": range(5), "mean": [agg_days * FACTOR["value"]] * 5})


@datanectar.cache(version="2")
def summary() -> dict:
    CALLS.append("summary")
    return {"ok": True}


@datanectar.cache(version="1")
def nothing() -> None:
    CALLS.append("nothing")
    return None


@datanectar.cache(version="1")
def report() -> dict:
    CALLS.append("report")
    return {"total": float(means(agg_days=1)["mean"].sum())}
"""


pytestmark = pytest.mark.usefixtures("hermetic_cache")


@pytest.fixture
def project(make_cache_project) -> Path:
    return make_cache_project(modules={"cache_cli_pipes": PIPES})


@pytest.fixture
def pipes(project) -> Iterator[ModuleType]:
    """The project's module, with its catalog active; results for agg_days 1 and 7 stored."""
    catalog = datanectar.catalog(project)
    module = importlib.import_module("cache_cli_pipes")
    with catalog.activate():
        module.means(agg_days=1)
        module.means(agg_days=7)
        module.summary()
        module.nothing()
        module.CALLS.clear()
        yield module


def key(agg_days: int) -> str:
    return cache_key("cache_cli_pipes.means", {"agg_days": agg_days})


def run(project: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--project", str(project), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_rows(output: str) -> list[dict[str, str]]:
    """The printed table as dicts (columns are separated by two spaces or more)."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert re.split(r"\s{2,}", lines[0].strip()) == HEADER
    return [dict(zip(HEADER, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines[1:]]


def is_delta(path: Path) -> bool:
    return DeltaTable.is_deltatable(str(path))


# -- ls -------------------------------------------------------------------------------------


def test_ls_lists_stored_results(project, pipes, capsys):
    code, out, err = run(project, capsys, "cache", "ls")

    assert (code, err) == (0, "")
    rows = {(row["ENTRY"], row["KEY"]): row for row in table_rows(out)}
    assert set(rows) == {
        ("means", key(1)),
        ("means", key(7)),
        ("summary", "-"),
        ("nothing", "-"),
    }
    for agg_days in (1, 7):
        row = rows["means", key(agg_days)]
        assert row["LEVEL"] == "root"
        assert row["VERSION"] == "0.1.0"
        assert row["NAMESPACE"] == "-"
        assert row["ARGUMENTS"] == f"agg_days={agg_days}"
        assert re.fullmatch(r"\d+(\.\d)? (B|KB)", row["SIZE"]), row["SIZE"]
    assert rows["summary", "-"]["VERSION"] == "2"
    assert re.fullmatch(r"\d+ B", rows["summary", "-"]["SIZE"])
    assert rows["nothing", "-"]["SIZE"] == "None"
    assert pipes.CALLS == []  # listing computes nothing


def test_ls_one_entry(project, pipes, capsys):
    code, out, _ = run(project, capsys, "cache", "ls", "means")

    assert code == 0
    assert sorted(row["KEY"] for row in table_rows(out)) == sorted([key(1), key(7)])


def test_ls_shows_the_local_cache_level_and_namespaces(project, pipes, capsys):
    pipes.means(agg_days=2, cache_mode="local")
    pipes.means(agg_days=3, namespace="alice")

    code, out, _ = run(project, capsys, "cache", "ls", "means")

    assert code == 0
    rows = table_rows(out)
    [local] = [row for row in rows if row["LEVEL"] == "local"]
    assert local["KEY"] == key(2)
    [alice] = [row for row in rows if row["NAMESPACE"] == "alice"]
    assert alice["KEY"] == cache_key("cache_cli_pipes.means", {"agg_days": 3}, "alice")


def test_ls_on_an_empty_project_prints_only_the_header(project, capsys):
    code, out, _ = run(project, capsys, "cache", "ls")

    assert code == 0
    assert table_rows(out) == []


# -- clear ----------------------------------------------------------------------------------


def test_clear_removes_objects_and_records(project, pipes, capsys):
    data = project / "data"
    assert is_delta(data / "means" / key(1))

    code, out, _ = run(project, capsys, "cache", "clear", "means")

    assert code == 0
    assert "removed 2 stored result(s) of 'means' from the root level" in out
    for agg_days in (1, 7):
        assert not is_delta(data / "means" / key(agg_days))
        assert not (data / "means" / key(agg_days)).exists()
        assert not (data / RECORDS / "means" / f"{key(agg_days)}.json").exists()
    assert (data / "summary.pkl").is_file()  # other entries are untouched
    assert (data / RECORDS / "summary" / "_.json").is_file()
    assert (data / RECORDS / "nothing" / "_.json").is_file()
    pipes.means(agg_days=7)  # gone: computed again
    assert pipes.CALLS == ["means(7)"]


def test_clear_one_key(project, pipes, capsys):
    data = project / "data"

    code, out, _ = run(project, capsys, "cache", "clear", "means", "--key", key(1))

    assert code == 0
    assert "removed 1 stored result(s)" in out
    assert not is_delta(data / "means" / key(1))
    assert not (data / RECORDS / "means" / f"{key(1)}.json").exists()
    assert is_delta(data / "means" / key(7))
    assert (data / RECORDS / "means" / f"{key(7)}.json").is_file()
    pipes.means(agg_days=7)
    pipes.means(agg_days=1)
    assert pipes.CALLS == ["means(1)"]


def test_clear_a_null_marker(project, pipes, capsys):
    code, out, _ = run(project, capsys, "cache", "clear", "nothing")

    assert code == 0
    assert "removed 1 stored result(s) of 'nothing'" in out
    assert not (project / "data" / RECORDS / "nothing" / "_.json").exists()
    pipes.nothing()
    assert pipes.CALLS == ["nothing"]


def test_clear_local_leaves_the_root_store_alone(project, pipes, capsys, tmp_path):
    pipes.means(agg_days=1, cache_mode="local")  # copied from the root into the local cache
    [local] = (tmp_path / "local_cache").glob("*/local")
    assert is_delta(local / "means" / key(1))

    code, out, _ = run(project, capsys, "cache", "clear", "means", "--local")

    assert code == 0
    assert "removed 1 stored result(s) of 'means' from the local level" in out
    assert not is_delta(local / "means" / key(1))
    assert not (local / RECORDS / "means" / f"{key(1)}.json").exists()
    assert is_delta(project / "data" / "means" / key(1))
    assert is_delta(project / "data" / "means" / key(7))


def test_result_that_read_a_cleared_and_recomputed_delta_table_is_stale(project, pipes, capsys):
    assert pipes.report() == {"total": 5.0}
    run(project, capsys, "cache", "clear", "means")
    pipes.FACTOR["value"] = 2.0
    pipes.means(agg_days=1)  # recomputed with new data, at delta version 0 again
    pipes.CALLS.clear()

    assert pipes.report() == {"total": 10.0}


@pytest.mark.parametrize("action", [["ls"], ["clear"], ["clear", "--key", "abc"]])
def test_unknown_entry_exits_2_naming_it(project, capsys, action):
    code, out, err = run(project, capsys, "cache", action[0], "no_such_entry", *action[1:])

    assert code == 2
    assert out == ""
    assert err.startswith("datanectar: ")
    assert "'no_such_entry'" in err


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["cache"])

    assert info.value.code == 2
    assert "usage: datanectar" in capsys.readouterr().err


# -- the installed script -------------------------------------------------------------------


def test_installed_script_lists_and_clears(project, pipes, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATANECTAR_")}
    env.pop("DAGSTER_HOME", None)

    listed = subprocess.run(
        [str(SCRIPT), "--project", str(project), "cache", "ls", "means"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert sorted(row["KEY"] for row in table_rows(listed.stdout)) == sorted([key(1), key(7)])

    # Without --project, the project is found from the working directory.
    cleared = subprocess.run(
        [str(SCRIPT), "cache", "clear", "means", "--key", key(7)],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cleared.returncode == 0, cleared.stderr
    assert "removed 1 stored result(s) of 'means'" in cleared.stdout
    assert not is_delta(project / "data" / "means" / key(7))
    assert is_delta(project / "data" / "means" / key(1))

    unknown = subprocess.run(
        [str(SCRIPT), "--project", str(project), "cache", "clear", "no_such_entry"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 2
    assert "'no_such_entry'" in unknown.stderr

"""Checks judge and publish exactly what the function returned: a custom check that changes
its argument changes neither what is published, nor what later checks judge, nor what goes
to quarantine; and a value checked when produced and checked again as a source (the same
stored files, another entry) gets one verdict, for every table format."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import dagster as dg
import deltalake
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

from runs import materialize_project

SQL_STORE = '[tool.datanectar.stores.db]\ntype = "sql"\nurl_env = "JUDGED_DB_URL"\n'
LOCAL_STORE = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
SUFFIX = {"csv": ".csv", "parquet": ".parquet", "delta": "", "sql": ""}
FRAME = {"id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "code": ["1", "2", "x"]}

MUTATING = """
import numpy as np

def mutate(value):
    value["x"] = 999.0
    value["added"] = "by-check"
    return True

def mutate_through_the_array(value):
    value["x"].array[0] = 555.0  # the memory behind the column, not a copy-on-write setitem
    return True

def zero_the_grid(value):
    value["air"] = value["air"] * 0
    value.attrs["touched"] = "yes"
    value.attrs["meta"]["k"].append(999)
    value["air"].attrs["units"]["name"] = "changed"
    try:
        value["air"].values[0] = -1.0  # read-only: refused without changing anything
    except ValueError:
        pass
    return True

def grow_the_cells(value):
    value["tags"].iloc[0].append("by-check")
    value["meta"].iloc[0]["added"] = "by-check"
    return True

def tags_untouched(value):
    return value["tags"].iloc[0] == ["a"] and "added" not in value["meta"].iloc[0]

def set_a_lazy_item(value):
    value["air"].data[0] = 999.0
    return True

def grow_the_document(value):
    value["added"] = "by-check"
    value["items"].append(4)
    return True
"""


def evaluation(instance: dg.DagsterInstance, entry: str, check: str) -> Any:
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(entry), check), limit=1
    )
    return records[0].event.dagster_event.event_specific_data if records else None


def read_table(project: Path, fmt: str, name: str, *, uri: str | None = None) -> pd.DataFrame:
    if fmt == "sql":
        with sqlite3.connect(project / "judged.db") as connection:
            return pd.read_sql(f'SELECT * FROM "{uri or name}"', connection)
    path = uri or str(project / "data" / f"{name}{SUFFIX[fmt]}")
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pq.read_table(path).to_pandas()
    return deltalake.DeltaTable(path).to_pandas()


def table_project(make_project, monkeypatch, fmt: str, entries: str, functions: str) -> Path:
    project = make_project.root
    monkeypatch.setenv("JUDGED_DB_URL", f"sqlite:///{project / 'judged.db'}")
    store = "  store: db\n" if fmt == "sql" else ""
    text = entries.replace("{fmt}", fmt).replace("{store}", store)
    for name in ("kept", "rejected", "produced", "source"):
        text = text.replace(f"{{path:{name}}}", f"{name}{SUFFIX[fmt]}")
    return make_project(
        text,
        stores=LOCAL_STORE + SQL_STORE,
        modules={"judged_checks": MUTATING, "judged_functions": functions},
    )


FUNCTIONS = f"""
import pandas as pd
import datanectar

@datanectar.asset(entry="kept")
def kept() -> pd.DataFrame:
    return pd.DataFrame({FRAME!r})

@datanectar.asset(entry="rejected")
def rejected() -> pd.DataFrame:
    return pd.DataFrame({FRAME!r})
"""
ENTRIES = """\
kept:
  format: {fmt}
{store}  path: {path:kept}
  checks:
    - custom: judged_checks:mutate
    - {custom: judged_checks:mutate_through_the_array, name: through_the_array}
    - range: {x: [0, 10]}
    - {custom: judged_checks:mutate, name: mutate_again}
    - {not_null: [x], name: x_not_null}
rejected:
  format: {fmt}
{store}  path: {path:rejected}
  checks:
    - custom: judged_checks:mutate
    - row_count: {min: 10}
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet", "delta", "sql"])
def test_a_mutating_check_changes_nothing_published_or_judged(
    make_project, instance, monkeypatch, fmt: str
) -> None:
    project = table_project(make_project, monkeypatch, fmt, ENTRIES, FUNCTIONS)
    materialize_project(project, instance, ["kept", "rejected"], raise_on_error=False)

    expected = pd.DataFrame(FRAME)
    if fmt == "csv":  # the csv reader types the text anew, as it does for any reader
        expected["code"] = expected["code"].astype(object)
    published = read_table(project, fmt, "kept")
    pd.testing.assert_frame_equal(
        published.sort_values("id").reset_index(drop=True), expected, check_dtype=False
    )
    assert "added" not in published.columns
    # the range after the mutating check judged 1..3, not 999
    assert evaluation(instance, "kept", "range").passed
    assert evaluation(instance, "kept", "mutate_again").passed

    assert not evaluation(instance, "rejected", "row_count").passed
    quarantine = evaluation(instance, "rejected", "row_count").metadata["quarantine"].value
    kept = read_table(
        project, fmt, "rejected", uri=quarantine.rpartition("#")[2] if fmt == "sql" else quarantine
    )
    assert "added" not in kept.columns and kept["x"].tolist() == [1.0, 2.0, 3.0]


def test_a_mutating_check_on_a_grid_changes_nothing_published(make_project, instance) -> None:
    modules = {
        "judged_checks": MUTATING,
        "grid_functions": """
            import numpy as np
            import xarray as xr
            import datanectar

            @datanectar.asset(entry="grid")
            def grid() -> xr.Dataset:
                grid = xr.Dataset({"air": (("t",), np.arange(1.0, 4.0))}, coords={"t": [1, 2, 3]})
                grid.attrs["meta"] = {"k": [1]}
                grid["air"].attrs["units"] = {"name": "K"}
                return grid

            @datanectar.asset(entry="lazy_grid")
            def lazy_grid() -> xr.Dataset:
                return xr.Dataset({"air": (("t",), np.arange(1.0, 4.0))}).chunk({"t": 1})

            @datanectar.asset(entry="document")
            def document() -> dict:
                return {"items": [1, 2, 3]}
        """,
    }
    project = make_project(
        "grid:\n  format: zarr\n  checks:\n    - custom: judged_checks:zero_the_grid\n"
        "    - range: {air: [1, 3]}\n"
        "lazy_grid:\n  format: zarr\n  checks:\n    - custom: judged_checks:set_a_lazy_item\n"
        "    - {range: {air: [1, 3]}, name: lazy_range}\n"
        "document:\n  format: json\n  checks:\n    - custom: judged_checks:grow_the_document\n",
        modules=modules,
    )
    materialize_project(project, instance, ["grid", "lazy_grid", "document"])

    with xr.open_zarr(project / "data" / "grid.zarr") as stored:
        assert stored["air"].values.tolist() == [1.0, 2.0, 3.0]
        assert "touched" not in stored.attrs
        assert stored.attrs["meta"] == {"k": [1]}
        assert stored["air"].attrs["units"] == {"name": "K"}
    assert evaluation(instance, "grid", "range").passed
    with xr.open_zarr(project / "data" / "lazy_grid.zarr") as stored:
        assert stored["air"].values.tolist() == [1.0, 2.0, 3.0]
    assert evaluation(instance, "lazy_grid", "lazy_range").passed
    assert json.loads((project / "data" / "document.json").read_text()) == {"items": [1, 2, 3]}


@pytest.mark.parametrize("fmt", ["pickle", "parquet"])
def test_a_check_changing_objects_inside_cells_changes_nothing_published(
    make_project, instance, fmt: str
) -> None:
    modules = {
        "judged_checks": MUTATING,
        "cell_functions": """
            import pandas as pd
            import datanectar

            @datanectar.asset(entry="cells")
            def cells() -> pd.DataFrame:
                return pd.DataFrame({"tags": [["a"], ["b"]], "meta": [{"k": 1}, {"k": 2}]})
        """,
    }
    project = make_project(
        f"cells:\n  format: {fmt}\n  checks:\n    - custom: judged_checks:grow_the_cells\n"
        "    - {custom: judged_checks:tags_untouched, name: untouched}\n",
        modules=modules,
    )
    materialize_project(project, instance, ["cells"])

    # the later check saw the cells as the function returned them
    assert evaluation(instance, "cells", "untouched").passed
    stored = next((project / "data").glob("cells*"))
    if fmt == "pickle":
        published = pd.read_pickle(stored)
    else:
        published = pq.read_table(stored).to_pandas()
    assert [list(tags) for tags in published["tags"]] == [["a"], ["b"]]
    assert [dict(meta) for meta in published["meta"]] == [{"k": 1}, {"k": 2}]


SOURCE_FUNCTIONS = """
import datetime as dt
import pandas as pd
import datanectar

@datanectar.asset(entry="produced")
def produced() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["1", "2", "3", "x"],
        "n": [1, 5, 12, None],
        "flag": [True, False, True, True],
        "day": [dt.date(2020, 1, 1), dt.date(2020, 1, 31), None, dt.date(2020, 2, 1)],
        "at": pd.to_datetime(
            ["2020-01-01T00:00Z", "2020-01-31T23:30Z", None, "2020-02-01T00:30+01:00"], utc=True
        ),
    })
"""
SOURCE_ENTRIES = """\
produced:
  format: {fmt}
{store}  path: {path:produced}
  checks: &rules
    - {values_in: {code: ["1", "2"]}, severity: warn, name: codes}
    - {values_in: {code: [1, 2]}, severity: warn, name: codes_as_numbers}
    - {range: {n: [0, 10]}, severity: warn, name: n_range}
    - {not_null: [n], severity: warn, name: n_present}
    - {values_in: {flag: [true]}, severity: warn, name: flags}
    - {range: {day: ["2020-01-01", "2020-01-31"]}, severity: warn, name: days}
    - {values_in: {day: ["2020-01-01", 2020-01-31]}, severity: warn, name: listed_days}
    - {range: {at: ["2020-01-01T00:00:00+00:00", "2020-01-31"]}, severity: warn, name: instants}
source:
  format: {fmt}
{store}  path: {path:produced}
  checks: *rules
"""
SOURCE_CHECKS = [
    "codes",
    "codes_as_numbers",
    "n_range",
    "n_present",
    "flags",
    "days",
    "listed_days",
    "instants",
]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "delta", "sql"])
def test_a_value_checked_when_produced_and_as_a_source_gets_one_verdict(
    make_project, instance, monkeypatch, fmt: str
) -> None:
    project = table_project(make_project, monkeypatch, fmt, SOURCE_ENTRIES, SOURCE_FUNCTIONS)
    materialize_project(project, instance, ["produced"])
    materialize_project(
        project, instance, dg.AssetSelection.checks_for_assets("source"), raise_on_error=False
    )

    def verdicts(entry: str) -> dict[str, tuple[bool, int]]:
        found = {name: evaluation(instance, entry, name) for name in SOURCE_CHECKS}
        return {
            name: (result.passed, result.metadata["error_count"].value)
            for name, result in found.items()
        }

    produced, source = verdicts("produced"), verdicts("source")
    assert produced == source
    assert produced["n_range"] == (False, 1) and produced["n_present"] == (False, 1)
    assert produced["days"] == (False, 1) and produced["listed_days"] == (False, 1)
    assert produced["instants"] == (True, 0)  # 00:30+01:00 on Feb 1 is Jan 31 in UTC
    assert np.isclose(read_table(project, fmt, "produced")["n"].max(), 12)

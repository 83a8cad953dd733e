"""Validation rules as Dagster asset checks, through real Dagster runs on real storage.

A blocking failure must keep the previous value published (read back with the storage
library), keep downstream steps from running, and put the rejected value in quarantine.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import frictionless
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr
from deltalake import DeltaTable

import datanectar

SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
        {"name": "value", "type": "number", "constraints": {"minimum": 0, "maximum": 100}},
        {"name": "code", "type": "string", "constraints": {"pattern": "[A-Z]{3}"}},
    ]
}
GOOD = pd.DataFrame({"id": [1, 2, 3], "value": [1.5, 20.0, 99.0], "code": ["ABC", "DEF", "GHI"]})
BAD = pd.DataFrame({"id": [1, 1, 3], "value": [-1.0, 20.0, 101.0], "code": ["ABC", "de", "GHI"]})


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def produced_by(holder: dict):
    @datanectar.asset(entry="table")
    def table():
        return holder["value"]

    @datanectar.asset(entry="downstream", format="json")
    def downstream(table):
        return {"rows": len(table)}

    return [table, downstream]


@pytest.fixture
def table_project(make_project):
    def make(format_name: str, path: str, checks: str = "", extra: str = "") -> Path:
        project = make_project(
            f"table:\n  format: {format_name}\n  path: {path}\n  schema: schemas/table.json\n"
            f"{checks}{extra}downstream:\n  format: json\n"
        )
        (project / "schemas").mkdir()
        (project / "schemas" / "table.json").write_text(json.dumps(SCHEMA))
        return project

    return make


READERS = {
    "parquet": ("t.parquet", lambda p: pq.read_table(p / "data" / "t.parquet").to_pandas()),
    "delta": ("t", lambda p: DeltaTable(str(p / "data" / "t")).to_pandas()),
    "csv": ("t.csv", lambda p: pd.read_csv(p / "data" / "t.csv")),
}


@pytest.mark.parametrize("format_name", sorted(READERS))
def test_blocking_failure_keeps_the_previous_value_and_stops_downstream(
    table_project, materialize, instance, format_name
):
    path, read_back = READERS[format_name]
    project = table_project(format_name, path, "  checks:\n    - unique: [id]\n")
    holder = {"value": GOOD}
    functions = produced_by(holder)
    assert materialize(project, functions=functions).success
    downstream_before = instance.get_latest_materialization_event(dg.AssetKey("downstream"))
    holder["value"] = BAD

    result = materialize(project, functions=functions, raise_on_error=False)

    assert not result.success
    pd.testing.assert_frame_equal(read_back(project), GOOD, check_dtype=False)
    checks = evaluations(result)
    assert not checks["table_schema"].passed
    assert not checks["unique"].passed
    assert checks["unique"].metadata["errors_by_type"].value == {"unique-error": 1}
    # downstream did not run again
    latest = instance.get_latest_materialization_event(dg.AssetKey("downstream"))
    assert latest.run_id == downstream_before.run_id
    assert "downstream" not in {
        event.step_key for event in result.all_events if event.event_type_value == "STEP_START"
    }


def test_quarantine_holds_exactly_the_rejected_value(table_project, materialize):
    project = table_project("parquet", "t.parquet")
    result = materialize(project, functions=produced_by({"value": BAD}), raise_on_error=False)

    check = evaluations(result)["table_schema"]
    quarantine = Path(check.metadata["quarantine"].value)
    assert quarantine.is_relative_to(project / "data" / ".datanectar" / "quarantine")
    pd.testing.assert_frame_equal(pq.read_table(quarantine).to_pandas(), BAD)
    assert not (project / "data" / "t.parquet").exists()  # nothing was ever published


def test_table_schema_verdict_matches_frictionless(table_project, materialize, tmp_path):
    project = table_project("csv", "t.csv")
    result = materialize(project, functions=produced_by({"value": BAD}), raise_on_error=False)
    check = evaluations(result)["table_schema"]

    # frictionless on the same data, written as the csv format writes it
    BAD.to_csv(tmp_path / "bad.csv", index=False)
    report = frictionless.validate(
        "bad.csv", schema=frictionless.Schema.from_descriptor(SCHEMA), basepath=str(tmp_path)
    )
    expected = sorted(
        (error.type, error.row_number, error.field_name) for error in report.tasks[0].errors
    )
    records = check.metadata["failures"].value.records
    actual = sorted(
        (record.data["error_type"], record.data["row_number"], record.data["field_name"])
        for record in records
    )
    assert not check.passed
    assert actual == expected
    assert check.metadata["error_count"].value == len(expected)


@pytest.mark.parametrize("passes", [True, False])
def test_a_produced_csv_is_judged_on_its_staged_file(
    table_project, materialize, monkeypatch, passes
):
    """The Table Schema of a csv entry reads back the file written to staging, in the dialect
    and compression of its save options, instead of rendering the value to text again: the
    verdict is frictionless's on the bytes that are (or would have been) published."""
    from datanectar.formats.csv import CsvFormat

    def not_rendered_again(self, value, *, options):
        raise AssertionError("the value was rendered to text a second time")

    monkeypatch.setattr(CsvFormat, "written_text", not_rendered_again)
    project = table_project(
        "csv",
        "t.csv.gz",
        extra="  save_options: {sep: ';', compression: gzip}\n"
        "  load_options: {sep: ';', compression: gzip}\n",
    )
    value = GOOD if passes else BAD
    result = materialize(project, functions=produced_by({"value": value}), raise_on_error=False)

    check = evaluations(result)["table_schema"]
    assert result.success == check.passed == passes
    if passes:  # published as written, gzip and all
        pd.testing.assert_frame_equal(
            pd.read_csv(project / "data" / "t.csv.gz", sep=";", compression="gzip"), GOOD
        )
    else:
        assert check.metadata["errors_by_type"].value == {
            "unique-error": 1,
            "constraint-error": 3,
        }
        assert not (project / "data" / "t.csv.gz").exists()
    staged = [p for p in (project / "data").iterdir() if p.name.startswith(".")]
    assert [p.name for p in staged if p.is_file()] == []  # no staged copy left behind


def test_warn_checks_do_not_block(make_project, materialize):
    project = make_project(
        "table:\n  format: parquet\n  path: t.parquet\n  checks:\n"
        "    - {range: {value: [0, 10]}, severity: warn}\ndownstream:\n  format: json\n"
    )
    result = materialize(project, functions=produced_by({"value": GOOD}))

    check = evaluations(result)["range"]
    assert result.success
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["error_count"].value == 2
    pd.testing.assert_frame_equal(pq.read_table(project / "data" / "t.parquet").to_pandas(), GOOD)


def grid(air: np.ndarray, units: str = "degK") -> xr.Dataset:
    return xr.Dataset(
        {"air": (("time", "lat", "lon"), air, {"units": units})},
        coords={"time": np.arange(air.shape[0]), "lat": np.arange(3.0), "lon": np.arange(4.0)},
    )


GRID_CHECKS = (
    "grid:\n  format: zarr\n  path: g.zarr\n  checks:\n"
    "    - dims: {time: null, lat: 3, lon: 4}\n"
    "    - coords: [time, lat, lon]\n"
    "    - variables: {air: {dtype: float32, units: degK}}\n"
    "    - range: {air: [150, 350]}\n"
    "    - max_nan_fraction: {air: 0.1}\n"
)


@pytest.mark.parametrize(
    ("value", "failing"),
    [
        (grid(np.full((5, 3, 4), 280, dtype="float32")), set()),
        (grid(np.full((5, 3, 4), 280, dtype="float64")), {"variables"}),
        (grid(np.full((5, 3, 4), 280, dtype="float32"), units="K"), {"variables"}),
        (grid(np.full((5, 3, 4), 400, dtype="float32")), {"range"}),
        (
            grid(np.where(np.arange(60).reshape(5, 3, 4) < 12, np.nan, 280).astype("float32")),
            {"max_nan_fraction"},
        ),
        (grid(np.full((5, 3, 4), 280, dtype="float32")).isel(lat=[0, 1]), {"dims"}),
    ],
)
def test_xarray_checks_on_good_and_bad_grids(make_project, materialize, value, failing):
    project = make_project(GRID_CHECKS)

    @datanectar.asset(entry="grid")
    def make_grid():
        return value.chunk({"time": 2})

    result = materialize(project, functions=[make_grid], raise_on_error=False)

    checks = evaluations(result)
    assert {name for name, check in checks.items() if not check.passed} == failing
    assert result.success == (not failing)
    assert (project / "data" / "g.zarr").exists() == (not failing)


def test_custom_check_with_options_and_metadata(make_project, materialize):
    project = make_project(
        "table:\n  format: parquet\n  path: t.parquet\n  checks:\n"
        "    - {custom: mychecks:at_most, options: {limit: 2}, severity: warn}\n"
        "    - {custom: mychecks:at_most, options: {limit: 5}, name: roomy}\n"
        "downstream:\n  format: json\n",
        modules={
            "mychecks": "def at_most(frame, limit):\n"
            "    return len(frame) <= limit, {'rows': len(frame), 'limit': limit}\n"
        },
    )
    result = materialize(project, functions=produced_by({"value": GOOD}))

    checks = evaluations(result)
    assert not checks["custom"].passed
    assert checks["custom"].metadata["rows"].value == 3
    assert checks["roomy"].passed
    assert result.success


def test_full_report_is_stored_as_json_beside_the_data(table_project, materialize):
    project = table_project("parquet", "t.parquet", extra="  report: full\n")
    many_bad = pd.DataFrame({"id": range(300), "value": [-1.0] * 300, "code": ["ABC"] * 300})
    result = materialize(project, functions=produced_by({"value": many_bad}), raise_on_error=False)

    check = evaluations(result)["table_schema"]
    stored = json.loads(Path(check.metadata["report"].value).read_text())
    assert stored["error_count"] == 300
    assert len(stored["errors"]) == 300  # full: every error, not the first 100
    assert len(check.metadata["failures"].value.records) == 300


def test_checks_of_an_external_entry_read_the_source(make_project, instance):
    project = make_project(
        "stations:\n  format: csv\n  path: stations.csv\n  checks:\n"
        "    - row_count: {min: 5}\n    - not_null: [name]\n"
    )
    (project / "data").mkdir()
    pd.DataFrame({"id": [1, 2], "name": ["a", None]}).to_csv(
        project / "data" / "stations.csv", index=False
    )
    defs = datanectar.definitions(project)

    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=instance,
        selection=dg.AssetSelection.checks_for_assets("stations"),
        raise_on_error=False,
    )

    checks = evaluations(result)
    assert set(checks) == {"row_count", "not_null"}
    assert not checks["row_count"].passed
    assert checks["not_null"].metadata["failures"].value.records[0].data["row_number"] == 3


@pytest.mark.parametrize(
    ("yaml_text", "field", "problem"),
    [
        (
            "x:\n  format: csv\n  checks:\n    - dims: {time: 3}\n",
            "checks[0].dims",
            "rule 'dims' checks grid data",
        ),
        (
            "x:\n  format: zarr\n  checks:\n    - unique: [a]\n",
            "checks[0].unique",
            "rule 'unique' checks table data",
        ),
        (
            "x:\n  format: csv\n  checks:\n    - row_count: {min: 1}\n      unique: [a]\n",
            "checks[0]",
            "exactly one rule",
        ),
        (
            "x:\n  format: csv\n  checks:\n    - rowcount: {min: 1}\n",
            "checks[0].rowcount",
            "unknown rule 'rowcount'. Did you mean 'row_count'? The rules are row_count, not_null",
        ),
        (
            "x:\n  format: csv\n  checks:\n    - rows: {min: 1}\n",
            "checks[0].rows",
            "unknown rule 'rows'. The rules are row_count",
        ),
        (
            "x:\n  format: csv\n  checks:\n    - {custom: 'not a target'}\n",
            "checks[0]",
            "must be 'module.path:function'",
        ),
        (
            "x:\n  format: csv\n  checks:\n    - unique: [a]\n    - unique: [b]\n",
            "checks",
            "two checks are named 'unique'",
        ),
        ("x:\n  format: zarr\n  schema: {fields: []}\n", "schema", "checks tables"),
        (
            "x:\n  format: csv\n  schema: schemas/missing.json\n",
            "schema",
            "missing.json. Fix: check the path (it is read relative to ",
        ),
        (
            "x:\n  format: csv\n  schema: {fields: [{name: a, type: nonsense}]}\n",
            "schema",
            "nonsense",
        ),
    ],
)
def test_bad_rule_configuration_is_a_catalog_error(make_project, yaml_text, field, problem):
    project = make_project(yaml_text)
    with pytest.raises(datanectar.CatalogError) as info:
        datanectar.catalog(project)
    error = info.value
    assert error.file == "catalog/main.yaml"
    assert error.entry == "x"
    assert error.field == field
    assert problem in str(error)


def test_checks_declared_on_a_cached_function(make_project, materialize):
    project = make_project("table:\n  format: parquet\n  path: t.parquet\n")

    @datanectar.cache(entry="table", checks=[{"unique": ["id"]}], schema=SCHEMA)
    def table():
        return BAD

    result = materialize(project, functions=[table], raise_on_error=False)

    checks = evaluations(result)
    assert set(checks) == {"table_schema", "unique"}
    assert not checks["unique"].passed
    assert not (project / "data" / "t.parquet").exists()


def test_bad_rule_on_a_decorator_names_the_function():
    with pytest.raises(datanectar.DatanectarError, match=r"table.*checks\[0\].*exactly one rule"):

        @datanectar.asset(checks=[{"unique": ["a"], "not_null": ["a"]}])
        def table():
            return GOOD


def test_profile_adds_column_statistics(make_project, materialize):
    project = make_project("table:\n  format: parquet\n  path: t.parquet\n  profile: true\n")
    frame = pd.DataFrame({"id": [1, 2, 2, None], "name": ["a", "b", "b", "c"]})

    @datanectar.asset(entry="table")
    def table():
        return frame

    result = materialize(project, functions=[table])

    [materialization] = result.asset_materializations_for_node("table")
    rows = {
        row.data["column"]: row.data for row in materialization.metadata["profile"].value.records
    }
    assert rows["id"]["nulls"] == 1
    assert rows["id"]["distinct"] == 2
    assert rows["id"]["min"] == "1" and rows["id"]["max"] == "2"
    assert rows["id"]["mean"] == "1.667"  # 4 significant digits
    assert rows["name"]["distinct"] == 3


def test_infer_writes_a_schema_as_frictionless_describes_it(make_project, tmp_path, capsys):
    from datanectar.cli import main

    project = make_project(
        "raw:\n  format: csv\n  path: raw.csv\ntyped:\n  format: parquet\n  path: t.parquet\n"
        "grid:\n  format: zarr\n"
    )
    catalog = datanectar.catalog(project)
    catalog.save("raw", GOOD)
    catalog.save("typed", GOOD)
    catalog.save("grid", grid(np.zeros((2, 3, 4), dtype="float32")))

    assert main(["--project", str(project), "infer", "raw", "-o", str(tmp_path / "s.json")]) == 0
    inferred = json.loads((tmp_path / "s.json").read_text())
    expected = frictionless.describe("raw.csv", basepath=str(project / "data")).schema
    assert inferred == expected.to_descriptor()
    assert [field["type"] for field in inferred["fields"]] == ["integer", "number", "string"]

    assert main(["--project", str(project), "infer", "typed"]) == 0
    typed = json.loads(capsys.readouterr().out)
    assert [field["name"] for field in typed["fields"]] == ["id", "value", "code"]

    assert main(["--project", str(project), "infer", "grid"]) == 2
    assert "not a table" in capsys.readouterr().err


def test_check_results_belong_to_the_materialization_they_inspected(
    table_project, materialize, instance
):
    project = table_project("parquet", "t.parquet")
    functions = produced_by({"value": GOOD})
    materialize(project, functions=functions)
    second = materialize(project, functions=functions)

    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("table"), "table_schema"), limit=1
    )
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed
    assert evaluation.target_materialization_data.run_id == second.run_id

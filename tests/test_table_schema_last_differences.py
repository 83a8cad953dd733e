"""The last differences from frictionless: array items' constraints, the field name of extra
cells and labels, list cells read back from parquet and delta, and foreign keys naming
entries the catalog does not have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import deltalake
import frictionless as fl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import datanectar
from oracle import frictionless_csv, frictionless_errors
from runs import catalog_error, materialize_project

TAGS_SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer"},
        {
            "name": "tags",
            "type": "array",
            "constraints": {"maxLength": 2},
            "arrayItem": {"type": "string", "constraints": {"enum": ["val1", "val2"]}},
        },
    ]
}


def evaluation(instance: dg.DagsterInstance, entry: str) -> dg.AssetCheckEvaluation:
    record = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(entry), "table_schema"), limit=1
    )[0]
    return record.event.dagster_event.event_specific_data


def verdict(found: dg.AssetCheckEvaluation) -> tuple[bool, list[tuple]]:
    records = found.metadata["failures"].value.records if "failures" in found.metadata else []
    return found.passed, [
        (r.data["error_type"], r.data["row_number"], r.data["field_name"], r.data["message"])
        for r in records
    ]


def source_project(make_project: Any, files: dict[str, str], schema: dict[str, Any]) -> Path:
    catalog = "".join(
        f"{name}:\n  format: csv\n  path: {name}.csv\n  schema: {json.dumps(schema)}\n"
        "  report: full\n"
        for name in files
    )
    project = make_project(catalog)
    for name, text in files.items():
        (project / "data").mkdir(exist_ok=True)
        (project / "data" / f"{name}.csv").write_text(text)
    return project


def test_array_item_constraints_are_judged_as_frictionless_judges_them(
    make_project, instance
) -> None:
    text = (
        'id,tags\n1,"[""val1"", ""val3""]"\n2,"[""val1""]"\n3,"[1]"\n'
        '4,"[""val1"", ""val2"", ""val1""]"\n5,"[""val4""]"\n'
    )
    project = source_project(make_project, {"tagged": text}, TAGS_SCHEMA)
    result = (
        datanectar.definitions(project)
        .resolve_job_def("source_checks")
        .execute_in_process(instance=instance, raise_on_error=False)
    )
    assert not result.success  # the check is blocking and fails

    expected = frictionless_csv(project / "data" / "tagged.csv", TAGS_SCHEMA)
    assert verdict(evaluation(instance, "tagged")) == expected
    assert [(kind, row) for kind, row, _, _ in expected[1]] == [
        ("constraint-error", 2),  # an item outside the enum
        ("type-error", 4),  # an item of the wrong type
        ("constraint-error", 5),  # the array's own maxLength, before its items
        ("constraint-error", 6),
    ]


def test_extra_cells_and_labels_have_frictionless_empty_field_name(make_project, instance) -> None:
    schema = {"fields": [{"name": "a", "type": "integer"}]}
    project = source_project(make_project, {"wide": "a,b\n1,2\n3\n4,5,6\n"}, schema)
    datanectar.definitions(project).resolve_job_def("source_checks").execute_in_process(
        instance=instance, raise_on_error=False
    )
    passed, errors = verdict(evaluation(instance, "wide"))
    assert (passed, errors) == frictionless_csv(project / "data" / "wide.csv", schema)
    extras = [(kind, field) for kind, _, field, _ in errors if kind.startswith("extra")]
    assert extras == [("extra-label", ""), ("extra-cell", "")]


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_list_cells_get_one_verdict_produced_and_read_back(
    make_project, instance, fmt: str
) -> None:
    """A produced DataFrame of list cells and the same table read back (where pandas hands
    the cells over as numpy arrays) get frictionless's verdict on the lists."""
    frame = pd.DataFrame({"id": [1, 2, 3], "tags": [["val1", "val2"], ["val1", "val3"], ["val2"]]})
    suffix = ".parquet" if fmt == "parquet" else ""
    modules = {
        "lists": f"""
            import pandas as pd
            import datanectar

            @datanectar.asset(entry="produced")
            def produced() -> pd.DataFrame:
                return pd.DataFrame({frame.to_dict("list")!r})
        """
    }
    schema = json.dumps(TAGS_SCHEMA)
    project = make_project(
        f"produced:\n  format: {fmt}\n  path: produced{suffix}\n  schema: {schema}\n"
        "  report: full\n"
        f"stored:\n  format: {fmt}\n  path: stored{suffix}\n  schema: {schema}\n"
        "  report: full\n",
        modules=modules,
    )
    stored = project / "data" / f"stored{suffix}"
    stored.parent.mkdir(exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if fmt == "parquet":
        pq.write_table(table, stored)
    else:
        deltalake.write_deltalake(str(stored), table)

    materialize_project(project, instance, "produced", raise_on_error=False)
    datanectar.definitions(project).resolve_job_def("source_checks").execute_in_process(
        instance=instance, raise_on_error=False
    )

    expected = frictionless_errors(
        fl.Resource(frame, schema=fl.Schema.from_descriptor(TAGS_SCHEMA)).validate()
    )
    assert not expected[0] and [e[:3] for e in expected[1]] == [("constraint-error", 3, "tags")]
    assert verdict(evaluation(instance, "produced")) == expected
    assert verdict(evaluation(instance, "stored")) == expected


def test_a_foreign_key_to_a_missing_entry_is_a_catalog_error(make_project) -> None:
    schema = {
        "fields": [{"name": "group", "type": "string"}],
        "foreignKeys": [{"fields": "group", "reference": {"resource": "groupz", "fields": "name"}}],
    }
    error = catalog_error(
        make_project,
        f"members:\n  format: csv\n  schema: {json.dumps(schema)}\ngroups:\n  format: csv\n",
    )
    message = str(error)
    assert "main.yaml" in message and "members" in message
    assert "schema.foreignKeys[0].reference.resource" in message
    assert "'groupz'" in message and "groups" in message  # did you mean


def test_a_foreign_key_to_an_entry_holding_no_table_is_a_catalog_error(make_project) -> None:
    schema = {
        "fields": [{"name": "g", "type": "string"}],
        "foreignKeys": [{"fields": "g", "reference": {"resource": "grid", "fields": "g"}}],
    }
    (make_project.root / "schemas").mkdir(parents=True)
    (make_project.root / "schemas" / "members.json").write_text(json.dumps(schema))
    error = catalog_error(
        make_project,
        "members:\n  format: parquet\n  schema: schemas/members.json\ngrid:\n  format: zarr\n",
    )
    assert "schema.foreignKeys[0].reference.resource" in str(error)
    assert "'zarr' entry" in str(error)


def test_a_foreign_key_into_the_table_itself_needs_no_entry(make_project) -> None:
    schema = {
        "fields": [{"name": "id", "type": "integer"}, {"name": "parent", "type": "integer"}],
        "foreignKeys": [{"fields": "parent", "reference": {"resource": "", "fields": "id"}}],
    }
    project = make_project(f"tree:\n  format: csv\n  schema: {json.dumps(schema)}\n")
    assert "tree" in datanectar.catalog(project)

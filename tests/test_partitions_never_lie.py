"""Partitions that never lie: what is stored for one namespace is what was given for it, or
nothing (the issue "Partitions that never lie"), read back with the storage libraries."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

import datanectar
from datanectar.errors import FormatTypeError
from runs import materialize_project


def delta_project(make_project):
    return make_project("item:\n  format: delta\n  path: item\n  namespaces: [p, q]\n")


def table_types(project) -> dict[str, str]:
    schema = pa.schema(DeltaTable(project / "data" / "item").schema().to_arrow())
    return {field.name: str(field.type) for field in schema}


def test_a_partition_replace_that_would_truncate_is_refused(make_project):
    project = delta_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": [1, 2]}), namespace="p")
    version = DeltaTable(project / "data" / "item").version()

    with pytest.raises(FormatTypeError, match=r"column 'v' is int64 in the table and double"):
        cat.save("item", pd.DataFrame({"v": [5.5]}), namespace="p")

    table = DeltaTable(project / "data" / "item")
    assert table.version() == version
    assert table_types(project)["v"] == "int64"
    assert table.to_pandas()["v"].tolist() == [1, 2]


def test_a_narrower_partition_is_stored_in_the_tables_types(make_project):
    """An int32 (or categorical) partition fits an int64 (string) table: it is cast, and the
    table's schema stays what its other partitions were written with."""
    project = delta_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": [2**40, 2], "c": ["a", "b"]}), namespace="p")
    narrow = pd.DataFrame({"v": pd.array([3], dtype="int32"), "c": pd.Categorical(["z"])})
    cat.save("item", narrow, namespace="q")

    assert table_types(project) == {"v": "int64", "c": "string", "namespace": "string"}
    stored = DeltaTable(project / "data" / "item").to_pandas().sort_values("v")
    assert stored["v"].tolist() == [2, 3, 2**40]
    assert cat.load("item", namespace="p")["v"].tolist() == [2**40, 2]


@pytest.mark.parametrize(
    ("stored", "given"),
    [
        (
            pd.DataFrame({"t": pd.to_datetime(["2024-01-01"]).tz_localize("UTC")}),
            pd.DataFrame({"t": pd.to_datetime(["2024-01-02"])}),
        ),
        (pd.DataFrame({"v": ["1"]}), pd.DataFrame({"v": [1]})),
        (pd.DataFrame({"v": [1.5]}), pd.DataFrame({"v": [True]})),
    ],
    ids=["aware-then-naive", "text-then-number", "float-then-bool"],
)
def test_a_partition_of_another_type_is_refused(make_project, stored, given):
    project = delta_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", stored, namespace="p")
    before = table_types(project)
    with pytest.raises(FormatTypeError, match=r"in the table and .* in this value"):
        cat.save("item", given, namespace="q")
    assert table_types(project) == before


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_an_empty_partition_is_a_value_not_a_missing_one(make_project, format_name):
    project = make_project(f"item:\n  format: {format_name}\n  path: item\n  namespaces: [p, q]\n")
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": [1, 2]}), namespace="p")
    cat.save("item", pd.DataFrame({"v": pd.Series([], dtype="int64")}), namespace="q")

    empty = cat.load("item", namespace="q")
    assert list(empty.columns) == ["v"] and len(empty) == 0
    assert cat.load("item", namespace="p")["v"].tolist() == [1, 2]
    if format_name == "delta":
        stored = DeltaTable(project / "data" / "item").to_pandas()
        assert stored["v"].tolist() == [1, 2]  # the empty partition adds no rows
    cat.save("item", pd.DataFrame({"v": [7]}), namespace="q")
    assert cat.load("item", namespace="q")["v"].tolist() == [7]


def test_a_removed_sql_namespace_is_missing_again(make_project):
    from datanectar.errors import DataNotFoundError
    from datanectar.partitions import target_for

    project = make_project("item:\n  format: sql\n  path: item\n  namespaces: [p, q]\n")
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": pd.Series([], dtype="int64")}), namespace="q")
    cat.storage.remove(target_for(cat.entry("item"), {"namespace": "q"}))
    with pytest.raises(DataNotFoundError):
        cat.load("item", namespace="q")


def test_an_empty_delta_partition_reaches_a_downstream_step(make_project, instance):
    project = make_project(
        "readings:\n  format: delta\n  namespaces: [p, q]\n"
        "counts:\n  format: json\n  namespaces: [p, q]\n"
    )

    @datanectar.asset(entry="readings")
    def readings(namespace: str) -> pd.DataFrame:
        return pd.DataFrame({"v": [1.0] if namespace == "p" else []})

    @datanectar.asset(entry="counts")
    def counts(readings: pd.DataFrame) -> dict:
        return {"rows": len(readings)}

    result = materialize_project(project, instance, functions=[readings, counts], partition_key="q")
    assert result.success
    assert json.loads((project / "data" / "counts" / "q.json").read_text()) == {"rows": 0}

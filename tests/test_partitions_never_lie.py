"""Partitions that never lie: what is stored for one namespace is what was given for it, or
nothing (the issue "Partitions that never lie"), read back with the storage libraries."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

import datanectar
from datanectar.errors import FormatTypeError


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

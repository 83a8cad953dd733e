"""What a table format must not lose of a DataFrame: its columns and its index.

Every table format (csv, parquet, delta, sql) refuses a value with no columns before writing
anything; an index that holds data (a name, several levels, labels other than 0..n-1) is kept
by delta and parquet and read back as the index, and refused by csv and sql (which write
columns only) unless the `index` save option says what to do. A partitioned delta entry keeps
each namespace's key in a column: a value whose same-named column says otherwise is refused.
Everything stored is read back with the storage library itself (deltalake, pyarrow, sqlite,
the csv text), never only through datanectar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

import datanectar
from datanectar.errors import DatanectarError, FormatTypeError
from runs import failure_messages

INDEX_LEVEL = "datanectar.index_level"
PATHS = {"csv": "table.csv", "parquet": "table.parquet", "delta": "table", "sql": "table"}
FORMATS = tuple(PATHS)


# -- helpers -----------------------------------------------------------------------------------


def table_project(make_project, format_name: str, *, extra: str = "") -> Path:
    """A project with one unpartitioned entry `table` of `format_name` in the local store."""
    return make_project(f"table:\n  format: {format_name}\n  path: {PATHS[format_name]}\n{extra}")


def partitioned_project(make_project, extra_entries: str = "") -> Path:
    """A project with a delta entry `item` partitioned by the static namespaces paris, lyon."""
    return make_project(
        "item:\n  format: delta\n  path: item\n  namespaces: [paris, lyon]\n"
        "  allow_missing_namespaces: true\n" + extra_entries
    )


def stored_path(project: Path, format_name: str) -> Path:
    return project / "data" / PATHS[format_name]


def sqlite_file(project: Path) -> Path:
    return project / "data" / "datanectar.sqlite"


def sql_tables(project: Path) -> list[str]:
    """The tables of the local store's sqlite file ([] when there is no file)."""
    if not sqlite_file(project).exists():
        return []
    engine = sa.create_engine(f"sqlite:///{sqlite_file(project)}")
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def read_sql(project: Path, table: str = "table") -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{sqlite_file(project)}")
    try:
        with engine.connect() as connection:
            return pd.read_sql(sa.text(f'SELECT * FROM "{table}"'), connection)
    finally:
        engine.dispose()


def is_stored(project: Path, format_name: str) -> bool:
    if format_name == "sql":
        return "table" in sql_tables(project)
    return stored_path(project, format_name).exists()


def index_fields(table: DeltaTable) -> dict[str, str]:
    """The columns of a Delta table marked as index levels: {column: level}."""
    return {
        field.name: field.metadata[INDEX_LEVEL]
        for field in table.schema().fields
        if INDEX_LEVEL in (field.metadata or {})
    }


def column_names(table: DeltaTable) -> list[str]:
    return [field.name for field in table.schema().fields]


def good_frame(variant: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"reading": [1.5 * variant, 2.5 * variant, 3.5 * variant], "n": [1, 2, 3]})


def named_index_frame(offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {"reading": [1.0 + offset, 2.0 + offset, 3.0 + offset]},
        index=pd.Index([f"s{offset}", f"s{offset + 1}", f"s{offset + 2}"], name="station"),
    )


def multi_index_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples(
        [("paris", 2020), ("paris", 2021), ("lyon", 2020)], names=["city", "year"]
    )
    return pd.DataFrame({"reading": [1.0, 2.0, 3.0]}, index=index)


def filtered_frame() -> pd.DataFrame:
    """An unnamed index that is not 0..n-1: what a filter leaves."""
    frame = pd.DataFrame({"reading": [1.0, 2.0, 3.0, 4.0, 5.0], "keep": [0, 1, 0, 1, 1]})
    return frame[frame["keep"] == 1]


INFORMATIVE = {
    "named": named_index_frame,
    "multi": multi_index_frame,
    "filtered": filtered_frame,
}


def zero_column_arrow() -> pa.Table:
    return pa.table({"gone": [1, 2, 3]}).drop_columns(["gone"])


def materialize_partition(instance, project: Path, functions, key: str, selection: str = "*"):
    defs = datanectar.definitions(project, functions=functions)
    return dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        resources=defs.resources,
        instance=instance,
        partition_key=key,
        selection=selection,
    )


# -- 1. a zero-column value never touches a Delta table ----------------------------------------


def test_a_zero_column_frame_saved_over_a_delta_table_leaves_it_readable_and_unchanged(
    make_project,
):
    project = table_project(make_project, "delta")
    cat = datanectar.catalog(project)
    cat.save("table", good_frame())
    path = stored_path(project, "delta")
    version = DeltaTable(path).version()
    schema = DeltaTable(path).schema()

    with pytest.raises(FormatTypeError, match=r"entry 'table'.*no columns"):
        cat.save("table", pd.DataFrame(index=range(3)))

    table = DeltaTable(path)  # opening it works: no empty schema was committed
    assert table.version() == version
    assert table.schema() == schema
    pd.testing.assert_frame_equal(table.to_pandas(), good_frame())
    pd.testing.assert_frame_equal(cat.load("table"), good_frame())


# -- 2. every table format refuses a value with no columns, before writing --------------------


@pytest.mark.parametrize("format_name", FORMATS)
def test_a_zero_column_frame_is_refused_and_nothing_is_written(make_project, format_name):
    project = table_project(make_project, format_name)
    cat = datanectar.catalog(project)

    with pytest.raises(FormatTypeError) as info:
        cat.save("table", pd.DataFrame(index=range(3)))

    message = str(info.value)
    assert "entry 'table'" in message
    assert "has no columns" in message
    assert not is_stored(project, format_name)
    assert not cat.exists("table")


@pytest.mark.parametrize("format_name", ["parquet", "delta"])
def test_a_zero_column_arrow_table_is_refused_and_nothing_is_written(make_project, format_name):
    project = table_project(make_project, format_name)
    cat = datanectar.catalog(project)
    value = zero_column_arrow()
    assert value.num_columns == 0 and value.num_rows == 3

    with pytest.raises(FormatTypeError, match=r"entry 'table'.*has no columns"):
        cat.save("table", value)

    assert not stored_path(project, format_name).exists()


@pytest.mark.parametrize("format_name", FORMATS)
def test_a_zero_column_frame_over_a_stored_value_leaves_it(make_project, format_name):
    project = table_project(make_project, format_name)
    cat = datanectar.catalog(project)
    cat.save("table", good_frame())

    with pytest.raises(FormatTypeError, match="has no columns"):
        cat.save("table", pd.DataFrame(index=range(3)))

    if format_name == "csv":
        stored = pd.read_csv(stored_path(project, "csv"))
    elif format_name == "parquet":
        stored = pq.read_table(stored_path(project, "parquet")).to_pandas()
    elif format_name == "delta":
        stored = DeltaTable(stored_path(project, "delta")).to_pandas()
    else:
        stored = read_sql(project)
    pd.testing.assert_frame_equal(stored, good_frame())


def test_a_zero_column_partition_is_refused_and_the_table_untouched(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", good_frame(), namespace="paris")
    path = project / "data" / "item"
    version = DeltaTable(path).version()

    with pytest.raises(FormatTypeError, match=r"entry 'item'.*has no columns"):
        cat.save("item", pd.DataFrame(index=range(3)), namespace="lyon")

    assert DeltaTable(path).version() == version
    assert set(DeltaTable(path).to_pandas()["namespace"]) == {"paris"}


# -- 3. delta keeps an informative index as marked columns, and restores it --------------------


@pytest.mark.parametrize(
    ("kind", "columns", "levels"),
    [
        ("named", {"station": ["s0", "s1", "s2"]}, {"station": "0"}),
        ("multi", {"city": ["paris", "paris", "lyon"], "year": [2020, 2021, 2020]}, None),
        ("filtered", {"__index_level_0__": [1, 3, 4]}, {"__index_level_0__": "0"}),
    ],
)
def test_delta_keeps_an_informative_index_and_a_load_restores_it(
    make_project, kind, columns, levels
):
    project = table_project(make_project, "delta")
    cat = datanectar.catalog(project)
    value = INFORMATIVE[kind]()

    cat.save("table", value)

    table = DeltaTable(stored_path(project, "delta"))
    stored = table.to_pandas()
    for name, expected in columns.items():
        assert stored[name].tolist() == expected
    assert stored["reading"].tolist() == value["reading"].tolist()
    assert index_fields(table) == (levels or {"city": "0", "year": "1"})
    assert sorted(column_names(table)) == sorted([*columns, *value.columns])

    loaded = cat.load("table")
    pd.testing.assert_frame_equal(loaded, value)
    assert list(loaded.index.names) == list(value.index.names)


def test_delta_keeps_unnamed_levels_of_a_multi_index_by_position(make_project):
    project = table_project(make_project, "delta")
    cat = datanectar.catalog(project)
    index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=[None, "year"])
    value = pd.DataFrame({"reading": [1.0, 2.0, 3.0]}, index=index)

    cat.save("table", value)

    table = DeltaTable(stored_path(project, "delta"))
    assert index_fields(table) == {"__index_level_0__": "0", "year": "1"}
    assert table.to_pandas()["__index_level_0__"].tolist() == ["a", "a", "b"]
    pd.testing.assert_frame_equal(cat.load("table"), value)


def test_delta_writes_what_write_deltalake_writes_for_an_informative_index(make_project, tmp_path):
    """The same columns, in the same order, as deltalake given the frame itself."""
    from deltalake import write_deltalake

    project = table_project(make_project, "delta")
    value = multi_index_frame()
    datanectar.catalog(project).save("table", value)
    write_deltalake(tmp_path / "by_deltalake", value)

    ours = DeltaTable(stored_path(project, "delta")).to_pandas()
    theirs = DeltaTable(tmp_path / "by_deltalake").to_pandas()
    assert sorted(ours.columns) == sorted(theirs.columns)
    pd.testing.assert_frame_equal(ours[sorted(ours.columns)], theirs[sorted(theirs.columns)])


def test_delta_as_arrow_shows_the_index_columns(make_project):
    project = table_project(make_project, "delta")
    cat = datanectar.catalog(project)
    cat.save("table", named_index_frame())

    arrow = cat.load("table", as_type=pa.Table)

    assert isinstance(arrow, pa.Table)
    assert arrow.column("station").to_pylist() == ["s0", "s1", "s2"]


@pytest.mark.parametrize(
    "value",
    [
        pd.DataFrame({"reading": [1.0, 2.0]}),
        pd.DataFrame({"reading": [1.0, 2.0]}, index=pd.Index([0, 1])),
        pd.DataFrame({"reading": [1.0, 2.0, 3.0]}).iloc[[1, 2]].reset_index(drop=True),
    ],
    ids=["range-index", "int-index-0-to-n", "reset"],
)
def test_delta_stores_no_column_for_a_default_index(make_project, value):
    project = table_project(make_project, "delta")
    cat = datanectar.catalog(project)

    cat.save("table", value)

    table = DeltaTable(stored_path(project, "delta"))
    assert column_names(table) == ["reading"]
    assert index_fields(table) == {}
    loaded = cat.load("table")
    assert isinstance(loaded.index, pd.RangeIndex)
    pd.testing.assert_frame_equal(loaded, value.reset_index(drop=True))


def test_delta_overwrite_with_a_default_index_drops_the_previous_index_columns(make_project):
    project = table_project(make_project, "delta")
    cat = datanectar.catalog(project)
    cat.save("table", named_index_frame())

    cat.save("table", good_frame())

    table = DeltaTable(stored_path(project, "delta"))
    assert sorted(column_names(table)) == ["n", "reading"]
    pd.testing.assert_frame_equal(cat.load("table"), good_frame())


# -- 4. a partitioned delta entry keeps each partition's index ---------------------------------


def test_each_delta_partition_keeps_its_named_index(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    paris, lyon = named_index_frame(0), named_index_frame(10)

    cat.save("item", paris, namespace="paris")
    cat.save("item", lyon, namespace="lyon")

    table = DeltaTable(project / "data" / "item")
    assert index_fields(table) == {"station": "0"}
    assert table.metadata().partition_columns == ["namespace"]
    stored = table.to_pandas().sort_values("reading").reset_index(drop=True)
    assert stored["station"].tolist() == [*paris.index, *lyon.index]
    assert stored["namespace"].tolist() == ["paris"] * 3 + ["lyon"] * 3
    pd.testing.assert_frame_equal(cat.load("item", namespace="paris"), paris)
    pd.testing.assert_frame_equal(cat.load("item", namespace="lyon"), lyon)


def test_rewriting_one_delta_partition_keeps_the_others_index(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", named_index_frame(0), namespace="paris")
    cat.save("item", named_index_frame(10), namespace="lyon")

    cat.save("item", named_index_frame(20), namespace="paris")

    pd.testing.assert_frame_equal(cat.load("item", namespace="paris"), named_index_frame(20))
    pd.testing.assert_frame_equal(cat.load("item", namespace="lyon"), named_index_frame(10))


def test_delta_partitions_with_a_multi_index_round_trip(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    value = multi_index_frame()

    cat.save("item", value, namespace="lyon")

    pd.testing.assert_frame_equal(cat.load("item", namespace="lyon"), value)
    assert index_fields(DeltaTable(project / "data" / "item")) == {"city": "0", "year": "1"}


@pytest.mark.parametrize("annotation", ["frame", "dict"])
def test_several_delta_partitions_loaded_downstream_keep_the_index(
    make_project, instance, annotation
):
    project = partitioned_project(make_project, "summary:\n  format: json\n  path: s.json\n")
    paris, lyon = named_index_frame(0), named_index_frame(10)
    values = {"paris": paris, "lyon": lyon}
    seen: dict[str, Any] = {}

    @datanectar.asset(entry="item")
    def item(context: dg.AssetExecutionContext):
        return values[context.partition_key]

    if annotation == "frame":

        @datanectar.asset(entry="summary")
        def summary(item: pd.DataFrame):
            seen["value"] = item
            return {"rows": len(item)}

    else:

        @datanectar.asset(entry="summary")
        def summary(item):
            seen["value"] = item
            return {"rows": len(item)}

    for key in values:
        assert materialize_partition(instance, project, [item], key, selection="item").success
    defs = datanectar.definitions(project, functions=[item, summary])
    result = dg.materialize(
        [*defs.assets], resources=defs.resources, instance=instance, selection="summary"
    )

    assert result.success
    value = seen["value"]
    if annotation == "dict":
        assert sorted(value) == ["lyon", "paris"]
        for key, expected in values.items():
            pd.testing.assert_frame_equal(value[key], expected)
    else:
        assert isinstance(value, pd.DataFrame)
        assert value.index.name == "station"
        expected = pd.concat([paris.assign(namespace="paris"), lyon.assign(namespace="lyon")])
        pd.testing.assert_frame_equal(value.sort_index(), expected.sort_index())


# -- 5. csv and sql refuse an index they would drop, unless told ------------------------------


@pytest.mark.parametrize("kind", sorted(INFORMATIVE))
@pytest.mark.parametrize("format_name", ["csv", "sql"])
def test_csv_and_sql_refuse_an_index_they_would_drop(make_project, format_name, kind):
    project = table_project(make_project, format_name)
    cat = datanectar.catalog(project)

    with pytest.raises(FormatTypeError) as info:
        cat.save("table", INFORMATIVE[kind]())

    message = str(info.value)
    assert "entry 'table'" in message
    assert f"format '{format_name}'" in message
    assert "would be dropped" in message
    for fix in ("value.reset_index()", "reset_index(drop=True)", "index: true", "index: false"):
        assert fix in message
    assert not is_stored(project, format_name)


@pytest.mark.parametrize(
    ("kind", "described"),
    [
        ("named", "named 'station'"),
        ("multi", "2 levels: city, year"),
        ("filtered", "labels 1, 3, 4"),
    ],
)
def test_the_refusal_describes_the_index(make_project, kind, described):
    project = table_project(make_project, "csv")

    with pytest.raises(FormatTypeError, match="would be dropped") as info:
        datanectar.catalog(project).save("table", INFORMATIVE[kind]())

    assert described in str(info.value)


@pytest.mark.parametrize("format_name", ["csv", "sql"])
def test_a_refused_index_leaves_the_stored_value(make_project, format_name):
    project = table_project(make_project, format_name)
    cat = datanectar.catalog(project)
    cat.save("table", good_frame())

    with pytest.raises(FormatTypeError, match="would be dropped"):
        cat.save("table", named_index_frame())

    stored = read_sql(project) if format_name == "sql" else pd.read_csv(stored_path(project, "csv"))
    pd.testing.assert_frame_equal(stored, good_frame())


@pytest.mark.parametrize("format_name", ["csv", "sql"])
def test_csv_and_sql_take_a_default_index_without_a_word(make_project, format_name):
    project = table_project(make_project, format_name)
    cat = datanectar.catalog(project)

    cat.save("table", filtered_frame().reset_index(drop=True))

    stored = read_sql(project) if format_name == "sql" else pd.read_csv(stored_path(project, "csv"))
    assert list(stored.columns) == ["reading", "keep"]
    pd.testing.assert_frame_equal(stored, filtered_frame().reset_index(drop=True))


@pytest.mark.parametrize("kind", sorted(INFORMATIVE))
@pytest.mark.parametrize("format_name", ["csv", "sql"])
def test_index_false_saves_and_drops_the_index(make_project, format_name, kind):
    project = table_project(make_project, format_name, extra="  save_options: {index: false}\n")
    cat = datanectar.catalog(project)
    value = INFORMATIVE[kind]()

    cat.save("table", value)

    stored = read_sql(project) if format_name == "sql" else pd.read_csv(stored_path(project, "csv"))
    assert list(stored.columns) == list(value.columns)
    pd.testing.assert_frame_equal(stored, value.reset_index(drop=True))


def test_index_true_writes_the_index_as_csv_columns(make_project):
    project = table_project(make_project, "csv", extra="  save_options: {index: true}\n")
    cat = datanectar.catalog(project)

    cat.save("table", named_index_frame())
    multi = table_project(
        make_project.at(project.parent / "multi"), "csv", extra="  save_options: {index: true}\n"
    )
    datanectar.catalog(multi).save("table", multi_index_frame())

    lines = stored_path(project, "csv").read_text().splitlines()
    assert lines[0] == "station,reading"
    assert lines[1] == "s0,1.0"
    assert stored_path(multi, "csv").read_text().splitlines()[0] == "city,year,reading"
    loaded = pd.read_csv(stored_path(project, "csv"), index_col="station")
    pd.testing.assert_frame_equal(loaded, named_index_frame(), check_index_type=False)


def test_index_true_writes_the_index_as_sql_columns(make_project):
    project = table_project(make_project, "sql", extra="  save_options: {index: true}\n")

    datanectar.catalog(project).save("table", multi_index_frame())

    stored = read_sql(project)
    assert list(stored.columns) == ["city", "year", "reading"]
    assert stored["city"].tolist() == ["paris", "paris", "lyon"]
    assert stored["year"].tolist() == [2020, 2021, 2020]


def test_a_partitioned_sql_entry_refuses_an_index_too(make_project):
    project = make_project("item:\n  format: sql\n  path: item\n  namespaces: [paris, lyon]\n")

    with pytest.raises(FormatTypeError, match=r"entry 'item'.*would be dropped"):
        datanectar.catalog(project).save("item", named_index_frame(), namespace="paris")

    assert "item" not in sql_tables(project)


# -- 6. parquet keeps an index, as pyarrow does ------------------------------------------------


@pytest.mark.parametrize("kind", sorted(INFORMATIVE))
def test_parquet_keeps_an_informative_index(make_project, kind):
    project = table_project(make_project, "parquet")
    cat = datanectar.catalog(project)
    value = INFORMATIVE[kind]()

    cat.save("table", value)

    stored = pq.read_table(stored_path(project, "parquet")).to_pandas()
    pd.testing.assert_frame_equal(stored, value)
    pd.testing.assert_frame_equal(cat.load("table"), value)


def test_parquet_stores_a_named_index_as_a_column(make_project):
    project = table_project(make_project, "parquet")
    datanectar.catalog(project).save("table", named_index_frame())

    table = pq.read_table(stored_path(project, "parquet"))
    assert table.column("station").to_pylist() == ["s0", "s1", "s2"]
    assert table.schema.pandas_metadata["index_columns"] == ["station"]


# -- 7. an index level named like a column ----------------------------------------------------


@pytest.mark.parametrize("format_name", ["delta", "parquet"])
def test_an_index_level_named_like_a_column_is_refused(make_project, format_name):
    project = table_project(make_project, format_name)
    cat = datanectar.catalog(project)
    value = pd.DataFrame({"station": ["x", "y"], "reading": [1.0, 2.0]})
    value.index = pd.Index(["a", "b"], name="station")

    with pytest.raises(FormatTypeError) as info:
        cat.save("table", value)

    message = str(info.value)
    assert "entry 'table'" in message
    assert "index level 'station' has the name of a column" in message
    assert not stored_path(project, format_name).exists()


def test_an_index_level_named_like_a_column_leaves_a_delta_table_as_it_was(make_project):
    project = table_project(make_project, "delta")
    cat = datanectar.catalog(project)
    cat.save("table", named_index_frame())
    path = stored_path(project, "delta")
    version = DeltaTable(path).version()
    clash = pd.DataFrame({"reading": [9.0]}, index=pd.Index(["z"], name="reading"))

    with pytest.raises(FormatTypeError, match="index level 'reading'"):
        cat.save("table", clash)

    assert DeltaTable(path).version() == version
    pd.testing.assert_frame_equal(cat.load("table"), named_index_frame())


def test_a_level_of_a_multi_index_named_like_a_column_is_refused(make_project):
    project = table_project(make_project, "delta")
    value = multi_index_frame().reset_index(level="year")  # `year` a column ...
    value.index = pd.MultiIndex.from_arrays([value.index, value["year"]], names=["city", "year"])

    with pytest.raises(FormatTypeError, match="index level 'year' has the name of a column"):
        datanectar.catalog(project).save("table", value)

    assert not stored_path(project, "delta").exists()


# -- 8. a partitioned delta entry's key column ------------------------------------------------


def test_a_column_named_like_the_dimension_holding_other_keys_is_refused(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", good_frame(), namespace="paris")
    path = project / "data" / "item"
    version = DeltaTable(path).version()
    before = DeltaTable(path).to_pandas()
    value = good_frame(2).assign(namespace=["lyon", "other", "lyon"])

    with pytest.raises(DatanectarError) as info:
        cat.save("item", value, namespace="lyon")

    message = str(info.value)
    assert "entry 'item'" in message
    assert "column 'namespace'" in message
    assert "'lyon'" in message
    assert DeltaTable(path).version() == version
    pd.testing.assert_frame_equal(DeltaTable(path).to_pandas(), before)
    assert not cat.exists("item", namespace="lyon")
    assert not [p for p in path.iterdir() if p.name.startswith(".")]  # nothing staged is left


def test_a_column_named_like_the_dimension_all_other_is_refused_on_a_first_save(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)

    with pytest.raises(DatanectarError, match="column 'namespace'"):
        cat.save("item", good_frame().assign(namespace="other"), namespace="paris")

    path = project / "data" / "item"
    assert not DeltaTable.is_deltatable(str(path))


def test_a_column_named_like_the_dimension_holding_the_key_is_accepted(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", good_frame(), namespace="paris")

    cat.save("item", good_frame(2).assign(namespace="lyon"), namespace="lyon")

    stored = DeltaTable(project / "data" / "item").to_pandas()
    lyon = stored[stored["namespace"] == "lyon"].drop(columns="namespace")
    pd.testing.assert_frame_equal(lyon.sort_values("reading").reset_index(drop=True), good_frame(2))
    assert (stored["namespace"] == "paris").sum() == 3
    pd.testing.assert_frame_equal(cat.load("item", namespace="lyon"), good_frame(2))


# -- 9. through Dagster ------------------------------------------------------------------------


def test_a_delta_asset_with_a_named_index_reaches_its_downstream_with_it(make_project, materialize):
    project = make_project(
        "readings:\n  format: delta\n  path: readings\nsummary:\n  format: json\n  path: s.json\n"
    )
    seen: dict[str, Any] = {}

    @datanectar.asset(entry="readings")
    def readings():
        return multi_index_frame()

    @datanectar.asset(entry="summary")
    def summary(readings: pd.DataFrame):
        seen["readings"] = readings
        return {"cities": sorted(set(readings.index.get_level_values("city")))}

    result = materialize(project, functions=[readings, summary])

    assert result.success
    pd.testing.assert_frame_equal(seen["readings"], multi_index_frame())
    table = DeltaTable(project / "data" / "readings")
    assert index_fields(table) == {"city": "0", "year": "1"}
    assert table.to_pandas()["city"].tolist() == ["paris", "paris", "lyon"]
    assert datanectar.catalog(project).load("summary") == {"cities": ["lyon", "paris"]}


def test_a_delta_asset_with_a_check_keeps_its_index(make_project, materialize):
    """A checked delta asset is written, audited, then committed: the index survives that."""
    project = make_project(
        "readings:\n  format: delta\n  path: readings\n  checks:\n    - not_null: [reading]\n"
    )

    @datanectar.asset(entry="readings")
    def readings():
        return named_index_frame()

    result = materialize(project, functions=[readings])

    assert result.success
    table = DeltaTable(project / "data" / "readings")
    assert index_fields(table) == {"station": "0"}
    pd.testing.assert_frame_equal(datanectar.catalog(project).load("readings"), named_index_frame())


def test_a_partitioned_delta_asset_keeps_its_index_through_dagster(make_project, instance):
    project = partitioned_project(make_project)
    values = {"paris": named_index_frame(0), "lyon": named_index_frame(10)}

    @datanectar.asset(entry="item")
    def item(context: dg.AssetExecutionContext):
        return values[context.partition_key]

    for key in values:
        assert materialize_partition(instance, project, [item], key).success

    cat = datanectar.catalog(project)
    for key, value in values.items():
        pd.testing.assert_frame_equal(cat.load("item", namespace=key), value)
    table = DeltaTable(project / "data" / "item")
    assert index_fields(table) == {"station": "0"}
    stored = table.to_pandas().sort_values("reading")
    assert stored["station"].tolist() == [*values["paris"].index, *values["lyon"].index]
    assert stored["namespace"].tolist() == ["paris"] * 3 + ["lyon"] * 3


def test_dagster_refuses_a_zero_column_frame_for_a_delta_asset(make_project, materialize):
    project = make_project("readings:\n  format: delta\n  path: readings\n")
    holder = {"value": good_frame()}

    @datanectar.asset(entry="readings")
    def readings():
        return holder["value"]

    assert materialize(project, functions=[readings]).success
    path = project / "data" / "readings"
    version = DeltaTable(path).version()
    holder["value"] = pd.DataFrame(index=range(3))

    result = materialize(project, functions=[readings], raise_on_error=False)

    assert not result.success
    assert "has no columns" in failure_messages(result)
    assert DeltaTable(path).version() == version
    pd.testing.assert_frame_equal(DeltaTable(path).to_pandas(), good_frame())


# -- what a partition write refuses rather than lose ------------------------------------------


def test_an_index_named_like_the_dimension_is_refused(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    value = pd.DataFrame(
        {"reading": [1.0, 2.0]}, index=pd.Index(["paris", "paris"], name="namespace")
    )

    with pytest.raises(FormatTypeError, match=r"index level 'namespace'.*partition column"):
        cat.save("item", value, namespace="paris")
    assert not (project / "data" / "item" / "_delta_log").exists()


def test_a_partition_without_the_tables_index_is_refused(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", named_index_frame(), namespace="paris")
    version = DeltaTable(project / "data" / "item").version()

    with pytest.raises(FormatTypeError, match=r"keep the index levels \['station'\]"):
        cat.save("item", good_frame(), namespace="lyon")

    table = DeltaTable(project / "data" / "item")
    assert table.version() == version
    assert "station" in column_names(table)
    pd.testing.assert_frame_equal(cat.load("item", namespace="paris"), named_index_frame())


def test_a_partition_with_an_index_the_table_lacks_is_refused(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", good_frame(), namespace="lyon")

    with pytest.raises(FormatTypeError, match=r"reset_index\(drop=True\)"):
        cat.save("item", named_index_frame(), namespace="paris")

    assert "station" not in column_names(DeltaTable(project / "data" / "item"))
    pd.testing.assert_frame_equal(cat.load("item", namespace="lyon"), good_frame())


def test_an_unnamed_level_clashing_with_a_column_is_refused_as_a_type_error(make_project):
    project = table_project(make_project, "delta")
    value = pd.DataFrame({"__index_level_0__": [1, 2]}, index=[5, 6])

    with pytest.raises(FormatTypeError, match="index level '__index_level_0__'"):
        datanectar.catalog(project).save("table", value)
    assert not (project / "data" / "table").exists()


def test_partitions_filtered_from_one_frame_are_refused_until_their_index_agrees(make_project):
    """Rows cut from one frame keep their positions in it: the first city's are 0..n-1, the
    next ones' are not. Keeping that index in one partition and not in another would change
    the table's schema under the first one, so the second is refused, and saved once the
    positions are dropped."""
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    frame = pd.DataFrame({"city": ["paris"] * 2 + ["lyon"] * 2, "reading": [1.0, 2.0, 3.0, 4.0]})
    parts = {key: frame[frame["city"] == key] for key in ("paris", "lyon")}
    cat.save("item", parts["paris"], namespace="paris")
    with pytest.raises(FormatTypeError, match="same index"):
        cat.save("item", parts["lyon"], namespace="lyon")
    cat.save("item", parts["lyon"].reset_index(drop=True), namespace="lyon")

    pd.testing.assert_frame_equal(cat.load("item", namespace="paris"), parts["paris"])
    pd.testing.assert_frame_equal(
        cat.load("item", namespace="lyon"), parts["lyon"].reset_index(drop=True)
    )


def test_a_partition_with_other_columns_than_the_tables_is_refused(make_project):
    project = partitioned_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", good_frame(), namespace="paris")
    version = DeltaTable(project / "data" / "item").version()

    with pytest.raises(FormatTypeError, match=r"lacks .* adds extra"):
        cat.save("item", good_frame().iloc[:, :1].assign(extra=1), namespace="lyon")

    assert DeltaTable(project / "data" / "item").version() == version
    pd.testing.assert_frame_equal(cat.load("item", namespace="paris"), good_frame())

"""Every kind of namespace (static, time, two dimensions, dynamic) with every format that takes
it, through real Dagster runs: each partition is read back with the storage library itself, one
is rematerialized while the others stay untouched; several partitions load downstream as a dict
or one concatenated value; plain calls read and write what the partitions do."""

from __future__ import annotations

import json
import pickle
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import xarray as xr
from deltalake import DeltaTable

import datanectar
from runs import failure_messages

PG_URL_ENV = "DN_TEST_PARTITIONS_URL"
LOCAL_STORE = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
WAREHOUSE_STORE = f'\n[tool.datanectar.stores.warehouse]\ntype = "sql"\nurl_env = "{PG_URL_ENV}"\n'
TABLE_FORMATS = ("delta", "sql")
FRAME_FORMATS = ("csv", "parquet", "delta", "sql")
XARRAY_FORMATS = ("netcdf", "zarr")
DYNAMIC = "scenarios"


@dataclass(frozen=True)
class Kind:
    """One kind of namespaces: its catalog form and the partitions a test materializes."""

    yaml: str
    keys: tuple[dict[str, str], ...]
    """Materialized in order; the first is then rematerialized, the others must not change."""

    @property
    def dimensions(self) -> list[str]:
        return list(self.keys[0])


KINDS = {
    "static": Kind("[paris, lyon, oslo]", ({"namespace": "paris"}, {"namespace": "lyon"})),
    "time": Kind(
        "{daily: {start: '2024-01-01', end: '2024-01-10'}}",
        ({"date": "2024-01-02"}, {"date": "2024-01-05"}),
    ),
    # Three partitions: the rematerialized one shares its date with one, its city with another,
    # so a table write keyed on either dimension alone would show (file formats use the first
    # two: their paths are checked directly).
    "two": Kind(
        "{city: [paris, lyon], date: {daily: {start: '2024-01-01', end: '2024-01-10'}}}",
        (
            {"city": "paris", "date": "2024-01-02"},
            {"city": "lyon", "date": "2024-01-02"},
            {"city": "paris", "date": "2024-01-03"},
        ),
    ),
    "dynamic": Kind(f"{{dynamic: {DYNAMIC}}}", ({"namespace": "base"}, {"namespace": "warm-2050"})),
}
DYNAMIC_KEYS = ["base", "warm-2050", "cold"]


def dagster_key(keys: dict[str, str]) -> str | dg.MultiPartitionKey:
    return dg.MultiPartitionKey(keys) if len(keys) > 1 else next(iter(keys.values()))


def namespace_of(keys: dict[str, str]) -> str | dict[str, str]:
    """A plain call's `namespace=`: the key of one dimension, the mapping of two."""
    return dict(keys) if len(keys) > 1 else next(iter(keys.values()))


def label_of(keys: dict[str, str]) -> str:
    """The key of a partition in a downstream dict: Dagster's `a|b`, dimensions by name."""
    return "|".join(keys[name] for name in sorted(keys))


def value_for(format_name: str, keys: dict[str, str], version: float) -> Any:
    """A small value the format writes, telling which partition and version it is."""
    label = "@".join(keys.values())
    if format_name in FRAME_FORMATS:
        return pd.DataFrame({"reading": [version, version + 0.5], "label": [label, label]})
    if format_name == "json":
        return {"label": label, "readings": [version, version + 0.5]}
    if format_name == "pickle":  # not JSON: a tuple and a frozenset come back as themselves
        return {
            "label": label,
            "readings": (version, version + 0.5),
            "tags": frozenset(keys.values()),
        }
    return xr.Dataset(
        {"reading": ("x", [version, version + 0.5])}, coords={"x": [0, 1]}, attrs={"label": label}
    )


def assert_same(format_name: str, actual: Any, expected: Any) -> None:
    if format_name in FRAME_FORMATS:
        actual = actual.sort_values("reading").reset_index(drop=True)
        pd.testing.assert_frame_equal(actual, expected, check_dtype=False)
    elif format_name in XARRAY_FORMATS:
        xr.testing.assert_identical(actual.load(), expected)
    else:
        assert actual == expected
        assert type(actual["readings"]) is type(expected["readings"])


def read_file(format_name: str, path: Path) -> Any:
    """One stored partition, read by the storage library itself."""
    if format_name == "csv":
        return pd.read_csv(path)
    if format_name == "parquet":
        return pq.read_table(path).to_pandas()
    if format_name == "json":
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    if format_name == "pickle":
        with path.open("rb") as handle:
            return pickle.load(handle)
    if format_name == "netcdf":
        with xr.open_dataset(path, engine="h5netcdf") as dataset:
            return dataset.load()
    with xr.open_zarr(path) as dataset:
        return dataset.load()


def snapshot(path: Path) -> dict[str, Any]:
    """A file or folder as it is on disk: inode, and every file's mtime and bytes."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    state: dict[str, Any] = {"<inode>": path.stat().st_ino}
    for file in files:
        state[file.relative_to(path.parent).as_posix()] = (
            file.stat().st_mtime_ns,
            file.read_bytes(),
        )
    return state


@dataclass(frozen=True)
class Case:
    format: str
    kind: str
    path: str
    where: str | None = None
    """Where each partition lives under the store root, written out by hand (file formats)."""
    postgres: bool = False

    @property
    def id(self) -> str:
        form = "template" if "{" in self.path else "plain"
        return f"{self.format}-{self.kind}-{form}" + ("-postgres" if self.postgres else "")


# What tests/test_namespaces.py already covers is left out: static parquet/delta/sql/zarr
# (template), time parquet/delta/csv (no placeholder)/zarr (regions of one store), two
# dimensions parquet/delta.
CASES = [
    Case("csv", "static", "obs.csv", "obs/{namespace}.csv"),
    Case("csv", "two", '"obs/{city}/{date}.csv"', "obs/{city}/{date}.csv"),
    Case("csv", "dynamic", '"obs/{namespace}.csv"', "obs/{namespace}.csv"),
    Case("parquet", "dynamic", "obs.parquet", "obs/{namespace}.parquet"),
    Case("json", "static", '"doc/{namespace}.json"', "doc/{namespace}.json"),
    Case("json", "time", "doc.json", "doc/{date}.json"),
    Case("json", "two", "doc.json", "doc/{city}/{date}.json"),
    Case("json", "dynamic", "doc.json", "doc/{namespace}.json"),
    Case("pickle", "static", "obj.pkl", "obj/{namespace}.pkl"),
    Case("pickle", "time", '"obj/{date}.pkl"', "obj/{date}.pkl"),
    # placeholders in any order: the path decides the layout, not the dimensions' order
    Case("pickle", "two", '"obj/{date}/{city}.pkl"', "obj/{date}/{city}.pkl"),
    Case("pickle", "dynamic", '"obj/{namespace}.pkl"', "obj/{namespace}.pkl"),
    Case("netcdf", "static", "grid.nc", "grid/{namespace}.nc"),
    Case("netcdf", "time", '"grid/{date}.nc"', "grid/{date}.nc"),
    Case("netcdf", "two", "grid.nc", "grid/{city}/{date}.nc"),
    Case("netcdf", "dynamic", '"grid/{namespace}.nc"', "grid/{namespace}.nc"),
    Case("zarr", "static", "grid.zarr", "grid/{namespace}.zarr"),
    Case("zarr", "time", '"grid/{date}.zarr"', "grid/{date}.zarr"),  # a store per period
    Case("zarr", "two", "grid.zarr", "grid/{city}/{date}.zarr"),
    Case("zarr", "dynamic", '"grid/{namespace}.zarr"', "grid/{namespace}.zarr"),
    Case("delta", "dynamic", "obs"),
    Case("sql", "time", "obs"),
    Case("sql", "two", "obs"),
    Case("sql", "dynamic", "obs"),
    Case("sql", "two", "obs", postgres=True),
]


@pytest.fixture
def run_partition(instance):
    """Materialize one partition of a project's assets in process, on the test instance."""

    def run(project: Path, functions, keys: dict[str, str], selection: str = "*"):
        defs = datanectar.definitions(project, functions=functions)
        return dg.materialize(
            [*defs.assets, *(defs.asset_checks or [])],
            resources=defs.resources,
            instance=instance,
            partition_key=dagster_key(keys),
            selection=selection,
        )

    return run


@pytest.fixture
def pg_table(request, monkeypatch):
    """A PostgreSQL table name for this test, dropped afterwards, and the store's URL set."""
    url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv(PG_URL_ENV, url)
    name = f"dn_partitions_{uuid.uuid4().hex[:12]}"
    yield url, name
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))


@dataclass
class Project:
    root: Path
    case: Case
    sql_url: str | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def partition_path(self, keys: dict[str, str]) -> Path:
        assert self.case.where is not None
        return self.data / self.case.where.format(**keys)

    def table(self) -> pd.DataFrame:
        """The whole table, read by deltalake or by a SQLAlchemy select."""
        if self.case.format == "delta":
            return DeltaTable(str(self.data / self.case.path)).to_pandas()
        engine = sa.create_engine(self.sql_url)
        try:
            with engine.connect() as connection:
                table = sa.Table(self.case.path, sa.MetaData(), autoload_with=connection)
                rows = connection.execute(sa.select(table)).mappings().all()
        finally:
            engine.dispose()
        return pd.DataFrame([dict(row) for row in rows])

    def delta_files(self, keys: dict[str, str]) -> set[str]:
        table = DeltaTable(str(self.data / self.case.path))
        actions = pa.table(table.get_add_actions(flatten=True)).to_pandas()
        chosen = pd.Series(True, index=actions.index)
        for name, key in keys.items():
            chosen &= actions[f"partition.{name}"] == key
        return set(actions.loc[chosen, "path"])


def rows_of(table: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    chosen = pd.Series(True, index=table.index)
    for name, key in keys.items():
        chosen &= table[name] == key
    return table.loc[chosen].drop(columns=list(keys)).sort_values("reading").reset_index(drop=True)


def make_case_project(make_project, case: Case, request) -> Project:
    """The project of one case: an entry `item`, in the local store or in PostgreSQL."""
    stores = LOCAL_STORE
    path = case.path
    sql_url = None
    store_line = ""
    if case.postgres:
        sql_url, path = request.getfixturevalue("pg_table")
        stores += WAREHOUSE_STORE
        store_line = "  store: warehouse\n"
        case = replace(case, path=path)
    root = make_project(
        f"item:\n  format: {case.format}\n  path: {path}\n{store_line}"
        f"  namespaces: {KINDS[case.kind].yaml}\n",
        stores=stores,
    )
    if case.format == "sql" and not case.postgres:
        sql_url = f"sqlite:///{root / 'data' / 'datanectar.sqlite'}"
    return Project(root, case, sql_url)


def producing(format_name: str, kind: Kind, version: dict[str, float]):
    @datanectar.asset(entry="item")
    def item(context: dg.AssetExecutionContext):
        key = context.partition_key
        keys = (
            dict(key.keys_by_dimension)
            if isinstance(key, dg.MultiPartitionKey)
            else {kind.dimensions[0]: key}
        )
        return value_for(format_name, keys, version["v"])

    return item


# -- each partition its own, read back by the storage library --------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_partitions_are_written_read_back_and_replaced_alone(
    make_project, instance, run_partition, request, case
):
    project = make_case_project(make_project, case, request)
    kind = KINDS[case.kind]
    partitions = kind.keys if case.format in TABLE_FORMATS else kind.keys[:2]
    if case.kind == "dynamic":
        instance.add_dynamic_partitions(DYNAMIC, DYNAMIC_KEYS)
    version = {"v": 1.0}
    functions = [producing(case.format, kind, version)]
    for keys in partitions:
        assert run_partition(project.root, functions, keys).success
    first, *others = partitions

    def stored(keys: dict[str, str]) -> Any:
        if case.format in TABLE_FORMATS:
            return rows_of(project.table(), keys)
        return read_file(case.format, project.partition_path(keys))

    for keys in partitions:
        assert_same(case.format, stored(keys), value_for(case.format, keys, 1.0))
    if case.format in TABLE_FORMATS:
        before = {label_of(keys): rows_of(project.table(), keys) for keys in others}
        files_before = (
            {label_of(keys): project.delta_files(keys) for keys in others}
            if case.format == "delta"
            else None
        )
    else:
        before = {label_of(keys): snapshot(project.partition_path(keys)) for keys in others}

    version["v"] = 2.0
    assert run_partition(project.root, functions, first).success

    assert_same(case.format, stored(first), value_for(case.format, first, 2.0))
    for keys in others:  # untouched, and still what was written first
        if case.format in TABLE_FORMATS:
            pd.testing.assert_frame_equal(rows_of(project.table(), keys), before[label_of(keys)])
        else:
            assert snapshot(project.partition_path(keys)) == before[label_of(keys)]
        assert_same(case.format, stored(keys), value_for(case.format, keys, 1.0))
    # a plain call reads exactly what each Dagster partition wrote
    catalog = datanectar.catalog(project.root)
    for keys in partitions:
        assert_same(case.format, catalog.load("item", namespace=namespace_of(keys)), stored(keys))

    if case.format in TABLE_FORMATS:
        table = project.table()
        written = sorted(tuple(row) for row in table[kind.dimensions].itertuples(index=False))
        # every partition once (two rows each), keyed by its dimension columns
        assert written == sorted(tuple(keys.values()) for keys in partitions for _ in range(2))
        if case.format == "delta":
            delta = DeltaTable(str(project.data / case.path))
            assert delta.metadata().partition_columns == kind.dimensions
            assert {label_of(k): project.delta_files(k) for k in others} == files_before
    else:
        # one object per materialized partition, and nothing else (no staging left behind)
        expected = {project.partition_path(keys) for keys in partitions}
        found = {
            path
            for path in project.data.rglob("*")
            if path.suffix == Path(case.where).suffix and ".datanectar" not in path.parts
        }
        assert found == expected
        assert not [p for p in project.data.rglob("*") if "staging" in p.name]


# -- several partitions loaded downstream ----------------------------------------------------

DOWNSTREAM = [
    ("csv", "two", "frame"),
    ("json", "time", "dict"),
    ("pickle", "dynamic", "dict"),
    ("netcdf", "static", "dict"),
    ("netcdf", "time", "dataset"),
    ("sql", "static", "dict"),
    ("sql", "two", "frame"),
]
SUFFIXES = {"csv": ".csv", "json": ".json", "pickle": ".pkl", "netcdf": ".nc", "sql": ""}


def summary_reading(annotation: str, seen: dict[str, Any]):
    """An unpartitioned downstream asset reading every partition of `item`."""
    if annotation == "dict":

        @datanectar.asset(entry="summary")
        def summary(item):
            seen["value"] = {
                label: value.load() if isinstance(value, xr.Dataset) else value
                for label, value in item.items()
            }
            return {"n": len(item)}

    elif annotation == "frame":

        @datanectar.asset(entry="summary")
        def summary(item: pd.DataFrame):
            seen["value"] = item
            return {"n": len(item)}

    else:

        @datanectar.asset(entry="summary")
        def summary(item: xr.Dataset):
            seen["value"] = item.load()
            return {"n": len(item)}

    return summary


@pytest.mark.parametrize(
    ("format_name", "kind_name", "annotation"),
    DOWNSTREAM,
    ids=["-".join(case) for case in DOWNSTREAM],
)
def test_downstream_reads_several_partitions(
    make_project, instance, run_partition, format_name, kind_name, annotation
):
    kind = KINDS[kind_name]
    project = make_project(
        f"item:\n  format: {format_name}\n  path: item{SUFFIXES[format_name]}\n"
        f"  namespaces: {kind.yaml}\n  allow_missing_namespaces: true\n"
        "summary:\n  format: json\n"
    )
    if kind_name == "dynamic":
        instance.add_dynamic_partitions(DYNAMIC, DYNAMIC_KEYS)
    seen: dict[str, Any] = {}
    functions = [producing(format_name, kind, {"v": 1.0}), summary_reading(annotation, seen)]
    # The first partition written by a Dagster run, the others by plain calls: the downstream
    # load finds both where it looks.
    first, *others = kind.keys
    assert run_partition(project, functions, first, selection="item").success
    catalog = datanectar.catalog(project)
    for keys in others:
        catalog.save("item", value_for(format_name, keys, 1.0), namespace=namespace_of(keys))

    defs = datanectar.definitions(project, functions=functions)
    result = dg.materialize(
        [*defs.assets], resources=defs.resources, instance=instance, selection="summary"
    )

    assert result.success
    value = seen["value"]
    expected = {label_of(keys): value_for(format_name, keys, 1.0) for keys in kind.keys}
    if annotation == "dict":
        # keyed by partition; the partitions never materialized are skipped (allowed missing)
        assert isinstance(value, dict)
        assert sorted(value) == sorted(expected)
        for label, one in value.items():
            assert_same(format_name, one, expected[label])
    elif annotation == "frame":
        # one frame: each partition's rows, with its keys as dimension columns
        assert isinstance(value, pd.DataFrame)
        assert sorted(value.columns) == sorted(["reading", "label", *kind.dimensions])
        order = [*kind.dimensions, "reading"]
        frames = [value_for(format_name, keys, 1.0).assign(**keys) for keys in kind.keys]
        pd.testing.assert_frame_equal(
            value.sort_values(order).reset_index(drop=True)[sorted(value.columns)],
            pd.concat(frames).sort_values(order).reset_index(drop=True)[sorted(value.columns)],
            check_dtype=False,
        )
    else:
        # one dataset, concatenated along a new dimension named after the partition dimension
        assert isinstance(value, xr.Dataset)
        [dimension] = kind.dimensions
        assert list(value[dimension].values) == [label_of(keys) for keys in kind.keys]
        for keys in kind.keys:
            one = value.sel({dimension: label_of(keys)}, drop=True)
            xr.testing.assert_equal(one, expected[label_of(keys)])


def test_several_json_partitions_as_one_frame_is_a_clear_error(
    make_project, instance, run_partition
):
    kind = KINDS["static"]
    project = make_project(
        f"item:\n  format: json\n  path: item.json\n  namespaces: {kind.yaml}\n"
        "  allow_missing_namespaces: true\nsummary:\n  format: json\n"
    )
    functions = [producing("json", kind, {"v": 1.0}), summary_reading("frame", {})]
    assert run_partition(project, functions, kind.keys[0], selection="item").success

    defs = datanectar.definitions(project, functions=functions)
    result = dg.materialize(
        [*defs.assets],
        resources=defs.resources,
        instance=instance,
        selection="summary",
        raise_on_error=False,
    )

    assert not result.success
    messages = failure_messages(result)
    assert "entry 'item' (format json)" in messages
    assert "dict values, which cannot be combined into one pandas.DataFrame" in messages
    assert "Fix: annotate the reading parameter as dict" in messages


# -- a partitioned downstream gets the matching partition -----------------------------------

MATCHING = [("json", "static"), ("netcdf", "two"), ("sql", "time"), ("pickle", "dynamic")]


@pytest.mark.parametrize(
    ("format_name", "kind_name"), MATCHING, ids=["-".join(case) for case in MATCHING]
)
def test_plain_saved_partition_is_what_a_partitioned_downstream_reads(
    make_project, instance, run_partition, format_name, kind_name
):
    kind = KINDS[kind_name]
    project = make_project(
        f"item:\n  format: {format_name}\n  path: item{SUFFIXES[format_name]}\n"
        f"  namespaces: {kind.yaml}\n"
        f"derived:\n  format: pickle\n  path: derived.pkl\n  namespaces: {kind.yaml}\n"
    )
    if kind_name == "dynamic":
        instance.add_dynamic_partitions(DYNAMIC, DYNAMIC_KEYS)
    seen: list[Any] = []

    @datanectar.asset(entry="derived")
    def derived(item):
        seen.append(item.load() if isinstance(item, xr.Dataset) else item)
        return {"n": len(seen)}

    chosen, other = kind.keys[:2]
    catalog = datanectar.catalog(project)
    catalog.save("item", value_for(format_name, chosen, 7.0), namespace=namespace_of(chosen))
    catalog.save("item", value_for(format_name, other, 9.0), namespace=other)  # a mapping too

    assert run_partition(project, [derived], chosen).success

    [loaded] = seen  # one run, one partition: its object, not a dict of several
    assert_same(format_name, loaded, value_for(format_name, chosen, 7.0))
    written = project / "data" / "derived" / Path(*chosen.values())
    written = written.with_name(written.name + ".pkl")
    with written.open("rb") as handle:
        assert pickle.load(handle) == {"n": 1}
    # only that partition of the downstream was written
    assert [
        p
        for p in (project / "data" / "derived").rglob("*")
        if p.is_file() and ".datanectar" not in p.parts  # datanectar's own: manifests
    ] == [written]


# -- what the library refuses ---------------------------------------------------------------


REFUSED_PATHS = [
    # a table name has no room for placeholders: refused before the namespaces are looked at
    ("sql", "time", '"obs_{date}"', "is not a SQL table name"),
    ("sql", "two", '"obs_{city}_{date}"', "is not a SQL table name"),
    ("delta", "two", '"obs/{city}/{date}"', "keeps all namespaces in one table"),
    ("delta", "dynamic", '"obs/{namespace}"', "keeps all namespaces in one table"),
    ("csv", "two", '"obs/{city}.csv"', "'{date}' is missing"),
    ("netcdf", "two", '"grid/{date}.nc"', "'{city}' is missing"),
    ("json", "time", '"doc/{namespace}.json"', "names no namespace dimension (date)"),
]


@pytest.mark.parametrize(
    ("format_name", "kind_name", "path", "problem"),
    REFUSED_PATHS,
    ids=[f"{case[0]}-{case[1]}" for case in REFUSED_PATHS],
)
def test_paths_that_cannot_hold_the_partitions_are_catalog_errors(
    make_project, format_name, kind_name, path, problem
):
    project = make_project(
        f"item:\n  format: {format_name}\n  path: {path}\n  namespaces: {KINDS[kind_name].yaml}\n"
    )
    with pytest.raises(datanectar.CatalogError) as raised:
        datanectar.catalog(project)
    assert raised.value.field == "path"
    assert raised.value.entry == "item"
    assert problem in str(raised.value)


def test_zarr_time_regions_need_a_time_dimension(make_project, instance):
    # one time dimension, no placeholder: every period is a region of one store along `time`
    project = make_project(
        f"item:\n  format: zarr\n  path: grid.zarr\n  namespaces: {KINDS['time'].yaml}\n"
    )
    keys = KINDS["time"].keys[0]
    functions = [producing("zarr", KINDS["time"], {"v": 1.0})]  # a dataset along `x` only

    defs = datanectar.definitions(project, functions=functions)
    result = dg.materialize(
        [*defs.assets],
        resources=defs.resources,
        instance=instance,
        partition_key=dagster_key(keys),
        raise_on_error=False,
    )

    assert not result.success
    messages = failure_messages(result)
    assert "entry 'item'" in messages
    assert "needs a 'time' dimension" in messages
    assert not (project / "data" / "grid.zarr").exists()


def test_a_range_run_of_a_file_format_writes_each_namespace_alone(make_project, instance):
    project = make_project(
        f"item:\n  format: csv\n  path: obs.csv\n  namespaces: {KINDS['static'].yaml}\n"
    )

    @datanectar.asset(entry="item")
    def item(namespace: str) -> pd.DataFrame:
        return value_for("csv", {"namespace": namespace}, 1.0)

    defs = datanectar.definitions(project, functions=[item])
    [asset] = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert asset.backfill_policy is None  # Dagster launches one run per partition

    result = dg.materialize(  # a range run anyway, as a single-run backfill would launch it
        [*defs.assets],
        resources=defs.resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "paris",
            "dagster/asset_partition_range_end": "lyon",
        },
        raise_on_error=False,
    )

    assert result.success, failure_messages(result)
    # the function ran once per namespace, each value went to its own file
    for city in ("paris", "lyon"):
        stored = pd.read_csv(project / "data" / "obs" / f"{city}.csv")
        assert_same("csv", stored, value_for("csv", {"namespace": city}, 1.0))
    assert sorted(p.name for p in (project / "data" / "obs").iterdir()) == ["lyon.csv", "paris.csv"]

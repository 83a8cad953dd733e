"""datanectar's IO managers on Dagster assets that no catalog declares: a plain Dagster project,
unpartitioned and partitioned, through `dg.materialize` and the Dagster CLI, each result read
back with the storage library itself."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import deltalake
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import xarray as xr

import datanectar
from datanectar.errors import DatanectarError, NamespaceKeyError, StorageIOError
from datanectar.formats import Format
from datanectar.formats.registry import FORMATS, register_format
from runs import DAGSTER

CITIES = dg.StaticPartitionsDefinition(["paris", "lyon"])


def frame(city: str = "paris") -> pd.DataFrame:
    return pd.DataFrame(
        {"temperature": [10.5, 11.0, 9.5], "station": [f"{city}-{i}" for i in range(3)]}
    )


def grid(city: str = "paris") -> xr.Dataset:
    offset = 1.0 if city == "paris" else 2.0
    return xr.Dataset(
        {"t2m": (("y", "x"), np.arange(6.0).reshape(2, 3) + offset)},
        coords={"y": [0, 1], "x": [10, 20, 30]},
    )


def document(city: str = "paris") -> dict[str, Any]:
    return {"city": city, "stations": [1, 2, 3]}


# format -> (IO manager class, a value for a partition, how the library reads the object at
# a path, how to compare)
def _read_sql(root: Path, table: str) -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{root / 'datanectar.sqlite'}")
    with engine.connect() as connection:
        return pd.read_sql_table(table, connection)


TABLES = {
    "csv": (datanectar.CsvIOManager, ".csv", lambda path: pd.read_csv(path)),
    "parquet": (datanectar.ParquetIOManager, ".parquet", lambda path: pd.read_parquet(path)),
    "delta": (
        datanectar.DeltaIOManager,
        "",
        lambda path: deltalake.DeltaTable(str(path)).to_pandas(),
    ),
}
GRIDS = {
    "zarr": (datanectar.ZarrIOManager, ".zarr", lambda path: xr.open_zarr(path).load()),
    "netcdf": (datanectar.NetcdfIOManager, ".nc", lambda path: xr.load_dataset(path)),
}
OBJECTS = {
    "pickle": (datanectar.PickleIOManager, ".pkl", lambda path: pickle.loads(path.read_bytes())),
    "json": (datanectar.JsonIOManager, ".json", lambda path: json.loads(path.read_text())),
}


def value_for(format_name: str, city: str = "paris") -> Any:
    if format_name in (*TABLES, "sql"):
        return frame(city)
    if format_name in GRIDS:
        return grid(city)
    return document(city)


def assert_same(format_name: str, stored: Any, expected: Any) -> None:
    if format_name in GRIDS:
        xr.testing.assert_identical(stored, expected)
    elif isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(
            stored.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
        )
    else:
        assert stored == expected


def io_manager(format_name: str, root: Path, **config: Any) -> dg.ConfigurableIOManager:
    if format_name == "sql":
        return datanectar.SqlIOManager(root=str(root), **config)
    cls = {**TABLES, **GRIDS, **OBJECTS}[format_name][0]
    return cls(root=str(root), **config)


def read_back(format_name: str, root: Path, path: str) -> Any:
    if format_name == "sql":
        return _read_sql(root, path)
    suffix, reader = {**TABLES, **GRIDS, **OBJECTS}[format_name][1:]
    return reader(root / f"{path}{suffix}")


ALL_FORMATS = [*TABLES, "sql", *GRIDS, *OBJECTS]


@pytest.mark.parametrize("format_name", ALL_FORMATS)
def test_an_asset_is_stored_at_its_key_and_read_back_downstream(format_name, tmp_path, instance):
    seen: dict[str, Any] = {}

    @dg.asset(io_manager_key="store", key_prefix=["weather"])
    def observations() -> Any:
        return value_for(format_name)

    @dg.asset(io_manager_key="store", key_prefix=["weather"])
    def summary(observations: Any) -> Any:
        seen["input"] = observations
        return observations

    root = tmp_path / "store"
    result = dg.materialize(
        [observations, summary],
        resources={"store": io_manager(format_name, root)},
        instance=instance,
    )
    assert result.success
    expected = value_for(format_name)
    path = "weather__observations" if format_name == "sql" else "weather/observations"
    assert_same(format_name, read_back(format_name, root, path), expected)
    assert_same(format_name, seen["input"], expected)
    materialization = result.asset_materializations_for_node("weather__observations")[0]
    uri = materialization.metadata["dagster/uri"].value
    assert ("weather__observations" if format_name == "sql" else str(root / path)) in uri
    if format_name in (*TABLES, "sql"):
        assert materialization.metadata["dagster/row_count"].value == 3
        columns = [c.name for c in materialization.metadata["dagster/column_schema"].schema.columns]
        assert columns == ["temperature", "station"]
    if format_name in GRIDS:
        assert materialization.metadata["dims"].value == {"y": 2, "x": 3}


@pytest.mark.parametrize("format_name", ALL_FORMATS)
def test_each_partition_of_an_asset_is_its_own_object_or_part_of_one_table(
    format_name, tmp_path, instance
):
    """File formats: one object per partition at key/<partition>; delta and sql: one table,
    the key in the `partition_expr` column, one partition replaced per run."""

    @dg.asset(io_manager_key="store", partitions_def=CITIES, metadata={"partition_expr": "city"})
    def observations(context) -> Any:
        return value_for(format_name, context.partition_key)

    @dg.asset(io_manager_key="documents")
    def everywhere(observations: dict) -> dict:
        return {city: type(value).__name__ for city, value in observations.items()}

    root = tmp_path / "store"
    resources = {
        "store": io_manager(format_name, root),
        "documents": datanectar.JsonIOManager(root=str(tmp_path / "documents")),
    }
    for city in ("paris", "lyon", "paris"):
        assert dg.materialize(
            [observations], resources=resources, instance=instance, partition_key=city
        ).success
    if format_name in ("delta", "sql"):
        stored = read_back(format_name, root, "observations")
        assert sorted(stored["city"].unique()) == ["lyon", "paris"]
        assert len(stored) == 6  # paris written twice, replaced, not appended
        for city in ("paris", "lyon"):
            rows = stored[stored["city"] == city].drop(columns="city")
            assert_same(format_name, rows.sort_values("station"), frame(city))
        if format_name == "delta":
            table = deltalake.DeltaTable(str(root / "observations"))
            assert table.metadata().partition_columns == ["city"]
            assert table.version() == 2  # one commit per partition written
    else:
        for city in ("paris", "lyon"):
            assert_same(
                format_name,
                read_back(format_name, root, f"observations/{city}"),
                value_for(format_name, city),
            )
    result = dg.materialize(
        [observations.to_source_asset(), everywhere], resources=resources, instance=instance
    )
    assert result.success
    assert sorted(result.output_for_node("everywhere")) == ["lyon", "paris"]


def test_several_table_partitions_load_as_one_frame_with_their_keys(tmp_path, instance):
    @dg.asset(io_manager_key="store", partitions_def=CITIES, metadata={"partition_expr": "city"})
    def observations(context) -> pd.DataFrame:
        return frame(context.partition_key)

    @dg.asset(io_manager_key="store")
    def national(observations: pd.DataFrame) -> pd.DataFrame:
        return observations

    resources = {"store": datanectar.DeltaIOManager(root=str(tmp_path / "lake"))}
    for city in ("paris", "lyon"):
        dg.materialize([observations], resources=resources, instance=instance, partition_key=city)
    result = dg.materialize(
        [observations.to_source_asset(), national], resources=resources, instance=instance
    )
    combined = result.output_for_node("national")
    assert sorted(combined["city"].unique()) == ["lyon", "paris"]
    assert len(combined) == 6
    stored = deltalake.DeltaTable(str(tmp_path / "lake" / "national")).to_pandas()
    assert sorted(stored["city"].unique()) == ["lyon", "paris"]


MULTI = dg.MultiPartitionsDefinition(
    {
        "city": CITIES,
        "date": dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03"),
    }
)


def test_multi_partitions_as_folders_in_dimension_order_like_upath(tmp_path, instance):
    seen = []

    @dg.asset(io_manager_key="store", partitions_def=MULTI)
    def observations(context) -> pd.DataFrame:
        keys = context.partition_key.keys_by_dimension
        return frame(keys["city"]).assign(date=keys["date"])

    @dg.asset(io_manager_key="store", partitions_def=MULTI)
    def cleaned(context, observations: pd.DataFrame) -> pd.DataFrame:
        seen.append((context.partition_key.keys_by_dimension["date"], set(observations["date"])))
        return observations

    root = tmp_path / "store"
    resources = {"store": datanectar.ParquetIOManager(root=str(root))}
    key = dg.MultiPartitionKey({"city": "lyon", "date": "2024-01-02"})
    assert dg.materialize(
        [observations, cleaned], resources=resources, instance=instance, partition_key=key
    ).success
    # UPathIOManager's layout: one folder level per dimension, in dimension name order.
    stored = pq.read_table(root / "observations" / "lyon" / "2024-01-02.parquet").to_pandas()
    assert set(stored["date"]) == {"2024-01-02"}
    assert (root / "cleaned" / "lyon" / "2024-01-02.parquet").is_file()
    assert seen == [("2024-01-02", {"2024-01-02"})]


def test_multi_partitions_of_a_delta_table_by_their_columns(tmp_path, instance):
    @dg.asset(
        io_manager_key="store",
        partitions_def=MULTI,
        metadata={"partition_expr": {"city": "town", "date": "day"}},
    )
    def observations(context) -> pd.DataFrame:
        return frame(context.partition_key.keys_by_dimension["city"])

    resources = {"store": datanectar.DeltaIOManager(root=str(tmp_path / "lake"))}
    for city, date in (("paris", "2024-01-01"), ("lyon", "2024-01-02"), ("paris", "2024-01-01")):
        key = dg.MultiPartitionKey({"city": city, "date": date})
        assert dg.materialize(
            [observations], resources=resources, instance=instance, partition_key=key
        ).success
    table = deltalake.DeltaTable(str(tmp_path / "lake" / "observations"))
    assert sorted(table.metadata().partition_columns) == ["day", "town"]
    stored = table.to_pandas()
    assert sorted(zip(stored["town"], stored["day"], strict=True)) == sorted(
        [("paris", "2024-01-01")] * 3 + [("lyon", "2024-01-02")] * 3
    )


def test_a_time_window_input_loads_the_upstream_days_it_spans(tmp_path, instance):
    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(io_manager_key="store", partitions_def=days)
    def readings(context) -> pd.DataFrame:
        return pd.DataFrame({"day": [context.partition_key], "value": [1.0]})

    @dg.asset(
        io_manager_key="store",
        partitions_def=days,
        ins={
            "readings": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-2))
        },
    )
    def three_days(readings: pd.DataFrame) -> pd.DataFrame:
        return readings

    resources = {"store": datanectar.ParquetIOManager(root=str(tmp_path / "store"))}
    for day in ("2024-01-03", "2024-01-04", "2024-01-05"):
        dg.materialize([readings], resources=resources, instance=instance, partition_key=day)
    result = dg.materialize(
        [readings.to_source_asset(), three_days],
        resources=resources,
        instance=instance,
        partition_key="2024-01-05",
    )
    combined = result.output_for_node("three_days")
    assert sorted(combined["day"]) == ["2024-01-03", "2024-01-04", "2024-01-05"]


def test_an_asset_spec_reads_a_file_already_under_the_root(tmp_path, instance):
    """An external asset (nothing materializes it): its file, put there by someone else, is
    loaded by the IO manager its spec names."""
    root = tmp_path / "store"
    (root / "raw").mkdir(parents=True)
    frame().to_parquet(root / "raw" / "stations.parquet")
    stations = dg.AssetSpec(["raw", "stations"]).with_io_manager_key("store")

    @dg.asset(io_manager_key="store", ins={"stations": dg.AssetIn(key=["raw", "stations"])})
    def cleaned(stations: pd.DataFrame) -> pd.DataFrame:
        return stations.dropna()

    resources = {"store": datanectar.ParquetIOManager(root=str(root))}
    assert dg.materialize([stations, cleaned], resources=resources, instance=instance).success
    assert_same("parquet", pd.read_parquet(root / "cleaned.parquet"), frame())

    (root / "raw" / "stations.parquet").unlink()
    with pytest.raises(datanectar.DataNotFoundError, match=r"asset 'raw/stations'.*no data"):
        dg.materialize([stations, cleaned], resources=resources, instance=instance)


def test_the_path_metadata_overrides_the_key_and_cannot_leave_the_root(tmp_path, instance):
    @dg.asset(io_manager_key="store", metadata={"datanectar/path": "exports/daily.csv"})
    def report() -> pd.DataFrame:
        return frame()

    root = tmp_path / "store"
    resources = {"store": datanectar.CsvIOManager(root=str(root))}
    assert dg.materialize([report], resources=resources, instance=instance).success
    assert_same("csv", pd.read_csv(root / "exports" / "daily.csv"), frame())

    @dg.asset(io_manager_key="store", metadata={"datanectar/path": "../outside.csv"})
    def escaping() -> pd.DataFrame:
        return frame()

    with pytest.raises(DatanectarError, match=r"asset 'escaping'.*datanectar/path") as info:
        dg.materialize([escaping], resources=resources, instance=instance)
    assert "Fix:" in str(info.value)
    assert not (tmp_path / "outside.csv").exists()


def test_a_path_template_names_each_partition_dimension(tmp_path, instance):
    @dg.asset(
        io_manager_key="store",
        partitions_def=MULTI,
        metadata={"datanectar/path": "{date}/{city}.nc"},
    )
    def grids(context) -> xr.Dataset:
        return grid(context.partition_key.keys_by_dimension["city"])

    root = tmp_path / "store"
    resources = {"store": datanectar.NetcdfIOManager(root=str(root))}
    key = dg.MultiPartitionKey({"city": "lyon", "date": "2024-01-02"})
    assert dg.materialize(
        [grids], resources=resources, instance=instance, partition_key=key
    ).success
    xr.testing.assert_identical(xr.load_dataset(root / "2024-01-02" / "lyon.nc"), grid("lyon"))

    @dg.asset(
        io_manager_key="store", partitions_def=MULTI, metadata={"datanectar/path": "{city}.nc"}
    )
    def overwriting(context) -> xr.Dataset:
        return grid()

    with pytest.raises(DatanectarError, match=r"placeholders city.*\{city\}, \{date\}"):
        dg.materialize([overwriting], resources=resources, instance=instance, partition_key=key)


def test_partition_keys_that_would_escape_are_refused(tmp_path, instance):
    @dg.asset(io_manager_key="store", partitions_def=dg.StaticPartitionsDefinition([".."]))
    def sneaky() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.ParquetIOManager(root=str(tmp_path / "store"))}
    with pytest.raises(NamespaceKeyError, match="asset 'sneaky'"):
        dg.materialize([sneaky], resources=resources, instance=instance, partition_key="..")
    assert not list(tmp_path.glob("*.parquet"))


def test_a_partitioned_table_needs_its_partition_column(tmp_path, instance):
    @dg.asset(io_manager_key="store", partitions_def=CITIES)
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.DeltaIOManager(root=str(tmp_path / "lake"))}
    with pytest.raises(DatanectarError, match=r"asset 'observations'.*partition_expr"):
        dg.materialize([observations], resources=resources, instance=instance, partition_key="lyon")
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"save_options": {"compresion": "zstd"}},
            r"ParquetIOManager: save_options has 'compresion'",
        ),
        ({"root": "s3x://bucket/prefix"}, r"no store type serves 's3x://' URIs"),
    ],
)
def test_configuration_mistakes_are_named(tmp_path, instance, config, expected):
    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.ParquetIOManager(**{"root": str(tmp_path), **config})}
    with pytest.raises(DatanectarError, match=expected):
        dg.materialize([observations], resources=resources, instance=instance)


def test_without_root_or_project_the_fix_is_to_give_a_root(tmp_path, instance, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATANECTAR_PROJECT", raising=False)

    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.ParquetIOManager()}
    with pytest.raises(DatanectarError, match=r"ParquetIOManager: no root is given.*Fix: give it"):
        dg.materialize([observations], resources=resources, instance=instance)


def test_save_options_reach_the_library(tmp_path, instance):
    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    root = tmp_path / "store"
    resources = {
        "store": datanectar.ParquetIOManager(root=str(root), save_options={"compression": "zstd"})
    }
    dg.materialize([observations], resources=resources, instance=instance)
    metadata = pq.ParquetFile(root / "observations.parquet").metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_a_file_uri_root(tmp_path, instance):
    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    root = tmp_path / "by uri"
    resources = {"store": datanectar.CsvIOManager(root=root.as_uri())}
    assert dg.materialize([observations], resources=resources, instance=instance).success
    assert_same("csv", pd.read_csv(root / "observations.csv"), frame())


def test_sql_io_manager_on_a_database_named_by_an_environment_variable(
    tmp_path, instance, monkeypatch, postgres_url
):
    monkeypatch.setenv("WAREHOUSE_URL", postgres_url)

    @dg.asset(io_manager_key="warehouse", key_prefix=["io_manager_test"])
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"warehouse": datanectar.SqlIOManager(url_env="WAREHOUSE_URL")}
    result = dg.materialize([observations], resources=resources, instance=instance)
    assert result.success
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            stored = pd.read_sql_table("io_manager_test__observations", connection)
        assert_same("sql", stored, frame())
        uri = (
            result.asset_materializations_for_node("io_manager_test__observations")[0]
            .metadata["dagster/uri"]
            .value
        )
        password = sa.make_url(postgres_url).password
        assert not password or password not in uri
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS io_manager_test__observations"))
        engine.dispose()


def test_a_commit_then_failure_does_not_claim_the_table_untouched(tmp_path, instance, monkeypatch):
    """A library that commits and then fails: the error must not say the previous value is
    untouched."""
    from datanectar.formats.delta import DeltaFormat

    original = DeltaFormat.write

    def commit_then_fail(self, value, location, *, options):
        original(self, value, location, options=options)
        raise OSError("connection reset after the commit")

    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.DeltaIOManager(root=str(tmp_path / "lake"))}
    dg.materialize([observations], resources=resources, instance=instance)
    monkeypatch.setattr(DeltaFormat, "write", commit_then_fail)
    with pytest.raises(StorageIOError) as info:
        dg.materialize([observations], resources=resources, instance=instance)
    assert "untouched" not in str(info.value)
    assert "already changed" in str(info.value)

    def fail_before_commit(self, value, location, *, options):
        raise OSError("connection refused")

    monkeypatch.setattr(DeltaFormat, "write", fail_before_commit)
    with pytest.raises(StorageIOError, match="untouched"):
        dg.materialize([observations], resources=resources, instance=instance)


def test_every_format_has_an_io_manager_in_a_projects_definitions(make_project, instance):
    """A user's asset merged into a catalog's definitions may use any format's IO manager,
    whether the catalog uses that format or not; it is stored in the project's default store."""
    project = make_project(
        """
        stations:
          format: csv
          path: stations.csv
        """
    )
    (project / "data").mkdir()
    frame().to_csv(project / "data" / "stations.csv", index=False)
    defs = datanectar.definitions(project)
    for name in ("csv", "parquet", "delta", "zarr", "netcdf", "pickle", "json", "sql"):
        assert f"datanectar_{name}_io_manager" in defs.resources

    @dg.asset(io_manager_key="datanectar_zarr_io_manager")
    def station_grid(stations: pd.DataFrame) -> xr.Dataset:
        return xr.Dataset({"temperature": ("station", stations["temperature"].to_numpy())})

    merged = dg.Definitions.merge(defs, dg.Definitions(assets=[station_grid]))
    result = dg.materialize(
        [*merged.assets], resources=merged.resources, instance=instance, selection=["station_grid"]
    )
    assert result.success
    stored = xr.open_zarr(project / "data" / "station_grid.zarr").load()
    np.testing.assert_array_equal(stored["temperature"].values, frame()["temperature"].to_numpy())


def test_a_store_of_the_project_by_name(make_project, instance, monkeypatch):
    project = make_project(
        "",
        stores=(
            '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
            '[tool.datanectar.stores.archive]\ntype = "local"\nroot = "archive"\n'
        ),
    )

    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.ParquetIOManager(store="archive", project_dir=str(project))}
    assert dg.materialize([observations], resources=resources, instance=instance).success
    assert_same("parquet", pd.read_parquet(project / "archive" / "observations.parquet"), frame())

    resources = {"store": datanectar.ParquetIOManager(store="attic", project_dir=str(project))}
    with pytest.raises(
        DatanectarError, match=r"store 'attic' is not configured.*stores: archive, local"
    ):
        dg.materialize([observations], resources=resources, instance=instance)


PLAIN_PROJECT = """
import dagster as dg
import pandas as pd
import datanectar

@dg.asset(io_manager_key="delta", metadata={"partition_expr": "city"},
          partitions_def=dg.StaticPartitionsDefinition(["paris", "lyon"]))
def observations(context) -> pd.DataFrame:
    return pd.DataFrame({"temperature": [1.0, 2.0], "station": [context.partition_key + "-1", "x"]})

@dg.asset(io_manager_key="json")
def cities(observations: pd.DataFrame) -> dict:
    return {"cities": sorted(observations["city"].unique().tolist())}

defs = dg.Definitions(
    assets=[observations, cities],
    resources={
        "delta": datanectar.DeltaIOManager(root="data/lake"),
        "json": datanectar.JsonIOManager(root="data/documents"),
    },
)
"""


def test_a_plain_dagster_project_through_the_dagster_cli(tmp_path):
    """No pyproject.toml, no [tool.datanectar], no DAGSTER_HOME: a definitions file and the CLI."""
    project = tmp_path / "plain"
    project.mkdir()
    (project / "definitions.py").write_text(textwrap.dedent(PLAIN_PROJECT))
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "DATANECTAR_PROJECT")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(DAGSTER), "asset", "materialize", "-f", "definitions.py", *args]
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
        return done

    cli("--select", "observations", "--partition", "paris")
    cli("--select", "observations", "--partition", "lyon")
    table = deltalake.DeltaTable(str(project / "data" / "lake" / "observations"))
    assert table.metadata().partition_columns == ["city"]
    stored = table.to_pandas()
    assert sorted(stored["city"]) == ["lyon", "lyon", "paris", "paris"]
    assert sorted(stored["station"]) == ["lyon-1", "paris-1", "x", "x"]
    cli("--select", "cities")
    assert json.loads((project / "data" / "documents" / "cities.json").read_text()) == {
        "cities": ["lyon", "paris"]
    }


def test_importing_datanectar_does_not_import_dagster():
    code = (
        "import sys, datanectar\n"
        "assert 'dagster' not in sys.modules, 'dagster imported with datanectar'\n"
        "manager = datanectar.DeltaIOManager(root='x')\n"
        "assert 'dagster' in sys.modules and manager.format == 'delta'\n"
        "assert 'ZarrIOManager' in dir(datanectar)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_index_reaches_downstream_and_the_column_schema(tmp_path, instance):
    indexed = pd.DataFrame(
        {"temperature": [10.5, 11.0]}, index=pd.Index(["paris-0", "paris-1"], name="station")
    )
    seen = {}

    @dg.asset(io_manager_key="lake")
    def observations() -> pd.DataFrame:
        return indexed

    @dg.asset(io_manager_key="lake")
    def copied(observations: pd.DataFrame) -> pd.DataFrame:
        seen["input"] = observations
        return observations

    resources = {"lake": datanectar.DeltaIOManager(root=str(tmp_path / "lake"))}
    result = dg.materialize([observations, copied], resources=resources, instance=instance)
    pd.testing.assert_frame_equal(seen["input"], indexed)
    stored = deltalake.DeltaTable(str(tmp_path / "lake" / "observations")).to_pandas()
    assert list(stored.columns) == ["station", "temperature"]
    schema = result.asset_materializations_for_node("observations")[0].metadata[
        "dagster/column_schema"
    ]
    assert [column.name for column in schema.schema.columns] == ["station", "temperature"]


class LinesFormat(Format):
    """A plug-in format: a list of strings, one per line of a text file."""

    name = "lines_test"
    suffix = ".txt"
    writes = ("builtins.list",)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(line, str) for line in value)

    def write(self, value: Any, location: Any, *, options: Any) -> None:
        with location.open("wb") as handle:
            handle.write("\n".join(value).encode())

    def read(self, location: Any, *, options: Any, as_type: Any = None) -> Any:
        with location.open("rb") as handle:
            return handle.read().decode().split("\n")


def test_format_io_manager_serves_a_plug_in_format(tmp_path, instance):
    register_format("lines_test", f"{__name__}:LinesFormat")
    try:

        @dg.asset(io_manager_key="lines", partitions_def=CITIES)
        def names(context) -> list:
            return [context.partition_key, "centre"]

        resources = {"lines": datanectar.FormatIOManager(format="lines_test", root=str(tmp_path))}
        assert dg.materialize(
            [names], resources=resources, instance=instance, partition_key="lyon"
        ).success
        assert (tmp_path / "names" / "lyon.txt").read_text() == "lyon\ncentre"
    finally:
        FORMATS.refresh()


# -- what an audit of the IO managers found, each refused before anything is written ---------


def test_a_partition_write_into_a_table_partitioned_otherwise_is_refused(tmp_path, instance):
    """An unpartitioned table with a `city` column, then the asset becomes partitioned by
    city: replacing partition paris must not replace the whole table."""
    root = tmp_path / "lake"
    deltalake.write_deltalake(
        str(root / "events"), pd.DataFrame({"v": [1, 2, 3], "city": ["paris", "lyon", "oslo"]})
    )

    @dg.asset(io_manager_key="lake", partitions_def=CITIES, metadata={"partition_expr": "city"})
    def events() -> pd.DataFrame:
        return pd.DataFrame({"v": [100]})

    resources = {"lake": datanectar.DeltaIOManager(root=str(root))}
    with pytest.raises(datanectar.FormatTypeError, match="not partitioned"):
        dg.materialize([events], resources=resources, instance=instance, partition_key="paris")
    stored = deltalake.DeltaTable(str(root / "events")).to_pandas()
    assert sorted(stored["v"]) == [1, 2, 3]


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_two_dimensions_cannot_share_a_partition_column(tmp_path, instance, format_name):
    @dg.asset(
        io_manager_key="store",
        partitions_def=MULTI,
        metadata={"partition_expr": {"city": "x", "date": "x"}},
    )
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": io_manager(format_name, tmp_path / "store")}
    key = dg.MultiPartitionKey({"city": "lyon", "date": "2024-01-02"})
    with pytest.raises(DatanectarError, match=r"two dimensions the column 'x'.*Fix:"):
        dg.materialize([observations], resources=resources, instance=instance, partition_key=key)


def test_sql_refuses_a_value_column_named_like_the_partition_column(tmp_path, instance):
    @dg.asset(io_manager_key="store", partitions_def=CITIES, metadata={"partition_expr": "v"})
    def readings() -> pd.DataFrame:
        return pd.DataFrame({"v": [1, 2], "w": ["a", "b"]})

    resources = {"store": datanectar.SqlIOManager(root=str(tmp_path))}
    with pytest.raises(datanectar.FormatTypeError, match=r"column 'v' of the value"):
        dg.materialize([readings], resources=resources, instance=instance, partition_key="paris")


def test_sql_refuses_a_partition_whose_types_the_table_does_not_hold(tmp_path, instance):
    state = {"v": [1, 2]}

    @dg.asset(io_manager_key="store", partitions_def=CITIES, metadata={"partition_expr": "city"})
    def readings() -> pd.DataFrame:
        return pd.DataFrame({"v": state["v"]})

    resources = {"store": datanectar.SqlIOManager(root=str(tmp_path))}
    dg.materialize([readings], resources=resources, instance=instance, partition_key="paris")
    state["v"] = ["text"]
    with pytest.raises(datanectar.FormatTypeError, match=r"column 'v' is BIGINT in the table"):
        dg.materialize([readings], resources=resources, instance=instance, partition_key="lyon")
    stored = _read_sql(tmp_path, "readings")  # still readable by pandas, as a whole
    assert stored["v"].tolist() == [1, 2]


def test_sql_table_names_never_collide(tmp_path, instance):
    @dg.asset(io_manager_key="store", key=["weather__stations"])
    def joined() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.SqlIOManager(root=str(tmp_path))}
    with pytest.raises(DatanectarError, match=r"asset 'weather__stations'.*datanectar/path"):
        dg.materialize([joined], resources=resources, instance=instance)


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ({"a": 1}, {"indent": "x"}, "indent='x'"),
        ({"a": 1}, {"separators": [";", "="]}, "separators"),
        ({1: "a", "1": "b"}, {}, r"the key 1 \(int\)"),
    ],
)
def test_json_refuses_what_would_not_read_back(tmp_path, instance, value, options, expected):
    state = {"value": {"first": True}}

    @dg.asset(io_manager_key="store")
    def document_() -> dict:
        return state["value"]

    root = tmp_path / "store"
    resources = {"store": datanectar.JsonIOManager(root=str(root), save_options=options)}
    if not options:
        dg.materialize([document_], resources=resources, instance=instance)
    state["value"] = value
    with pytest.raises(datanectar.FormatTypeError, match=expected):
        dg.materialize([document_], resources=resources, instance=instance)
    if not options:
        assert json.loads((root / "document_.json").read_text()) == {"first": True}


def test_a_placeholder_in_an_unpartitioned_assets_path_is_refused(tmp_path, instance):
    @dg.asset(io_manager_key="store", metadata={"datanectar/path": "x/{partition}.parquet"})
    def flat() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.ParquetIOManager(root=str(tmp_path))}
    with pytest.raises(DatanectarError, match=r"not partitioned.*Fix:"):
        dg.materialize([flat], resources=resources, instance=instance)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("", "the root is empty"),
        ("file:relative", "not a file URI of an absolute folder"),
        ("FILE", "is a file, not a folder"),
    ],
)
def test_roots_that_cannot_be_a_store_are_named(tmp_path, instance, monkeypatch, root, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("not a folder")

    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.ParquetIOManager(root=root)}
    with pytest.raises(DatanectarError, match=expected):
        dg.materialize([observations], resources=resources, instance=instance)


def test_a_mistyped_format_gets_a_suggestion(tmp_path, instance):
    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"store": datanectar.FormatIOManager(format="parqet", root=str(tmp_path))}
    with pytest.raises(DatanectarError, match=r"unknown format 'parqet'.*parquet"):
        dg.materialize([observations], resources=resources, instance=instance)


def test_a_file_format_in_a_database_store_is_a_configuration_error(make_project, instance):
    project = make_project(
        "",
        stores=(
            '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
            '[tool.datanectar.stores.warehouse]\ntype = "sql"\nurl_env = "NOT_USED_URL"\n'
        ),
    )

    @dg.asset(io_manager_key="store")
    def observations() -> pd.DataFrame:
        return frame()

    manager = datanectar.DeltaIOManager(store="warehouse", project_dir=str(project))
    with pytest.raises(DatanectarError, match=r"store 'warehouse' is a database.*Fix:"):
        dg.materialize([observations], resources={"store": manager}, instance=instance)


def test_a_missing_partition_says_which_partition_to_materialize(tmp_path, instance):
    @dg.asset(io_manager_key="store", partitions_def=CITIES)
    def observations() -> pd.DataFrame:
        return frame()

    @dg.asset(io_manager_key="store", partitions_def=CITIES)
    def cleaned(observations: pd.DataFrame) -> pd.DataFrame:
        return observations

    resources = {"store": datanectar.ParquetIOManager(root=str(tmp_path))}
    with pytest.raises(
        datanectar.DataNotFoundError, match=r"--select observations --partition lyon\)"
    ):
        dg.materialize(
            [observations.to_source_asset(), cleaned],
            resources=resources,
            instance=instance,
            partition_key="lyon",
        )


def test_an_unreachable_database_is_not_said_to_have_changed(tmp_path, instance, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql+psycopg2://u:s3cr3t@127.0.0.1:1/none")

    @dg.asset(io_manager_key="warehouse")
    def observations() -> pd.DataFrame:
        return frame()

    resources = {"warehouse": datanectar.SqlIOManager(url_env="WAREHOUSE_URL")}
    with pytest.raises(StorageIOError) as info:
        dg.materialize([observations], resources=resources, instance=instance)
    assert "already changed" not in str(info.value)
    assert "s3cr3t" not in str(info.value)

    monkeypatch.setenv("WAREHOUSE_URL", "not a url s3cr3tpw")
    with pytest.raises(DatanectarError) as info:
        dg.materialize([observations], resources=resources, instance=instance)
    assert "s3cr3tpw" not in str(info.value)


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_a_single_run_backfill_of_a_table_asset(tmp_path, instance, format_name):
    """As dagster-deltalake takes it: one frame holding every partition of the run, each row's
    key in the partition column; all replaced in one transaction, or none."""
    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")
    state = {"broken": False}

    @dg.asset(
        io_manager_key="store",
        partitions_def=days,
        metadata={"partition_expr": "day"},
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def readings(context) -> pd.DataFrame:
        keys = context.partition_keys
        frame = pd.DataFrame({"day": keys, "value": [1.0] * len(keys)})
        return frame.assign(value=["x"] * len(keys)) if state["broken"] else frame

    resources = {"store": io_manager(format_name, tmp_path / "store")}
    tags = {
        "dagster/asset_partition_range_start": "2024-01-02",
        "dagster/asset_partition_range_end": "2024-01-04",
    }
    assert dg.materialize([readings], resources=resources, instance=instance, tags=tags).success
    stored = read_back(format_name, tmp_path / "store", "readings")
    assert sorted(stored["day"]) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    state["broken"] = True
    assert not dg.materialize(
        [readings], resources=resources, instance=instance, tags=tags, raise_on_error=False
    ).success
    again = read_back(format_name, tmp_path / "store", "readings")
    assert again["value"].tolist() == [1.0, 1.0, 1.0]

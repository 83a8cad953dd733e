"""The contract every storage format keeps, run through real Dagster on real storage.

Each format is one subclass of `FormatContract` giving two sample values, a way to read the
stored object back with the storage library itself (never with datanectar), a value it cannot
write, and a way to break a write half-way. The shared tests then prove: round trip through
`materialize` and a downstream load, overwrite, materialization metadata, a clear error for
missing data and for a wrong type, and atomicity of a failing write.
"""

from __future__ import annotations

import filecmp
import json
import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import xarray as xr
from deltalake import DeltaTable

import datanectar
from datanectar.formats import get_format
from datanectar.targets import Target
from runs import failure_messages

STAGING_PREFIX = ".datanectar-staging-"


def table_sample(variant: int, rows: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(variant)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64") + 1000 * variant,
            "value": rng.normal(size=rows),
            "label": [f"row-{variant}-{i}" for i in range(rows)],
        }
    )


def grid_sample(variant: int) -> xr.Dataset:
    rng = np.random.default_rng(variant)
    data = rng.normal(280, 5, size=(6, 4, 5)).astype("float32")
    return xr.Dataset(
        {"air": (("time", "lat", "lon"), data, {"units": "degK"})},
        coords={
            "time": pd.date_range("2024-01-01", periods=6, freq="D"),
            "lat": np.linspace(40, 55, 4),
            "lon": np.linspace(-5, 15, 5),
        },
        attrs={"variant": variant},
    ).chunk({"time": 2})


class FormatContract:
    format: ClassVar[str]
    path: ClassVar[str]
    store_section: ClassVar[str] = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'

    # -- what each format provides -----------------------------------------------------

    def sample(self, variant: int) -> Any:
        raise NotImplementedError

    def read_back(self, project: Path) -> Any:
        """The stored object, read with the storage library itself."""
        raise NotImplementedError

    def assert_same(self, actual: Any, expected: Any) -> None:
        assert actual == expected

    def wrong_value(self) -> Any:
        return {"not": "writable"}

    def break_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the next write fail part-way through, after writing some data."""
        fmt = get_format(self.format)
        original = type(fmt).write

        def write_then_fail(self_, value, location, *, options):
            original(self_, value, location, options=options)
            raise OSError("disk full (injected by the test)")

        monkeypatch.setattr(type(fmt), "write", write_then_fail)

    def expected_metadata(self) -> set[str]:
        return {"dagster/uri", "format"}

    # -- helpers -----------------------------------------------------------------------

    def stored_path(self, project: Path) -> Path:
        return project / "data" / self.path

    def is_stored(self, project: Path) -> bool:
        return self.stored_path(project).exists()

    def project(self, make_project, extra_entries: str = "") -> Path:
        return make_project(
            f"produced:\n  format: {self.format}\n  path: {self.path}\n{extra_entries}",
            stores=self.store_section,
        )

    def producing(self, holder: dict[str, Any]):
        """An asset function returning whatever the test puts in `holder`."""

        @datanectar.asset(entry="produced")
        def produced():
            return holder["value"]

        return produced

    # -- the contract ------------------------------------------------------------------

    def test_round_trip_through_dagster(self, make_project, materialize):
        project = self.project(make_project)
        value = self.sample(1)
        seen: dict[str, Any] = {}

        @datanectar.asset(entry="consumer", format="pickle")
        def consumer(produced):
            seen["loaded"] = produced
            return True

        result = materialize(project, functions=[self.producing({"value": value}), consumer])

        assert result.success
        self.assert_same(self.read_back(project), value)
        self.assert_same(seen["loaded"], value)

    def test_materialization_metadata(self, make_project, materialize):
        project = self.project(make_project)
        result = materialize(project, functions=[self.producing({"value": self.sample(1)})])

        [materialization] = result.asset_materializations_for_node("produced")
        assert self.expected_metadata() <= set(materialization.metadata)
        assert materialization.metadata["format"].value == self.format
        uri = materialization.metadata["dagster/uri"].value
        assert self.path in uri
        if self.format != "sql":  # a table in a database has no file size to report
            assert materialization.metadata["bytes_written"].value > 0

    def test_materialize_twice_overwrites(self, make_project, materialize):
        project = self.project(make_project)
        holder = {"value": self.sample(1)}
        produced = self.producing(holder)
        materialize(project, functions=[produced])
        holder["value"] = self.sample(2)

        result = materialize(project, functions=[produced])

        assert result.success
        self.assert_same(self.read_back(project), self.sample(2))

    def test_catalog_save_and_load_without_dagster(self, make_project):
        project = self.project(make_project)
        catalog = datanectar.catalog(project)

        report = catalog.save("produced", self.sample(1))

        assert report.format == self.format
        self.assert_same(self.read_back(project), self.sample(1))
        self.assert_same(catalog.load("produced"), self.sample(1))

    def test_a_gate_decides_whether_the_write_is_published(self, make_project):
        """Write-audit-publish: the audit decides, through the gate, after a staged write and
        before a commit in place; what the gate raises comes through and nothing is published."""
        project = self.project(make_project)
        catalog = datanectar.catalog(project)
        catalog.save("produced", self.sample(1))
        entry = Target.of(catalog.entry("produced"))
        calls = []

        class Refused(Exception):
            pass

        def refuse(staged) -> None:
            # a staged write is in its staging location, there to be read; others say None
            calls.append(("refuse", staged is not None and staged.exists()))
            raise Refused

        with pytest.raises(Refused):
            catalog.storage.save(entry, self.sample(2), gate=refuse)

        # a file format writes to staging; a transactional one (delta) writes its data files
        # before the gate but has no staged copy to read; sql commits after it
        stages = catalog.storage.stages(entry) and not get_format(entry.format).transactional
        assert calls == [("refuse", stages)]
        self.assert_same(self.read_back(project), self.sample(1))
        staged = (STAGING_PREFIX, "datanectar-staged-")
        assert [p for p in (project / "data").rglob("*") if p.name.startswith(staged)] == []

        catalog.storage.save(entry, self.sample(2), gate=lambda staged: calls.append("pass"))

        assert calls == [("refuse", stages), "pass"]
        self.assert_same(self.read_back(project), self.sample(2))

    def test_missing_data_is_a_clear_error(self, make_project, materialize):
        project = self.project(make_project)

        @datanectar.asset(entry="consumer", format="pickle")
        def consumer(produced):
            return True

        with pytest.raises(datanectar.DataNotFoundError, match=r"entry 'produced'.*no data"):
            datanectar.catalog(project).load("produced")
        result = materialize(project, "consumer", functions=[consumer], raise_on_error=False)
        assert not result.success
        assert "entry 'produced'" in failure_messages(result)
        assert "nothing produces this entry" in failure_messages(result)  # a source: no producer

    def test_wrong_type_is_refused_and_nothing_written(self, make_project, materialize):
        project = self.project(make_project)
        wrong = self.wrong_value()

        result = materialize(
            project, functions=[self.producing({"value": wrong})], raise_on_error=False
        )

        assert not result.success
        text = failure_messages(result)
        assert f"format '{self.format}' cannot write" in text
        assert "entry 'produced'" in text
        assert type(wrong).__qualname__ in text
        assert not self.is_stored(project)

    def test_failed_write_keeps_previous_value(self, make_project, materialize, monkeypatch):
        project = self.project(make_project)
        holder = {"value": self.sample(1)}
        produced = self.producing(holder)
        materialize(project, functions=[produced])
        holder["value"] = self.sample(2)
        self.break_write(monkeypatch)

        result = materialize(project, functions=[produced], raise_on_error=False)

        assert not result.success
        assert "injected by the test" in failure_messages(result)
        self.assert_same(self.read_back(project), self.sample(1))
        leftovers = [p for p in (project / "data").rglob("*") if p.name.startswith(STAGING_PREFIX)]
        assert leftovers == []


class TableContract(FormatContract):
    def sample(self, variant: int) -> pd.DataFrame:
        return table_sample(variant)

    def assert_same(self, actual: Any, expected: Any) -> None:
        if isinstance(actual, pa.Table):
            actual = actual.to_pandas()
        pd.testing.assert_frame_equal(
            actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
        )

    def expected_metadata(self) -> set[str]:
        return super().expected_metadata() | {
            "dagster/row_count",
            "dagster/column_schema",
            "preview",
        }

    def test_metadata_describes_the_table(self, make_project, materialize):
        project = self.project(make_project)
        result = materialize(project, functions=[self.producing({"value": self.sample(1)})])

        [materialization] = result.asset_materializations_for_node("produced")
        assert materialization.metadata["dagster/row_count"].value == 50
        schema = materialization.metadata["dagster/column_schema"].value
        assert [column.name for column in schema.columns] == ["id", "value", "label"]
        assert "row-1-0" in materialization.metadata["preview"].value


class GridContract(FormatContract):
    def sample(self, variant: int) -> xr.Dataset:
        return grid_sample(variant)

    def assert_same(self, actual: Any, expected: Any) -> None:
        xr.testing.assert_identical(actual.load(), expected.load())

    def expected_metadata(self) -> set[str]:
        return super().expected_metadata() | {"dims", "variables", "bytes_written"}

    def test_metadata_describes_the_grid(self, make_project, materialize):
        project = self.project(make_project)
        result = materialize(project, functions=[self.producing({"value": self.sample(1)})])

        [materialization] = result.asset_materializations_for_node("produced")
        assert materialization.metadata["dims"].value == {"time": 6, "lat": 4, "lon": 5}
        assert materialization.metadata["variables"].value["air"]["units"] == "degK"

    def test_data_array_round_trip(self, make_project):
        project = self.project(make_project)
        array = self.sample(1)["air"]
        catalog = datanectar.catalog(project)

        catalog.save("produced", array)
        loaded = catalog.load("produced")

        assert isinstance(loaded, xr.DataArray)
        xr.testing.assert_identical(loaded.load(), array.load())


class TestCsv(TableContract):
    format = "csv"
    path = "raw/table.csv"

    def read_back(self, project: Path) -> pd.DataFrame:
        return pd.read_csv(self.stored_path(project))


class TestParquet(TableContract):
    format = "parquet"
    path = "tables/table.parquet"

    def read_back(self, project: Path) -> pd.DataFrame:
        return pq.read_table(self.stored_path(project)).to_pandas()

    def test_loads_as_arrow_when_annotated(self, make_project, materialize):
        project = self.project(make_project)
        seen: dict[str, Any] = {}

        @datanectar.asset(entry="consumer", format="pickle")
        def consumer(produced: pa.Table):
            seen["type"] = type(produced)
            return True

        materialize(project, functions=[self.producing({"value": self.sample(1)}), consumer])

        assert seen["type"] is pa.Table


class TestDelta(TableContract):
    format = "delta"
    path = "silver/table"

    def read_back(self, project: Path) -> pd.DataFrame:
        return DeltaTable(str(self.stored_path(project))).to_pandas()

    def break_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Delta commits atomically itself: feed the real writer a stream that fails after its
        # first batch, so data files are written but the commit never happens.
        fmt = get_format("delta")
        real_write = fmt._deltalake.write_deltalake

        def failing_stream_write(uri, data, **kwargs):
            batches = data.to_batches(max_chunksize=10)

            def stream():
                yield batches[0]
                raise OSError("connection reset (injected by the test)")

            reader = pa.RecordBatchReader.from_batches(data.schema, stream())
            return real_write(uri, reader, **kwargs)

        monkeypatch.setattr(fmt._deltalake, "write_deltalake", failing_stream_write)

    def test_each_materialization_is_a_delta_version(self, make_project, materialize):
        project = self.project(make_project)
        holder = {"value": self.sample(1)}
        produced = self.producing(holder)
        materialize(project, functions=[produced])
        holder["value"] = self.sample(2)
        materialize(project, functions=[produced])

        table = DeltaTable(str(self.stored_path(project)))
        assert table.version() == 1
        previous = DeltaTable(str(self.stored_path(project)), version=0).to_pandas()
        self.assert_same(previous, self.sample(1))

    def test_append_mode_from_save_options(self, make_project):
        project = self.project(make_project)
        (project / "catalog" / "main.yaml").write_text(
            f"produced:\n  format: delta\n  path: {self.path}\n  save_options: {{mode: append}}\n"
        )
        catalog = datanectar.catalog(project)
        catalog.save("produced", self.sample(1))
        catalog.save("produced", self.sample(2))

        assert len(self.read_back(project)) == 100

    def test_a_gated_overwrite_writes_first_and_commits_after_the_gate(self, make_project):
        """An audited overwrite writes its data files while the audit runs and commits them
        after: one new version, with file statistics, a new schema if the value has one, and
        no staging table left; superseded files are vacuumed like any others."""
        project = self.project(make_project)
        catalog = datanectar.catalog(project)
        entry = Target.of(catalog.entry("produced"))
        table_path = str(self.stored_path(project))
        seen_during_gate = []

        def gate(staged) -> None:  # the data is written, the table not changed yet
            assert staged is None  # delta commits itself: nothing staged to read
            seen_during_gate.append(DeltaTable(table_path).version())

        catalog.save("produced", self.sample(1))
        reshaped = self.sample(2).rename(columns={"value": "renamed"}).head(7)
        catalog.storage.save(entry, reshaped, gate=gate)

        table = DeltaTable(table_path)
        assert seen_during_gate == [0]
        assert table.version() == 1
        self.assert_same(table.to_pandas(), reshaped)
        assert "renamed" in table.schema().to_arrow().names
        adds = pa.table(table.get_add_actions(flatten=True)).to_pylist()
        assert [add["num_records"] for add in adds] == [7]
        assert not list(self.stored_path(project).glob("datanectar-staged-*/_delta_log"))
        self.assert_same(DeltaTable(table_path, version=0).to_pandas(), self.sample(1))

        catalog.storage.save(entry, self.sample(1), gate=lambda staged: None)
        table = DeltaTable(table_path)
        table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
        [current] = table.file_uris()
        files = [p for p in self.stored_path(project).rglob("*.parquet")]
        assert [str(p) for p in files] == [current]
        self.assert_same(DeltaTable(table_path).to_pandas(), self.sample(1))

    def test_a_gated_write_creates_a_new_table(self, make_project):
        project = self.project(make_project)
        catalog = datanectar.catalog(project)
        catalog.storage.save(
            Target.of(catalog.entry("produced")), self.sample(1), gate=lambda staged: None
        )

        table = DeltaTable(str(self.stored_path(project)))
        assert table.version() == 0
        self.assert_same(table.to_pandas(), self.sample(1))

    def test_a_split_commit_that_fails_falls_back_to_one_write(self, make_project, monkeypatch):
        from datanectar.formats import delta

        def refuse(self_):
            raise RuntimeError("unsupported table feature (injected by the test)")

        monkeypatch.setattr(delta._StagedDeltaFiles, "commit", refuse)
        project = self.project(make_project)
        catalog = datanectar.catalog(project)
        catalog.save("produced", self.sample(1))
        catalog.storage.save(
            Target.of(catalog.entry("produced")), self.sample(2), gate=lambda staged: None
        )

        table = DeltaTable(str(self.stored_path(project)))
        assert table.version() == 1
        self.assert_same(table.to_pandas(), self.sample(2))
        assert not list(self.stored_path(project).glob("datanectar-staged-*"))


class TestZarr(GridContract):
    format = "zarr"
    path = "grids/grid.zarr"

    def read_back(self, project: Path) -> xr.Dataset:
        return xr.open_zarr(self.stored_path(project))

    def test_written_chunk_by_chunk_as_zarr_v2(self, make_project):
        import zarr

        project = self.project(make_project)
        datanectar.catalog(project).save("produced", self.sample(1))

        group = zarr.open_group(str(self.stored_path(project)), mode="r")
        assert group.metadata.zarr_format == 2
        assert group["air"].chunks[0] == 2  # the dask chunks, not one block

    def test_irregular_dask_chunks_are_made_uniform(self, make_project):
        project = self.project(make_project)
        grid = self.sample(1).chunk({"time": (1, 3, 2)})

        datanectar.catalog(project).save("produced", grid)

        import zarr

        xr.testing.assert_identical(self.read_back(project).load(), grid.load())
        stored = zarr.open_group(str(self.stored_path(project)), mode="r")
        assert stored["air"].chunks[0] == 3  # the largest dask chunk, applied uniformly


class TestNetcdf(GridContract):
    format = "netcdf"
    path = "grids/grid.nc"

    def read_back(self, project: Path) -> xr.Dataset:
        return xr.open_dataset(self.stored_path(project), engine="h5netcdf")


class TestPickle(FormatContract):
    format = "pickle"
    path = "objects/model.pkl"

    def sample(self, variant: int) -> Any:
        return {"weights": [variant, 2.5], "labels": {"a", "b"}, "nested": (variant, None)}

    def read_back(self, project: Path) -> Any:
        with self.stored_path(project).open("rb") as handle:
            return pickle.load(handle)

    def test_wrong_type_is_refused_and_nothing_written(self, make_project, materialize):
        pytest.skip("pickle writes any object")

    def test_unpicklable_value_is_a_clear_error(self, make_project, materialize):
        project = self.project(make_project)
        result = materialize(
            project, functions=[self.producing({"value": lambda: 1})], raise_on_error=False
        )

        assert not result.success
        assert "entry 'produced'" in failure_messages(result)
        assert not self.is_stored(project)


class TestJson(FormatContract):
    format = "json"
    path = "reports/report.json"

    def sample(self, variant: int) -> Any:
        return {"variant": variant, "values": [1.5, 2, None], "nested": {"ok": True, "name": "é"}}

    def read_back(self, project: Path) -> Any:
        return json.loads(self.stored_path(project).read_text(encoding="utf-8"))

    def wrong_value(self) -> Any:
        return pd.DataFrame({"a": [1]})

    def test_nan_is_refused_not_written_as_invalid_json(self, make_project):
        project = self.project(make_project)
        with pytest.raises(datanectar.StorageIOError, match="entry 'produced'"):
            datanectar.catalog(project).save("produced", {"x": float("nan")})
        assert not self.is_stored(project)


class TestFiles(FormatContract):
    format = "files"
    path = "models/trained"

    @pytest.fixture(autouse=True)
    def _sources(self, tmp_path: Path) -> None:
        self.sources = tmp_path / "tool-output"

    def sample(self, variant: int) -> Path:
        """A folder a tool wrote (made once per variant: a second call returns it again)."""
        folder = self.sources / f"v{variant}"
        if not folder.exists():
            (folder / "weights").mkdir(parents=True)
            (folder / "config.json").write_text(json.dumps({"variant": variant}))
            (folder / "weights" / "w.bin").write_bytes(bytes([variant]) * (1000 * variant))
        return folder

    def read_back(self, project: Path) -> Path:
        return self.stored_path(project)

    def assert_same(self, actual: Any, expected: Any) -> None:
        files = sorted(p.relative_to(expected) for p in expected.rglob("*"))
        assert sorted(p.relative_to(actual) for p in Path(actual).rglob("*")) == files
        _, mismatch, errors = filecmp.cmpfiles(
            actual, expected, [str(f) for f in files if (expected / f).is_file()], shallow=False
        )
        assert mismatch == errors == []


class TestSqlite(TableContract):
    format = "sql"
    path = "results"

    def read_back(self, project: Path) -> pd.DataFrame:
        with self.engine(project).connect() as connection:
            return pd.read_sql(sa.text(f"SELECT * FROM {self.path}"), connection)

    def engine(self, project: Path) -> sa.Engine:
        return sa.create_engine(f"sqlite:///{project / 'data' / 'datanectar.sqlite'}")

    def is_stored(self, project: Path) -> bool:
        database = project / "data" / "datanectar.sqlite"
        return database.exists() and sa.inspect(self.engine(project)).has_table(self.path)

    def break_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Real inserts, chunk by chunk, inside the format's transaction; the third chunk fails.
        fmt = get_format("sql")
        original = type(fmt).write

        def failing_inserts(table, connection, keys, rows):
            rows = list(rows)
            failing_inserts.calls += 1
            if failing_inserts.calls == 3:
                raise OSError("server went away (injected by the test)")
            connection.execute(
                table.table.insert(), [dict(zip(keys, row, strict=True)) for row in rows]
            )

        failing_inserts.calls = 0

        def write_in_chunks(self_, value, location, *, options):
            original(
                self_,
                value,
                location,
                options={**options, "chunksize": 10, "method": failing_inserts},
            )

        monkeypatch.setattr(type(fmt), "write", write_in_chunks)


class TestPostgres(TestSqlite):
    """The sql format against the real PostgreSQL server, through a `sql` store."""

    store_section = (
        '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n\n'
        '[tool.datanectar.stores.warehouse]\ntype = "sql"\nurl_env = "DN_TEST_WAREHOUSE_URL"\n'
    )

    @pytest.fixture(autouse=True)
    def _database(self, postgres_url, monkeypatch, request):
        self.url = postgres_url
        # A table per test, dropped afterwards: tests may run against a shared database.
        self.path = f"dn_{request.node.name.lower()[:40]}".replace("[", "_").replace("]", "_")
        monkeypatch.setenv("DN_TEST_WAREHOUSE_URL", postgres_url)
        yield
        with sa.create_engine(postgres_url).begin() as connection:
            connection.execute(sa.text(f'DROP TABLE IF EXISTS "{self.path}"'))

    def project(self, make_project, extra_entries: str = "") -> Path:
        return make_project(
            f"produced:\n  format: sql\n  store: warehouse\n  path: {self.path}\n{extra_entries}",
            stores=self.store_section,
        )

    def engine(self, project: Path) -> sa.Engine:
        return sa.create_engine(self.url)

    def read_back(self, project: Path) -> pd.DataFrame:
        with self.engine(project).connect() as connection:
            return pd.read_sql(sa.text(f'SELECT * FROM "{self.path}"'), connection)

    def test_uri_metadata_hides_the_password(self, make_project, materialize, monkeypatch):
        url = sa.make_url(self.url).set(password="s3cr3t-pw")
        monkeypatch.setenv("DN_TEST_WAREHOUSE_URL", url.render_as_string(hide_password=False))
        project = self.project(make_project)
        result = materialize(
            project, functions=[self.producing({"value": self.sample(1)})], raise_on_error=False
        )
        texts = [failure_messages(result)]
        for materialization in result.asset_materializations_for_node("produced"):
            texts.extend(str(value.value) for value in materialization.metadata.values())
        assert "s3cr3t-pw" not in "\n".join(texts)

"""The storage contract, below Dagster: every format on every store class that can hold it.

In the style of xarray's round-trip test classes: one `Contract` of small, fast cases that
each pairing passes through `EntryStorage` (round trip, overwrite, missing data, a write that
fails part-way, namespaces, fingerprints, refused paths and keys), with what is stored read
back by the storage library itself. A new store joins by adding one `StoreCase`; the README's
example store (`Writing a store`) is one of them, imported from the README's own text.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import pickle
import re
import sys
import tempfile
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from datanectar.catalog import Entry
from datanectar.errors import DataNotFoundError, NamespaceKeyError, StorageIOError, StoreError
from datanectar.formats import get_format
from datanectar.partitions import target_for
from datanectar.storage import EntryStorage
from datanectar.stores import Location, Store
from datanectar.stores.http import HttpStore, HttpStoreConfig
from datanectar.stores.local import LocalStore, LocalStoreConfig
from datanectar.stores.s3 import S3Store, S3StoreConfig
from datanectar.stores.sql import SqlStore, SqlStoreConfig
from datanectar.targets import Target
from http_server import serving

POSTGRES_ENV = "DATANECTAR_TEST_POSTGRES_URL"
README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


# -- values and how the storage libraries read them back --------------------------------------


def frame(version: int) -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "value": [version * 1.5, version * 2.5, -1.0]})


def grid(version: int) -> Any:
    import xarray as xr

    return xr.Dataset(
        {"t": (("x",), np.array([version, version + 1.0, version + 2.0]))},
        coords={"x": [10, 20, 30]},
    )


def document(version: int) -> dict[str, Any]:
    return {"version": version, "names": ["a", "b"], "nested": {"ok": True}}


def same_frame(got: Any, want: pd.DataFrame) -> None:
    got = got.to_pandas() if hasattr(got, "num_rows") else got
    columns = list(want.columns)
    pd.testing.assert_frame_equal(
        got[columns].reset_index(drop=True), want, check_dtype=False, check_index_type=False
    )


def same_grid(got: Any, want: Any) -> None:
    np.testing.assert_array_equal(got["t"].values, want["t"].values)
    np.testing.assert_array_equal(got["x"].values, want["x"].values)


def same_value(got: Any, want: Any) -> None:
    assert got == want


def read_csv(location: Location, store: Store) -> Any:
    if location.uri.startswith(("http://", "https://")):  # pandas sends its options as headers
        with location.fs.open(location.path, "rb") as handle:
            return pd.read_csv(handle)
    return pd.read_csv(location.uri, storage_options=location.storage_options or None)


def read_parquet(location: Location, store: Store) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(location.path, filesystem=store.arrow_filesystem())


def read_delta(location: Location, store: Store) -> Any:
    import deltalake

    return deltalake.DeltaTable(location.uri, storage_options=location.object_store_options or None)


def read_zarr(location: Location, store: Store) -> Any:
    import xarray as xr

    return xr.open_zarr(location.uri, storage_options=location.storage_options or None).load()


def read_netcdf(location: Location, store: Store) -> Any:
    import xarray as xr

    with location.fs.open(location.path, "rb") as handle:
        return xr.open_dataset(handle, engine="h5netcdf").load()


def read_pickle(location: Location, store: Store) -> Any:
    with location.fs.open(location.path, "rb") as handle:
        return pickle.load(handle)


def read_json(location: Location, store: Store) -> Any:
    with location.fs.open(location.path, "rb") as handle:
        return json.load(handle)


def read_sql(location: Location, store: Store) -> Any:
    import sqlalchemy as sa

    schema, _, table = location.relative.rpartition(".")
    engine = sa.create_engine(store.sql_url())
    try:
        with engine.connect() as connection:
            return pd.read_sql_table(table, connection, schema=schema or None)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class FormatCase:
    name: str
    path: str
    """The entry's path; `{key}` is replaced by a unique name per test."""
    sample: Callable[[int], Any]
    same: Callable[[Any, Any], None]
    read_back: Callable[[Location, Store], Any]
    partitioned_path: str | None = None
    """The path of a partitioned entry (one object per namespace has a placeholder)."""

    def read(self, location: Location, store: Store) -> Any:
        found = self.read_back(location, store)
        return found.to_pandas() if hasattr(found, "to_pandas") and self.name == "delta" else found


FORMATS = [
    FormatCase(
        "csv", "tables/{key}.csv", frame, same_frame, read_csv, "tables/{key}/{{namespace}}.csv"
    ),
    FormatCase("parquet", "tables/{key}.parquet", frame, same_frame, read_parquet),
    FormatCase("delta", "tables/{key}", frame, same_frame, read_delta, "tables/{key}"),
    FormatCase("zarr", "grids/{key}.zarr", grid, same_grid, read_zarr),
    FormatCase("netcdf", "grids/{key}.nc", grid, same_grid, read_netcdf),
    FormatCase("pickle", "objects/{key}.pkl", document, same_value, read_pickle),
    FormatCase("json", "objects/{key}.json", document, same_value, read_json),
    FormatCase("sql", "t_{key}", frame, same_frame, read_sql, "t_{key}"),
]


# -- stores ---------------------------------------------------------------------------------


def local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return LocalStore("s", LocalStoreConfig(root="data"), project_root=tmp_path)


def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("CONTRACT_DB_URL", f"sqlite:///{tmp_path / 'contract.sqlite'}")
    return SqlStore("s", SqlStoreConfig(url_env="CONTRACT_DB_URL"), project_root=tmp_path)


def postgres_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (CI sets it)")
    monkeypatch.setenv("CONTRACT_DB_URL", url)
    return SqlStore("s", SqlStoreConfig(url_env="CONTRACT_DB_URL"), project_root=tmp_path)


@functools.cache
def readme_store_class() -> type[Store]:
    """The README's example store, imported from the README's own code block."""
    block = re.search(r"```python\n# nectar_extras/memory\.py\n(.*?)```", README, re.DOTALL)
    assert block is not None, "the README's 'Writing a store' example is gone"
    module_path = Path(tempfile.mkdtemp(prefix="readme-store-")) / "readme_memory_store.py"
    module_path.write_text(block.group(1))
    spec = importlib.util.spec_from_file_location("readme_memory_store", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.MemoryStore


def memory_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    store_class = readme_store_class()
    return store_class(
        "s", store_class.config_model(root=f"contract-{uuid.uuid4().hex}"), project_root=tmp_path
    )


@dataclass(frozen=True)
class Published:
    """A read-only store and the writable one whose objects it reads: the contract writes
    through `writer` and reads through `store` (the http store serving a local folder)."""

    store: Store
    writer: Store


@contextlib.contextmanager
def http_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Published]:
    writer = LocalStore("s", LocalStoreConfig(root="served"), project_root=tmp_path)
    writer.root.mkdir(parents=True)
    with serving(writer.root) as served:
        served.bearer("contract-token")
        monkeypatch.setenv("CONTRACT_HTTP_TOKEN", "contract-token")
        config = HttpStoreConfig(
            base_url=served.base_url, auth={"type": "bearer", "token_env": "CONTRACT_HTTP_TOKEN"}
        )
        yield Published(HttpStore("s", config, project_root=tmp_path), writer)


def s3_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    from s3_server import fresh_bucket, shared_endpoint

    endpoint = shared_endpoint()
    config = S3StoreConfig(bucket=fresh_bucket(endpoint), prefix="contract", endpoint_url=endpoint)
    return S3Store("s", config, project_root=tmp_path)


READ_ONLY = "a read-only store: nothing writes there, so what a write does there is moot"


@dataclass(frozen=True)
class StoreCase:
    name: str
    make: Callable[[Path, pytest.MonkeyPatch], Store | contextlib.AbstractContextManager[Published]]
    formats: tuple[str, ...]
    """The formats it holds (the others it refuses, or a library cannot reach it)."""


FILE_FORMATS = ("csv", "parquet", "delta", "zarr", "netcdf", "pickle", "json")
STORES = [
    StoreCase("local", local_store, (*FILE_FORMATS, "sql")),
    StoreCase("sqlite", sqlite_store, ("sql",)),
    StoreCase("postgres", postgres_store, ("sql",)),
    # deltalake writes through its own object stores, not fsspec: it cannot see fsspec's memory.
    StoreCase(
        "readme-memory", memory_store, tuple(name for name in FILE_FORMATS if name != "delta")
    ),
    # Read-only: the local store it serves writes what it reads; it holds these formats only.
    StoreCase("http", http_store, HttpStore.formats or ()),
    StoreCase("s3", s3_store, FILE_FORMATS),
]
PAIRS = [
    pytest.param((store, fmt), id=f"{store.name}-{fmt.name}")
    for store in STORES
    for fmt in FORMATS
    if fmt.name in store.formats
]


@dataclass
class Pair:
    """One format on one store: the storage under test and how to make entries there."""

    fmt: FormatCase
    store: Store
    storage: EntryStorage
    key: str
    writer: EntryStorage
    """What writes the values read through `storage`: `storage` itself, unless the store is
    read-only (then the writable store whose objects it reads)."""

    def entry(self, *, path: str | None = None, namespaces: list[str] | None = None) -> Entry:
        template = self.fmt.partitioned_path if namespaces else self.fmt.path
        return Entry(
            name=f"e_{self.key}",
            source="catalog/contract.yaml",
            format=self.fmt.name,
            store="s",
            path=path or (template or self.fmt.path).format(key=self.key),
            namespaces=namespaces,
        )

    def stored(self, target: Target) -> Any:
        return self.fmt.read(self.storage.location(target), self.store)


@pytest.fixture(params=PAIRS)
def pair(request, tmp_path, monkeypatch) -> Iterator[Pair]:
    store_case, fmt = request.param
    get_format(fmt.name)  # the format's library is installed: else the error says which extra
    with contextlib.ExitStack() as stack:
        made = store_case.make(tmp_path, monkeypatch)
        if isinstance(made, contextlib.AbstractContextManager):
            made = stack.enter_context(made)
        store, writer = (made.store, made.writer) if isinstance(made, Published) else (made, made)
        storage = EntryStorage({"s": store})
        writes = storage if writer is store else EntryStorage({"s": writer})
        yield Pair(fmt, store, storage, uuid.uuid4().hex[:10], writes)


# -- the contract -----------------------------------------------------------------------------


def test_round_trip(pair):
    target = Target.of(pair.entry())
    pair.writer.save(target, pair.fmt.sample(1))

    pair.fmt.same(pair.storage.load(target), pair.fmt.sample(1))
    pair.fmt.same(pair.stored(target), pair.fmt.sample(1))  # as the storage library reads it
    assert pair.storage.exists(target)


def test_overwrite_replaces_the_value(pair):
    target = Target.of(pair.entry())
    pair.writer.save(target, pair.fmt.sample(1))
    pair.writer.save(target, pair.fmt.sample(2))

    pair.fmt.same(pair.storage.load(target), pair.fmt.sample(2))
    pair.fmt.same(pair.stored(target), pair.fmt.sample(2))


def test_missing_data_is_an_error_naming_the_entry(pair):
    target = Target.of(pair.entry())

    assert not pair.storage.exists(target)
    assert pair.storage.fingerprint(target) is None
    with pytest.raises(DataNotFoundError) as error:
        pair.storage.load(target)
    assert f"catalog/contract.yaml: entry '{target.entry.name}': no data at" in str(error.value)


class Interrupted(Exception):
    pass


def test_a_write_that_fails_part_way_leaves_the_previous_value(pair, monkeypatch):
    if pair.store.read_only:
        pytest.skip(READ_ONLY)
    target = Target.of(pair.entry())
    pair.storage.save(target, pair.fmt.sample(1))
    fmt = get_format(pair.fmt.name)
    real_write = type(fmt).write

    def write_then_fail(self, value, location, *, options):
        real_write(self, value, location, options=options)  # the new value is all written ...
        raise Interrupted("killed before publishing")  # ... and the writer dies

    if not fmt.transactional:  # staged: written beside the object, published after
        monkeypatch.setattr(type(fmt), "write", write_then_fail)
        with pytest.raises(StorageIOError, match="the previous value, if any, is untouched"):
            pair.storage.save(target, pair.fmt.sample(2))
        monkeypatch.undo()

    def refuse(staged):
        raise Interrupted("audit failed")

    with pytest.raises(Interrupted):  # any format: an audit refusing it before it is published
        pair.storage.save(target, pair.fmt.sample(3), gate=refuse)

    pair.fmt.same(pair.storage.load(target), pair.fmt.sample(1))
    pair.fmt.same(pair.stored(target), pair.fmt.sample(1))
    location = pair.storage.location(target)
    if pair.store.holds_files:
        parent = location.path.rsplit("/", 1)[0]
        leftovers = [p for p in location.fs.ls(parent, detail=False) if "staging" in p]
        assert leftovers == []  # nothing half-written beside it either


def test_fingerprints_change_on_publish_only(pair):
    target = Target.of(pair.entry())
    pair.writer.save(target, pair.fmt.sample(1))
    first = pair.storage.fingerprint(target)
    pair.storage.load(target)
    assert pair.storage.fingerprint(target) == first  # reading changes nothing

    pair.writer.save(target, pair.fmt.sample(2))
    assert first is not None
    assert pair.storage.fingerprint(target) not in (None, first)


def test_namespaces_each_hold_their_value(pair):
    entry = pair.entry(namespaces=["paris", "oslo"])
    paris = target_for(entry, {"namespace": "paris"})
    oslo = target_for(entry, {"namespace": "oslo"})

    pair.writer.save(paris, pair.fmt.sample(1))  # one write per namespace, as runs do
    pair.writer.save(oslo, pair.fmt.sample(2))
    oslo_before = pair.storage.fingerprint(oslo)
    pair.writer.save(paris, pair.fmt.sample(3))  # rewriting one namespace ...

    pair.fmt.same(pair.storage.load(paris), pair.fmt.sample(3))
    pair.fmt.same(pair.storage.load(oslo), pair.fmt.sample(2))  # ... leaves the other as it was
    if not paris.in_place:  # one object per namespace, read back with the library
        pair.fmt.same(pair.stored(oslo), pair.fmt.sample(2))
    if pair.fmt.name in ("delta", "sql"):  # they tell their partitions apart
        assert pair.storage.fingerprint(oslo) == oslo_before
        assert pair.storage.fingerprint(paris) not in (None, oslo_before)
    with pytest.raises(DataNotFoundError, match="for namespace"):
        pair.storage.load(target_for(entry, {"namespace": "paris"}).at(path=entry.path + "_none"))

    pair.writer.remove(paris)  # one namespace goes, the other stays
    assert not pair.storage.exists(paris)
    pair.fmt.same(pair.storage.load(oslo), pair.fmt.sample(2))


@pytest.mark.parametrize(
    "path", ["../outside", "a/../../outside", "/etc/passwd", "s3://bucket/x", "C:/x"]
)
def test_paths_that_leave_the_store_are_refused(pair, path):
    target = Target(pair.entry(), "s", path)
    with pytest.raises(StoreError, match="field 'path'"):
        pair.storage.save(target, pair.fmt.sample(1))
    with pytest.raises(StoreError, match="field 'path'"):
        pair.storage.load(target)


def test_a_namespace_key_with_a_colon_names_an_object_of_its_own(pair):
    """Keys may hold ':' (hourly keys do), even at the start of a path; a letter then a colon
    is refused (a Windows drive there), when the catalog loads."""
    suffix = get_format(pair.fmt.name).suffix
    entry = pair.entry(path=f"{{namespace}}/{pair.key}{suffix}", namespaces=["ab:c", "0:x"])
    if pair.fmt.name in ("sql", "delta"):
        entry = pair.entry(namespaces=["ab:c", "0:x"])
    colon = target_for(entry, {"namespace": "ab:c"})
    digit = target_for(entry, {"namespace": "0:x"})
    pair.writer.save(colon, pair.fmt.sample(1))
    pair.writer.save(digit, pair.fmt.sample(2))
    pair.fmt.same(pair.storage.load(colon), pair.fmt.sample(1))
    pair.fmt.same(pair.storage.load(digit), pair.fmt.sample(2))


@pytest.mark.parametrize(
    "key", ["../../etc", "a/b", "x'; DROP TABLE t; --", "", "C:", "x:y", "z:/etc"]
)
def test_namespace_keys_that_could_escape_are_refused(pair, key):
    entry = pair.entry(namespaces=["paris"])
    with pytest.raises(NamespaceKeyError):
        target_for(entry, {"namespace": key})


def test_a_value_the_format_cannot_write_is_refused_before_anything_is_written(pair):
    target = Target.of(pair.entry())
    if pair.fmt.name == "pickle":
        pytest.skip("pickle writes any object")
    with pytest.raises(TypeError, match=f"format '{pair.fmt.name}' cannot write"):
        pair.storage.save(target, object())
    assert not pair.storage.exists(target)


def test_a_read_only_store_refuses_every_write_before_doing_anything(pair):
    if not pair.store.read_only:
        pytest.skip("a writable store")
    target = Target.of(pair.entry())
    pair.writer.save(target, pair.fmt.sample(1))
    before = pair.storage.fingerprint(target)
    refused = rf"store 's' is read-only \({pair.store.type_name}\)"

    with pytest.raises(StoreError, match=refused):
        pair.storage.save(target, pair.fmt.sample(2))
    with pytest.raises(StoreError, match=refused):
        pair.storage.remove(target)
    with pytest.raises(StoreError, match=refused):
        pair.store.publish(pair.storage.location(target).staging(), pair.storage.location(target))

    assert pair.storage.fingerprint(target) == before
    pair.fmt.same(pair.storage.load(target), pair.fmt.sample(1))


def test_a_sql_table_written_by_another_tool_has_no_fingerprint_until_datanectar_writes_it(
    tmp_path, monkeypatch
):
    import sqlalchemy as sa

    store = sqlite_store(tmp_path, monkeypatch)
    storage = EntryStorage({"s": store})
    target = Target.of(Entry(name="t", format="sql", store="s", path="t"))
    engine = sa.create_engine(store.sql_url())
    frame(1).to_sql("t", engine, index=False)  # not through datanectar: no token

    assert storage.exists(target)
    assert storage.fingerprint(target) is None  # unknown, never "changed"
    storage.save(target, frame(2))
    first = storage.fingerprint(target)
    frame(3).to_sql("t", engine, index=False, if_exists="replace")  # another tool again
    assert storage.fingerprint(target) == first  # a limit: tokens see datanectar's writes
    storage.remove(target)
    assert storage.fingerprint(target) is None
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from datanectar_versions")).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg2://app:s3cret@db.example:5432/lake",
            "postgresql+psycopg2://app:***@db.example:5432/lake",
        ),
        (
            "postgresql+psycopg2://app@db.example/lake?password=SuperSecret123&sslmode=require",
            "postgresql+psycopg2://app@db.example/lake?password=***&sslmode=require",
        ),
        (
            "postgresql+psycopg2://app:Sup3r@Secret@db.example/lake",
            "postgresql+psycopg2://app:***@db.example/lake",
        ),
        (
            "postgresql+psycopg2://postgres:pa/ssSecret@127.0.0.1:5432/test",
            "postgresql+psycopg2://postgres:***@127.0.0.1:5432/test",
        ),
        ("sqlite:////tmp/x/datanectar.sqlite", "sqlite:////tmp/x/datanectar.sqlite"),
    ],
)
def test_urls_are_shown_without_their_secrets(url, shown):
    from datanectar.stores.base import safe_url

    assert safe_url(url) == shown


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        (
            "postgresql+psycopg2://postgres@127.0.0.1:5432/nosuchdb?password=SuperSecret123",
            ["SuperSecret123"],
        ),
        ("postgresql+psycopg2://postgres:Sup3r@Secret@127.0.0.1:5432/test", ["Sup3r", "Secret"]),
        (
            "postgresql+psycopg2://postgres:pa/ssSecret@127.0.0.1:5432/nope",
            ["pa/ssSecret", "ssSecret"],
        ),
        ("postgresql+psycopg2://postgres:xy@127.0.0.1:5432/nope", ["postgres:xy@"]),
    ],
)
def test_a_failing_sql_store_never_shows_its_secrets(tmp_path, monkeypatch, url, secrets):
    monkeypatch.setenv("CONTRACT_DB_URL", url)
    store = SqlStore("s", SqlStoreConfig(url_env="CONTRACT_DB_URL"), project_root=tmp_path)
    storage = EntryStorage({"s": store})
    target = Target.of(
        Entry(name="t", source="catalog/contract.yaml", format="sql", store="s", path="t")
    )

    with pytest.raises(StorageIOError) as error:
        storage.save(target, frame(1))

    told = str(error.value)
    assert "catalog/contract.yaml: entry 't'" in told
    assert not any(secret in told for secret in secrets), told
    shown = "".join(traceback.format_exception(error.value))  # as a log shows it
    assert not any(secret in shown for secret in secrets), shown


def test_the_cache_records_of_a_failing_sql_store_never_show_its_secrets(tmp_path, monkeypatch):
    from datanectar.cache.records import RecordBook

    url = "postgresql+psycopg2://postgres:Sup3r@Secret@127.0.0.1:5432/nope"
    monkeypatch.setenv("CONTRACT_DB_URL", url)
    store = SqlStore("s", SqlStoreConfig(url_env="CONTRACT_DB_URL"), project_root=tmp_path)

    with pytest.raises(StorageIOError) as error:
        RecordBook(store).read("e", "_")

    told = str(error.value)
    assert "store 's': reading the record" in told
    assert "Sup3r" not in told and "Secret" not in told, told
    shown = "".join(traceback.format_exception(error.value))  # as a log shows it
    assert "Sup3r" not in shown and "Secret" not in shown, shown

"""Delta entries' versions are the table's own (time travel): read at a version number or a
timestamp, listed by `history`, recorded by each materialization. Checked against deltalake
reading the same table itself."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

import datanectar
from datanectar.errors import DataNotFoundError
from datanectar.formats import TableVersions, get_format
from datanectar.formats.base import capable
from runs import materialize_project

CITIES = ("paris", "lyon", "nice")
CATALOG = """
obs: {format: delta, namespaces: [{name: city, values: [paris, lyon, nice]}]}
whole: {format: delta}
"""


def _grown(catalog: datanectar.Catalog) -> None:
    """`obs` written one commit per partition, one partition replaced, then a whole
    overwrite of a table of its own (`whole`, whose first version is another shape)."""
    for number, city in enumerate(CITIES):
        catalog.save("obs", pd.DataFrame({"reading": [number, number + 10]}), namespace=city)
        time.sleep(0.01)  # commits a few milliseconds apart: each timestamp its own
    catalog.save("obs", pd.DataFrame({"reading": [99]}), namespace="paris")
    catalog.save("whole", pd.DataFrame({"a": [1, 2, 3]}))
    time.sleep(0.01)
    catalog.save("whole", pd.DataFrame({"b": ["x"]}))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _assert_reads_as_deltalake(
    catalog: datanectar.Catalog, name: str, uri: str, options: dict[str, str] | None
) -> None:
    fmt = get_format("delta")
    location = catalog.location(name)
    table = DeltaTable(uri, storage_options=options)
    history = table.history()
    assert len(history) == table.version() + 1
    for commit in history:
        number = commit["version"]
        expected = DeltaTable(uri, version=number, storage_options=options).to_pandas()
        got = fmt.read_version(location, number, options={})
        pd.testing.assert_frame_equal(_sorted(got), _sorted(expected), check_dtype=False)
        arrow = fmt.read_version(location, number, options={}, as_type=pa.Table)
        assert isinstance(arrow, pa.Table)
        assert arrow.num_rows == len(expected)
        # By timestamp: the commit's own time (as text and as a datetime), and a moment later.
        stamp = next(r["timestamp"] for r in fmt.history(location) if r["version"] == number)
        for when in (stamp, datetime.fromisoformat(stamp)):
            by_time = fmt.read_version(location, when, options={})
            pd.testing.assert_frame_equal(_sorted(by_time), _sorted(expected), check_dtype=False)


def _assert_history_matches(catalog: datanectar.Catalog, name: str, uri: str, options: Any) -> None:
    fmt = get_format("delta")
    records = fmt.history(catalog.location(name))
    raw = DeltaTable(uri, storage_options=options).history()
    assert [r["version"] for r in records] == sorted((c["version"] for c in raw), reverse=True)
    by_version = {c["version"]: c for c in raw}
    for record in records:
        commit = by_version[record["version"]]
        assert record["operation"] == commit["operation"]
        moment = datetime.fromisoformat(record["timestamp"])
        assert moment.utcoffset().total_seconds() == 0
        assert round(moment.timestamp() * 1000) == commit["timestamp"]
    return records


def test_each_version_reads_as_deltalake_reads_it(make_project) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    _grown(catalog)
    for name in ("obs", "whole"):
        path = str(project / "data" / name)
        _assert_reads_as_deltalake(catalog, name, path, None)
    # Version 0 of `obs` holds paris only; the last, paris replaced by one row.
    fmt = get_format("delta")
    location = catalog.location("obs")
    first = fmt.read_version(location, 0, options={})
    assert sorted(first["reading"]) == [0, 10]
    assert "city" not in first.columns or set(first["city"]) == {"paris"}
    last = fmt.read_version(location, str(fmt.current_version(location)), options={})
    assert sorted(last["reading"]) == [1, 2, 11, 12, 99]


def test_history_lists_every_commit_as_deltalake_does(make_project) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    _grown(catalog)
    records = _assert_history_matches(catalog, "obs", str(project / "data" / "obs"), None)
    assert [r["version"] for r in records] == [3, 2, 1, 0]
    # One commit per partition: each names its partition, its rows and bytes.
    assert [r.get("partition") for r in records] == [
        "city = 'paris'",
        "city = 'nice'",
        "city = 'lyon'",
        "city = 'paris'",
    ]
    assert [r["rows"] for r in records] == [1, 2, 2, 2]
    assert all(r["bytes"] > 0 for r in records)
    assert get_format("delta").history(catalog.location("obs"), limit=2) == records[:2]
    whole = _assert_history_matches(catalog, "whole", str(project / "data" / "whole"), None)
    assert [r["version"] for r in whole] == [1, 0]
    assert [r["rows"] for r in whole] == [1, 3]


def test_a_version_the_table_does_not_have_names_those_it_has(make_project) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    _grown(catalog)
    fmt = get_format("delta")
    location = catalog.location("obs")
    for asked in (4, 17, -1, "2000-01-01T00:00:00Z", datetime(2000, 1, 1)):
        with pytest.raises(DataNotFoundError) as info:
            fmt.read_version(location, asked, options={})
        message = str(info.value)
        assert "0..3" in message, message
        assert str(location.uri) in message
        assert "Traceback" not in message and "kernel" not in message.lower()
    with pytest.raises(DataNotFoundError, match="17"):
        fmt.read_version(location, 17, options={})
    with pytest.raises(DataNotFoundError, match="neither a version number nor"):
        fmt.read_version(location, "last tuesday", options={})
    with pytest.raises(DataNotFoundError, match="no Delta table"):
        fmt.read_version(catalog.location("whole").store.location("nothing"), 0, options={})
    assert fmt.current_version(catalog.location("whole").store.location("nothing")) is None
    assert fmt.history(catalog.location("whole").store.location("nothing")) == []


def test_load_options_apply_to_a_version(make_project) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    _grown(catalog)
    fmt = get_format("delta")
    got = fmt.read_version(catalog.location("whole"), 0, options={"columns": ["a"]})
    assert list(got.columns) == ["a"] and len(got) == 3


def test_versions_on_s3(make_project, s3) -> None:
    project = make_project(
        CATALOG.replace("format: delta", "format: delta, store: lake"),
        settings='default_store = "lake"\n',
        stores=s3.store_toml(prefix="prod"),
    )
    catalog = datanectar.catalog(project)
    _grown(catalog)
    options = s3.delta_options()
    for name in ("obs", "whole"):
        uri = f"s3://{s3.bucket}/prod/{name}"
        _assert_reads_as_deltalake(catalog, name, uri, options)
        _assert_history_matches(catalog, name, uri, options)
    fmt = get_format("delta")
    assert fmt.current_version(catalog.location("obs")) == 3
    with pytest.raises(DataNotFoundError, match=r"version 9.*0\.\.3"):
        fmt.read_version(catalog.location("obs"), 9, options={})


FUNCTIONS = """
import pandas as pd
import datanectar

COUNT = [0]

@datanectar.asset(entry="table")
def table() -> pd.DataFrame:
    COUNT[0] += 1
    return pd.DataFrame({"n": list(range(COUNT[0]))})
"""


def _delta_versions(result: Any, name: str) -> list[int]:
    return [
        event.materialization.metadata["delta_version"].value
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == name
    ]


def test_a_materialization_records_the_version_it_committed(make_project, instance) -> None:
    project = make_project(
        "table: {format: delta}\nplain: {format: parquet}\n",
        modules={"version_functions": FUNCTIONS + _PLAIN},
    )
    path = str(Path(project) / "data" / "table")
    for expected in (0, 1):
        result = materialize_project(project, instance, "table")
        assert result.success
        assert _delta_versions(result, "table") == [expected]
        assert DeltaTable(path).version() == expected
    result = materialize_project(project, instance, "plain")
    (event,) = result.get_asset_materialization_events()
    assert not any(key.endswith("_version") for key in event.materialization.metadata)


_PLAIN = """

@datanectar.asset(entry="plain")
def plain() -> pd.DataFrame:
    return pd.DataFrame({"n": [1]})
"""


PARTITIONED = """
import pandas as pd
import datanectar

@datanectar.asset(entry="by_city")
def by_city(context) -> pd.DataFrame:
    return pd.DataFrame({"n": [len(context.partition_key)]})
"""


def test_each_partition_materialization_records_its_commit(make_project, instance) -> None:
    project = make_project(
        "by_city: {format: delta, namespaces: [{name: city, values: [paris, lyon]}]}\n",
        modules={"partitioned_functions": PARTITIONED},
    )
    path = str(Path(project) / "data" / "by_city")
    for expected, city in enumerate(("paris", "lyon", "paris")):
        result = materialize_project(project, instance, "by_city", partition_key=city)
        assert result.success
        assert _delta_versions(result, "by_city") == [expected]
        assert DeltaTable(path).version() == expected


def test_only_delta_has_versions_of_its_own() -> None:
    assert capable(get_format("delta"), TableVersions)
    for name in ("parquet", "csv", "json", "pickle"):
        assert not capable(get_format(name), TableVersions)


def test_versions_whose_log_was_cleaned_up_are_named_as_gone(make_project) -> None:
    """After a checkpoint, old commit files may be cleaned up (log retention): the versions
    left are those the error names."""
    from datanectar.formats.delta import _TABLES

    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    for number in range(12):  # a checkpoint at version 9 (every 10 commits)
        catalog.save("obs", pd.DataFrame({"reading": [number]}), namespace="paris")
    log = project / "data" / "obs" / "_delta_log"
    for number in range(5):
        (log / f"{number:020d}.json").unlink()
    location = catalog.location("obs")
    _TABLES.forget(location)
    fmt = get_format("delta")
    assert [r["version"] for r in fmt.history(location)] == list(range(11, 4, -1))
    for asked in (2, 6, 12):  # before the log, before its first checkpoint, after its last
        with pytest.raises(
            DataNotFoundError, match=rf"no version {asked}; its versions are 9\.\.11 .*cleaned up"
        ):
            fmt.read_version(location, asked, options={})
    assert list(fmt.read_version(location, 9, options={})["reading"]) == [9]

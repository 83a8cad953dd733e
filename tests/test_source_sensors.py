"""Source-change sensors (`sensors: {NAME: {watch: ENTRY}}` in automation.yaml): one listing
of the watched entry's store per tick, an observation and a run of what follows it only when
what the store holds changed, keys written out of order included (dagster#22892).

Ticks are evaluated with Dagster's `build_sensor_context` on a persistent instance; one test
runs the real `dagster-daemon` for a bounded time."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import datanectar
from datanectar.errors import ConfigError
from http_server import serving, touch_later

SRC = Path(__file__).resolve().parents[1] / "src"
BIN = Path(sys.executable).parent

PIPELINE = """\
import pandas as pd
import datanectar

@datanectar.asset
def summary(stations: pd.DataFrame) -> dict:
    return {"rows": len(stations)}
"""

CATALOG = """\
stations:
  format: csv
  path: stations.csv
  checks:
    - row_count: {min: 1}
summary:
  format: json
  checks:
    - custom: builtins:bool
"""


def automation(project: Path, text: str) -> None:
    (project / "automation.yaml").write_text(textwrap.dedent(text))


def write_csv(path: Path, rows: list[tuple[Any, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows(rows)


def csv_rows(text: str) -> int:
    """Data rows of a CSV, counted by the csv module (the header excluded)."""
    return len(list(csv.reader(io.StringIO(text)))) - 1


def tick(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, cursor: str | None) -> Any:
    sensor = defs.resolve_sensor_def(name)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        return sensor.evaluate_tick(context)


@pytest.fixture
def local_project(make_project):
    project = make_project(CATALOG, modules={"sensed_pipeline": PIPELINE})
    write_csv(project / "data" / "stations.csv", [(1, "a"), (2, "b"), (3, "c")])
    automation(project, "sensors:\n  stations_changed: {watch: stations, interval: 30}\n")
    return project


def test_a_local_source_runs_what_follows_it_only_when_it_changed(local_project, instance):
    defs = datanectar.definitions(local_project)
    stations = local_project / "data" / "stations.csv"

    first = tick(defs, "stations_changed", instance, None)

    [request] = first.run_requests
    assert request.asset_selection == [dg.AssetKey("summary")]
    # every check the run runs: the source's and those of what it materializes (a produced
    # asset does not run without its checks)
    assert request.asset_check_keys == [
        dg.AssetCheckKey(dg.AssetKey("stations"), "row_count"),
        dg.AssetCheckKey(dg.AssetKey("summary"), "custom"),
    ]
    # the subset the daemon builds for the request resolves (Dagster refuses one that splits
    # an asset from its checks)
    dg.Definitions.validate_loadable(defs)
    defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(request.asset_selection),
        asset_check_selection=set(request.asset_check_keys),
    )
    assert request.tags["datanectar/source"] == "stations"
    [observation] = first.asset_events
    assert isinstance(observation, dg.AssetObservation)
    assert observation.asset_key == dg.AssetKey("stations")
    fingerprint = observation.metadata["datanectar/fingerprint"].value
    assert observation.tags["dagster/data_version"] == fingerprint
    assert observation.metadata["dagster/row_count"].value == csv_rows(stations.read_text())
    assert observation.metadata["datanectar/files"].value == 1
    assert observation.metadata["datanectar/bytes"].value == stations.stat().st_size
    assert json.loads(first.cursor) == {"": fingerprint}

    again = tick(defs, "stations_changed", instance, first.cursor)
    assert not again.run_requests and not again.asset_events
    assert "unchanged" in again.skip_message

    write_csv(stations, [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")])
    changed = tick(defs, "stations_changed", instance, again.cursor)

    [rerun] = changed.run_requests
    assert rerun.run_key != request.run_key
    assert rerun.asset_selection == [dg.AssetKey("summary")]
    [observed] = changed.asset_events
    assert observed.metadata["dagster/row_count"].value == 5
    assert observed.tags["dagster/data_version"] != fingerprint

    quiet = tick(defs, "stations_changed", instance, changed.cursor)
    assert not quiet.run_requests and not quiet.asset_events


def test_a_rewrite_of_the_same_size_is_a_change(local_project, instance):
    defs = datanectar.definitions(local_project)
    stations = local_project / "data" / "stations.csv"
    first = tick(defs, "stations_changed", instance, None)

    write_csv(stations, [(1, "x"), (2, "y"), (3, "z")])  # same bytes count, other cells
    touch_later(stations)  # a coarse clock could give the rewrite the same mtime
    changed = tick(defs, "stations_changed", instance, first.cursor)

    assert len(changed.run_requests) == 1


def test_a_missing_source_requests_nothing_until_it_appears(local_project, instance):
    stations = local_project / "data" / "stations.csv"
    stations.unlink()
    defs = datanectar.definitions(local_project)

    empty = tick(defs, "stations_changed", instance, None)
    assert not empty.run_requests
    # said, not taken for "unchanged": a source not delivered yet, or a mistyped path
    assert f"nothing stored at {stations}" in empty.skip_message
    assert "unchanged" not in empty.skip_message
    write_csv(stations, [(1, "a")])

    assert len(tick(defs, "stations_changed", instance, empty.cursor).run_requests) == 1


def test_a_local_folder_with_a_symlink_loop_is_listed_once(make_project, instance):
    project = make_project(
        "incoming:\n  format: files\n  path: incoming\ninventory:\n  format: json\n",
        modules={"folder_pipeline": FOLDER_PIPELINE},
    )
    incoming = project / "data" / "incoming"
    (incoming / "nested").mkdir(parents=True)
    (incoming / "nested" / "a.csv").write_text("id\n1\n")
    (incoming / "nested" / "loop").symlink_to(incoming, target_is_directory=True)
    automation(project, "sensors:\n  incoming_changed: {watch: incoming}\n")
    defs = datanectar.definitions(project)

    first = tick(defs, "incoming_changed", instance, None)

    assert len(first.run_requests) == 1
    (incoming / "nested" / "b.csv").write_text("id\n2\n")
    assert len(tick(defs, "incoming_changed", instance, first.cursor).run_requests) == 1


PARTITIONED = """\
by_city:
  format: csv
  path: "cities/{city}.csv"
  namespaces: [{name: city, values: [lyon, nice, paris]}]
city_summary:
  format: json
  namespaces: [{name: city, values: [lyon, nice, paris]}]
"""

CITY_PIPELINE = """\
import pandas as pd
import datanectar

@datanectar.asset
def city_summary(by_city: pd.DataFrame) -> dict:
    return {"rows": len(by_city)}
"""


def test_a_partitioned_source_runs_the_partition_that_changed(make_project, instance):
    project = make_project(PARTITIONED, modules={"city_pipeline": CITY_PIPELINE})
    for city, rows in (("lyon", 2), ("nice", 3), ("paris", 4)):
        write_csv(project / "data" / "cities" / f"{city}.csv", [(i, city) for i in range(rows)])
    automation(project, "sensors:\n  cities_changed: {watch: by_city}\n")
    defs = datanectar.definitions(project)

    first = tick(defs, "cities_changed", instance, None)
    assert sorted(r.partition_key for r in first.run_requests) == ["lyon", "nice", "paris"]
    rows = {e.partition: e.metadata["dagster/row_count"].value for e in first.asset_events}
    assert rows == {"lyon": 2, "nice": 3, "paris": 4}
    assert set(json.loads(first.cursor)) == {"lyon", "nice", "paris"}

    write_csv(project / "data" / "cities" / "nice.csv", [(9, "nice")])
    changed = tick(defs, "cities_changed", instance, first.cursor)

    [request] = changed.run_requests
    assert request.partition_key == "nice"
    assert request.asset_selection == [dg.AssetKey("city_summary")]
    [observation] = changed.asset_events
    assert (observation.partition, observation.metadata["dagster/row_count"].value) == ("nice", 1)
    assert not tick(defs, "cities_changed", instance, changed.cursor).run_requests


AGGREGATE_PIPELINE = (
    CITY_PIPELINE
    + """
@datanectar.asset
def all_cities(by_city: dict) -> dict:
    return {"cities": sorted(by_city)}
"""
)


def test_an_unpartitioned_aggregate_runs_once_per_tick_of_changes(make_project, instance):
    project = make_project(
        PARTITIONED + "all_cities:\n  format: json\n",
        modules={"city_pipeline": AGGREGATE_PIPELINE},
    )
    for city in ("lyon", "nice", "paris"):
        write_csv(project / "data" / "cities" / f"{city}.csv", [(1, city)])
    automation(project, "sensors:\n  cities_changed: {watch: by_city}\n")
    defs = datanectar.definitions(project)
    first = tick(defs, "cities_changed", instance, None)
    assert len(first.run_requests) == 4  # three namespaces, and the aggregate once

    write_csv(project / "data" / "cities" / "nice.csv", [(1, "n"), (2, "n")])
    write_csv(project / "data" / "cities" / "lyon.csv", [(1, "l"), (2, "l")])
    changed = tick(defs, "cities_changed", instance, first.cursor)

    by_selection = {tuple(r.asset_selection): r for r in changed.run_requests}
    assert sorted(r.partition_key for r in changed.run_requests if r.partition_key is not None) == [
        "lyon",
        "nice",
    ]
    aggregate = by_selection[(dg.AssetKey("all_cities"),)]
    assert aggregate.partition_key is None
    assert aggregate.run_key not in {r.run_key for r in first.run_requests}
    assert not tick(defs, "cities_changed", instance, changed.cursor).run_requests


def test_selecting_assets_partitioned_otherwise_is_an_error(make_project):
    project = make_project(
        PARTITIONED + "daily:\n  format: json\n  path: 'daily/{date}.json'\n"
        "  namespaces: {daily: {start: '2024-01-01'}}\n",
        modules={
            "city_pipeline": CITY_PIPELINE
            + "\n@datanectar.asset\ndef daily(by_city: dict) -> dict:\n    return {}\n"
        },
    )
    automation(project, "sensors:\n  cities_changed: {watch: by_city, select: 'key:daily'}\n")
    with pytest.raises(ConfigError) as error:
        datanectar.definitions(project)
    message = str(error.value)
    assert "sensors.cities_changed.select" in message
    assert "daily is partitioned otherwise than 'by_city'" in message


def test_an_unpartitioned_source_runs_the_unpartitioned_assets_after_it(make_project, instance):
    project = make_project(
        CATALOG + "by_station:\n  format: json\n  namespaces: [{name: city, values: [a, b]}]\n",
        modules={
            "sensed_pipeline": PIPELINE
            + "\n@datanectar.asset\ndef by_station(stations: pd.DataFrame) -> dict:\n"
            "    return {}\n"
        },
    )
    write_csv(project / "data" / "stations.csv", [(1, "a")])
    automation(project, "sensors:\n  stations_changed: {watch: stations}\n")
    defs = datanectar.definitions(project)

    [request] = tick(defs, "stations_changed", instance, None).run_requests

    # a run of the partitioned one without a partition would fail
    assert request.asset_selection == [dg.AssetKey("summary")]
    automation(
        project, "sensors:\n  stations_changed: {watch: stations, select: 'key:by_station'}\n"
    )
    with pytest.raises(ConfigError, match="by_station is partitioned and 'stations' is not"):
        datanectar.definitions(project)


def test_many_changes_are_taken_in_turns_never_dropped(make_project, instance, monkeypatch):
    from datanectar.automation import source_sensors

    monkeypatch.setattr(source_sensors, "MAX_READS_PER_TICK", 2)
    project = make_project(PARTITIONED, modules={"city_pipeline": CITY_PIPELINE})
    for city in ("lyon", "nice", "paris"):
        write_csv(project / "data" / "cities" / f"{city}.csv", [(1, city)])
    automation(project, "sensors:\n  cities_changed: {watch: by_city}\n")
    defs = datanectar.definitions(project)

    first = tick(defs, "cities_changed", instance, None)
    second = tick(defs, "cities_changed", instance, first.cursor)
    third = tick(defs, "cities_changed", instance, second.cursor)

    assert [r.partition_key for r in first.run_requests] == ["lyon", "nice"]
    assert [r.partition_key for r in second.run_requests] == ["paris"]
    assert not third.run_requests
    assert set(json.loads(second.cursor)) == {"lyon", "nice", "paris"}


def test_a_partitioned_source_with_checks_alone_runs_them_on_the_partition(make_project, instance):
    project = make_project(
        "by_city:\n  format: csv\n  path: 'cities/{city}.csv'\n"
        "  namespaces: [{name: city, values: [lyon, paris]}]\n"
        "  checks:\n    - row_count: {min: 2}\n"
    )
    write_csv(project / "data" / "cities" / "lyon.csv", [(1, "a"), (2, "b")])
    write_csv(project / "data" / "cities" / "paris.csv", [(1, "a"), (2, "b")])
    automation(project, "sensors:\n  cities_changed: {watch: by_city}\n")
    defs = datanectar.definitions(project)
    first = tick(defs, "cities_changed", instance, None)

    write_csv(project / "data" / "cities" / "paris.csv", [(1, "a")])  # too few rows now
    [request] = tick(defs, "cities_changed", instance, first.cursor).run_requests

    check = dg.AssetCheckKey(dg.AssetKey("by_city"), "row_count")
    assert request.asset_check_keys == [check]
    # a run of checks alone has no partitions definition: its tag names the partition
    assert request.partition_key is None
    assert request.tags["dagster/partition"] == "paris"
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={check}
    )
    result = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    [evaluation] = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert (evaluation.partition, evaluation.passed) == ("paris", False)


# -- S3 (moto) ------------------------------------------------------------------------------


@contextmanager
def counting_s3_calls() -> Iterator[Counter[str]]:
    """Every S3 API call made in this process (s3fs's aiobotocore client and boto3's), by
    operation name."""
    from aiobotocore.client import AioBaseClient
    from botocore.client import BaseClient

    calls: Counter[str] = Counter()
    async_call, sync_call = AioBaseClient._make_api_call, BaseClient._make_api_call

    async def counted_async(self, operation_name, api_params):
        calls[operation_name] += 1
        return await async_call(self, operation_name, api_params)

    def counted_sync(self, operation_name, api_params):
        calls[operation_name] += 1
        return sync_call(self, operation_name, api_params)

    AioBaseClient._make_api_call = counted_async
    BaseClient._make_api_call = counted_sync
    try:
        yield calls
    finally:
        AioBaseClient._make_api_call = async_call
        BaseClient._make_api_call = sync_call


def put_csv(s3, key: str, rows: list[tuple[Any, ...]]) -> None:
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(["id", "name"])
    writer.writerows(rows)
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=body.getvalue().encode())


def s3_project(make_project, s3, cities: list[str], format_name: str = "csv") -> Path:
    values = ", ".join(cities)
    catalog = (
        f"by_city:\n  format: {format_name}\n  store: lake\n"
        f"  path: 'cities/{{city}}.{format_name}'\n"
        f"  namespaces: [{{name: city, values: [{values}]}}]\n"
        f"city_summary:\n  format: json\n  namespaces: [{{name: city, values: [{values}]}}]\n"
    )
    project = make_project(
        catalog,
        modules={"city_pipeline": CITY_PIPELINE},
        stores='[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n\n'
        + s3.store_toml(prefix="raw"),
    )
    automation(project, "sensors:\n  cities_changed: {watch: by_city}\n")
    return project


def test_s3_keys_written_out_of_order_are_seen(make_project, s3, instance):
    project = s3_project(make_project, s3, ["amiens", "lyon", "paris"])
    put_csv(s3, "raw/cities/lyon.csv", [(1, "a")])
    put_csv(s3, "raw/cities/paris.csv", [(1, "a"), (2, "b")])
    defs = datanectar.definitions(project)
    first = tick(defs, "cities_changed", instance, None)
    assert sorted(r.partition_key for r in first.run_requests) == ["lyon", "paris"]

    # a key sorting before every one seen, written after them: no "last key" mark hides it
    put_csv(s3, "raw/cities/amiens.csv", [(1, "a"), (2, "b"), (3, "c")])
    late = tick(defs, "cities_changed", instance, first.cursor)
    [request] = late.run_requests
    assert request.partition_key == "amiens"
    assert late.asset_events[0].metadata["dagster/row_count"].value == 3

    # an existing key overwritten with as many bytes: its ETag tells
    put_csv(s3, "raw/cities/lyon.csv", [(1, "z")])
    overwritten = tick(defs, "cities_changed", instance, late.cursor)
    [request] = overwritten.run_requests
    assert request.partition_key == "lyon"
    [observation] = overwritten.asset_events
    assert observation.metadata["datanectar/bytes"].value == len(b"id,name\r\n1,z\r\n")

    assert not tick(defs, "cities_changed", instance, overwritten.cursor).run_requests


def test_one_paginated_s3_listing_per_tick(make_project, s3, instance):
    cities = [f"c{number:04d}" for number in range(1100)]  # > 1000: more than one page
    # json: no row count to read, so that every request a tick makes is its listing
    project = s3_project(make_project, s3, cities, "json")
    with ThreadPoolExecutor(8) as pool:
        for city in cities:
            pool.submit(
                s3.client.put_object, Bucket=s3.bucket, Key=f"raw/cities/{city}.json", Body=b"[1]"
            )
    pages = sum(
        1
        for _ in s3.client.get_paginator("list_objects_v2").paginate(
            Bucket=s3.bucket, Prefix="raw/cities/"
        )
    )
    assert pages == 2
    defs = datanectar.definitions(project)
    with counting_s3_calls() as calls:
        first = tick(defs, "cities_changed", instance, None)
    assert len(first.run_requests) == len(cities)
    assert calls == {"ListObjectsV2": pages}

    with counting_s3_calls() as calls:
        quiet = tick(defs, "cities_changed", instance, first.cursor)
    assert not quiet.run_requests
    assert calls == {"ListObjectsV2": pages}  # one listing; not a HEAD or GET per key

    s3.client.put_object(Bucket=s3.bucket, Key="raw/cities/c0500.json", Body=b"[2]")
    with counting_s3_calls() as calls:
        changed = tick(defs, "cities_changed", instance, quiet.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["c0500"]
    assert calls == {"ListObjectsV2": pages}


def test_a_changed_s3_table_is_read_once_for_its_rows(make_project, s3, instance):
    project = s3_project(make_project, s3, ["lyon", "nice", "paris"])
    for city in ("lyon", "nice", "paris"):
        put_csv(s3, f"raw/cities/{city}.csv", [(1, "a")])
    defs = datanectar.definitions(project)
    first = tick(defs, "cities_changed", instance, None)

    put_csv(s3, "raw/cities/nice.csv", [(1, "a"), (2, "b")])
    with counting_s3_calls() as calls:
        changed = tick(defs, "cities_changed", instance, first.cursor)
    assert changed.asset_events[0].metadata["dagster/row_count"].value == 2
    assert calls.pop("ListObjectsV2") == 1
    # the rest reads the changed object (s3fs: its HEAD, then the GET), and nothing else
    assert set(calls) <= {"HeadObject", "GetObject"} and sum(calls.values()) <= 3, calls


FOLDER_PIPELINE = """\
from pathlib import Path
import datanectar

@datanectar.asset
def inventory(incoming: Path) -> dict:
    return {"files": sorted(p.name for p in incoming.iterdir())}
"""


def folder_project(make_project, s3) -> Path:
    project = make_project(
        "incoming:\n  format: files\n  store: lake\n  path: incoming\ninventory:\n  format: json\n",
        modules={"folder_pipeline": FOLDER_PIPELINE},
        stores='[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n\n'
        + s3.store_toml(),
    )
    automation(project, "sensors:\n  incoming_changed: {watch: incoming}\n")
    return project


def test_a_key_sorting_first_added_last_to_an_s3_folder_is_seen(make_project, s3, instance):
    project = folder_project(make_project, s3)
    for name in ("2024-03.csv", "2024-04.csv"):
        s3.client.put_object(Bucket=s3.bucket, Key=f"incoming/{name}", Body=b"id\n1\n")
    defs = datanectar.definitions(project)
    first = tick(defs, "incoming_changed", instance, None)
    [request] = first.run_requests
    assert request.asset_selection == [dg.AssetKey("inventory")]
    assert first.asset_events[0].metadata["datanectar/files"].value == 2
    assert "dagster/row_count" not in first.asset_events[0].metadata  # files have no rows

    # a late upload of an older month: sorts before the newest key the last tick saw
    s3.client.put_object(Bucket=s3.bucket, Key="incoming/2024-01.csv", Body=b"id\n1\n")
    late = tick(defs, "incoming_changed", instance, first.cursor)
    assert len(late.run_requests) == 1
    assert late.asset_events[0].metadata["datanectar/files"].value == 3
    assert not tick(defs, "incoming_changed", instance, late.cursor).run_requests


def test_a_folder_published_by_pointer_is_one_listing_too(make_project, s3, instance, tmp_path):
    project = folder_project(make_project, s3)
    catalog = datanectar.catalog(project)
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "a.csv").write_text("id\n1\n")
    catalog.save("incoming", folder)  # datanectar publishes a folder by a pointer object
    defs = datanectar.definitions(project)
    first = tick(defs, "incoming_changed", instance, None)
    assert len(first.run_requests) == 1

    with counting_s3_calls() as calls:
        quiet = tick(defs, "incoming_changed", instance, first.cursor)
    assert not quiet.run_requests
    assert calls == {"ListObjectsV2": 1}  # the pointer is in the listing, not read

    (folder / "b.csv").write_text("id\n2\n")
    catalog.save("incoming", folder)
    assert len(tick(defs, "incoming_changed", instance, quiet.cursor).run_requests) == 1


def test_s3_content_coming_back_is_a_new_run(make_project, s3, instance):
    project = s3_project(make_project, s3, ["lyon"])
    defs = datanectar.definitions(project)
    with counting_s3_calls() as calls:
        nothing = tick(defs, "cities_changed", instance, None)
    assert not nothing.run_requests
    assert calls == {"ListObjectsV2": 1}  # an empty listing is not followed by a HEAD

    put_csv(s3, "raw/cities/lyon.csv", [(1, "a")])
    first = tick(defs, "cities_changed", instance, nothing.cursor)
    time.sleep(1.1)  # S3's LastModified counts seconds
    put_csv(s3, "raw/cities/lyon.csv", [(1, "b")])
    second = tick(defs, "cities_changed", instance, first.cursor)
    time.sleep(1.1)
    put_csv(s3, "raw/cities/lyon.csv", [(1, "a")])  # the first content again: the same ETag
    third = tick(defs, "cities_changed", instance, second.cursor)

    keys = [result.run_requests[0].run_key for result in (first, second, third)]
    # a run key used before is a run the daemon never launches again
    assert len(set(keys)) == 3


# -- HTTP -----------------------------------------------------------------------------------


def test_an_http_source_changes_with_its_etag(make_project, tmp_path, instance):
    root = tmp_path / "served"
    write_csv(root / "tables" / "stations.csv", [(1, "a"), (2, "b")])
    with serving(root) as served:
        project = make_project(
            CATALOG.replace("path: stations.csv", "store: portal\n  path: tables/stations.csv"),
            modules={"sensed_pipeline": PIPELINE},
            stores='[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n\n'
            f'[tool.datanectar.stores.portal]\ntype = "http"\nbase_url = "{served.base_url}"\n',
        )
        automation(project, "sensors:\n  stations_changed: {watch: stations}\n")
        defs = datanectar.definitions(project)

        first = tick(defs, "stations_changed", instance, None)
        assert len(first.run_requests) == 1
        assert first.asset_events[0].metadata["dagster/row_count"].value == 2
        assert "datanectar/bytes" not in first.asset_events[0].metadata  # a HEAD's token only
        assert not tick(defs, "stations_changed", instance, first.cursor).run_requests

        stations = root / "tables" / "stations.csv"
        write_csv(stations, [(1, "a"), (2, "b"), (3, "c")])
        touch_later(stations)  # the server's ETag follows the file's mtime and size
        changed = tick(defs, "stations_changed", instance, first.cursor)

        assert len(changed.run_requests) == 1
        assert changed.asset_events[0].metadata["dagster/row_count"].value == 3
        # HEADs and the changed file's GET: the server cannot list
        assert {method for method, _, _ in served.requests} <= {"HEAD", "GET"}


# -- configuration errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watch", "problem"),
    [
        ("summary", "'summary' is produced by a function"),
        ("statons", "no catalog entry 'statons'"),
    ],
)
def test_watching_what_is_no_source_names_the_field(local_project, watch, problem):
    automation(local_project, f"sensors:\n  changed: {{watch: {watch}}}\n")
    with pytest.raises(ConfigError) as error:
        datanectar.definitions(local_project)
    message = str(error.value)
    assert "automation.yaml" in message
    assert "sensors.changed.watch" in message
    assert problem in message


def test_watching_a_sql_table_names_the_field(make_project, tmp_path, monkeypatch):
    monkeypatch.setenv("DN_SENSOR_DB_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    project = make_project(
        "people:\n  format: sql\n  store: warehouse\n  path: people\n"
        "  checks:\n    - row_count: {min: 1}\n",
        stores='[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n\n'
        '[tool.datanectar.stores.warehouse]\ntype = "sql"\nurl_env = "DN_SENSOR_DB_URL"\n',
    )
    automation(project, "sensors:\n  people_changed: {watch: people}\n")
    with pytest.raises(ConfigError) as error:
        datanectar.definitions(project)
    message = str(error.value)
    assert "automation.yaml" in message and "sensors.people_changed.watch" in message
    assert "'people' is a table in a SQL database" in message


# -- the real daemon ------------------------------------------------------------------------


def runs_of(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(
            instance.get_runs(filters=dg.RunsFilter(tags={"datanectar/source": "stations"}))
        )


def wait_for(predicate, timeout: float, daemon: subprocess.Popen) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        assert daemon.poll() is None, "dagster-daemon exited"
        time.sleep(1)
    return None


def test_the_daemon_picks_up_a_changed_source(local_project, tmp_path):
    automation(
        local_project,
        "sensors:\n  stations_changed: {watch: stations, interval: 2, status: running}\n",
    )
    (local_project / "definitions.py").write_text(
        "from pathlib import Path\nimport datanectar\n\n"
        "defs = datanectar.definitions(Path(__file__).parent)\n"
    )
    home = tmp_path / "daemon_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  sqlite:\n    base_dir: " + str(home / "storage") + "\n"
        # runs launched from the sensor's tick, not queued for another daemon loop
        "run_coordinator:\n  module: dagster._core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
        "run_launcher:\n  module: dagster._core.launcher\n  class: DefaultRunLauncher\n"
        "telemetry:\n  enabled: false\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(SRC), str(local_project)]),
    }
    env.pop("DATANECTAR_PROJECT", None)
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-f", "definitions.py"],
        cwd=local_project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def succeeded(count: int):
            def check():
                runs = runs_of(home)
                done = [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]
                failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
                assert not failed, (tmp_path / "daemon.log").read_text()[-3000:]
                return done if len(done) >= count else None

            return check

        first = wait_for(succeeded(1), 120, daemon)
        assert first, (tmp_path / "daemon.log").read_text()[-3000:]
        summary = local_project / "data" / "summary.json"
        assert json.loads(summary.read_text()) == {"rows": 3}

        write_csv(local_project / "data" / "stations.csv", [(i, "x") for i in range(7)])
        second = wait_for(succeeded(2), 120, daemon)
        assert second, (tmp_path / "daemon.log").read_text()[-3000:]
        assert len({r.tags.get("dagster/run_key") for r in second}) == 2
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
    # read back with the storage library: json, as the produced entry's format writes it
    assert json.loads(summary.read_text()) == {"rows": 7}

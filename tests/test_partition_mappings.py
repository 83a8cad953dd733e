"""Plain calls read the upstream namespaces Dagster's partition mappings give: the mapping
computed from the catalog (without Dagster) against Dagster's own, key by key; then plain calls
across hourly -> daily and city x date -> city against what Dagster materializes."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

import datanectar
from datanectar.assets.partitions import partitions_def
from datanectar.catalog import Entry
from datanectar.catalog.namespaces import parse_namespaces
from datanectar.errors import DatanectarError
from datanectar.partition_mappings import upstream_partitions
from datanectar.partitions import partition_label
from runs import materialize_project


def span(cadence: str, start: str, timezone: str | None = None) -> dict:
    end = "2025-03-01" if cadence != "hourly" else "2025-03-01-00:00"
    return {cadence: {"start": start, "end": end, **({"timezone": timezone} if timezone else {})}}


CITIES = ["paris", "lyon", "oslo"]
HOURS = span("hourly", "2023-12-01-00:00")
DAYS = span("daily", "2023-12-01")
PARIS_HOURS = span("hourly", "2023-12-01-00:00", "Europe/Paris")
PARIS_DAYS = span("daily", "2023-12-01", "Europe/Paris")
NEW_YORK_DAYS = span("daily", "2023-12-01", "America/New_York")
WEEKS = span("weekly", "2023-12-03")
MONTHS = span("monthly", "2023-12-01")
CITY = [{"name": "city", "values": CITIES}]
CITY_DAYS = {"city": CITIES, "date": DAYS}
CITY_HOURS = {"city": CITIES, "date": HOURS}
CITY_LATER_DAYS = {"city": CITIES, "day": {"daily": {"start": "2024-01-01", "end": "2025-01-01"}}}

TIME = dg.TimeWindowPartitionMapping()
MULTI = dg.MultiToSingleDimensionPartitionMapping()

# (downstream namespaces, upstream namespaces, the mapping Dagster infers, downstream keys)
CASES = [
    (DAYS, HOURS, TIME, ["2024-01-02", "2024-02-29", "2024-03-31"]),
    (PARIS_DAYS, PARIS_HOURS, TIME, ["2024-01-02", "2024-03-31", "2024-10-27"]),
    (
        NEW_YORK_DAYS,
        span("hourly", "2023-12-01-00:00", "America/New_York"),
        TIME,
        ["2024-03-10", "2024-11-03"],
    ),
    (PARIS_HOURS, PARIS_HOURS, TIME, ["2024-10-27-02:00+0100"]),
    (
        PARIS_HOURS,
        PARIS_DAYS,
        TIME,
        ["2024-10-27-02:00", "2024-10-27-02:00+0100", "2024-03-31-03:00"],
    ),
    (HOURS, DAYS, TIME, ["2024-01-02-05:00"]),
    (WEEKS, DAYS, TIME, ["2024-01-07", "2024-03-31"]),
    (MONTHS, DAYS, TIME, ["2024-02-01", "2024-12-01"]),
    (MONTHS, HOURS, TIME, ["2024-02-01"]),
    (DAYS, WEEKS, TIME, ["2024-01-10", "2024-01-07", "2024-01-06"]),
    (DAYS, MONTHS, TIME, ["2024-02-29", "2024-03-01"]),
    (WEEKS, MONTHS, TIME, ["2024-01-28", "2024-02-04"]),
    (CITY, CITY_DAYS, MULTI, ["paris", "oslo"]),
    (DAYS, CITY_DAYS, MULTI, ["2024-01-02"]),
    (DAYS, CITY_HOURS, MULTI, ["2024-01-02"]),
    (CITY_DAYS, CITY, MULTI, [{"city": "lyon", "date": "2024-01-02"}]),
    (CITY_DAYS, DAYS, MULTI, [{"city": "lyon", "date": "2024-01-02"}]),
    (CITY_DAYS, HOURS, MULTI, [{"city": "lyon", "date": "2024-03-31"}]),
    (CITY_LATER_DAYS, DAYS, MULTI, [{"city": "oslo", "day": "2024-02-29"}]),
    (DAYS, CITY_LATER_DAYS, MULTI, ["2024-02-29"]),
    (CITY_DAYS, CITY_DAYS, dg.IdentityPartitionMapping(), [{"city": "oslo", "date": "2024-01-02"}]),
    (CITY, CITY, dg.IdentityPartitionMapping(), ["lyon"]),
    (None, CITY_DAYS, dg.AllPartitionMapping(), [None]),
    (None, WEEKS, dg.AllPartitionMapping(), [None]),
]


def entry_of(name: str, namespaces) -> Entry:
    return Entry(name=name, namespaces=parse_namespaces(namespaces) if namespaces else None)


def dagster_key(entry: Entry, key: str | dict[str, str]) -> str | dg.MultiPartitionKey:
    return dg.MultiPartitionKey(key) if isinstance(key, dict) else key


@pytest.mark.parametrize(("downstream", "upstream", "mapping", "keys"), CASES)
def test_plain_calls_map_partitions_as_dagster_does(downstream, upstream, mapping, keys):
    reader, source = entry_of("reader", downstream), entry_of("source", upstream)
    down_def, up_def = partitions_def(reader), partitions_def(source)
    for key in keys:
        subset = (
            down_def.subset_with_partition_keys([dagster_key(reader, key)])
            if down_def is not None
            else None
        )
        result = mapping.get_upstream_mapped_partitions_result_for_partitions(
            subset, down_def, up_def
        )
        expected = sorted(str(found) for found in result.partitions_subset.get_partition_keys())
        assert not result.required_but_nonexistent_subset.get_partition_keys()
        partition = (
            key if isinstance(key, dict) else {reader.namespaces[0].name: key} if key else None
        )
        ours = upstream_partitions(source, reader.namespaces, partition)
        assert sorted(partition_label(found) for found in ours) == expected, key
        assert len({partition_label(found) for found in ours}) == len(ours)  # none twice


def test_the_mapping_follows_the_clocks():
    """A Paris day of clock changes reads 23 or 25 hours, the repeated one by its offset."""
    reader, source = entry_of("reader", PARIS_DAYS), entry_of("source", PARIS_HOURS)
    spring = upstream_partitions(source, reader.namespaces, {"date": "2024-03-31"})
    fall = upstream_partitions(source, reader.namespaces, {"date": "2024-10-27"})
    assert len(spring) == 23 and {"date": "2024-03-31-02:00"} not in spring
    assert len(fall) == 25 and fall[2:4] == [
        {"date": "2024-10-27-02:00"},
        {"date": "2024-10-27-02:00+0100"},
    ]


def test_a_period_the_upstream_does_not_have_is_refused_as_dagster_refuses_it():
    reader = entry_of("reader", span("daily", "2023-11-01"))
    source = entry_of("source", HOURS)
    result = TIME.get_upstream_mapped_partitions_result_for_partitions(
        partitions_def(reader).subset_with_partition_keys(["2023-11-30"]),
        partitions_def(reader),
        partitions_def(source),
    )
    assert result.required_but_nonexistent_subset.get_partition_keys()
    with pytest.raises(
        DatanectarError, match=r"2023-11-30-00:00, which is before the first period"
    ):
        upstream_partitions(source, reader.namespaces, {"date": "2023-11-30"})


@pytest.mark.parametrize(
    ("downstream", "upstream", "problem"),
    [
        (
            [{"name": "city", "values": ["paris"]}],
            CITY_DAYS,
            "none of city, date is declared as city is",
        ),
        (
            [{"name": "x", "values": CITIES}],
            {"a": CITIES, "b": CITIES},
            "both a and b are declared as x is",
        ),
        (None, {"dynamic": "scenarios"}, "whose keys are dynamic"),
        (PARIS_DAYS, HOURS, "only within one time zone"),
        (NEW_YORK_DAYS, PARIS_HOURS, "only within one time zone"),
    ],
)
def test_mappings_dagster_cannot_infer_are_errors(downstream, upstream, problem):
    reader, source = entry_of("reader", downstream), entry_of("source", upstream)
    partition = None
    if reader.namespaces:
        name = reader.namespaces[0].name
        partition = {name: "2024-03-31" if reader.namespaces[0].is_time else "paris"}
    with pytest.raises(DatanectarError, match=problem):
        upstream_partitions(source, reader.namespaces, partition)


FLOWS = """
import pandas as pd
import datanectar

HOURS = {"hourly": {"start": "2024-01-01-00:00", "end": "2024-01-05-00:00", "timezone": "Europe/Paris"}}
DAYS = {"daily": {"start": "2024-01-01", "end": "2024-01-05", "timezone": "Europe/Paris"}}
CITIES = ["paris", "lyon"]

@datanectar.cache(namespaces=HOURS, format="parquet")
def hours(date: str) -> pd.DataFrame:
    return pd.DataFrame({"hour": [date], "v": [int(date[11:13])]})

@datanectar.cache(namespaces=DAYS, format="parquet")
def days(hours: pd.DataFrame) -> pd.DataFrame:
    hours = hours.sort_values("hour")
    return pd.DataFrame({"n": [len(hours)], "total": [int(hours["v"].sum())],
                         "first": [hours["hour"].iloc[0]], "dates": [sorted(set(hours["date"]))[0]]})

@datanectar.cache(namespaces={"city": CITIES, "date": DAYS}, format="parquet")
def obs(city: str, date: str) -> pd.DataFrame:
    return pd.DataFrame({"station": [f"{city}-1"], "day": [date], "t": [len(city) + int(date[-1])]})

@datanectar.cache(namespaces=[{"name": "city", "values": CITIES}], format="parquet")
def per_city(obs: pd.DataFrame) -> pd.DataFrame:
    return (obs.sort_values(["date", "station"]).reset_index(drop=True)
            [["station", "day", "t", "city", "date"]])
"""


@pytest.mark.parametrize(
    ("selection", "upstream", "key", "upstream_runs"),
    [("days", "hours", "2024-01-02", 24), ("per_city", "obs", "lyon", 4)],
)
def test_plain_calls_read_what_dagster_reads(
    make_cache_project, hermetic_cache, instance, tmp_path, selection, upstream, key, upstream_runs
):
    """One project computed by plain calls, the same one materialized by Dagster (the
    upstream namespaces the mapping names, then the reader's): the same stored value."""
    plain = make_cache_project("", modules={"flows": FLOWS})
    with datanectar.catalog(plain).activate():
        import flows

        by_plain_call = getattr(flows, selection)(namespace=key)

    by_dagster = make_cache_project.at(
        tmp_path / "dagster", local_cache=tmp_path / "dagster_cache"
    )("", modules={"flows": FLOWS})
    catalog = datanectar.catalog(by_dagster)
    reader = catalog.entry(selection)
    needed = upstream_partitions(
        catalog.entry(upstream), reader.namespaces, {reader.namespaces[0].name: key}
    )
    assert len(needed) == upstream_runs
    for keys in needed:
        partition_key = dg.MultiPartitionKey(keys) if len(keys) > 1 else next(iter(keys.values()))
        materialize_project(by_dagster, instance, [upstream], partition_key=partition_key)
    materialize_project(by_dagster, instance, [selection], partition_key=key)

    [plain_file] = (plain / "data").rglob(f"{selection}/{key}.parquet")
    [dagster_file] = (by_dagster / "data").rglob(f"{selection}/{key}.parquet")
    stored = pd.read_parquet(dagster_file)
    pd.testing.assert_frame_equal(pd.read_parquet(plain_file), stored)
    pd.testing.assert_frame_equal(by_plain_call, stored)
    if selection == "days":  # a Paris day in UTC-stored hours: its 24 hours, from midnight
        assert stored.to_dict("records") == [
            {"n": 24, "total": 276, "first": "2024-01-02-00:00", "dates": "2024-01-02-00:00"}
        ]
    else:  # every day of Lyon, rows labelled with the dimensions
        assert list(stored["city"]) == ["lyon"] * 4
        assert list(stored["date"]) == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]

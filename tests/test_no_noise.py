"""Dagster commands show users no warnings about choices datanectar made for them (partitioned
checks are a preview feature, backfill policies beta); warnings about their own code stay."""

from __future__ import annotations

import warnings

import dagster as dg
import pandas as pd

import datanectar
from runs import materialize_project

CATALOG = """\
readings:
  format: delta
  path: readings
  namespaces: [north, south]
  checks:
    - row_count: {min: 1}
scenarios:
  format: parquet
  path: "scenarios/{namespace}.parquet"
  namespaces: {dynamic: scenarios}
  checks:
    - not_null: [a]
"""


def readings(namespace: str) -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2], "region": namespace})


def dagster_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [
        f"{w.category.__name__} at {w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, dg.BetaWarning | dg.PreviewWarning)
    ]


def test_definitions_load_without_preview_or_beta_warnings(make_project):
    project = make_project(CATALOG)
    function = datanectar.asset(entry="readings")(readings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        defs = datanectar.definitions(project, functions=[function])
        defs.get_repository_def().get_all_jobs()
    assert dagster_warnings(caught) == []


def test_a_single_run_backfill_runs_without_them(make_project, instance):
    project = make_project(CATALOG)
    function = datanectar.asset(entry="readings")(readings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = materialize_project(
            project,
            instance,
            ["readings"],
            functions=[function],
            tags={
                "dagster/asset_partition_range_start": "north",
                "dagster/asset_partition_range_end": "south",
            },
        )
    assert result.success
    assert [w for w in dagster_warnings(caught) if "datanectar" in w] == []


def test_warnings_about_the_users_own_code_are_kept(make_project):
    project = make_project(CATALOG)

    @datanectar.asset(entry="readings")
    def deprecated_reader(namespace: str) -> pd.DataFrame:
        return readings(namespace)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dg.AssetSpec("own", partitions_def=dg.StaticPartitionsDefinition(["a"]))
        check = dg.AssetCheckSpec(
            "own_check", asset="own", partitions_def=dg.StaticPartitionsDefinition(["a"])
        )
        datanectar.definitions(project, functions=[deprecated_reader])
    assert check.name == "own_check"
    assert len(dagster_warnings(caught)) == 1  # the user's own partitioned check spec

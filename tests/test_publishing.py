"""Write-audit-publish on every path that writes: `catalog.save`, plain cached calls and
Dagster steps judge a value with the entry's checks before it is published. A blocking failure
raises (or fails the step) with the failures, keeps the rejected value in quarantine and the
previous value where readers find it; a warn-level failure warns and publishes."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import datanectar
from datanectar.errors import CheckFailedError, CheckWarning
from runs import materialize_with_dagster_cli

CATALOG = """\
regions:
  format: parquet
  path: regions.parquet
  checks:
    - row_count: {min: 3}
    - {not_null: [name], severity: warn}
"""
GOOD = pd.DataFrame({"name": ["north", "south", "east"], "area": [1.0, 2.0, 3.0]})
SHORT = pd.DataFrame({"name": ["west"], "area": [9.0]})


def stored(project: Path, relative: str = "data/regions.parquet") -> pd.DataFrame:
    return pq.read_table(project / relative).to_pandas()


def quarantined(project: Path, entry: str) -> list[Path]:
    """The values kept in quarantine: `<entry>/<run>/[<dimension>=<key>/...]<entry><suffix>`."""
    folder = project / "data" / ".datanectar" / "quarantine" / entry
    return sorted(path for path in folder.glob(f"**/{entry}*") if path.parent != folder)


def test_catalog_save_of_a_value_failing_a_blocking_check_publishes_nothing(make_project):
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    catalog.save("regions", GOOD)

    with pytest.raises(CheckFailedError) as info:
        catalog.save("regions", SHORT)

    error = info.value
    message = str(error)
    assert message.startswith("catalog/main.yaml: entry 'regions': 1 blocking check(s) failed")
    assert "row_count: 1 error(s) (row-count: 1)" in message
    assert "the table has 1 rows, fewer than the minimum 3" in message
    assert [verdict.check for verdict in error.verdicts] == ["row_count"]
    # The previous value is what readers find; the rejected one is in quarantine, as given.
    pd.testing.assert_frame_equal(stored(project), GOOD)
    [kept] = quarantined(project, "regions")
    assert error.quarantine == str(kept)
    assert f"quarantine at {kept}" in message
    pd.testing.assert_frame_equal(pq.read_table(kept).to_pandas(), SHORT)


def test_each_failed_checks_failures_stand_under_its_own_line(make_project):
    project = make_project(
        "regions:\n  format: parquet\n  checks:\n    - row_count: {min: 3}\n"
        "    - not_null: [name]\n"
    )
    with pytest.raises(CheckFailedError) as info:
        datanectar.catalog(project).save("regions", pd.DataFrame({"name": [None], "area": [1.0]}))
    lines = str(info.value).splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("- ")]
    assert [lines[i].split(":")[0] for i in heads] == ["- row_count", "- not_null"], lines
    first, second = heads
    assert any("fewer than the minimum 3" in line for line in lines[first:second]), lines
    assert not any("fewer than the minimum" in line for line in lines[second:]), lines
    assert any(line.startswith("    ") for line in lines[second + 1 :]), lines


def test_catalog_save_of_a_first_value_failing_leaves_nothing_published(make_project):
    project = make_project(CATALOG)
    with pytest.raises(CheckFailedError):
        datanectar.catalog(project).save("regions", SHORT)
    assert not (project / "data" / "regions.parquet").exists()
    assert len(quarantined(project, "regions")) == 1


def test_a_failed_warn_check_warns_and_publishes(make_project):
    project = make_project(CATALOG)
    unnamed = pd.DataFrame({"name": ["north", None, "east"], "area": [1.0, 2.0, 3.0]})
    with pytest.warns(CheckWarning, match=r"check 'not_null' \(severity warn\) failed"):
        report = datanectar.catalog(project).save("regions", unnamed)
    assert report.uri == str(project / "data" / "regions.parquet")
    pd.testing.assert_frame_equal(stored(project), unnamed)
    assert quarantined(project, "regions") == []


def test_a_partition_failing_a_check_keeps_the_partition_stored_before(make_project):
    from deltalake import DeltaTable

    project = make_project(
        "regions:\n  format: delta\n  path: regions\n  namespaces: [eu, us]\n"
        "  checks:\n    - row_count: {min: 3}\n"
    )
    catalog = datanectar.catalog(project)
    catalog.save("regions", GOOD, namespace="eu")
    catalog.save("regions", GOOD, namespace="us")
    with pytest.raises(CheckFailedError, match="row_count"):
        catalog.save("regions", SHORT, namespace="eu")
    table = DeltaTable(str(project / "data" / "regions")).to_pandas()
    assert table.groupby("namespace").size().to_dict() == {"eu": 3, "us": 3}
    [kept] = quarantined(project, "regions")
    assert kept.parent.name == "namespace=eu"  # which namespace was rejected
    pd.testing.assert_frame_equal(DeltaTable(str(kept)).to_pandas(), SHORT)


def test_a_plain_cached_call_whose_result_fails_is_not_stored(make_project, hermetic_cache):
    project = make_project(CATALOG.replace("regions:", "regions:\n  format: parquet", 0))
    calls = []
    data = {"value": GOOD}

    @datanectar.cache(entry="regions", version="1", format="parquet")
    def regions() -> pd.DataFrame:
        calls.append(1)
        return data["value"]

    catalog = datanectar.catalog(project, functions=[regions])
    records = project / "data" / ".datanectar" / "records" / "regions" / "_.json"
    with catalog.activate():
        pd.testing.assert_frame_equal(regions(), GOOD)
        record_before = records.read_text()

        data["value"] = SHORT
        with pytest.raises(CheckFailedError, match="fewer than the minimum 3"):
            regions(recompute=True, cache_mode="overwrite")

        # Nothing stored, nothing recorded: the previous result is recalled, unchanged.
        assert records.read_text() == record_before
        pd.testing.assert_frame_equal(regions(), GOOD)
    assert len(calls) == 2
    pd.testing.assert_frame_equal(stored(project), GOOD)
    [kept] = quarantined(project, "regions")
    pd.testing.assert_frame_equal(pq.read_table(kept).to_pandas(), SHORT)


def test_a_plain_cached_call_failing_first_stores_and_records_nothing(make_project, hermetic_cache):
    project = make_project(CATALOG)

    @datanectar.cache(entry="regions", version="1", format="parquet")
    def regions() -> pd.DataFrame:
        return SHORT

    catalog = datanectar.catalog(project, functions=[regions])
    with catalog.activate(), pytest.raises(CheckFailedError):
        regions()
    assert not (project / "data" / "regions.parquet").exists()
    assert not list((project / "data" / ".datanectar" / "records").rglob("*.json"))


def test_dagster_step_failing_a_check_says_why_in_the_cli_output(make_project, tmp_path):
    """`dagster asset materialize` in CI: the log says which check failed, why (its first
    failures, with row and field), and where the rejected value is."""
    project = make_project(
        "region_summary:\n  format: parquet\n  path: summary.parquet\n  checks:\n"
        "    - row_count: {min: 3}\n    - {not_null: [name], severity: warn}\n",
        modules={
            "pipeline": textwrap.dedent(
                """
                import pandas as pd
                import datanectar

                @datanectar.asset
                def region_summary() -> pd.DataFrame:
                    return pd.DataFrame({"name": [None], "area": [9.0]})
                """
            )
        },
    )
    (project / "definitions.py").write_text(
        "import datanectar\n\ndefs = datanectar.definitions(__file__)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    run = materialize_with_dagster_cli(project, "*", env=env)
    assert run.returncode != 0
    log = run.stdout + run.stderr
    assert "check 'row_count' failed on entry 'region_summary': row_count: 1 error(s)" in log
    assert "row-count: the table has 1 rows, fewer than the minimum 3" in log
    assert "check 'not_null' failed on entry 'region_summary'" in log
    assert "row 2, field 'name': null-value: 'name' is missing" in log
    [kept] = quarantined(project, "region_summary")
    assert f"the rejected value is in quarantine at {kept}" in log
    assert not (project / "data" / "summary.parquet").exists()

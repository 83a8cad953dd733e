"""Rules judge values by their type: ranges on numbers, dates and instants (naive or aware),
missing values never out of range, a rule that does not fit its column a failed check naming
it (a catalog error where a schema types the column); custom checks that raise or return no
verdict are failed checks, which at warn level publish the value."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

import datanectar
from datanectar.catalog.rules import Rule
from datanectar.checks.rules import evaluate_table_rule
from datanectar.checks.rules.grids import evaluate_grid_rule
from runs import catalog_error, materialize_project

TIMES = pd.DataFrame(
    {
        "d": [dt.date(2020, 1, 1), dt.date(2020, 1, 31), None, dt.date(2020, 2, 1)],
        "aware": pd.to_datetime(
            ["2020-01-01T00:00Z", "2020-01-31T23:59Z", None, "2020-02-01T00:30+01:00"], utc=True
        ),
        "naive": pd.to_datetime(
            ["2020-01-01", "2020-01-31T12:00", None, "2020-02-01"], format="ISO8601"
        ),
        "iso": ["2020-01-01", "2020-01-31T10:00:00+00:00", None, "2020-02-02"],
        "n": [1.0, 5.0, np.nan, 12.0],
        "text": ["abc", "1", "2", None],
    }
)
JANUARY = ["2020-01-01", "2020-01-31"]


def range_result(column: str, bounds: list, frame: pd.DataFrame = TIMES):
    return evaluate_table_rule(Rule(range={column: bounds}), frame, cap=None)


@pytest.mark.parametrize(
    ("column", "bad_rows"),
    [("d", [5]), ("aware", []), ("naive", [5]), ("iso", [5])],
)
def test_a_range_of_iso_dates_judges_every_kind_of_time(column: str, bad_rows: list) -> None:
    """Dates, aware instants (00:30+01:00 on Feb 1 is Jan 31 in UTC), naive times (taken as
    UTC) and ISO text; a date-only high bound includes its whole day; NaT and None are not
    out of range."""
    result = range_result(column, JANUARY)
    assert [failure.row_number for failure in result.failures] == bad_rows
    assert result.error_count == len(bad_rows)


def test_aware_bounds_compare_instants() -> None:
    result = range_result("aware", ["2020-01-01T01:00:00+01:00", "2020-01-31T23:00:00Z"])
    assert [failure.row_number for failure in result.failures] == [3, 5]


def test_missing_numbers_and_times_are_alike_never_out_of_range() -> None:
    assert range_result("n", [0, 10]).error_count == 1  # 12, not NaN
    frame = pd.DataFrame({"t": pd.to_datetime([None, None]), "n": [np.nan, np.nan]})
    assert range_result("t", JANUARY, frame).passed
    assert range_result("n", [0, 1], frame).passed


@pytest.mark.parametrize(
    ("column", "bounds", "said"),
    [
        ("text", [0, 10], "'text' holds text (str): range [0, 10] needs numbers"),
        ("d", [0, 10], "'d' holds date (object): range [0, 10] needs numbers"),
        ("n", JANUARY, "'n' holds floating (float64): range [2020-01-01, 2020-01-31] needs dates"),
    ],
)
def test_a_range_that_does_not_fit_the_column_fails_naming_it(column, bounds, said) -> None:
    result = range_result(column, bounds)
    assert not result.passed
    assert result.errors_by_type == {"type-mismatch": 1}
    assert result.failures[0].message.startswith(said)


def test_bounds_are_numbers_or_times_not_a_mix(make_project) -> None:
    for bounds, said in (
        ("[0, '2020-01-01']", "mixes a number and a date/time"),
        ("['soon', null]", "'soon' is neither a number nor an ISO date"),
        ("[10, 0]", "the low bound 10 is above the high bound 0"),
    ):
        error = catalog_error(
            make_project, f"t:\n  format: parquet\n  checks:\n    - range: {{x: {bounds}}}\n"
        )
        assert "checks" in str(error) and said in str(error)


def test_a_range_not_fitting_the_schema_type_is_a_catalog_error(make_project) -> None:
    error = catalog_error(
        make_project,
        "t:\n  format: csv\n  schema: {fields: [{name: when, type: date}]}\n"
        "  checks:\n    - range: {when: [0, 10]}\n",
    )
    message = str(error)
    assert "main.yaml" in message and "'t'" in message
    assert "checks[0].range.when" in message and "as date" in message


def test_values_in_dates_agree_on_dates_datetimes_and_iso_text() -> None:
    allowed = ["2020-01-01", dt.date(2020, 1, 2)]
    columns = [
        [dt.date(2020, 1, 1), dt.date(2020, 1, 3), None],
        pd.to_datetime(["2020-01-01", "2020-01-03", None]),
        ["2020-01-01", "2020-01-03", None],
    ]
    for column in columns:
        result = evaluate_table_rule(
            Rule(values_in={"d": allowed}), pd.DataFrame({"d": column}), cap=None
        )
        assert [failure.row_number for failure in result.failures] == [3]


def test_a_grid_range_on_times_and_with_nan() -> None:
    grid = xr.Dataset(
        {
            "air": (("t",), [1.0, np.nan, 400.0]),
            "when": (("t",), pd.to_datetime(["2020-01-01", None, "2021-01-01"]).values),
        }
    )
    assert evaluate_grid_rule(Rule(range={"air": [150, 350]}), grid, cap=None).error_count == 2
    assert evaluate_grid_rule(Rule(range={"when": JANUARY}), grid, cap=None).error_count == 1
    mismatch = evaluate_grid_rule(Rule(range={"air": JANUARY}), grid, cap=None)
    assert mismatch.errors_by_type == {"type-mismatch": 1}


CHECKS = """
import numpy as np

def explodes(value):
    raise RuntimeError("the check itself broke")

def numpy_true(value):
    return np.bool_(True), {"seen": int(len(value))}

def numpy_zero_d(value):
    return np.array(True)

def one_element(value):
    return np.array([True])

def numpy_metadata(value):
    import os
    import pandas as pd

    return True, {
        "rows": np.int64(len(value)),
        "mean": np.float64(value["x"].mean()),
        "flags": np.array([True, False]),
        "when": pd.Timestamp("2020-01-01T00:00Z"),
        "nested": {"n": np.int32(3), "values": value["x"].to_numpy()},
        "url": os.environ["TYPED_DB_URL"],
    }

def leaks_secret(value):
    import os

    raise ConnectionError(f"cannot reach {os.environ['TYPED_DB_URL']}")
"""
FUNCTIONS = "import pandas as pd\nimport datanectar\n" + "".join(
    f"\n@datanectar.asset(entry={name!r})\ndef {name}() -> pd.DataFrame:\n"
    "    return pd.DataFrame({'x': [1.0, 2.0]})\n"
    for name in ("warned", "blocked", "numpy", "zero_d", "unusable")
)


def evaluation(instance: dg.DagsterInstance, entry: str, check: str):
    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(entry), check), limit=1
    )
    return record.event.dagster_event.event_specific_data


def test_custom_checks_that_raise_or_return_no_verdict_through_dagster(
    make_project, instance
) -> None:
    catalog = "".join(
        f"{name}:\n  format: parquet\n  checks:\n    - {{custom: 'typed_checks:{check}'"
        f"{', severity: warn' if warn else ''}}}\n"
        for name, check, warn in (
            ("warned", "explodes", True),
            ("blocked", "explodes", False),
            ("numpy", "numpy_true", False),
            ("zero_d", "numpy_zero_d", False),
            ("unusable", "one_element", True),
        )
    )
    project = make_project(catalog, modules={"typed_checks": CHECKS, "typed_functions": FUNCTIONS})
    result = materialize_project(project, instance, raise_on_error=False)
    failed = {
        event.step_key for event in result.all_events if event.event_type_value == "STEP_FAILURE"
    }
    assert failed == {"blocked"}

    data = project / "data"
    for published in ("warned", "numpy", "zero_d", "unusable"):
        assert pq.read_table(data / f"{published}.parquet").to_pandas()["x"].tolist() == [1, 2]
    assert not (data / "blocked.parquet").exists()

    warned = evaluation(instance, "warned", "custom")
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "raised RuntimeError: the check itself broke" in warned.metadata["error"].value
    assert warned.metadata["errors_by_type"].value == {"check-error": 1}
    blocked = evaluation(instance, "blocked", "custom")
    assert not blocked.passed and "quarantine" in blocked.metadata
    assert evaluation(instance, "numpy", "custom").passed
    assert evaluation(instance, "numpy", "custom").metadata["seen"].value == 2
    assert evaluation(instance, "zero_d", "custom").passed
    unusable = evaluation(instance, "unusable", "custom").metadata["error"].value
    assert "returned numpy.ndarray of shape (1,)" in unusable and "return a bool" in unusable
    # one failure standing for the check's own count: nothing was cut
    assert "failures_shown" not in warned.metadata


def test_custom_check_metadata_of_numpy_values_and_secrets_masked(
    make_project, instance, monkeypatch
) -> None:
    monkeypatch.setenv("TYPED_DB_URL", "postgresql://reader:Hunter2Secret@127.0.0.1:1/db")
    functions = "import pandas as pd\nimport datanectar\n" + "".join(
        f"\n@datanectar.asset(entry={name!r})\ndef {name}() -> pd.DataFrame:\n"
        "    return pd.DataFrame({'x': [1.0, 2.0]})\n"
        for name in ("described", "leaking")
    )
    project = make_project(
        "described:\n  format: parquet\n  checks:\n    - custom: typed_checks:numpy_metadata\n"
        "leaking:\n  format: parquet\n  checks:\n"
        "    - {custom: typed_checks:leaks_secret, severity: warn}\n",
        stores='[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
        '[tool.datanectar.stores.db]\ntype = "sql"\nurl_env = "TYPED_DB_URL"\n',
        modules={"typed_checks": CHECKS, "typed_functions": functions},
    )
    result = materialize_project(project, instance, raise_on_error=False)
    assert result.success

    described = evaluation(instance, "described", "custom")
    assert described.passed
    metadata = {key: value.value for key, value in described.metadata.items()}
    assert metadata["rows"] == 2 and metadata["mean"] == 1.5
    assert metadata["flags"] == [True, False]
    assert metadata["when"] == "2020-01-01T00:00:00+00:00"
    assert metadata["nested"] == {"n": 3, "values": [1.0, 2.0]}
    assert metadata["url"] == "postgresql://reader:***@127.0.0.1:1/db"
    leaking = evaluation(instance, "leaking", "custom")
    assert not leaking.passed
    shown = leaking.metadata["error"].value
    assert "cannot reach" in shown and "Hunter2Secret" not in shown
    logs = [event.message or "" for event in result.all_events]
    assert not any("Hunter2Secret" in text for text in logs)


def test_a_missing_source_is_not_fixed_by_materializing_it(make_project) -> None:
    project = make_project("stations:\n  format: csv\n")
    with pytest.raises(datanectar.errors.DataNotFoundError) as info:
        datanectar.catalog(project).load("stations")
    message = str(info.value)
    assert "dagster asset materialize" not in message
    assert "nothing produces this entry" in message and "stations.csv" in message


def test_a_categorical_column_is_judged_by_its_values() -> None:
    frame = pd.DataFrame(
        {
            "c": pd.Categorical([1, 5, 12]),
            "t": pd.Categorical(pd.to_datetime(["2020-01-02", "2020-03-01", "2020-01-30"])),
        }
    )
    numbers = range_result("c", [0, 10], frame)
    assert not numbers.passed and numbers.error_count == 1
    times = range_result("t", JANUARY, frame)
    assert not times.passed and times.error_count == 1

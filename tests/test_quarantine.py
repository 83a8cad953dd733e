"""Quarantine: a rejected value is kept named by entry, run and partition, every format alike;
older ones go by the retention setting; `datanectar quarantine list|clear` show and remove
them. Values are read back with their storage library (pyarrow, deltalake, xarray,
SQLAlchemy), never through datanectar."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import dagster as dg
import deltalake
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import xarray as xr

import datanectar
from datanectar.cli import main
from datanectar.errors import CheckFailedError
from runs import materialize_project

SHORT = pd.DataFrame({"id": [1], "value": [1.0]})
STORES = (
    '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
    '[tool.datanectar.stores.db]\ntype = "sql"\nurl_env = "QUARANTINE_DB_URL"\n'
)


def quarantine_json(project: Path, *arguments: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["--project", str(project), "quarantine", "list", *arguments, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_rejected_partition_is_kept_by_entry_run_and_partition(make_project, instance, capsys):
    project = make_project(
        'weather:\n  format: parquet\n  path: "w/part/{city}.parquet"\n'
        "  namespaces: [{name: city, values: [paris, lyon]}]\n"
        "  checks:\n    - row_count: {min: 3}\n",
        modules={
            "weather_functions": """
                import pandas as pd
                import datanectar

                @datanectar.asset(entry="weather")
                def weather() -> pd.DataFrame:
                    return pd.DataFrame({"id": [1], "value": [1.0]})
            """
        },
    )
    result = materialize_project(
        project, instance, ["weather"], partition_key="paris", raise_on_error=False
    )
    run_id = result.run_id
    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("weather"), "row_count"), limit=1
    )
    where = Path(record.event.dagster_event.event_specific_data.metadata["quarantine"].value)
    expected = project / "data/.datanectar/quarantine/weather" / run_id / "city=paris"
    assert where == expected / "weather.parquet"
    pd.testing.assert_frame_equal(pq.read_table(where).to_pandas(), SHORT)
    assert not [p for p in (project / "data").glob("w/**/*") if p.is_file()]  # none published

    [listed] = quarantine_json(project, capsys=capsys)
    assert listed["entry"] == "weather" and listed["run"] == run_id
    assert listed["partition"] == {"city": "paris"}
    assert listed["uri"] == str(where) and listed["format"] == "parquet"
    created = dt.datetime.fromisoformat(listed["created"])
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)

    capsys.readouterr()
    assert main(["--project", str(project), "quarantine", "list"]) == 0
    table = capsys.readouterr().out
    assert "city=paris" in table and run_id in table and "ENTRY" in table.splitlines()[0]


def _table_value(fmt: str):
    if fmt == "zarr":
        return xr.Dataset({"value": (("t",), [1.0])}, coords={"t": [0]})
    if fmt == "json":
        return {"rows": 1}
    return SHORT


def _read_kept(fmt: str, uri: str, url: str):
    """The kept value as its library reads it."""
    if fmt == "parquet":
        return pq.read_table(uri).to_pandas()
    if fmt == "csv":
        return pd.read_csv(uri)
    if fmt == "delta":
        return deltalake.DeltaTable(uri).to_pandas()
    if fmt == "zarr":
        with xr.open_zarr(uri) as grid:
            return grid.load()
    if fmt == "json":
        return json.loads(Path(uri).read_text())
    if fmt == "pickle":
        return pd.read_pickle(uri)
    table = uri.rpartition("#")[2].rpartition("/")[2]
    with sa.create_engine(url).connect() as connection:
        return pd.read_sql(sa.text(f'SELECT * FROM "{table}"'), connection)


def _exists(fmt: str, uri: str, url: str) -> bool:
    if fmt != "sql":
        return Path(uri).exists()
    table = uri.rpartition("#")[2].rpartition("/")[2]
    return sa.inspect(sa.create_engine(url)).has_table(table)


def _retention_case(make_project, monkeypatch, fmt: str, url: str, *, name: str = "kept"):
    monkeypatch.setenv("QUARANTINE_DB_URL", url)
    check = (
        "custom: builtins:callable" if fmt in ("zarr", "json", "pickle") else "row_count: {min: 3}"
    )
    store = "  store: db\n" if fmt == "sql" else ""
    project = make_project(
        f"{name}:\n  format: {fmt}\n{store}  checks:\n    - {check}\n",
        settings="[tool.datanectar.quarantine]\nkeep = 2\n",
        stores=STORES,
    )
    return project, datanectar.catalog(project)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "delta", "zarr", "json", "pickle", "sql"])
def test_retention_keeps_the_newest_of_each_entry_for_every_format(
    make_project, monkeypatch, tmp_path, fmt: str
) -> None:
    url = f"sqlite:///{tmp_path / 'quarantine.db'}"
    project, catalog = _retention_case(make_project, monkeypatch, fmt, url)
    uris = []
    for _ in range(4):
        with pytest.raises(CheckFailedError) as info:
            catalog.save("kept", _table_value(fmt))
        uris.append(info.value.quarantine)
    assert len(set(uris)) == 4  # one place per rejection: never overwritten
    assert [_exists(fmt, uri, url) for uri in uris] == [False, False, True, True]
    if fmt != "sql":  # the pruned values' run folders went with them
        runs = project / "data/.datanectar/quarantine/kept"
        assert len(list(runs.iterdir())) == 2
    kept = _read_kept(fmt, uris[-1], url)
    if fmt == "zarr":
        assert kept["value"].values.tolist() == [1.0]
    elif fmt == "json":
        assert kept == {"rows": 1}
    else:
        pd.testing.assert_frame_equal(kept, SHORT, check_dtype=False)
    index = project / "data" / ".datanectar" / "quarantine-index" / "kept"
    assert len(list(index.glob("*.json"))) == 2


def test_sql_rejections_on_postgres_are_kept_apart(make_project, monkeypatch, postgres_url):
    name = f"q_{uuid.uuid4().hex[:8]}"
    _, catalog = _retention_case(make_project, monkeypatch, "sql", postgres_url, name=name)
    uris = []
    try:
        for _ in range(3):
            with pytest.raises(CheckFailedError) as info:
                catalog.save(name, SHORT)
            uris.append(info.value.quarantine)
        assert [_exists("sql", uri, postgres_url) for uri in uris] == [False, True, True]
        pd.testing.assert_frame_equal(_read_kept("sql", uris[-1], postgres_url), SHORT)
    finally:
        engine = sa.create_engine(postgres_url)
        with engine.begin() as connection:
            for uri in uris:
                table = uri.rpartition("#")[2].rpartition("/")[2]
                connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))


def test_values_older_than_the_age_limit_go(make_project, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("QUARANTINE_DB_URL", f"sqlite:///{tmp_path / 'q.db'}")
    project = make_project(
        "aged:\n  format: parquet\n  checks:\n    - row_count: {min: 3}\n",
        settings="[tool.datanectar.quarantine]\nmax_age_days = 5\n",
        stores=STORES,
    )
    catalog = datanectar.catalog(project)
    with pytest.raises(CheckFailedError) as first:
        catalog.save("aged", SHORT)
    # the first one was rejected ten days ago, as its record says
    [record] = (project / "data/.datanectar/quarantine-index/aged").glob("*.json")
    document = json.loads(record.read_text())
    document["created"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).isoformat()
    record.write_text(json.dumps(document))
    with pytest.raises(CheckFailedError) as second:
        catalog.save("aged", SHORT)
    assert not Path(first.value.quarantine).exists() and not record.exists()
    assert Path(second.value.quarantine).exists()


def test_clear_by_entry_run_and_age(make_project, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("QUARANTINE_DB_URL", f"sqlite:///{tmp_path / 'q.db'}")
    project = make_project(
        "one:\n  format: parquet\n  checks:\n    - row_count: {min: 3}\n"
        "two:\n  format: parquet\n  checks:\n    - row_count: {min: 3}\n",
        stores=STORES,
    )
    catalog = datanectar.catalog(project)
    kept = {}
    for name in ("one", "one", "two"):
        with pytest.raises(CheckFailedError) as info:
            catalog.save(name, SHORT)
        kept.setdefault(name, []).append(Path(info.value.quarantine))
    listed = quarantine_json(project, capsys=capsys)
    assert [item["entry"] for item in listed] == ["one", "one", "two"]
    assert quarantine_json(project, "two", capsys=capsys)[0]["uri"] == str(kept["two"][0])

    run = listed[0]["run"]
    assert main(["--project", str(project), "quarantine", "clear", "--run", run]) == 0
    assert "removed 1 rejected value(s)" in capsys.readouterr().out
    assert not kept["one"][0].exists() and kept["one"][1].exists()

    assert main(["--project", str(project), "quarantine", "clear", "--older-than", "1"]) == 0
    assert "removed 0" in capsys.readouterr().out  # nothing is a day old

    assert main(["--project", str(project), "quarantine", "clear"]) == 2
    assert "--all" in capsys.readouterr().err
    assert main(["--project", str(project), "quarantine", "clear", "tow"]) == 2
    assert "no catalog entry named 'tow'. Entries: one, two" in capsys.readouterr().err

    assert main(["--project", str(project), "quarantine", "clear", "--all"]) == 0
    assert not kept["one"][1].exists() and not kept["two"][0].exists()
    assert quarantine_json(project, capsys=capsys) == []
    # no empty run folders left behind
    assert not list((project / "data/.datanectar/quarantine").glob("*/*"))


def test_a_value_that_cannot_be_kept_still_reports_its_verdicts(
    make_project, instance, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("QUARANTINE_DB_URL", f"sqlite:///{tmp_path / 'q.db'}")
    project = make_project(
        "listed:\n  format: sql\n  store: db\n  checks:\n    - row_count: {min: 3}\n",
        stores=STORES,
        modules={
            "listed_functions": """
                import pandas as pd
                import datanectar

                @datanectar.asset(entry="listed")
                def listed() -> pd.DataFrame:
                    return pd.DataFrame({"tags": [["a", "b"]]})  # sql stores no lists
            """
        },
    )
    result = materialize_project(project, instance, ["listed"], raise_on_error=False)
    assert not result.success
    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("listed"), "row_count"), limit=1
    )
    evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed
    assert "quarantine" not in evaluation.metadata
    assert "listed" in evaluation.metadata["quarantine_failed"].value
    logs = "\n".join(entry.user_message for entry in instance.all_logs(result.run_id))
    assert "the rejected value could not be kept in quarantine" in logs

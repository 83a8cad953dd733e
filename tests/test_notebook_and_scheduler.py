"""A notebook and the scheduler agree: a plain call never changes what a Dagster run reads, and
a plain call that computes what the asset means in Dagster is recorded as a run would record
it (provenance, checks), so the UI's staleness and check status read notebook work as they
read a run's. Through the real CLI, a real instance (DAGSTER_HOME in a tmp dir) and the
webserver's GraphQL, as the UI reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

import datanectar
from runs import materialize_with_dagster_cli
from servers import ready, running

BIN = Path(sys.executable).parent
CATALOG = """\
readings:
  format: csv
  path: readings.csv
base:
  format: parquet
scaled:
  format: parquet
  checks:
    - row_count: {min: 1}
    - {not_null: [value], severity: warn}
scaled_sum:
  format: json
"""
PIPELINE = """
import os

import pandas as pd
import datanectar

@datanectar.asset(version=os.environ.get("BASE_VERSION", "1"))
def base(readings: pd.DataFrame) -> pd.DataFrame:
    return readings

@datanectar.cache(cache_args=["scale"], version="1", format="parquet")
def scaled(base: pd.DataFrame, scale: int = 2) -> pd.DataFrame:
    return base.assign(value=base["value"] * scale)

@datanectar.asset(version="1")
def scaled_sum(scaled: pd.DataFrame) -> dict:
    return {"sum": float(scaled["value"].sum())}
"""
NODES = """
{
  assetNodes {
    assetKey { path }
    staleStatus
    staleCauses { key { path } category reason dependency { path } }
    assetChecksOrError {
      ... on AssetChecks { checks { name executionForLatestMaterialization { status } } }
    }
  }
}
"""


def cli_project(make_project, tmp_path: Path, catalog: str, module: str, source: str):
    """A project the CLI runs (definitions.py, readings.csv) and its DAGSTER_HOME."""
    root = make_project(catalog, modules={module: textwrap.dedent(source)})
    (root / "data").mkdir()
    pd.DataFrame({"value": [1, 2, 3]}).to_csv(root / "data" / "readings.csv", index=False)
    (root / "definitions.py").write_text(
        "from pathlib import Path\nimport datanectar\n\n"
        "defs = datanectar.definitions(Path(__file__).parent)\n"
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return root, home


@pytest.fixture
def project(make_project, tmp_path):
    return cli_project(make_project, tmp_path, CATALOG, "pipeline", PIPELINE)


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATANECTAR_PROJECT"}
    return {**env, "DAGSTER_HOME": str(home), **extra}


def materialize_in_home(root: Path, home: Path, selection: str, **extra: str) -> None:
    """`dagster asset materialize` on the instance at `home`; `extra` is added to the
    environment. It must succeed."""
    run = materialize_with_dagster_cli(root, selection, env=environment(home, **extra))
    assert run.returncode == 0, run.stderr[-5000:]


def notebook(root: Path, home: Path, code: str) -> None:
    """A notebook's cell: plain calls in a fresh Python process, with DAGSTER_HOME set."""
    script = "import datanectar, pipeline\nwith datanectar.catalog('.').activate():\n"
    script += textwrap.indent(textwrap.dedent(code), "    ")
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        # the project's modules, and the datanectar under test (a checkout's, when set)
        env={
            **environment(home),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-5000:]


def total(root: Path) -> float:
    return json.loads((root / "data" / "scaled_sum.json").read_text())["sum"]


def nodes(server) -> dict[str, dict]:
    return {"/".join(n["assetKey"]["path"]): n for n in server.graphql(NODES)["assetNodes"]}


def check_statuses(node: dict) -> dict[str, str | None]:
    return {
        check["name"]: (check["executionForLatestMaterialization"] or {}).get("status")
        for check in node["assetChecksOrError"]["checks"]
    }


def test_a_plain_call_never_changes_what_a_run_reads(project):
    root, home = project
    materialize_in_home(root, home, "*")
    assert total(root) == 12.0  # scale=2, the default

    notebook(root, home, "pipeline.scaled(scale=3)")  # an experiment

    materialize_in_home(root, home, "scaled_sum")
    assert total(root) == 12.0  # still the default-arguments object, not the experiment's
    with dg.DagsterInstance.from_config(str(home)) as instance:
        latest = instance.get_latest_materialization_event(dg.AssetKey("scaled"))
        assert latest.run_id  # a run's, not the notebook's
        observed = instance.fetch_observations(dg.AssetKey("scaled"), limit=1).records
        [observation] = [record.asset_observation for record in observed]
        assert observation.metadata["arguments"].value == {"scale": 3}


def test_notebook_work_is_fresh_or_stale_exactly_as_a_run(project, tmp_path):
    root, home = project
    materialize_in_home(root, home, "*")
    # A notebook recompute of the asset itself (its default arguments), from unchanged inputs.
    notebook(root, home, 'pipeline.scaled(recompute=True, cache_mode="overwrite")')
    with dg.DagsterInstance.from_config(str(home)) as instance:
        latest = instance.get_latest_materialization_event(dg.AssetKey("scaled"))
        assert latest.run_id == ""  # runless: the notebook's
        tags = latest.asset_materialization.tags
        assert tags["dagster/code_version"] == "1"
        assert "dagster/input_data_version/base" in tags

    command = [str(BIN / "dagster-webserver"), "-f", "definitions.py"]
    with running(command, cwd=root, env=environment(home), log=tmp_path / "web.log") as server:
        ready(server)
        graph = nodes(server)
        for name in ("base", "scaled"):
            assert graph[name]["staleStatus"] == "FRESH", (name, graph[name]["staleCauses"])
        # scaled holds a new result (its record's data version, as a run would record it):
        # what read the old one is stale, in Dagster as for plain calls.
        assert graph["scaled_sum"]["staleStatus"] == "STALE"
        # The checks the notebook's audit ran are the latest materialization's.
        assert check_statuses(graph["scaled"]) == {
            "row_count": "SUCCEEDED",
            "not_null": "SUCCEEDED",
        }

        # An upstream changes (new code, a new data version): the notebook's result is stale.
        materialize_in_home(root, home, "base", BASE_VERSION="2")
        graph = nodes(server)
        assert graph["scaled"]["staleStatus"] == "STALE"
        causes = graph["scaled"]["staleCauses"]
        assert [(c["key"]["path"], c["category"]) for c in causes] == [(["base"], "DATA")]

        # Recomputed from the new upstream in the notebook: fresh again, as after a run.
        notebook(root, home, 'pipeline.scaled(recompute=True, cache_mode="overwrite")')
        graph = nodes(server)
        assert graph["scaled"]["staleStatus"] == "FRESH", graph["scaled"]["staleCauses"]


def test_a_rejected_notebook_result_records_its_failed_checks(project, tmp_path):
    root, home = project
    materialize_in_home(root, home, "*")
    # base holds no rows now: a recompute of scaled fails its blocking row_count check.
    notebook(
        root,
        home,
        """
        import pandas as pd
        datanectar.catalog('.').save("base", pd.DataFrame({"value": pd.Series([], dtype=int)}))
        try:
            pipeline.scaled(recompute=True, cache_mode="overwrite")
        except datanectar.CheckFailedError:
            pass
        else:
            raise AssertionError("published")
        """,
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [record] = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("scaled"), "row_count"), limit=1
        )
        evaluation = record.event.asset_check_evaluation
        assert not evaluation.passed
        assert record.run_id == ""  # the notebook's
        # nothing was published: the latest materialization is still the run's
        assert instance.get_latest_materialization_event(dg.AssetKey("scaled")).run_id


def test_partitioned_plain_calls_are_recorded_per_namespace(make_project, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    project = make_project(
        "raw:\n  format: delta\n  namespaces: [north, south]\n"
        "means:\n  format: delta\n  namespaces: [north, south]\n"
        "  checks:\n    - row_count: {min: 1}\n"
    )

    @datanectar.cache(entry="means", version="1", cache_args=["window"])
    def means(raw: pd.DataFrame, window: int = 1) -> pd.DataFrame:
        return raw.assign(mean=raw["value"].rolling(window).mean())

    catalog = datanectar.catalog(project, functions=[means])
    for key in ("north", "south"):
        catalog.save("raw", pd.DataFrame({"value": [1.0, 2.0]}), namespace=key)
    with catalog.activate():
        means(namespace="north")  # the asset's own arguments: a materialization of north
        means(namespace="south", window=2)  # another cache entry: an observation of south

    with dg.DagsterInstance.from_config(str(home)) as instance:
        key = dg.AssetKey("means")
        north = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=["north"]), limit=1
        ).records
        assert [r.partition_key for r in north] == ["north"]
        assert north[0].asset_materialization.tags["dagster/code_version"] == "1"
        south = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=["south"]), limit=1
        ).records
        assert south == []
        [observed] = instance.fetch_observations(key, limit=1).records
        assert observed.partition_key == "south"
        [check] = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, "row_count"), limit=5
        )
        assert check.partition == "north" and check.event.asset_check_evaluation.passed


CHAIN = """
import os

import pandas as pd
import datanectar

@datanectar.cache(version=os.environ.get("C_VERSION", "1"), format="parquet")
def c(readings: pd.DataFrame) -> pd.DataFrame:
    return readings.assign(value=readings["value"] * 2)

@datanectar.cache(version="1", format="parquet")
def b() -> pd.DataFrame:
    return c().assign(value=lambda frame: frame["value"] + 1)

@datanectar.cache(version="1", format="parquet")
def a(b: pd.DataFrame) -> pd.DataFrame:
    return b.assign(value=b["value"] * 10)
"""


def test_dagster_agrees_on_staleness_through_a_chain(make_project, tmp_path):
    """A version bump at the bottom of a chain (c, which b's body calls, which a reads)
    makes the whole chain stale in the UI, as it does for plain calls."""
    catalog = "readings:\n  format: csv\n  path: readings.csv\n"
    root, home = cli_project(make_project, tmp_path, catalog, "chain", CHAIN)
    materialize_in_home(root, home, "*")

    command = [str(BIN / "dagster-webserver"), "-f", "definitions.py"]
    bumped = environment(home, C_VERSION="2")  # the code the webserver loads: c changed
    with running(command, cwd=root, env=bumped, log=tmp_path / "web.log") as server:
        ready(server)
        graph = nodes(server)
        assert {name: graph[name]["staleStatus"] for name in "abc"} == dict.fromkeys("abc", "STALE")
        # c is stale for its own code; b and a for the code of the chain below them.
        assert [cause["category"] for cause in graph["c"]["staleCauses"]] == ["CODE"]
        assert all(cause["category"] == "CODE" for cause in graph["a"]["staleCauses"])


def test_a_notebook_recompute_of_the_runs_own_arguments_is_a_materialization(project):
    """The asset means what its latest run computed (here scale=5): a notebook recompute
    with those arguments replaces that object, and says so in the instance."""
    root, home = project
    materialize_in_home(root, home, "*")
    config = {"ops": {"scaled": {"config": {"scale": 5}}}}
    run = materialize_with_dagster_cli(
        root, "scaled", "--config-json", json.dumps(config), env=environment(home)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [before] = instance.fetch_materializations(dg.AssetKey("scaled"), limit=1).records
    notebook(root, home, 'pipeline.scaled(scale=5, recompute=True, cache_mode="overwrite")')
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [latest] = instance.fetch_materializations(dg.AssetKey("scaled"), limit=1).records
        assert latest.run_id == "" and latest.storage_id > before.storage_id  # the notebook's
        assert latest.asset_materialization.metadata["arguments"].value == {"scale": 5}


def test_an_upstream_passed_in_is_computed_from_and_never_stored(project):
    root, home = project
    materialize_in_home(root, home, "*")
    records = root / "data" / ".datanectar" / "records" / "scaled"
    before = sorted(path.read_text() for path in records.iterdir())
    notebook(
        root,
        home,
        """
        import pandas as pd
        result = pipeline.scaled(base=pd.DataFrame({"value": [500]}))
        assert result["value"].tolist() == [1000], result
        assert pipeline.scaled()["value"].tolist() == [2, 4, 6]  # the stored one, untouched
        """,
    )
    assert sorted(path.read_text() for path in records.iterdir()) == before
    materialize_in_home(root, home, "scaled_sum")
    assert total(root) == 12.0

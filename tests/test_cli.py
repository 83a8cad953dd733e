"""The demo project end to end through Dagster's own command-line tools, in subprocesses.

Each test works on a copy of the demo project in a tmp dir (pyproject.toml, definitions.py,
demo/) with its own DAGSTER_HOME holding a copy of the demo's dagster.yaml, so nothing is
written into the repository's data/ or dagster_home/. Outputs are read back with the storage
libraries themselves (deltalake, zarr, xarray, pyarrow, SQLAlchemy, json), not datanectar.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import deltalake
import numpy as np
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import xarray as xr
import zarr

from servers import SERVER_TIMEOUT, DevServer, answers, loaded_location, running

REPO = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"
CLI_TIMEOUT = 600  # seconds; a hung CLI fails the test instead of hanging the suite
RUN_TIMEOUT = 180  # seconds for a run launched through GraphQL to finish

STATIONS = 12
DAYS = 14
HOURS = DAYS * 24
OBSERVATIONS = STATIONS * HOURS  # 4032

# Every produced demo asset: (format, path under the project's data folder).
PRODUCED = {
    "observations": ("delta", "data/silver/observations"),
    "temperature_grid": ("zarr", "data/grids/temperature.zarr"),
    # A cached function with a cache argument: one store per argument value, under this folder.
    "smoothed_grid": ("zarr", "data/grids/smoothed/"),
    "daily_means": ("parquet", "data/gold/daily_means.parquet"),
    "daily_grid": ("netcdf", "data/grids/daily_temperature.nc"),
    "station_summary": ("sql", "data/datanectar.sqlite"),
    "report": ("json", "data/reports/weather_report.json"),
    "lapse_rate": ("pickle", "data/models/lapse_rate.pkl"),
    # A versioned entry: a folder of immutable versions, their manifests and _latest.json.
    "model_coefficients": ("pickle", "data/models/coefficients"),
    "station_report": ("files", "data/reports/stations"),
}
# Produced assets the report does not read (the upstream closure of report is the rest).
BESIDE_REPORT = {"model_coefficients", "station_report"}
TABLES = {"observations": OBSERVATIONS, "daily_means": STATIONS * DAYS, "station_summary": STATIONS}
GRIDS = {"temperature_grid": HOURS, "smoothed_grid": HOURS, "daily_grid": DAYS}
PARTITIONED = {"city_observations", "scenario_means"}
DEMO_ASSETS = {"stations", "scenario_settings", *PRODUCED, *PARTITIONED}
SCENARIOS = {"baseline": 0.0, "warm_2050": 1.5}


# -- helpers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    root: Path  # the copied project (the CLI's working directory)
    home: Path  # its DAGSTER_HOME

    @property
    def data(self) -> Path:
        return self.root / "data"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DAGSTER_HOME"] = str(self.home)
        # The project is found from definitions.py alone; nothing may point back at the repo.
        env.pop("DATANECTAR_PROJECT", None)
        env.pop("PYTHONPATH", None)
        return env


def copy_demo(target: Path) -> Project:
    """A copy of the demo project and a DAGSTER_HOME with the demo's dagster.yaml."""
    root, home = target / "project", target / "dagster_home"
    root.mkdir(parents=True)
    home.mkdir(parents=True)
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copy2(REPO / "definitions.py", root / "definitions.py")
    shutil.copytree(
        REPO / "demo", root / "demo", ignore=shutil.ignore_patterns("__pycache__", "locals.yaml")
    )
    shutil.copy2(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return Project(root=root.resolve(), home=home.resolve())


def dagster_cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `dagster ARGS` in the project; fail with its output unless it exits 0."""
    result = subprocess.run(  # checked below, with its output in the message
        [str(DAGSTER), *args],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, (
        f"`dagster {' '.join(args)}` exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}"
    )
    return result


def demo_commands() -> list[list[str]]:
    """The commands `make demo` runs, read from the Makefile's recipe."""
    recipe = (REPO / "Makefile").read_text().split("\ndemo: install\n", 1)[1]
    commands = []
    for line in recipe.splitlines():
        if not line.startswith("\t"):
            break
        commands.append(shlex.split(line.strip().replace("$(BIN)/", "")))
    return commands


def materialize_all(project: Project) -> subprocess.CompletedProcess[str]:
    """What `make demo` does, command by command; the output of the unpartitioned run."""
    everything = None
    for command in demo_commands():
        if command[0] == "dagster":
            result = dagster_cli(project, *command[1:])
        else:
            result = run_tool(project, command)
        if "materialize" in command and everything is None:
            everything = result
    assert everything is not None
    return everything


def run_tool(project: Project, command: list[str]) -> subprocess.CompletedProcess[str]:
    """A command of the venv (`datanectar ...`) in the project; it must exit 0."""
    result = subprocess.run(
        [str(DAGSTER.parent / command[0]), *command[1:]],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, f"`{' '.join(command)}`: {result.stdout}{result.stderr}"
    return result


def open_instance(project: Project, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    # dagster.yaml names its storage folder with {env: DAGSTER_HOME}.
    monkeypatch.setenv("DAGSTER_HOME", str(project.home))
    return dg.DagsterInstance.from_config(str(project.home))


def demo_stations() -> dict[str, str]:
    """station_id -> name, from the shipped csv."""
    with (REPO / "demo" / "inputs" / "stations.csv").open(newline="") as handle:
        return {row["station_id"]: row["name"] for row in csv.DictReader(handle)}


def delta_version(project: Project) -> int:
    return deltalake.DeltaTable(str(project.data / "silver" / "observations")).version()


def latest_coefficients(project: Project) -> tuple[str, dict[str, Any]]:
    """The latest version of the versioned model_coefficients: its label and its manifest."""
    folder = project.data / "models" / "coefficients"
    label = json.loads((folder / "_latest.json").read_text())["label"]
    return label, json.loads((folder / "_manifests" / f"{label}.json").read_text())


def sqlite_rows(project: Project, table: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{project.data / 'datanectar.sqlite'}")
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.text(f"SELECT * FROM {table}"))
            return [dict(row) for row in result.mappings()]
    finally:
        engine.dispose()


# -- the project, materialized once ---------------------------------------------------------


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the demo project, every asset materialized once with the CLI."""
    project = copy_demo(tmp_path_factory.mktemp("cli"))
    result = materialize_all(project)
    # Kept for test_materialize_all: the run's own log must say it succeeded.
    (project.home / "first_materialize.log").write_text(result.stdout + result.stderr)
    return project


def test_definitions_validate(tmp_path):
    project = copy_demo(tmp_path)
    result = dagster_cli(project, "definitions", "validate", "-f", "definitions.py")
    assert "Validation successful" in result.stdout + result.stderr


def test_materialize_writes_every_format(materialized):
    project = materialized
    log = (project.home / "first_materialize.log").read_text()
    assert "RUN_SUCCESS" in log
    for _, relative in PRODUCED.values():
        assert (project.root / relative).exists(), relative
    stations = demo_stations()
    assert len(stations) == STATIONS

    # delta: hourly observations of every station
    observations = deltalake.DeltaTable(str(project.data / "silver" / "observations")).to_pandas()
    assert list(observations.columns) == ["station_id", "time", "temperature_k"]
    assert len(observations) == OBSERVATIONS
    assert observations.groupby("station_id").size().to_dict() == dict.fromkeys(stations, HOURS)
    assert observations["time"].nunique() == HOURS
    assert observations["temperature_k"].between(200, 330).all()

    # the partitioned entry: one Delta table, partitioned by city, holding every namespace
    city_table = deltalake.DeltaTable(str(project.data / "silver" / "city_observations"))
    assert city_table.metadata().partition_columns == ["namespace"]
    cities = city_table.to_pandas()
    assert set(cities["namespace"]) == {"paris", "lyon", "oslo"}
    for city in ("paris", "lyon", "oslo"):
        ids = {station for station, name in stations.items() if name == city}
        rows = cities[cities["namespace"] == city]
        assert set(rows["station_id"]) == ids
        assert len(rows) == HOURS * len(ids)

    # zarr, through xarray and through zarr itself
    grid = xr.open_zarr(project.data / "grids" / "temperature.zarr")
    assert set(grid.dims) == {"time", "lat", "lon"}
    assert grid.sizes["time"] == HOURS
    assert grid["air"].dims == ("time", "lat", "lon")
    assert grid["air"].attrs["units"] == "degK"
    group = zarr.open_group(str(project.data / "grids" / "temperature.zarr"), mode="r")
    assert {"air", "time", "lat", "lon"} <= set(group.array_keys())
    air = group["air"]
    assert air.shape == (HOURS, grid.sizes["lat"], grid.sizes["lon"])
    assert air.attrs["units"] == "degK"
    assert float(air[0, 0, 0]) == pytest.approx(float(grid["air"][0, 0, 0]))

    # the cached function with a cache argument: one store for the default window (6 hours),
    # named by its key, holding the running mean of the grid
    [smoothed_path] = sorted((project.data / "grids" / "smoothed").glob("*.zarr"))
    smoothed = xr.open_zarr(smoothed_path)
    expected = grid["air"].rolling(time=6, min_periods=1).mean()
    np.testing.assert_allclose(smoothed["air"].values, expected.values, rtol=1e-5)

    # parquet: a row per station and day
    daily_means = pq.read_table(project.data / "gold" / "daily_means.parquet")
    assert daily_means.num_rows == STATIONS * DAYS
    assert daily_means.column_names == ["station_id", "day", "mean_k", "min_k", "max_k"]
    means = daily_means.to_pandas()
    assert set(means["station_id"]) == set(stations)
    assert (means["min_k"] <= means["mean_k"]).all()
    assert (means["mean_k"] <= means["max_k"]).all()

    # netcdf: the daily field
    with xr.open_dataset(
        project.data / "grids" / "daily_temperature.nc", engine="h5netcdf"
    ) as daily:
        assert daily.sizes["time"] == DAYS
        assert daily["air"].dims == ("time", "lat", "lon")
        assert daily.sizes["lat"] == grid.sizes["lat"]
        assert daily.sizes["lon"] == grid.sizes["lon"]
        daily_grid_mean = float(daily["air"].mean())

    # sql: a row per station, its mean the mean of its daily means
    summary = sqlite_rows(project, "station_summary")
    assert len(summary) == STATIONS
    assert {row["station_id"]: row["name"] for row in summary} == stations
    mean_of_means = means.groupby("station_id")["mean_k"].mean()
    for row in summary:
        assert row["mean_k"] == pytest.approx(mean_of_means[row["station_id"]])

    # json: headline figures consistent with the tables and the grid
    report = json.loads((project.data / "reports" / "weather_report.json").read_text())
    assert report["stations"] == STATIONS
    assert report["days"] == DAYS
    warmest = max(summary, key=lambda row: row["mean_k"])
    coldest = min(summary, key=lambda row: row["mean_k"])
    assert report["warmest_station"] == {
        "name": warmest["name"],
        "mean_k": round(warmest["mean_k"], 2),
    }
    assert report["coldest_station"] == {
        "name": coldest["name"],
        "mean_k": round(coldest["mean_k"], 2),
    }
    assert report["grid_mean_k"] == pytest.approx(daily_grid_mean, abs=0.01)

    # pickle: the fitted lapse rate, a Python object (its class lives in the demo's module)
    sys.path.insert(0, str(project.root))
    try:
        with (project.data / "models" / "lapse_rate.pkl").open("rb") as handle:
            lapse_rate = pickle.load(handle)
    finally:
        sys.path.remove(str(project.root))
    assert type(lapse_rate).__name__ == "LapseRate"
    assert lapse_rate.stations == STATIONS
    assert lapse_rate.kelvin_per_km == pytest.approx(-6.5, abs=0.5)  # the synthetic lapse
    assert report["lapse_rate_k_per_km"] == round(lapse_rate.kelvin_per_km, 2)

    # the versioned pickle: one version, its manifest naming its bytes, a dict of numpy arrays
    label, manifest = latest_coefficients(project)
    assert manifest["format"] == "pickle"
    assert manifest["properties"] == {"framework": "numpy", "owner": "weather"}
    assert manifest["stored_with"] is None
    [stored] = manifest["files"]
    version_file = project.data / "models" / "coefficients" / label / "coefficients"
    assert stored["size"] == version_file.stat().st_size
    with version_file.open("rb") as handle:
        coefficients = pickle.load(handle)
    assert sorted(coefficients["station_id"]) == sorted(stations)
    assert coefficients["slope_k_per_day"].shape == (STATIONS,)
    assert coefficients["days"] == DAYS
    trend = means[means["station_id"] == "001"].sort_values("day")["mean_k"].to_numpy()
    slope, intercept = np.polyfit(np.arange(DAYS, dtype=float), trend, deg=1)
    first = list(coefficients["station_id"]).index("001")
    assert coefficients["slope_k_per_day"][first] == pytest.approx(slope)
    assert coefficients["intercept_k"][first] == pytest.approx(intercept)

    # files: the folder the function wrote, copied as it is
    report_folder = project.data / "reports" / "stations"
    assert sorted(path.name for path in report_folder.iterdir()) == ["index.md", "stations.csv"]
    with (report_folder / "stations.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["station_id"]: row["name"] for row in rows} == stations
    index = (report_folder / "index.md").read_text(encoding="utf-8")
    assert all(f"| {name} |" in index for name in stations.values())

    # the dynamic namespace: each discovered scenario's daily means, shifted by its warming
    scenarios = deltalake.DeltaTable(str(project.data / "gold" / "scenario_means")).to_pandas()
    assert set(scenarios["namespace"]) == set(SCENARIOS)
    for scenario, warming in SCENARIOS.items():
        rows = scenarios[scenarios["namespace"] == scenario].sort_values(["station_id", "day"])
        expected = means.sort_values(["station_id", "day"])["mean_k"].to_numpy() + warming
        np.testing.assert_allclose(rows["mean_k"].to_numpy(), expected)


def test_materializations_are_recorded_with_metadata(materialized, monkeypatch):
    project = materialized
    instance = open_instance(project, monkeypatch)
    try:
        runs = instance.get_runs()
        assert runs, "no run recorded in the instance"
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        for name, (format_name, relative) in PRODUCED.items():
            event = instance.get_latest_materialization_event(dg.AssetKey(name))
            assert event is not None, f"no materialization of {name}"
            metadata = event.asset_materialization.metadata
            assert metadata["format"].value == format_name
            uri = metadata["dagster/uri"].value
            assert str(project.root / relative) in uri, (name, uri)
            if name in TABLES:
                assert metadata["dagster/row_count"].value == TABLES[name], name
                schema = metadata["dagster/column_schema"].value
                assert [column.name for column in schema.columns], name
            if name in GRIDS:
                dims = metadata["dims"].value
                assert dims["time"] == GRIDS[name], (name, dims)
                assert set(dims) == {"time", "lat", "lon"}
        observations = instance.get_latest_materialization_event(dg.AssetKey("observations"))
        metadata = observations.asset_materialization.metadata
        assert metadata["dagster/row_count"].value == OBSERVATIONS
        assert [c.name for c in metadata["dagster/column_schema"].value.columns] == [
            "station_id",
            "time",
            "temperature_k",
        ]
        # The shipped input is an external asset: nothing materializes it.
        assert instance.get_latest_materialization_event(dg.AssetKey("stations")) is None
    finally:
        instance.dispose()


def test_checks_are_recorded_in_the_instance(materialized, monkeypatch):
    instance = open_instance(materialized, monkeypatch)
    try:
        for asset, checks in {
            "stations": ("table_schema", "row_count", "unique"),  # the source_checks job
            "temperature_grid": ("dims", "variables", "range", "max_nan_fraction"),
        }.items():
            for name in checks:
                [record] = instance.event_log_storage.get_asset_check_execution_history(
                    dg.AssetCheckKey(dg.AssetKey(asset), name), limit=1
                )
                evaluation = record.event.asset_check_evaluation
                assert evaluation.passed, (asset, name, evaluation.metadata)
        # the partitioned entry's checks ran once per namespace of the single run
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("city_observations"), "row_count"), limit=10
        )
        partitions = sorted(r.event.asset_check_evaluation.partition for r in history)
        assert partitions == ["lyon", "oslo", "paris"]
    finally:
        instance.dispose()


def test_materialize_again_overwrites(materialized, monkeypatch):
    project = materialized
    version_before = delta_version(project)
    materialize_all(project)

    table = deltalake.DeltaTable(str(project.data / "silver" / "observations"))
    assert table.version() == version_before + 1  # written again ...
    assert len(table.to_pandas()) == OBSERVATIONS  # ... replacing, not appending
    assert table.history(1)[0]["operationParameters"]["mode"] == "Overwrite"
    assert len(sqlite_rows(project, "station_summary")) == STATIONS
    assert pq.read_metadata(project.data / "gold" / "daily_means.parquet").num_rows == (
        STATIONS * DAYS
    )
    report = json.loads((project.data / "reports" / "weather_report.json").read_text())
    assert report["stations"] == STATIONS

    # The versioned entry is never overwritten: a second version, and as its content is the
    # same, it reuses the first one's bytes instead of storing them again.
    label, manifest = latest_coefficients(project)
    versions = json.loads(
        run_tool(project, ["datanectar", "versions", "model_coefficients", "--json"]).stdout
    )
    assert len(versions) == 2
    first = next(version for version in versions if version["label"] != label)
    assert manifest["stored_with"] == first["label"]
    assert manifest["content_hash"] == first["content_hash"]
    assert manifest["data"] == first["data"]

    instance = open_instance(project, monkeypatch)
    try:
        # The newest run that materialized observations (the partition runs come after it).
        successes = [
            run
            for run in instance.get_runs()
            if run.status == dg.DagsterRunStatus.SUCCESS
            and dg.AssetKey("observations") in (run.asset_selection or set())
        ]
        assert len(successes) >= 2
        event = instance.get_latest_materialization_event(dg.AssetKey("observations"))
        assert event.run_id == successes[0].run_id
        assert event.asset_materialization.metadata["dagster/row_count"].value == OBSERVATIONS
    finally:
        instance.dispose()


# -- the UI path: `dagster dev` and its GraphQL endpoint ------------------------------------


@pytest.fixture
def dev_server(tmp_path) -> Iterator[tuple[DevServer, Project]]:
    """`dagster dev` on a fresh copy of the demo, nothing materialized yet."""
    project = copy_demo(tmp_path)
    command = [str(DAGSTER), "dev", "-f", "definitions.py"]
    log = tmp_path / "dagster_dev.log"
    with running(command, cwd=project.root, env=project.env(), log=log) as server:
        yield server, project


ASSET_NODES_QUERY = """
{
  assetNodes {
    assetKey { path }
    isExecutable
    isMaterializable
    dependencyKeys { path }
    kinds
  }
}
"""

LAUNCH_RUN_MUTATION = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on Error { message }
    ... on PythonError { stack }
  }
}
"""

RUN_STATUS_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on Error { message }
  }
}
"""


def upstream_closure(nodes: dict[str, dict[str, Any]], name: str) -> set[str]:
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(key["path"][0] for key in nodes[current]["dependencyKeys"])
    return seen


def test_dagster_dev_launches_a_run_through_graphql(dev_server):
    server, project = dev_server
    server.wait(
        "the webserver's /server_info",
        lambda: answers(f"{server.url}/server_info"),
        SERVER_TIMEOUT,
    )
    location = server.wait(
        "the code location to load", lambda: loaded_location(server), SERVER_TIMEOUT
    )
    repositories = [repository["name"] for repository in location["repositories"]]
    assert repositories == ["__repository__"]

    # The asset graph the UI draws.
    nodes = {
        "/".join(node["assetKey"]["path"]): node
        for node in server.graphql(ASSET_NODES_QUERY)["assetNodes"]
    }
    assert set(nodes) == DEMO_ASSETS
    assert nodes["stations"]["kinds"] == ["csv"]
    assert not nodes["stations"]["isMaterializable"]
    for name, (format_name, _) in PRODUCED.items():
        assert nodes[name]["kinds"] == [format_name], name
        assert nodes[name]["isMaterializable"], name

    # "Materialize report and its upstream", as the UI's launch does it: the executable assets
    # of the selection, in the implicit asset job.
    selection = sorted(
        name for name in upstream_closure(nodes, "report") if nodes[name]["isExecutable"]
    )
    assert set(selection) == set(PRODUCED) - BESIDE_REPORT
    launched = server.graphql(
        LAUNCH_RUN_MUTATION,
        {
            "executionParams": {
                "selector": {
                    "repositoryLocationName": location["name"],
                    "repositoryName": "__repository__",
                    "pipelineName": "__ASSET_JOB",
                    "assetSelection": [{"path": [name]} for name in selection],
                },
                "mode": "default",
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished() -> str | None:
        run = server.graphql(RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        return run["status"] if run["status"] in {"SUCCESS", "FAILURE", "CANCELED"} else None

    status = server.wait(f"run {run_id} to finish", finished, RUN_TIMEOUT)
    assert status == "SUCCESS", f"run {run_id} ended {status}\n{server.output()}"

    # The run wrote into the copied project, read back with the storage libraries.
    observations = deltalake.DeltaTable(str(project.data / "silver" / "observations"))
    assert len(observations.to_pandas()) == OBSERVATIONS
    report = json.loads((project.data / "reports" / "weather_report.json").read_text())
    assert report["stations"] == STATIONS
    assert report["days"] == DAYS
    for name in selection:
        assert (project.root / PRODUCED[name][1]).exists(), name


# -- the README's commands, as written ---------------------------------------------------------

# Commands the README shows that this test does not run, and who proves them instead.
PROVEN_ELSEWHERE = {
    "make demo": "CI runs it (.ci/run)",
    "make test": "CI runs it (.ci/run)",
    "dagster dev -f definitions.py": "test_dagster_dev_launches_a_run_through_graphql",
    # A `dg` project of its own (the README's components section), not the demo.
    "dg check defs": "test_dg.py::test_check_and_list_defs",
    "dg list defs": "test_dg.py::test_check_and_list_defs",
    "dg launch --assets readings,means": "test_dg.py::test_launch_unpartitioned_and_partitioned",
    "dg launch --assets zone_readings --partition south": (
        "test_dg.py::test_launch_unpartitioned_and_partitioned"
    ),
    # Running at scale: a PostgreSQL instance and a dask cluster of their own.
    "export 'DAGSTER_HOME=$PWD/dagster_home/postgres'": "test_distributed.py",
    "export DAGSTER_POSTGRES_URL=postgresql+psycopg2://dagster:PASSWORD@db.internal:5432/dagster": (
        "test_distributed.py"
    ),
    "dask scheduler --host 127.0.0.1 --port 8786": "test_distributed.py",
    "dask worker tcp://127.0.0.1:8786 --nthreads 1": "test_distributed.py",
}


def readme_commands() -> list[str]:
    """Every command line of the README's bash blocks (indented ones too), comments removed."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands, inside = [], False
    for line in readme.splitlines():
        fence = line.strip()
        if fence.startswith("```"):
            inside = fence == "```bash" and not inside
            continue
        if inside and fence:
            commands.append(shlex.split(fence, comments=True))
    return [shlex.join(command) for command in commands if command]


def test_every_readme_command_runs_on_the_demo(materialized):
    commands = readme_commands()
    assert "dagster definitions validate -f definitions.py" in commands
    for command in dict.fromkeys(commands):  # once each, in the README's order
        if command in PROVEN_ELSEWHERE:
            continue
        arguments = shlex.split(command)
        if arguments[0] == "dagster":
            dagster_cli(materialized, *arguments[1:])
        else:
            assert arguments[0] in {"datanectar", "dg"}, command  # nothing else is expected here
            run_tool(materialized, arguments)

"""The demo pipeline: stations (csv) -> observations (delta) -> temperature grid (zarr) ->
daily means (parquet) and daily grid (netcdf) -> station summary (sql) -> lapse rate (pickle)
-> report (json); model coefficients (versioned pickle) -> station report (a folder of files);
per city (static namespaces) and per warming scenario (dynamic ones).

`@datanectar.asset` functions are plain Python that Dagster runs as assets; `@datanectar.cache`
functions also compute-or-recall when called from a notebook (`temperature_grid()` loads the
stations, computes once, then recalls). Parameters named after catalog entries are inputs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

import datanectar

DAYS = 14
GRID_STEP_DEGREES = 2.5


@datanectar.asset(version="1")
def observations(stations: pd.DataFrame) -> pd.DataFrame:
    """Synthetic hourly temperatures: a seasonal-free daily cycle, latitude and altitude lapse."""
    rng = np.random.default_rng(42)
    times = pd.date_range("2024-01-01", periods=DAYS * 24, freq="h")
    hour = times.hour.to_numpy()
    frames = []
    for station in stations.itertuples():
        base = 288.0 - 0.6 * (station.lat - 40.0) - 0.0065 * station.elevation_m
        cycle = 4.0 * np.sin((hour - 9) / 24 * 2 * np.pi)
        frames.append(
            pd.DataFrame(
                {
                    "station_id": station.station_id,
                    "time": times,
                    "temperature_k": base + cycle + rng.normal(0, 1.2, len(times)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@datanectar.cache(version="1")
def temperature_grid(stations: pd.DataFrame, observations: pd.DataFrame) -> xr.Dataset:
    """Inverse-distance interpolation of the stations onto a lat/lon grid, one dask chunk a day."""
    lat = np.arange(35.0, 62.5 + GRID_STEP_DEGREES, GRID_STEP_DEGREES)
    lon = np.arange(-10.0, 25.0 + GRID_STEP_DEGREES, GRID_STEP_DEGREES)
    table = observations.pivot(index="time", columns="station_id", values="temperature_k")
    located = stations.set_index("station_id").loc[table.columns]
    grid_lat, grid_lon = np.meshgrid(lat, lon, indexing="ij")
    distance = np.hypot(
        grid_lat[..., None] - located["lat"].to_numpy(),
        grid_lon[..., None] - located["lon"].to_numpy(),
    )
    weights = 1.0 / np.maximum(distance, 0.1) ** 2
    weights /= weights.sum(axis=-1, keepdims=True)
    values = da.from_array(table.to_numpy(dtype="float32"), chunks=(24, -1))
    field = da.einsum("ts,yxs->tyx", values, weights.astype("float32"))
    return xr.Dataset(
        {"air": (("time", "lat", "lon"), field, {"units": "degK", "long_name": "air temperature"})},
        coords={"time": table.index.to_numpy(), "lat": lat, "lon": lon},
        attrs={"source": "datanectar demo, synthetic"},
    )


@datanectar.asset(version="1")
def daily_means(observations: pd.DataFrame) -> pd.DataFrame:
    daily = observations.assign(day=observations["time"].dt.floor("D"))
    return (
        daily.groupby(["station_id", "day"])["temperature_k"]
        .agg(mean_k="mean", min_k="min", max_k="max")
        .reset_index()
    )


@datanectar.cache(version="1")
def daily_grid(temperature_grid: xr.Dataset) -> xr.Dataset:
    return temperature_grid.resample(time="1D").mean().astype("float32")


@datanectar.cache(cache_args=["window_hours"], version="1")
def smoothed_grid(temperature_grid: xr.Dataset, window_hours: int = 6) -> xr.Dataset:
    """A running mean over `window_hours`: one stored grid per window (a cache argument, so
    Dagster's launchpad offers it as run config)."""
    return temperature_grid.rolling(time=window_hours, min_periods=1).mean().astype("float32")


@datanectar.asset(version="1")
def station_summary(stations: pd.DataFrame, daily_means: pd.DataFrame) -> pd.DataFrame:
    stats = daily_means.groupby("station_id").agg(
        mean_k=("mean_k", "mean"), coldest_k=("min_k", "min"), warmest_k=("max_k", "max")
    )
    return stations.set_index("station_id")[["name"]].join(stats).reset_index()


@dataclass(frozen=True)
class LapseRate:
    """Mean temperature as a plane of latitude and elevation (any Python object is stored as
    pickle): how much colder per kilometre up, and per degree north."""

    kelvin_per_km: float
    kelvin_per_degree_north: float
    equator_sea_level_k: float
    stations: int

    def at(self, lat: float, elevation_m: float) -> float:
        return (
            self.equator_sea_level_k
            + self.kelvin_per_degree_north * lat
            + self.kelvin_per_km * elevation_m / 1000.0
        )


@datanectar.asset(version="1")
def lapse_rate(stations: pd.DataFrame, station_summary: pd.DataFrame) -> LapseRate:
    table = stations.merge(station_summary[["station_id", "mean_k"]], on="station_id")
    design = np.column_stack([np.ones(len(table)), table["lat"], table["elevation_m"] / 1000.0])
    (intercept, per_degree, per_km), *_ = np.linalg.lstsq(design, table["mean_k"], rcond=None)
    return LapseRate(float(per_km), float(per_degree), float(intercept), len(table))


@datanectar.asset(version="1")
def model_coefficients(daily_means: pd.DataFrame) -> dict:
    """A linear trend of the daily mean temperature per station (numpy.polyfit), a versioned
    entry: every run publishes a version, and the same coefficients reuse the stored bytes."""
    stations, slopes, intercepts = [], [], []
    for station_id, rows in daily_means.sort_values(["station_id", "day"]).groupby("station_id"):
        days = ((rows["day"] - rows["day"].min()) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        slope, intercept = np.polyfit(days, rows["mean_k"].to_numpy(dtype=float), deg=1)
        stations.append(str(station_id))
        slopes.append(slope)
        intercepts.append(intercept)
    return {
        "station_id": np.array(stations),
        "slope_k_per_day": np.array(slopes),
        "intercept_k": np.array(intercepts),
        "days": int(daily_means["day"].nunique()),
        "mean_slope_k_per_day": float(np.mean(slopes)),
    }


@datanectar.asset(version="1")
def station_report(station_summary: pd.DataFrame, model_coefficients: dict) -> Path:
    """A small folder (a markdown summary and a CSV), written where it likes and returned as
    a path: the `files` format copies the folder into the store as it is."""
    trends = pd.DataFrame(
        {
            "station_id": model_coefficients["station_id"],
            "slope_k_per_day": model_coefficients["slope_k_per_day"],
            "intercept_k": model_coefficients["intercept_k"],
        }
    )
    table = station_summary.merge(trends, on="station_id").sort_values("station_id")
    folder = Path(tempfile.mkdtemp(prefix="station_report-")) / "stations"
    folder.mkdir()
    table.to_csv(folder / "stations.csv", index=False, float_format="%.4f")
    lines = [
        "# Stations",
        "",
        f"{len(table)} stations, {model_coefficients['days']} days; the trend is a linear fit of",
        "the daily mean temperature (`model_coefficients`). Every figure: `stations.csv`.",
        "",
        "| station | mean (K) | coldest (K) | warmest (K) | trend (K/day) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.name} | {row.mean_k:.2f} | {row.coldest_k:.2f} | {row.warmest_k:.2f} "
        f"| {row.slope_k_per_day:+.3f} |"
        for row in table.itertuples()
    ]
    (folder / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@datanectar.asset(version="1")
def scenario_means(
    daily_means: pd.DataFrame, scenario_settings: dict, namespace: str
) -> pd.DataFrame:
    """The daily means of one warming scenario (a dynamic namespace: one folder of settings
    per scenario, discovered in the inputs)."""
    warming = float(scenario_settings["warming_k"])
    return daily_means.assign(
        mean_k=daily_means["mean_k"] + warming,
        min_k=daily_means["min_k"] + warming,
        max_k=daily_means["max_k"] + warming,
    )


@datanectar.asset(version="1")
def report(
    station_summary: pd.DataFrame,
    daily_grid: xr.Dataset,
    smoothed_grid: xr.Dataset,
    lapse_rate: LapseRate,
) -> dict:
    warmest = station_summary.loc[station_summary["mean_k"].idxmax()]
    coldest = station_summary.loc[station_summary["mean_k"].idxmin()]
    return {
        "stations": len(station_summary),
        "days": int(daily_grid.sizes["time"]),
        "warmest_station": {"name": warmest["name"], "mean_k": round(float(warmest["mean_k"]), 2)},
        "coldest_station": {"name": coldest["name"], "mean_k": round(float(coldest["mean_k"]), 2)},
        "grid_mean_k": round(float(daily_grid["air"].mean()), 2),
        "smoothed_peak_k": round(float(smoothed_grid["air"].max()), 2),
        "lapse_rate_k_per_km": round(lapse_rate.kelvin_per_km, 2),
    }


@datanectar.asset(version="1")
def city_observations(
    stations: pd.DataFrame, observations: pd.DataFrame, namespace: str
) -> pd.DataFrame:
    """The observations of the station in one city: a namespace (Dagster partition) each."""
    station_ids = stations.loc[stations["name"] == namespace, "station_id"]
    return observations[observations["station_id"].isin(station_ids)].reset_index(drop=True)

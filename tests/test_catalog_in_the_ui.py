"""Before anything runs, the catalog reads as documentation in Dagster: entries nothing
produces show their description and, from their Table Schema, their columns (type,
description, constraints)."""

from __future__ import annotations

import json

import dagster as dg

import datanectar

SCHEMA = {
    "fields": [
        {
            "name": "station_id",
            "type": "string",
            "description": "WMO station number.",
            "constraints": {"pattern": "[0-9]{5}"},
        },
        {
            "name": "name",
            "type": "string",
            "title": "Station name",
            "constraints": {"required": True},
        },
        {
            "name": "elevation_m",
            "type": "integer",
            "constraints": {"minimum": -450, "maximum": 9000},
        },
        {"name": "opened", "type": "date", "format": "%d/%m/%Y"},
    ],
    "primaryKey": ["station_id"],
}


def column_schema(defs: dg.Definitions, name: str) -> dg.TableSchema:
    return (
        defs.resolve_assets_def(name)
        .specs_by_key[dg.AssetKey(name)]
        .metadata["dagster/column_schema"]
    )


def test_a_source_shows_its_columns_and_description(make_project):
    project = make_project(
        "stations:\n  format: csv\n  description: Weather stations, one row each.\n"
        "  schema: schemas/stations.json\n"
    )
    (project / "schemas").mkdir()
    (project / "schemas" / "stations.json").write_text(json.dumps(SCHEMA))

    defs = datanectar.definitions(project)

    spec = defs.resolve_assets_def("stations").specs_by_key[dg.AssetKey("stations")]
    assert spec.description == "Weather stations, one row each."
    columns = {column.name: column for column in column_schema(defs, "stations").columns}
    assert list(columns) == ["station_id", "name", "elevation_m", "opened"]
    station = columns["station_id"]
    assert (station.type, station.description) == ("string", "WMO station number.")
    assert station.constraints.nullable is False  # the primary key
    assert station.constraints.unique is True
    assert station.constraints.other == ["pattern: [0-9]{5}"]
    assert columns["name"].description == "Station name"
    assert columns["name"].constraints.nullable is False
    assert columns["elevation_m"].type == "integer"
    assert columns["elevation_m"].constraints.other == ["minimum: -450", "maximum: 9000"]
    assert columns["opened"].type == "date (%d/%m/%Y)"
    assert columns["opened"].constraints.nullable is True


def test_a_produced_entry_with_a_schema_shows_it_too(make_project):
    project = make_project("stations:\n  format: parquet\n")

    @datanectar.asset(entry="stations", schema=SCHEMA)
    def stations():
        return None

    defs = datanectar.definitions(project, functions=[stations])
    assert [c.name for c in column_schema(defs, "stations").columns][:2] == ["station_id", "name"]

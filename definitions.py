"""The demo project's Dagster definitions: `dagster dev`, or `dagster asset materialize -f definitions.py`."""

from pathlib import Path

import datanectar

defs = datanectar.definitions(Path(__file__).parent)

"""automation.yaml: the jobs, parameter sets, schedules, sensors and run-failure hook of a
project, beside its catalog, turned into Dagster definitions (`definitions`)."""

# The Dagster side loads first: automation builds on the assets, whose definitions include it.
from .. import assets as _assets  # noqa: F401  isort: skip
from .definitions import automation_definitions
from .parameters import resolve_parameter_sets
from .settings import AUTOMATION_FILE, Automation, load_automation

__all__ = [
    "AUTOMATION_FILE",
    "Automation",
    "automation_definitions",
    "load_automation",
    "resolve_parameter_sets",
]

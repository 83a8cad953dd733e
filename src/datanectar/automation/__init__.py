"""automation.yaml: the jobs, parameter sets, schedules, sensors and run-failure hook of a
project, beside its catalog, turned into Dagster definitions (`definitions`)."""

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

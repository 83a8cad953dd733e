"""The typed model of automation.yaml, read once with errors naming the file and field.

The file sits beside the catalog (the catalog folder's parent, or the catalog file's folder):
it names assets by the catalog's entry names and selections, and a project without it has no
jobs or sensors of its own beyond the source checks. `[tool.datanectar] automation` points
elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..catalog.models import known_time_zone
from ..catalog.render import parse_yaml
from ..errors import ConfigError, did_you_mean, field_path

AUTOMATION_FILE = "automation.yaml"
Status = Literal["running", "stopped"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobSpec(_Model):
    """`jobs.NAME`: an asset job over a selection, its run config from a parameter set."""

    select: str = Field(description="Dagster asset selection syntax, e.g. 'group:raw+'.")
    parameters: str | None = Field(
        default=None, description="The parameter set whose values are the job's run config."
    )
    description: str | None = Field(default=None, description="Shown in the Dagster UI.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags of the job's runs.")


class ScheduleSpec(_Model):
    """`schedules.JOB`: a cron schedule of a job (or of `source_checks`), named `JOB_schedule`."""

    cron: str = Field(description="Five cron fields, e.g. '0 3 * * *'.")
    timezone: str | None = Field(
        default=None, description="IANA zone of the cron, e.g. Europe/Paris."
    )
    status: Status = Field(default="running", description="Whether it starts running.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_time_zone(value) if value is not None else None


class SensorSpec(_Model):
    """`sensors.NAME`: runs what follows a source entry when its stored data changes."""

    watch: str = Field(description="An entry nothing produces: its store is listed each tick.")
    interval: int = Field(default=60, ge=1, description="Seconds between two ticks.")
    select: str | None = Field(
        default=None,
        description="What a change runs, in Dagster selection syntax; by default the produced "
        "assets downstream of the watched entry, and its checks.",
    )
    status: Status = Field(default="running", description="Whether it starts running.")


class RunFailureSpec(_Model):
    """`run_failure`: a function called with each failed run, to route to alerting."""

    call: str = Field(description="'package.module:function', called with a RunFailure.")
    jobs: list[str] | None = Field(
        default=None, description="The jobs watched; every job of the project by default."
    )
    status: Status = Field(default="running", description="Whether it starts running.")

    @field_validator("call")
    @classmethod
    def _import_path(cls, value: str) -> str:
        module, _, function = value.partition(":")
        if (
            not module
            or not function
            or not all(part.isidentifier() for part in [*module.split("."), function])
        ):
            raise ValueError(f"{value!r} is not 'package.module:function'")
        return value


class Automation(_Model):
    """Everything automation.yaml declares; empty when there is no file."""

    file: str | None = None
    jobs: dict[str, JobSpec] = Field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    schedules: dict[str, ScheduleSpec] = Field(default_factory=dict)
    sensors: dict[str, SensorSpec] = Field(default_factory=dict)
    run_failure: RunFailureSpec | None = None


def automation_path(root: Path, catalog: str, setting: str | None) -> tuple[Path, bool]:
    """Where automation.yaml is, and whether it was named (a named file must exist)."""
    if setting is not None:
        return root / setting, True
    # a catalog folder's parent, or a catalog file's folder
    return (root / catalog).parent / AUTOMATION_FILE, False


def load_automation(path: Path, *, required: bool, display: str) -> Automation:
    """The parsed file; an empty Automation when an unnamed file is absent."""
    if not path.is_file():
        if required:
            raise ConfigError(
                file=display,
                field="tool.datanectar.automation",
                problem="the automation file does not exist.",
                fix="create it, or remove the setting to use automation.yaml beside the catalog.",
            )
        return Automation()
    document = parse_yaml(path.read_text(encoding="utf-8"), display=display)
    if document is None:  # an empty file
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(
            file=display,
            field="(top level)",
            problem=f"automation.yaml is a mapping of jobs, parameters, schedules, sensors and "
            f"run_failure, got a {type(document).__name__}.",
        )
    try:
        return Automation.model_validate({**document, "file": display})
    except ValidationError as exc:
        raise _config_error(exc, display) from None


def _config_error(exc: ValidationError, display: str) -> ConfigError:
    """The first error, an unknown key before what it left missing (`selct:` is the reason
    `select` is missing), with the close known keys."""
    errors = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")
    error = errors[0]
    location = error["loc"]
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        given = str(location[-1])
        known = [name for name in _model_at(location[:-1]).model_fields if name != "file"]
        message = f"unknown key '{given}'.{did_you_mean(given, known)}"
    message = message if message.endswith(("?", ".")) else message + "."
    return ConfigError(file=display, field=field_path(location) or "(top level)", problem=message)


def _model_at(location: tuple[Any, ...]) -> type[BaseModel]:
    """The model whose fields an error location's parent holds: Automation, or the spec of a
    section (`jobs.NAME` is a JobSpec)."""
    sections: dict[str, type[BaseModel]] = {
        "jobs": JobSpec,
        "schedules": ScheduleSpec,
        "sensors": SensorSpec,
        "run_failure": RunFailureSpec,
    }
    if location and location[0] in sections:
        return sections[str(location[0])]
    return Automation

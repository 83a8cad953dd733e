"""The README's reference follows the models: every field and format is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datanectar.assets import FormatIOManager, SqlIOManager
from datanectar.automation.settings import (
    Automation,
    JobSpec,
    RunFailureSpec,
    ScheduleSpec,
    SensorSpec,
)
from datanectar.catalog import field_names
from datanectar.config import Settings
from datanectar.formats import format_names
from datanectar.stores import config_model, store_type_names

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def documented_rows() -> set[str]:
    """The first cell of every README table row, without backticks."""
    return {
        match.group(1) for match in re.finditer(r"^\| `([^`]+)` \|", README, flags=re.MULTILINE)
    }


@pytest.mark.parametrize("field", sorted(field_names()))
def test_every_entry_field_is_documented(field):
    assert field in documented_rows()


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_project_setting_is_documented(field):
    assert field in documented_rows()


AUTOMATION_MODELS = {
    "jobs.NAME": JobSpec,
    "schedules.JOB": ScheduleSpec,
    "sensors.NAME": SensorSpec,
    "run_failure": RunFailureSpec,
}


@pytest.mark.parametrize(
    "key",
    sorted(
        f"{prefix}.{field}"
        for prefix, model in AUTOMATION_MODELS.items()
        for field in model.model_fields
    ),
)
def test_every_automation_key_is_documented(key):
    assert key in documented_rows()


def test_every_automation_section_is_modelled():
    sections = {key.split(".")[0] for key in AUTOMATION_MODELS} | {"parameters"}
    assert sections == set(Automation.model_fields) - {"file"}


@pytest.mark.parametrize("name", format_names())
def test_every_format_is_documented(name):
    assert name in documented_rows()


@pytest.mark.parametrize("store_type", store_type_names())
def test_every_store_type_and_its_fields_are_documented(store_type):
    assert store_type in documented_rows()
    row = next(line for line in README.splitlines() if line.startswith(f"| `{store_type}` |"))
    for field in config_model(store_type).model_fields:
        if field != "type":
            assert f"`{field}`" in row


@pytest.mark.parametrize(
    "setting",
    sorted(
        {*FormatIOManager.model_fields, *SqlIOManager.model_fields} - {"format", "load_options"}
    ),
)
def test_every_io_manager_setting_is_documented(setting):
    assert setting in documented_rows()

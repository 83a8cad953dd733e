"""The typed catalog entry: the single source of the field reference.

The YAML body of an entry is validated against `EntryFields` (unknown fields are errors);
`Entry` adds what the loader knows: its name and the file that declared it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import StoreError, did_you_mean
from ..formats import format_names
from ..formats.csv_dialect import CsvDialect
from ..formats.registry import BUILT_IN_FORMATS
from ..stores import normalize_relative_path
from ..stores.base import pool_name
from ..versions.labels import check_name
from ..versions.settings import Versioning
from .namespaces import Dimension, parse_namespaces
from .rules import Rule

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TAG_KEY = re.compile(r"([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}")
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.-]{0,63}")
_OWNER = re.compile(r"team:[A-Za-z0-9_\- ]+|[^@\s]+@[^@\s]+\.[^@\s]+")


AUTOMATIONS = ["eager", "on_missing"]


class OnCron(BaseModel):
    """`automation: {on_cron: "0 3 * * *"}`: materialize once per cron tick, after upstreams."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_cron: str = Field(description="Five cron fields.")
    timezone: str = Field(default="UTC", description="IANA zone of the cron.")

    @field_validator("on_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a cron schedule (five fields, e.g. '0 3 * * *')")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_time_zone(value)


def known_time_zone(value: str) -> str:
    """An IANA time zone name, checked (Dagster would fail on it only at the first tick)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Europe/Paris)") from None
    return value


class EntryFields(BaseModel):
    """The fields a catalog entry may set in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    format: str | None = Field(
        default=None,
        description=f"Storage format: {', '.join(BUILT_IN_FORMATS)}, or one a plug-in "
        "registers (entry point group 'datanectar.formats'). May be left out when a function "
        "produces the entry: then its return type decides.",
    )
    path: str | None = Field(
        default=None,
        description="Where in the store, relative to its root (a table name for sql). "
        "Defaults to the entry name plus the format's suffix.",
    )
    store: str | None = Field(
        default=None,
        description="Name of a store in [tool.datanectar.stores]; the default store if left out.",
    )
    query: str | None = Field(
        default=None,
        description="For a sql entry nothing produces, instead of path: a SELECT whose result "
        "is the entry's value, with :name placeholders bound from params (never pasted).",
    )
    params: dict[str, str | int | float | bool | dt.datetime | dt.date | None] = Field(
        default_factory=dict,
        description="The values bound to the query's :name placeholders, one per placeholder.",
    )
    description: str | None = Field(default=None, description="Shown in the Dagster UI.")
    group: str | None = Field(default=None, description="Dagster asset group.")
    tags: dict[str, str] = Field(default_factory=dict, description="Dagster asset tags.")
    owners: list[str] = Field(
        default_factory=list, description="Owners: e-mail addresses or 'team:name'."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free metadata shown on the asset in the Dagster UI."
    )
    pool: str | None = Field(
        default=None,
        description="Dagster concurrency pool of the entry's step (the instance's "
        "concurrency settings limit how many steps of a pool run at once); its store's pool "
        "if left out.",
    )
    load_options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the format's read call."
    )
    save_options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the format's write call."
    )
    dialect: CsvDialect | None = Field(
        default=None,
        description="For csv: the file's Table Dialect in the standard's names (delimiter, "
        "header, headerRows, headerJoin, commentChar, commentRows, skipInitialSpace, "
        "quoteChar, doubleQuote, escapeChar); what it leaves out is detected as frictionless "
        "detects it in a file nothing produces.",
    )
    schema_: str | dict[str, Any] | None = Field(
        default=None,
        alias="schema",
        description="A frictionless Table Schema, inline or as a path relative to the project "
        "root; validated as the 'table_schema' asset check.",
    )
    checks: list[Rule] = Field(
        default_factory=list,
        description="Validation rules, each an asset check (blocking when severity is error).",
    )
    report: Literal["count", "partial", "full"] = Field(
        default="partial",
        description="How much of each check's errors is kept: counts, the first 100, or all "
        "(also stored as JSON beside the data).",
    )
    profile: bool = Field(
        default=False,
        description="Add per-column statistics (nulls, distinct, min/max/mean) to materializations.",
    )
    namespaces: list[Dimension] | None = Field(
        default=None,
        description="Partitions: a list of keys, {dynamic: NAME}, {daily: {start: ...}} (or "
        "hourly, weekly, monthly), or a mapping of two such dimensions.",
    )
    allow_missing_namespaces: bool = Field(
        default=False,
        description="Downstream loads of several namespaces skip missing ones instead of failing.",
    )
    versioned: Versioning | None = Field(
        default=None,
        description="Keep every write as an immutable version with a manifest: true, or "
        "{label: TEMPLATE, keep: N, verify: sha256|size}.",
    )
    properties: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Properties every version's manifest records (versioned entries).",
    )
    automation: Literal["eager", "on_missing"] | OnCron | None = Field(
        default=None,
        description="Declarative automation of a produced entry: eager (after its upstreams "
        "change), on_missing, or {on_cron: '0 3 * * *'}.",
    )

    @property
    def versioning(self) -> Versioning | None:
        """How the entry is versioned, None when it is not."""
        return self.versioned

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: str | None) -> str | None:
        return pool_name(value)

    @field_validator("automation", mode="before")
    @classmethod
    def _automation(cls, value: Any) -> Any:
        """One error for a mistyped automation, not one per form it could have taken."""
        if value is None or isinstance(value, OnCron):
            return value
        if isinstance(value, str):
            if value not in AUTOMATIONS:
                raise ValueError(
                    f"unknown automation {value!r}: eager, on_missing or {{on_cron: '0 3 * * *'}}."
                    + did_you_mean(value, AUTOMATIONS)
                )
            return value
        if isinstance(value, dict):
            unknown = [key for key in value if key not in OnCron.model_fields]
            if unknown:
                raise ValueError(
                    f"unknown key '{unknown[0]}' in automation."
                    + did_you_mean(str(unknown[0]), list(OnCron.model_fields))
                )
            if "on_cron" not in value:
                raise ValueError("a mapping automation is {on_cron: CRON, timezone: ZONE}.")
            try:
                return OnCron.model_validate(value)
            except ValidationError as exc:
                raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        raise ValueError(
            f"automation is eager, on_missing or {{on_cron: CRON}}, got {type(value).__name__}"
        )

    @field_validator("versioned", mode="before")
    @classmethod
    def _versioned_flag(cls, value: Any) -> Any:
        if value is True:
            return {}
        return None if value is False else value

    @field_validator("properties")
    @classmethod
    def _property_names(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        for name in value:
            check_name(name, what="property name")
        return value

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in format_names():
            raise ValueError(
                f"unknown format '{value}'.{did_you_mean(value, format_names())} Formats: "
                f"{', '.join(format_names())}"
            )
        return value

    @field_validator("namespaces", mode="before")
    @classmethod
    def _namespaces(cls, value: Any) -> Any:
        return None if value is None else parse_namespaces(value)

    @field_validator("path")
    @classmethod
    def _path_inside_store(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_relative_path(value)
        except StoreError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("tags")
    @classmethod
    def _tag_form(cls, value: dict[str, str]) -> dict[str, str]:
        # Dagster's rules for asset tags, checked here so a bad tag is a catalog error naming
        # the file and entry, not an error of Dagster's when definitions load.
        for key, tag in value.items():
            if key.startswith("dagster/") or not _TAG_KEY.fullmatch(key):
                raise ValueError(
                    f"tag key {key!r} is not allowed: letters, digits, '_', '-' and '.', at most "
                    "63, with an optional 'namespace/' before (not 'dagster/')"
                )
            if not _TAG_VALUE.fullmatch(tag):
                raise ValueError(
                    f"tag {key!r} has the value {tag!r}: tag values use letters, digits, '_', "
                    "'-' and '.', at most 63 (put free text in 'metadata' or 'description')"
                )
        return value

    @field_validator("group")
    @classmethod
    def _group_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME_PATTERN.fullmatch(value):
            raise ValueError(f"group '{value}' must use letters, digits and '_' only")
        return value

    @field_validator("owners")
    @classmethod
    def _owner_form(cls, value: list[str]) -> list[str]:
        for owner in value:
            if not _OWNER.fullmatch(owner):
                raise ValueError(f"owner '{owner}' is neither an e-mail address nor 'team:name'")
        return value


def field_names() -> list[str]:
    """The YAML names of an entry's fields."""
    return [field.alias or name for name, field in EntryFields.model_fields.items()]


class Entry(EntryFields):
    """A catalog entry with its name and where it was declared."""

    name: str = Field(description="The entry name, also its Dagster asset key.")
    source: str | None = Field(default=None, description="The catalog file that declared it.")
    asset: str | None = Field(
        default=None,
        description="For a Dagster asset that no catalog declares, stored by one of "
        "datanectar's IO managers: its key as Dagster prints it, which errors name.",
    )
    external: bool = Field(
        default=False,
        description="Set when the catalog resolves: nothing produces it, its data comes from "
        "elsewhere (a csv's dialect and encoding are then detected where `dialect` leaves them "
        "out, as frictionless detects them).",
    )
    field_names: tuple[str, ...] | None = Field(
        default=None,
        description="Set when the catalog resolves, for a csv entry with `dialect.header: "
        "false` and a Table Schema: the schema's field names, which name the file's columns "
        "(as frictionless names them).",
    )

    @property
    def subject(self) -> str:
        """How errors name it: its catalog file and entry name, or the Dagster asset."""
        if self.asset is not None:
            return f"asset '{self.asset}'"
        if self.source is None:  # declared by its function, in no catalog file
            return f"entry '{self.name}'"
        return f"{self.source}: entry '{self.name}'"

    @field_validator("name")
    @classmethod
    def _entry_name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"entry name '{value}' must start with a letter or '_' and use letters, digits and '_'"
            )
        return value

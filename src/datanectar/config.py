"""`[tool.datanectar]` in pyproject.toml, parsed once into typed models."""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    field_validator,
)

from .environments import (
    ENVIRONMENTS_KEY,
    active_environment,
    environment_tables,
    given_by,
    merged_settings,
)
from .errors import (
    ConfigError,
    DatanectarError,
    StoreError,
    did_you_mean,
    field_path,
    written_location,
)
from .stores import (
    Store,
    StoreConfig,
    build_store,
    config_model,
    default_store_table,
    normalize_prefix,
    store_config_type,
    store_type_names,
)
from .stores.registry import BUILT_IN_STORES

if TYPE_CHECKING:
    StoreConfigs = StoreConfig
else:
    # The built-in store types' configs; a project's settings are validated against a model
    # built from the registry for the store types it uses (`settings_model`), so that a
    # plug-in store is imported only by the projects that use it.
    StoreConfigs = store_config_type(sorted(BUILT_IN_STORES))

PROJECT_ENV = "DATANECTAR_PROJECT"
DASK_ADDRESS = re.compile(r"(tcp|tls|ws|wss)://[^\s/:]+:\d{1,5}")
CacheMode = Literal["write", "overwrite", "read_only", "local", "offline", "off"]
# Settings that DATANECTAR_<NAME> overrides; lists are comma-separated.
ENV_OVERRIDES = {
    "default_store": "DATANECTAR_DEFAULT_STORE",
    "cache_mode": "DATANECTAR_CACHE_MODE",
    "local_cache": "DATANECTAR_LOCAL_CACHE",
    "mirrors": "DATANECTAR_MIRRORS",
    "memo_bytes": "DATANECTAR_MEMO_BYTES",
    "executor": "DATANECTAR_EXECUTOR",
    "dask_address": "DATANECTAR_DASK_ADDRESS",
}


class StoreSource(BaseModel):
    """`discover = {store = "local", prefix = "incoming"}`: one key per sub-folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str | None = Field(default=None, description="The store; the default store if left out.")
    prefix: str = Field(default="", description="Folder whose sub-folders are the keys.")

    @field_validator("prefix")
    @classmethod
    def _relative(cls, value: str) -> str:
        try:
            return normalize_prefix(value)
        except StoreError as exc:
            raise ValueError(str(exc)) from None


class EntrySource(BaseModel):
    """`discover = {entry = "stations", column = "city"}`: one key per distinct value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: str = Field(description="A table entry without namespaces.")
    column: str = Field(description="The column whose distinct values are the keys.")


def _source_kind(source: Any) -> str:
    # A table naming an entry reads values from it; any other is a store's folders, so a table
    # that is neither is refused with the keys of a store source.
    if isinstance(source, EntrySource) or (isinstance(source, Mapping) and "entry" in source):
        return "entry"
    return "store"


class NamespaceSettings(BaseModel):
    """`[tool.datanectar.namespaces.NAME]`: how a dynamic namespace discovers its keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    discover: Annotated[
        Annotated[StoreSource, Tag("store")] | Annotated[EntrySource, Tag("entry")],
        Discriminator(_source_kind),
    ] = Field(
        description="{store, prefix} for sub-folders of a store, or {entry, column} for values."
    )
    sensor_interval_seconds: int = Field(
        default=60, ge=1, description="Seconds between two evaluations of the sensor."
    )


class QuarantineSettings(BaseModel):
    """`[tool.datanectar.quarantine]`: how long rejected values are kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep: int = Field(
        default=20,
        ge=1,  # the value just rejected is always kept: errors and metadata say where it is
        description="Rejected values kept per entry (the newest); older ones are removed "
        "when another is rejected.",
    )
    max_age_days: float | None = Field(
        default=None,
        gt=0,
        description="Rejected values older than this many days are removed when another of "
        "the entry is rejected; no age limit by default.",
    )


class Settings(BaseModel):
    """The project settings; every field has a default so an empty table is a valid project."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: str = Field(default="catalog", description="A catalog file or folder of *.yaml.")
    configuration: str | None = Field(
        default="configuration",
        description="Folder with globals.yaml and (git-ignored) locals.yaml for Jinja2.",
    )
    modules: list[str] = Field(
        default_factory=list, description="Modules whose decorated functions produce entries."
    )
    default_store: str = Field(default="local", description="Store of entries that name none.")
    executor: Literal["multiprocess", "in_process", "dask"] = Field(
        default="multiprocess",
        description="Dagster executor for the project's jobs: a process per step, one process, "
        "or dagster-dask's on the dask.distributed cluster at dask_address.",
    )
    dask_address: str = Field(
        default="tcp://127.0.0.1:8786",
        description="Address of the dask.distributed scheduler the dask executor submits "
        "steps to (tcp://HOST:PORT); read only when executor is 'dask'.",
    )
    stores: dict[str, StoreConfigs] = Field(
        default_factory=lambda: {"local": default_store_table()},
        validate_default=True,
        description="Named stores, [tool.datanectar.stores.NAME], each with a 'type'.",
    )
    cache_mode: CacheMode = Field(
        default="write",
        description="Default mode of cached functions: write, overwrite, read_only, local, "
        "offline or off.",
    )
    local_cache: str = Field(
        default="~/.cache/datanectar",
        description="Folder of the local cache level (per project inside it).",
    )
    mirrors: list[str] = Field(
        default_factory=list,
        description="Stores read (never written) after the root store when recalling.",
    )
    namespaces: dict[str, NamespaceSettings] = Field(
        default_factory=dict,
        description="How dynamic namespaces discover their keys, [tool.datanectar.namespaces.NAME].",
    )
    automation: str | None = Field(
        default=None,
        description="The automation file (jobs, parameter sets, schedules, sensors); "
        "automation.yaml beside the catalog by default.",
    )
    source_checks_schedule: str | None = Field(
        default=None,
        description="Cron schedule (e.g. '0 6 * * *') of the source_checks job, which runs the "
        "checks of the entries nothing produces; none by default.",
    )
    quarantine: QuarantineSettings = Field(
        default_factory=QuarantineSettings,
        description="Retention of rejected values, [tool.datanectar.quarantine].",
    )
    memo_bytes: int = Field(
        default=1 << 30,
        ge=0,
        description="Memory bound of the in-process memo of cached functions called with "
        "memoize=True.",
    )

    @field_validator("dask_address")
    @classmethod
    def _scheduler_address(cls, value: str) -> str:
        # dask's own address form; anything else would fail only when a run starts.
        if not DASK_ADDRESS.fullmatch(value):
            raise ValueError(
                f"expected a dask scheduler address such as 'tcp://127.0.0.1:8786' "
                f"(tcp://, tls:// or ws:// then HOST:PORT), got {value!r}"
            )
        return value


class ProjectConfig(BaseModel):
    """Where a project is and what it configured."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path = Field(description="The project folder: the one holding pyproject.toml.")
    pyproject: Path = Field(description="The pyproject.toml the settings were read from.")
    settings: Settings = Field(description="Its [tool.datanectar] table, validated.")
    environment: str | None = Field(
        default=None,
        description="The environment DATANECTAR_ENV selected, laid over the base settings.",
    )
    environment_settings: dict[str, Settings] = Field(
        default_factory=dict,
        description="Every other environment's settings by name ('' for the base settings, "
        "when an environment is active), validated: the catalog is checked against their "
        "stores too.",
    )

    @property
    def stores(self) -> dict[str, StoreConfig]:
        return self.settings.stores

    def open_stores(self) -> dict[str, Store]:
        return {
            name: build_store(name, config, project_root=self.root)
            for name, config in self.stores.items()
        }

    def path(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.root / path


def find_pyproject(start: Path | str | None = None) -> Path:
    """The pyproject.toml of the project: given, from $DATANECTAR_PROJECT, or above the cwd."""
    from_environment = start is None and bool(os.environ.get(PROJECT_ENV))
    if from_environment:
        start = os.environ[PROJECT_ENV]
    origin = Path(start or Path.cwd()).resolve()
    if origin.is_file() and origin.suffix == ".toml":
        return origin
    if origin.is_file():  # definitions.py's `__file__`, say: its project is found from its folder
        origin = origin.parent
    looked_at = []
    for folder in (origin, *origin.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            if "datanectar" in _read_toml(candidate).get("tool", {}):
                return candidate
            looked_at.append(f"{candidate} (no [tool.datanectar] table)")
    source = f" ({PROJECT_ENV})" if from_environment else ""
    found = f" The pyproject.toml files on the way: {'; '.join(looked_at)}." if looked_at else ""
    raise ProjectNotFoundError(
        origin,
        f"no pyproject.toml with a [tool.datanectar] table in {origin}{source} or any folder "
        f"above it.{found}",
    )


class ProjectNotFoundError(ConfigError):
    """No project where one was looked for: the error names the folder, not a file."""

    def __init__(self, origin: Path, problem: str) -> None:
        self.origin = origin
        fix = (
            "run from your project folder, pass its path (datanectar --project DIR, "
            f"datanectar.catalog(DIR)), or set {PROJECT_ENV}."
        )
        DatanectarError.__init__(self, f"{problem} Fix: {fix}")
        self.file, self.field, self.problem, self.fix = str(origin), "tool.datanectar", problem, fix


def settings_model(store_types: Iterable[str] | None = None) -> type[Settings]:
    """The settings model whose stores may be of the built-in types and of `store_types`
    (every registered type when None); unknown names are left to the model to refuse."""
    known = store_type_names()
    wanted = known if store_types is None else [name for name in store_types if name in known]
    return _settings_model(tuple(sorted({*BUILT_IN_STORES, *wanted})))


@functools.cache
def _settings_model(store_types: tuple[str, ...]) -> type[Settings]:
    if store_types == tuple(sorted(BUILT_IN_STORES)):
        return Settings
    stores = Settings.model_fields["stores"]
    return create_model(
        "Settings",
        __base__=Settings,
        stores=(
            dict[str, store_config_type(store_types)],  # type: ignore[valid-type]
            Field(
                default_factory=stores.default_factory,
                validate_default=True,
                description=stores.description,
            ),
        ),
    )


def settings_json_schema() -> dict[str, Any]:
    """The JSON Schema of `[tool.datanectar]`, every store type and its fields included."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **settings_model().model_json_schema(),
        "title": "[tool.datanectar]",
    }
    # A store table must name its type, which picks its model; the models default it only so
    # that code can build a store config without repeating its type.
    for name in store_type_names():
        definition = schema["$defs"][config_model(name).__name__]
        definition["required"] = ["type", *definition.get("required", [])]
    # An environment overrides any setting, a store wholly (with `type`) or some of its keys:
    # what it may hold is the settings' own tables, each key optional.
    schema["properties"]["environments"] = {
        "type": "object",
        "description": "[tool.datanectar.environments.NAME]: settings DATANECTAR_ENV=NAME lays "
        "over these (any setting; a store table with `type` replaces that store, without "
        "it overrides some of its keys).",
        "additionalProperties": {
            "type": "object",
            "propertyNames": {"enum": sorted(set(schema["properties"]) - {"environments"})},
        },
    }
    return schema


def _store_types_named(table: Any) -> list[str]:
    """The `type` of each store table in a raw `[tool.datanectar]` table."""
    stores = table.get("stores") if isinstance(table, dict) else None
    if not isinstance(stores, dict):
        return []
    return [
        str(store["type"])
        for store in stores.values()
        if isinstance(store, dict) and "type" in store
    ]


def load_project(start: Path | str | None = None) -> ProjectConfig:
    """The project's settings: the base `[tool.datanectar]` table, with the environment
    DATANECTAR_ENV names laid over it (see `datanectar.environments`), then the DATANECTAR_*
    overrides. Every environment is validated, whichever is active, so that a mistake in one
    is found wherever the project loads."""
    pyproject = find_pyproject(start)
    raw = _read_toml(pyproject).get("tool", {}).get("datanectar", {})
    if not isinstance(raw, dict):
        raise ConfigError(
            file=pyproject,
            field="tool.datanectar",
            problem=f"expected a table, got {type(raw).__name__}.",
            fix="write [tool.datanectar] as a table of settings.",
        )
    environments = environment_tables(raw, file=pyproject)
    active = active_environment(environments, file=pyproject, env=os.environ)
    base = {key: value for key, value in raw.items() if key != ENVIRONMENTS_KEY}
    default_stores = {"local": default_store_table()}
    others: dict[str, Settings] = {}
    for name, overrides in environments.items():
        if name == active:
            continue  # validated below, with the DATANECTAR_* overrides
        merged = merged_settings(
            base, overrides, name=name, file=pyproject, default_stores=default_stores
        )
        others[name] = _validated(merged, pyproject, environment=(name, overrides))
    if active is not None:  # the base settings are an environment too, when another is active
        others[""] = _validated(base, pyproject, environment=None)
    table = base
    if active is not None:
        table = merged_settings(
            base, environments[active], name=active, file=pyproject, default_stores=default_stores
        )
    settings = _validated(
        _with_environment(table),
        pyproject,
        environment=(active, environments[active]) if active is not None else None,
    )
    return ProjectConfig(
        root=pyproject.parent,
        pyproject=pyproject,
        settings=settings,
        environment=active,
        environment_settings=others,
    )


def _validated(
    table: dict[str, Any], pyproject: Path, *, environment: tuple[str, dict[str, Any]] | None
) -> Settings:
    """`table` validated; errors name the field where it was written: in the environment's
    table (`tool.datanectar.environments.NAME.…`) when the environment gave it."""

    def prefix(path: list[Any]) -> list[str]:
        if environment is not None and given_by(environment[1], path):
            return ["tool", "datanectar", ENVIRONMENTS_KEY, environment[0]]
        return ["tool", "datanectar"]

    try:
        settings = settings_model(_store_types_named(table)).model_validate(table)
    except ValidationError as exc:
        raise _config_error(exc, pyproject, table, prefix=prefix) from None
    stores = settings.stores
    for index, mirror in enumerate(settings.mirrors):
        if mirror not in stores:
            raise ConfigError(
                file=pyproject,
                field=field_path([*prefix(["mirrors"]), "mirrors"]) + f"[{index}]",
                problem=f"unknown mirror '{mirror}'.{did_you_mean(mirror, stores)} Mirrors name "
                f"configured stores: {', '.join(sorted(stores))}.",
                fix=f"add [tool.datanectar.stores.{mirror}] or remove it from mirrors "
                f"(also check {ENV_OVERRIDES['mirrors']}).",
            )
    if settings.default_store not in stores:
        raise ConfigError(
            file=pyproject,
            field=field_path([*prefix(["default_store"]), "default_store"]),
            problem=f"store '{settings.default_store}' is not configured."
            f"{did_you_mean(settings.default_store, stores)} Stores: {', '.join(sorted(stores))}.",
            fix=f"add [tool.datanectar.stores.{settings.default_store}] or name a configured store.",
        )
    return settings


def _with_environment(table: dict[str, Any]) -> dict[str, Any]:
    """Apply DATANECTAR_* overrides; they are validated with the rest, naming the setting."""
    merged = dict(table)
    for setting, variable in ENV_OVERRIDES.items():
        value = os.environ.get(variable)
        if value is None:
            continue
        merged[setting] = (
            [part.strip() for part in value.split(",") if part.strip()]
            if setting == "mirrors"
            else value
        )
    return merged


def _config_error(
    exc: ValidationError,
    pyproject: Path,
    error_table: Any,
    *,
    prefix: Callable[[list[Any]], list[str]] = lambda path: ["tool", "datanectar"],
) -> ConfigError:
    """The first error, at the key the user wrote (`tool.datanectar.stores.NAME.FIELD`, or
    inside the environment that wrote it, as `prefix` says)."""
    error = exc.errors()[0]
    path, model = written_location(settings_model(_store_types_named(error_table)), error["loc"])
    field = field_path([*prefix(path), *path])
    table = field_path([*prefix(path), *path[:-1]])
    given, kind = error["input"], error["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found") and path[:1] == ["stores"]:
        store_type = given.get("type") if isinstance(given, Mapping) else None
        known = store_type_names()
        return ConfigError(
            file=pyproject,
            field=f"{field}.type",
            problem=f"unknown store type {store_type!r}.{did_you_mean(str(store_type), known)} "
            f"Store types: {', '.join(known)}.",
            fix=f"set type to one of {', '.join(repr(name) for name in known)} in [{field}].",
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return ConfigError(
            file=pyproject,
            field=field,
            problem=f"expected a table, got {type(given).__name__}.",
            fix=f"write [{field}] as a table of keys, or remove it.",
        )
    if kind == "extra_forbidden":
        key = str(path[-1])
        return ConfigError(
            file=pyproject,
            field=field,
            problem=f"unknown key '{key}'.{did_you_mean(key, model.model_fields)} The keys of "
            f"[{table}] are {', '.join(model.model_fields)}.",
            fix=f"rename '{key}' to one of those keys, or remove it.",
        )
    problem = error["msg"].removeprefix("Value error, ") + "."
    if kind == "missing" and str(path[-1]) in model.model_fields:
        key = str(path[-1])
        description = model.model_fields[key].description
        fix = f"add {key} to [{table}]" + (f": {description}" if description else ".")
        return ConfigError(file=pyproject, field=field, problem=problem, fix=fix)
    return ConfigError(file=pyproject, field=field, problem=problem)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file=path, field="(file)", problem=f"invalid TOML: {exc}.") from None

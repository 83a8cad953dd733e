"""`[tool.datanectar]` in pyproject.toml, parsed once into typed models."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError, DatanectarError, did_you_mean, field_path
from .stores import Store, StoreConfig, build_store, config_model, store_type_names

PROJECT_ENV = "DATANECTAR_PROJECT"
CacheMode = Literal["write", "overwrite", "read_only", "local", "offline", "off"]
# Settings that DATANECTAR_<NAME> overrides; lists are comma-separated.
ENV_OVERRIDES = {
    "default_store": "DATANECTAR_DEFAULT_STORE",
    "cache_mode": "DATANECTAR_CACHE_MODE",
    "local_cache": "DATANECTAR_LOCAL_CACHE",
    "mirrors": "DATANECTAR_MIRRORS",
    "memo_bytes": "DATANECTAR_MEMO_BYTES",
}


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
    executor: Literal["multiprocess", "in_process"] = Field(
        default="multiprocess",
        description="Dagster executor for the project's jobs: a process per step, or one process.",
    )
    stores: dict[str, Any] = Field(
        default_factory=lambda: {"local": {"type": "local"}},
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
    namespaces: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="How dynamic namespaces discover their keys, [tool.datanectar.namespaces.NAME].",
    )
    source_checks_schedule: str | None = Field(
        default=None,
        description="Cron schedule (e.g. '0 6 * * *') of the source_checks job, which runs the "
        "checks of the entries nothing produces; none by default.",
    )
    memo_bytes: int = Field(
        default=1 << 30,
        ge=0,
        description="Memory bound of the in-process memo of cached functions called with "
        "memoize=True.",
    )


class ProjectConfig(BaseModel):
    """Where a project is and what it configured."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path
    pyproject: Path
    settings: Settings
    stores: dict[str, StoreConfig]

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


def load_project(start: Path | str | None = None) -> ProjectConfig:
    pyproject = find_pyproject(start)
    table = _with_environment(_read_toml(pyproject).get("tool", {}).get("datanectar", {}))
    try:
        settings = Settings.model_validate(table)
    except ValidationError as exc:
        raise _config_error(exc, pyproject, "tool.datanectar", Settings) from None
    stores = {name: _store_config(pyproject, name, raw) for name, raw in settings.stores.items()}
    for index, mirror in enumerate(settings.mirrors):
        if mirror not in stores:
            raise ConfigError(
                file=pyproject,
                field=f"tool.datanectar.mirrors[{index}]",
                problem=f"unknown mirror '{mirror}'.{did_you_mean(mirror, stores)} Mirrors name "
                f"configured stores: {', '.join(sorted(stores))}.",
                fix=f"add [tool.datanectar.stores.{mirror}] or remove it from mirrors "
                f"(also check {ENV_OVERRIDES['mirrors']}).",
            )
    if settings.default_store not in stores:
        raise ConfigError(
            file=pyproject,
            field="tool.datanectar.default_store",
            problem=f"store '{settings.default_store}' is not configured."
            f"{did_you_mean(settings.default_store, stores)} Stores: {', '.join(sorted(stores))}.",
            fix=f"add [tool.datanectar.stores.{settings.default_store}] or name a configured store.",
        )
    return ProjectConfig(
        root=pyproject.parent, pyproject=pyproject, settings=settings, stores=stores
    )


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


def _store_config(pyproject: Path, name: str, raw: Any) -> StoreConfig:
    field = f"tool.datanectar.stores.{name}"
    if not isinstance(raw, dict) or raw.get("type") not in store_type_names():
        kind = raw.get("type") if isinstance(raw, dict) else None
        raise ConfigError(
            file=pyproject,
            field=f"{field}.type",
            problem=f"unknown store type {kind!r}.{did_you_mean(str(kind), store_type_names())} "
            f"Store types: {', '.join(store_type_names())}.",
        )
    model = config_model(raw["type"])
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(exc, pyproject, field, model) from None


def _config_error(
    exc: ValidationError, pyproject: Path, table: str, model: type[BaseModel]
) -> ConfigError:
    error = exc.errors()[0]
    problem = error["msg"].removeprefix("Value error, ") + "."
    if error["type"] == "extra_forbidden":
        given = str(error["loc"][-1])
        problem = (
            f"unknown key '{given}'.{did_you_mean(given, model.model_fields)} The keys of "
            f"[{table}] are {', '.join(model.model_fields)}."
        )
    return ConfigError(file=pyproject, field=f"{table}.{field_path(error['loc'])}", problem=problem)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file=path, field="(file)", problem=f"invalid TOML: {exc}.") from None

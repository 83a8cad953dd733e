"""Shared fixtures: throwaway projects on real disk, a real Dagster instance, PostgreSQL."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from runs import materialize_project

POSTGRES_ENV = "DATANECTAR_TEST_POSTGRES_URL"


class ProjectFactory:
    """Writes a project (pyproject.toml, catalog files, configuration) under a tmp dir."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(
        self,
        catalog: dict[str, str] | str = "",
        *,
        settings: str = "",
        stores: str = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n',
        globals_yaml: str | None = None,
        locals_yaml: str | None = None,
        modules: dict[str, str] | None = None,
    ) -> Path:
        files = {"main.yaml": catalog} if isinstance(catalog, str) else catalog
        module_names = list(modules or {})
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "pyproject.toml").write_text(
            "[project]\nname = 'example'\nversion = '0'\n\n[tool.datanectar]\n"
            'catalog = "catalog"\nconfiguration = "configuration"\n'
            f"modules = {module_names!r}\n{textwrap.dedent(settings)}\n{textwrap.dedent(stores)}"
        )
        for name, text in files.items():
            path = self.root / "catalog" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        (self.root / "catalog").mkdir(exist_ok=True)
        configuration = self.root / "configuration"
        configuration.mkdir(exist_ok=True)
        if globals_yaml is not None:
            (configuration / "globals.yaml").write_text(textwrap.dedent(globals_yaml))
        if locals_yaml is not None:
            (configuration / "locals.yaml").write_text(textwrap.dedent(locals_yaml))
        for module_name, source in (modules or {}).items():
            # Every test project may reuse a module name; never let one see another's module.
            sys.modules.pop(module_name, None)
            module_path = self.root / (module_name.replace(".", "/") + ".py")
            module_path.parent.mkdir(parents=True, exist_ok=True)
            module_path.write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        return self.root


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    return ProjectFactory(tmp_path / "project")


@pytest.fixture
def instance(tmp_path: Path):
    """A persistent (sqlite) Dagster instance under the test's tmp dir."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as test_instance:
        yield test_instance


@pytest.fixture
def materialize(instance) -> Callable[..., dg.ExecuteInProcessResult]:
    """Materialize a selection of a project's definitions in process, on the test instance."""

    def run(
        project: Path,
        selection: str | list[str] = "*",
        *,
        functions=None,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        return materialize_project(
            project, instance, selection, functions=functions, raise_on_error=raise_on_error
        )

    return run


@pytest.fixture
def hermetic_cache(monkeypatch: pytest.MonkeyPatch):
    """No DATANECTAR_* override, no Dagster instance, an empty process-wide memo."""
    from datanectar.cache.levels import MEMO
    from datanectar.config import ENV_OVERRIDES

    for variable in (*ENV_OVERRIDES.values(), "DATANECTAR_PROJECT", "DAGSTER_HOME"):
        monkeypatch.delenv(variable, raising=False)
    MEMO.clear()
    yield
    MEMO.clear()


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (CI sets it)")
    return url

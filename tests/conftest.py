"""Shared fixtures: throwaway projects on real disk, a real Dagster instance, PostgreSQL."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from datanectar.stores import local as local_store
from runs import materialize_project

POSTGRES_ENV = "DATANECTAR_TEST_POSTGRES_URL"


class ProjectFactory:
    """Writes a project (pyproject.toml, catalog files, configuration) under a tmp dir; given a
    `local_cache` folder, the project's local cache level lives there, not in ~/.cache."""

    def __init__(self, root: Path, *, local_cache: Path | None = None) -> None:
        self.root = root
        self.local_cache = local_cache

    def at(self, root: Path, *, local_cache: Path | None = None) -> ProjectFactory:
        """The same factory writing its project at `root`: a second project in one test (with
        a local cache level of its own when `local_cache` is given)."""
        return ProjectFactory(root, local_cache=local_cache or self.local_cache)

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
        if self.local_cache is not None:
            settings = f'local_cache = "{self.local_cache}"\n{settings}'
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
def make_cache_project(tmp_path: Path) -> ProjectFactory:
    """`make_project` for cached functions: the local cache level under the test's tmp dir."""
    return ProjectFactory(tmp_path / "project", local_cache=tmp_path / "local_cache")


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
        asset_config: dict[str, dict[str, Any]] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """`asset_config` is the run config of assets: {asset name: {cache arg: value}}."""
        ops = {name: {"config": values} for name, values in (asset_config or {}).items()}
        return materialize_project(
            project,
            instance,
            selection,
            functions=functions,
            raise_on_error=raise_on_error,
            run_config={"ops": ops},
        )

    return run


def exchange_supported(tmp_path: Path) -> bool:
    """Whether this system swaps a file and a folder atomically (Linux renameat2)."""
    a, b = tmp_path / "exchange-a", tmp_path / "exchange-b"
    a.write_text("a")
    b.mkdir()
    return local_store._exchange(str(a), str(b)) and a.is_dir() and b.read_text() == "a"


@pytest.fixture(params=["renameat2", "two-renames"])
def publish_mode(request, monkeypatch, tmp_path) -> str:
    """Folder publishes with the atomic exchange and with its two-renames fallback."""
    if request.param == "renameat2":
        if not exchange_supported(tmp_path):
            pytest.skip("renameat2(RENAME_EXCHANGE) is not supported here")
    else:
        monkeypatch.setattr(local_store, "_exchange", lambda a, b: False)
    return request.param


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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server for the whole session, on 127.0.0.1."""
    from s3_server import shared_endpoint

    yield shared_endpoint()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh bucket on the moto server, the AWS chain's variables set to its credentials
    (what a user's environment would hold), read back with boto3."""
    import boto3

    from s3_server import CREDENTIALS

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"dn-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    return S3Bucket(s3_endpoint, bucket, client)


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    bucket: str
    client: Any

    def store_toml(self, name: str = "lake", prefix: str = "") -> str:
        return (
            f'[tool.datanectar.stores.{name}]\ntype = "s3"\nbucket = "{self.bucket}"\n'
            f'prefix = "{prefix}"\nendpoint_url = "{self.endpoint}"\n'
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def storage_options(self) -> dict[str, Any]:
        return {"client_kwargs": {"endpoint_url": self.endpoint}}

    def delta_options(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ALLOW_HTTP": "true"}


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (CI sets it)")
    return url

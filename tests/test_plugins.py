"""The README's plug-in example, installed with pip as a distribution of its own and used
through Dagster: a format (NumPy arrays as .npy) and a store (this process's memory), found
through the entry point groups `datanectar.formats` and `datanectar.stores`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from datanectar.formats import Format
from datanectar.formats.pickle import PickleFormat

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
PIP_INSTALL = [
    sys.executable,
    "-m",
    "pip",
    "install",
    "--quiet",
    "--no-deps",
    "--no-build-isolation",
]


def readme_files(section: str) -> dict[str, str]:
    """The code blocks of a README section whose first line names a file (`# path`)."""
    body = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    files = {}
    for block in re.findall(r"```[a-z]*\n(.*?)```", body, flags=re.DOTALL):
        first, _, rest = block.partition("\n")
        if first.startswith("# "):
            files[first[2:].strip()] = rest
    return files


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """The plug-in distribution, written from the README and installed with pip into a
    folder of its own (never into the environment the rest of the suite runs in)."""
    source = tmp_path_factory.mktemp("nectar-extras")
    files = {**readme_files("Writing a format"), **readme_files("Writing a store")}
    for name in ("pyproject.toml", "nectar_extras/npy.py", "nectar_extras/memory.py"):
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[name])
    (source / "nectar_extras" / "__init__.py").write_text("")
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [*PIP_INSTALL, "--target", str(site), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert list(site.glob("nectar_extras-1.0.dist-info/entry_points.txt"))
    return site


def run(args: list[str], *, cwd: Path, site: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **{key: value for key, value in os.environ.items() if key != "DATANECTAR_PROJECT"},
        "PYTHONPATH": os.pathsep.join([str(site), str(cwd)]),
        "DAGSTER_HOME": str(home),
    }
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True)


def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


SCALED = """
import numpy as np
import datanectar

@datanectar.cache(format="npy", version="1")
def scaled(weights: np.ndarray) -> np.ndarray:
    return weights * 2
"""


def test_a_format_plugin_materializes_through_the_dagster_cli(make_project, plugin_site, tmp_path):
    catalog = readme_files("Writing a format")["catalog/main.yaml"]
    project = make_project(catalog, modules={"pipeline": SCALED})
    (project / "definitions.py").write_text(
        "from pathlib import Path\nimport datanectar\n\n"
        "defs = datanectar.definitions(Path(__file__).parent)\n"
    )
    weights = np.arange(12, dtype="float32").reshape(3, 4)
    (project / "data").mkdir()
    np.save(project / "data" / "weights.npy", weights)  # the source, as a user drops it there

    result = run(
        [str(BIN / "dagster"), "asset", "materialize", "-f", "definitions.py", "--select", "*"],
        cwd=project,
        site=plugin_site,
        home=dagster_home(tmp_path),
    )

    assert result.returncode == 0, result.stderr[-3000:]
    stored = np.load(project / "data" / "scaled.npy", allow_pickle=False)  # <entry>.npy
    np.testing.assert_array_equal(stored, weights * 2)
    assert stored.dtype == np.float32


def test_a_plugin_format_is_refused_with_the_registry_listed_when_not_installed(make_project):
    project = make_project("weights:\n  format: npy\n")
    result = subprocess.run(
        [sys.executable, "-c", "import datanectar; datanectar.catalog('.')"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "catalog/main.yaml" in result.stderr
    assert "unknown format 'npy'" in result.stderr
    assert "csv, delta, files, json, netcdf, parquet, pickle, sql, zarr" in result.stderr


STORE_RUN = """
import json, sys
from pathlib import Path
import dagster as dg
import fsspec
import numpy as np
import datanectar

project = Path(sys.argv[1])
defs = datanectar.definitions(project)
result = dg.materialize(
    [*defs.assets, *(defs.asset_checks or [])], resources=defs.resources,
    instance=dg.DagsterInstance.ephemeral(),
)
memory = fsspec.filesystem("memory")
with memory.open("/experiments/scaled.npy", "rb") as handle:
    scaled = np.load(handle, allow_pickle=False)
catalog = datanectar.catalog(project)
print(json.dumps({
    "success": result.success,
    "scaled": scaled.tolist(),
    "uri": str(catalog.location("scaled").uri),
    "files": sorted(memory.find("/experiments")),
}))
"""


def test_a_store_plugin_holds_entries_through_dagster(make_project, plugin_site, tmp_path):
    stores = readme_files("Writing a store")["the project's pyproject.toml"]
    project = make_project(
        "weights:\n  format: npy\n  store: scratch\n",
        modules={"pipeline": SCALED},
        settings='default_store = "scratch"\n',
        stores=stores,
    )
    # The source value goes in through datanectar itself: the memory store lives in the
    # process that runs the assets, so that process writes it first.
    script = textwrap.dedent(STORE_RUN).replace(
        "defs = datanectar.definitions(project)",
        "datanectar.catalog(project).save('weights', np.ones((2, 2)))\n"
        "defs = datanectar.definitions(project)",
    )
    result = run(
        [sys.executable, "-c", script, str(project)],
        cwd=project,
        site=plugin_site,
        home=dagster_home(tmp_path),
    )

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["success"]
    assert report["scaled"] == [[2.0, 2.0], [2.0, 2.0]]
    assert report["uri"] == "memory:///experiments/scaled.npy"
    data = [name for name in report["files"] if "/.datanectar/" not in name]
    assert data == ["/experiments/scaled.npy", "/experiments/weights.npy"]
    assert "/experiments/.datanectar/records/scaled/_.json" in report["files"]  # its record too
    assert not (project / "data").exists()  # nothing went to disk


def test_a_bad_store_plugin_config_names_the_table_and_field(make_project, plugin_site, tmp_path):
    project = make_project(
        "weights:\n  format: npy\n  store: scratch\n",
        stores='[tool.datanectar.stores.scratch]\ntype = "memory"\nrooot = "x"\n',
    )
    result = run(
        [sys.executable, "-c", "import datanectar; datanectar.catalog('.')"],
        cwd=project,
        site=plugin_site,
        home=dagster_home(tmp_path),
    )
    assert result.returncode != 0
    assert "pyproject.toml" in result.stderr
    assert "stores.scratch" in result.stderr
    assert "rooot" in result.stderr


class Pickled(PickleFormat):
    name = "pickled"


class Unfinished(Format):
    name = "unfinished"
    writes = ("builtins.bytes",)

    def accepts(self, value):
        return isinstance(value, bytes)


def test_a_format_plugin_that_misses_a_declaration_or_a_method_is_named_with_the_fix():
    from datanectar.errors import PluginError
    from datanectar.formats import format_class, register_format
    from datanectar.formats.registry import FORMATS

    try:
        register_format("unfinished", f"{__name__}:Unfinished")
        with pytest.raises(
            PluginError, match=r"'unfinished' \(registered.*does not implement read, write"
        ):
            format_class("unfinished")
        Unfinished.read = lambda self, location, *, options, as_type=None: None
        Unfinished.write = lambda self, value, location, *, options: None
        Unfinished.__abstractmethods__ = frozenset()
        with pytest.raises(PluginError, match=r"does not declare suffix"):
            format_class("unfinished")
    finally:
        FORMATS.refresh()


def test_register_adds_a_format_in_process_and_refuses_to_replace_one_silently():
    from datanectar.errors import PluginError
    from datanectar.formats import format_class, format_names, register_format
    from datanectar.formats.registry import FORMATS

    try:
        register_format("pickled", f"{__name__}:Pickled")
        assert "pickled" in format_names()
        assert format_class("pickled") is Pickled
        register_format("impostor", "datanectar.formats.pickle:PickleFormat")
        with pytest.raises(PluginError, match=r"PickleFormat.name is 'pickle'. Fix: set name"):
            format_class("impostor")
        with pytest.raises(PluginError, match="a format named 'csv' is registered already"):
            register_format("csv", "datanectar.formats.json:JsonFormat")
        register_format("broken", "datanectar.formats.json:no_such_class")
        with pytest.raises(PluginError, match=r"'broken'.*cannot be imported.*AttributeError"):
            format_class("broken")
        register_format("not_a_format", "datanectar.formats.registry:format_names")
        with pytest.raises(PluginError, match=r"not a subclass of datanectar\.formats\.Format"):
            format_class("not_a_format")
    finally:
        FORMATS.refresh()
    assert "pickled" not in format_names()


def test_two_distributions_naming_one_format_differently_is_an_error(monkeypatch):
    import importlib.metadata

    from datanectar.errors import PluginError
    from datanectar.plugins import PluginRegistry

    points = [
        importlib.metadata.EntryPoint("npy", "one:NpyFormat", "datanectar.formats"),
        importlib.metadata.EntryPoint("npy", "other:NpyFormat", "datanectar.formats"),
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
    registry = PluginRegistry(
        "datanectar.formats", kind="format", built_ins={"csv": "datanectar.formats.csv:CsvFormat"}
    )
    assert registry.names() == ["csv", "npy"]  # listing works: only using the name fails
    with pytest.raises(PluginError, match=r"two formats are named 'npy'.*Fix: uninstall one"):
        registry.load("npy")


def test_a_plugin_taking_a_built_in_name_is_ignored_with_a_warning(monkeypatch):
    import importlib.metadata

    from datanectar.plugins import PluginRegistry, PluginWarning

    point = importlib.metadata.EntryPoint("csv", "elsewhere:MyCsv", "datanectar.formats")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [point])
    registry = PluginRegistry(
        "datanectar.formats", kind="format", built_ins={"csv": "datanectar.formats.csv:CsvFormat"}
    )
    with pytest.warns(PluginWarning, match=r"'csv' = 'elsewhere:MyCsv'.*is ignored.*Fix: rename"):
        assert registry.load("csv").__name__ == "CsvFormat"  # the built-in stays


def test_the_built_ins_are_declared_as_entry_points_too():
    import tomllib

    from datanectar.formats.registry import BUILT_IN_FORMATS
    from datanectar.stores.registry import BUILT_IN_STORES

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    points = pyproject["project"]["entry-points"]
    assert points["datanectar.formats"] == BUILT_IN_FORMATS
    assert points["datanectar.stores"] == BUILT_IN_STORES


BROKEN_PYPROJECT = """
[project]
name = "nectar-broken"
version = "1.0"

[project.entry-points."datanectar.stores"]
gone = "nectar_broken.nope:Store"
copied = "nectar_broken.stores:CopiedStore"
"""

BROKEN_STORES = """
from typing import Literal

from datanectar.stores import StoreConfig
from datanectar.stores.local import LocalStore


class CopiedConfig(StoreConfig):
    type: Literal["memory"] = "memory"  # copied from another plug-in, not changed


class CopiedStore(LocalStore):
    type_name = "copied"
    config_model = CopiedConfig
"""


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    """A distribution whose store plug-ins are broken: one names a module that is not there,
    one has a config model whose `type` names another store type."""
    source = tmp_path_factory.mktemp("nectar-broken")
    (source / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (source / "nectar_broken").mkdir()
    (source / "nectar_broken" / "__init__.py").write_text("")
    (source / "nectar_broken" / "stores.py").write_text(BROKEN_STORES)
    site = tmp_path_factory.mktemp("broken-site")
    subprocess.run(
        [*PIP_INSTALL, "--target", str(site), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    return site


def open_catalog(project: Path, site: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run(
        [sys.executable, "-c", "import datanectar; datanectar.catalog('.')"],
        cwd=project,
        site=site,
        home=dagster_home(tmp_path),
    )


def test_a_broken_store_plugin_breaks_only_the_projects_that_use_it(
    make_project, broken_site, tmp_path
):
    fine = make_project("x:\n  format: json\n")
    assert open_catalog(fine, broken_site, tmp_path).returncode == 0

    gone = make_project(  # the same project, now with a store of the broken type
        "x:\n  format: json\n",
        settings='default_store = "g"\n',
        stores='[tool.datanectar.stores.g]\ntype = "gone"\n',
    )
    failed = open_catalog(gone, broken_site, tmp_path)
    assert failed.returncode != 0
    assert "the store type 'gone' (distribution nectar-broken" in failed.stderr
    assert "Fix: reinstall nectar-broken, or correct its entry point" in failed.stderr


def test_a_store_plugin_whose_config_names_another_type_is_named_with_the_fix(
    make_project, broken_site, tmp_path
):
    copied = make_project(
        "x:\n  format: json\n",
        settings='default_store = "c"\n',
        stores='[tool.datanectar.stores.c]\ntype = "copied"\n',
    )
    failed = open_catalog(copied, broken_site, tmp_path)
    assert failed.returncode != 0
    assert "the store type 'copied' (distribution nectar-broken" in failed.stderr
    assert "must declare `type: Literal['copied'] = 'copied'`" in failed.stderr
    assert "Traceback" not in failed.stderr.split("PluginError")[-1]

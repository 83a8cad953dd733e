"""Symlinks never lead a local store outside its root, for reads, writes and removals.

A symlinked folder or file at any depth of an entry's path (the final component too) whose
target is outside the store's root is refused, and nothing outside changes; symlinks that stay
inside the root keep working, a root that is itself a symlink works, and publishing replaces a
link planted at the final location instead of writing through it. Every test works from the
user's side (a throwaway project, `datanectar.catalog`) and reads what is stored with the
storage libraries themselves.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr
from deltalake import DeltaTable, write_deltalake

import datanectar
from datanectar.errors import StoreError
from datanectar.stores import local as local_store
from datanectar.targets import Target

STAGING_PREFIX = ".datanectar-staging-"


# -- formats: a value, and how the storage library writes and reads it --------------------------


def table(variant: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": np.arange(4, dtype="int64") + 10 * variant, "label": [f"v{variant}"] * 4}
    )


def grid(variant: int) -> xr.Dataset:
    return xr.Dataset(
        {"air": (("lat", "lon"), np.full((2, 3), float(variant)))},
        coords={"lat": [40.0, 50.0], "lon": [0.0, 5.0, 10.0]},
    )


def assert_frames(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual.reset_index(drop=True), expected)


def assert_grids(actual: xr.Dataset, expected: xr.Dataset) -> None:
    xr.testing.assert_equal(actual, expected)


def assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def write_zarr(value: xr.Dataset, path: Path) -> None:
    value.to_zarr(path, mode="w", zarr_format=2, consolidated=True)


def read_zarr(path: Path) -> xr.Dataset:
    with xr.open_zarr(path) as dataset:
        return dataset.load()


def write_delta(value: pd.DataFrame, path: Path) -> None:
    write_deltalake(str(path), pa.Table.from_pandas(value, preserve_index=False))


def read_delta(path: Path) -> pd.DataFrame:
    return DeltaTable(str(path)).to_pandas().sort_values("id")


@dataclass(frozen=True)
class Case:
    format: str
    suffix: str
    sample: Callable[[int], Any]
    write: Callable[[Any, Path], None]
    read: Callable[[Path], Any]
    same: Callable[[Any, Any], None]
    folder: bool = False

    def __str__(self) -> str:
        return self.format


CASES = [
    Case(
        "parquet",
        ".parquet",
        table,
        lambda value, path: pq.write_table(pa.Table.from_pandas(value, preserve_index=False), path),
        lambda path: pq.read_table(path).to_pandas(),
        assert_frames,
    ),
    Case(
        "csv",
        ".csv",
        table,
        lambda value, path: value.to_csv(path, index=False),
        pd.read_csv,
        assert_frames,
    ),
    Case(
        "json",
        ".json",
        lambda variant: {"variant": variant, "stations": ["a", "b"]},
        lambda value, path: path.write_text(json.dumps(value)),
        lambda path: json.loads(path.read_text()),
        assert_equal,
    ),
    Case(
        "pickle",
        ".pkl",
        lambda variant: {"variant": variant, "pair": (1, 2)},
        lambda value, path: path.write_bytes(pickle.dumps(value)),
        lambda path: pickle.loads(path.read_bytes()),
        assert_equal,
    ),
    Case("zarr", ".zarr", grid, write_zarr, read_zarr, assert_grids, folder=True),
    Case("delta", "", table, write_delta, read_delta, assert_frames, folder=True),
]
# Delta is transactional: it writes in place, never staged nor published by the store.
STAGED = [case for case in CASES if case.format != "delta"]
FORMATS = pytest.mark.parametrize("case", CASES, ids=str)
STAGED_FORMATS = pytest.mark.parametrize("case", STAGED, ids=str)


# -- layouts: where the symlink leading outside sits in the entry's path ----------------------


def link_folder(data: Path, outside: Path, name: str) -> str:
    """data/link -> outside (absolute); the entry is under the link."""
    (data / "link").symlink_to(outside, target_is_directory=True)
    return f"link/{name}"


def link_nested_relative(data: Path, outside: Path, name: str) -> str:
    """data/a/b -> ../../outside (relative, two levels down); a new entry goes deeper still,
    under a folder that does not exist yet."""
    (data / "a").mkdir()
    os.symlink(os.path.relpath(outside, data / "a"), data / "a" / "b")
    return f"a/b/{name}" if (outside / name).exists() else f"a/b/deep/{name}"


def link_final(data: Path, outside: Path, name: str) -> str:
    """data/<name> -> outside/<name>: the final component itself (dangling if absent there)."""
    os.symlink(outside / name, data / name)
    return name


LAYOUTS = pytest.mark.parametrize(
    "layout", [link_folder, link_nested_relative, link_final], ids=["folder", "nested", "final"]
)


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every store root, with a file that must never change."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_bytes(b"not datanectar's\n")
    return folder


def snapshot(folder: Path) -> dict[str, Any]:
    """Everything under `folder`, byte for byte (links recorded as links, never followed)."""
    found: dict[str, Any] = {}
    for current, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(current) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_dir():
                found[key] = ("folder",)
            else:
                found[key] = ("file", path.read_bytes())
    return found


def project_with(make_project, case: Case, path: str, name: str = "victim") -> Path:
    project = make_project(f"{name}:\n  format: {case.format}\n  path: {path}\n")
    (project / "data").mkdir(exist_ok=True)
    return project


def layout_project(make_project, case: Case, layout, outside: Path) -> tuple[Path, str]:
    """A project whose entry `victim` leads outside through the layout's symlink."""
    data = make_project.root / "data"
    data.mkdir(parents=True)
    path = layout(data, outside, f"victim{case.suffix}")
    return project_with(make_project, case, path), path


def assert_refused(error: pytest.ExceptionInfo[StoreError], path: str) -> None:
    """The message names the catalog file, the entry, the store and the relative path."""
    message = str(error.value)
    assert "main.yaml: entry 'victim', field 'path'" in message
    assert f"path {path!r} in store 'local' resolves through a symlink" in message
    assert "outside the store's root" in message


def staging_leftovers(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob(f"{STAGING_PREFIX}*")]


# -- refused: writes, reads, removals through a symlink leading outside -----------------------


@FORMATS
@LAYOUTS
@pytest.mark.parametrize("prior", ["absent", "present"])
def test_write_through_a_symlink_leading_outside_is_refused(
    make_project, outside, case, layout, prior
):
    if prior == "present":
        case.write(case.sample(0), outside / f"victim{case.suffix}")
    project, path = layout_project(make_project, case, layout, outside)
    before = snapshot(outside)

    with pytest.raises(StoreError) as error:
        datanectar.catalog(project).save("victim", case.sample(1))

    assert_refused(error, path)
    assert snapshot(outside) == before
    assert staging_leftovers(project / "data") == []


@FORMATS
@LAYOUTS
def test_read_through_a_symlink_leading_outside_is_refused(make_project, outside, case, layout):
    case.write(case.sample(0), outside / f"victim{case.suffix}")
    project, path = layout_project(make_project, case, layout, outside)
    catalog = datanectar.catalog(project)

    with pytest.raises(StoreError) as error:
        catalog.load("victim")
    assert_refused(error, path)
    # `exists` raises rather than answering False: the data is there, only refused, and a
    # False would send a materialization or a cached function off to recompute a value whose
    # save is then refused anyway; the error names the link to fix at once.
    with pytest.raises(StoreError) as error:
        catalog.exists("victim")
    assert_refused(error, path)


@FORMATS
@LAYOUTS
def test_removal_through_a_symlink_leading_outside_is_refused(make_project, outside, case, layout):
    case.write(case.sample(0), outside / f"victim{case.suffix}")
    project, path = layout_project(make_project, case, layout, outside)
    catalog = datanectar.catalog(project)
    before = snapshot(outside)

    with pytest.raises(StoreError) as error:
        catalog.storage.remove(Target.of(catalog.entry("victim")))

    assert_refused(error, path)
    assert snapshot(outside) == before
    case.same(case.read(outside / f"victim{case.suffix}"), case.sample(0))


def test_read_of_a_file_symlinked_to_a_secret_is_refused(make_project, outside):
    (outside / "secret.csv").write_text("station,password\nparis,hunter2\n")
    project = make_project("stations:\n  format: csv\n")
    (project / "data").mkdir()
    os.symlink(outside / "secret.csv", project / "data" / "stations.csv")
    catalog = datanectar.catalog(project)

    with pytest.raises(StoreError, match=r"entry 'stations'.*'stations\.csv' in store 'local'"):
        catalog.load("stations")
    with pytest.raises(StoreError, match="outside the store's root"):
        catalog.exists("stations")


# -- publishing replaces a link at the final location, never writes through it ----------------


@STAGED_FORMATS
def test_a_link_at_the_final_location_inside_the_root_is_replaced(make_project, case, publish_mode):
    name = f"victim{case.suffix}"
    project = project_with(make_project, case, name)
    data = project / "data"
    (data / "v2").mkdir()
    case.write(case.sample(0), data / "v2" / name)
    os.symlink(Path("v2") / name, data / name)
    target_before = snapshot(data / "v2")

    datanectar.catalog(project).save("victim", case.sample(1))

    assert not (data / name).is_symlink()
    case.same(case.read(data / name), case.sample(1))
    assert snapshot(data / "v2") == target_before
    case.same(case.read(data / "v2" / name), case.sample(0))
    assert staging_leftovers(data) == []


@STAGED_FORMATS
def test_a_link_planted_at_the_final_location_while_writing_is_refused(make_project, outside, case):
    """Planted after the location was resolved, before publishing: checked again, refused."""
    name = f"victim{case.suffix}"
    case.write(case.sample(0), outside / name)
    project = project_with(make_project, case, name)
    catalog = datanectar.catalog(project)
    before = snapshot(outside)

    def plant(staged) -> None:
        assert staged is not None
        os.symlink(outside / name, project / "data" / name)

    with pytest.raises(StoreError, match=r"'victim[.a-z]*' in store 'local' resolves through"):
        catalog.storage.save(Target.of(catalog.entry("victim")), case.sample(1), gate=plant)

    assert snapshot(outside) == before
    assert staging_leftovers(project / "data") == []


@STAGED_FORMATS
def test_a_link_planted_at_the_final_location_after_the_check_is_not_followed(
    make_project, outside, case, publish_mode, monkeypatch
):
    """The worst race: the link appears between the last check and the rename itself."""
    name = f"victim{case.suffix}"
    case.write(case.sample(0), outside / name)
    project = project_with(make_project, case, name)
    data = project / "data"
    catalog = datanectar.catalog(project)
    catalog.save("victim", case.sample(2))  # a previous value: folders are then exchanged
    before = snapshot(outside)
    final = str(data / name)

    def plant() -> None:
        if os.path.isdir(final):
            shutil.rmtree(final)
        else:
            os.remove(final)
        os.symlink(outside / name, final)

    real_replace, real_exchange = os.replace, local_store._exchange

    def replace(source, target, **kwargs):
        if os.fspath(target) == final:
            plant()
        return real_replace(source, target, **kwargs)

    def exchange(a: str, b: str) -> bool:
        plant()
        return real_exchange(a, b) if publish_mode == "renameat2" else False

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(local_store, "_exchange", exchange)
    catalog.save("victim", case.sample(1))

    assert not (data / name).is_symlink()
    case.same(case.read(data / name), case.sample(1))
    assert snapshot(outside) == before
    assert staging_leftovers(data) == []


# -- allowed: symlinks inside the root, and a root that is a symlink --------------------------


@FORMATS
def test_symlinked_folders_inside_the_root_work(make_project, case):
    name = f"obs{case.suffix}"
    project = project_with(make_project, case, f"current/{name}", name="obs")
    data = project / "data"
    (data / "v2").mkdir()
    os.symlink("v2", data / "current")  # data/current -> data/v2
    catalog = datanectar.catalog(project)

    catalog.save("obs", case.sample(1))

    assert (data / "current").is_symlink()
    case.same(case.read(data / "v2" / name), case.sample(1))
    case.same(catalog.load("obs"), case.sample(1))
    # A value put there by other means (written beside it, then renamed into place: another
    # object than the one published, which its manifest does not describe) reads through
    # the link too.
    fresh = data / "v2" / f"fresh-{name}"
    case.write(case.sample(3), fresh)
    if case.folder:
        shutil.rmtree(data / "v2" / name)
    else:
        (data / "v2" / name).unlink()
    fresh.rename(data / "v2" / name)
    assert catalog.exists("obs")
    case.same(catalog.load("obs"), case.sample(3))


@FORMATS
def test_a_root_that_is_a_symlink_works(make_project, tmp_path, outside, case):
    name = f"obs{case.suffix}"
    project = make_project(
        {"main.yaml": f"obs:\n  format: {case.format}\n", "more.yaml": "victim:\n  format: json\n"}
    )
    real = tmp_path / "real-data"
    real.mkdir()
    (project / "data").symlink_to(real, target_is_directory=True)
    catalog = datanectar.catalog(project)

    catalog.save("obs", case.sample(1))

    case.same(case.read(real / name), case.sample(1))
    assert catalog.exists("obs")
    case.same(catalog.load("obs"), case.sample(1))
    # Escapes are still judged against the folder the root resolves to.
    os.symlink(outside / "victim.json", real / "victim.json")
    with pytest.raises(StoreError, match=r"'victim\.json' in store 'local' resolves through"):
        catalog.save("victim", {"x": 1})
    assert snapshot(outside) == {"keep.txt": ("file", b"not datanectar's\n")}

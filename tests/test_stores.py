"""Stores: relative paths that can never leave a store's root, and atomic publishing on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import datanectar
from datanectar.errors import StoreError
from datanectar.stores import Location, Store, normalize_relative_path

STAGING_PREFIX = ".datanectar-staging-"


# -- normalize_relative_path ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("..", "contains '..' and could escape the store root"),
        ("../x.csv", "contains '..' and could escape the store root"),
        ("a/../..", "contains '..' and could escape the store root"),
        ("a/../../b", "contains '..' and could escape the store root"),
        ("a\\..\\..\\b", "contains '..' and could escape the store root"),
        ("/etc/passwd", "is absolute; paths are relative to their store's root"),
        ("\\\\server\\share", "is absolute; paths are relative to their store's root"),
        ("C:\\x", "is absolute; paths are relative to their store's root"),
        ("c:x", "is absolute; paths are relative to their store's root"),
        ("s3://bucket/x", "is absolute; paths are relative to their store's root"),
        ("file:///etc/passwd", "is absolute; paths are relative to their store's root"),
        ("a\x00b", "contains a NUL byte"),
        (".", "names the store root itself, not an object in it"),
        ("./", "names the store root itself, not an object in it"),
        ("a/..", "contains '..' and could escape the store root"),
    ],
)
def test_hostile_paths_are_refused(path, problem):
    with pytest.raises(StoreError) as info:
        normalize_relative_path(path)
    assert str(info.value) == f"storage path {path!r} {problem}"


@pytest.mark.parametrize("path", ["", "   ", None, 7])
def test_empty_or_non_string_paths_are_refused(path):
    with pytest.raises(StoreError, match=r"^a storage path must be a non-empty string$"):
        normalize_relative_path(path)


@pytest.mark.parametrize(
    ("path", "clean"),
    [
        ("a//b/./c", "a/b/c"),
        ("./x.csv", "x.csv"),
        ("folder/", "folder"),
        ("a\\b\\c.nc", "a/b/c.nc"),
        ("x.zarr", "x.zarr"),
        ("..x/y..", "..x/y.."),
        ("silver/observations", "silver/observations"),
    ],
)
def test_normal_paths_are_normalized(path, clean):
    assert normalize_relative_path(path) == clean


# -- local store ------------------------------------------------------------------------------


@pytest.fixture
def store(make_project) -> Store:
    """The `local` store of a fresh project, rooted at its `data` folder."""
    project = make_project("x:\n  format: zarr\n")
    store = datanectar.catalog(project).location("x").store
    assert Path(store.root) == project.resolve() / "data"
    return store


def write_tree(path: Path, files: dict[str, str]) -> None:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)


def read_tree(path: Path) -> dict[str, str]:
    return {
        str(file.relative_to(path)): file.read_text()
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def staging_leftovers(store: Store) -> list[str]:
    return [
        str(path.relative_to(store.root))
        for path in Path(store.root).rglob("*")
        if path.name.startswith(STAGING_PREFIX)
    ]


def staged_for(store: Store, relative: str) -> tuple[Location, Location, Path, Path]:
    """The final location, a staging sibling, and both as real paths (parent created)."""
    final = store.location(relative)
    store.prepare(final)
    staged = final.staging()
    return final, staged, Path(final.path), Path(staged.path)


def test_publish_a_new_file(store, publish_mode):
    final, staged, final_path, staged_path = staged_for(store, "sub/x.csv")
    staged_path.write_text("new")
    store.publish(staged, final)
    assert final_path.read_text() == "new"
    assert staging_leftovers(store) == []


def test_publish_replaces_a_file(store, publish_mode):
    final, staged, final_path, staged_path = staged_for(store, "x.csv")
    final_path.write_text("old")
    staged_path.write_text("new")
    store.publish(staged, final)
    assert final_path.read_text() == "new"
    assert sorted(os.listdir(store.root)) == ["x.csv"]


def test_publish_a_new_directory(store, publish_mode):
    final, staged, final_path, staged_path = staged_for(store, "grids/x.zarr")
    write_tree(staged_path, {".zgroup": "{}", "t/0.0": "new"})
    store.publish(staged, final)
    assert read_tree(final_path) == {".zgroup": "{}", "t/0.0": "new"}
    assert staging_leftovers(store) == []


def test_publish_replaces_a_directory(store, publish_mode):
    final, staged, final_path, staged_path = staged_for(store, "grids/x.zarr")
    write_tree(final_path, {".zgroup": "old", "t/0.0": "old", "t/0.1": "old", "old_only": "x"})
    write_tree(staged_path, {".zgroup": "{}", "t/0.0": "new"})
    store.publish(staged, final)
    assert read_tree(final_path) == {".zgroup": "{}", "t/0.0": "new"}
    assert staging_leftovers(store) == []
    assert sorted(os.listdir(final_path.parent)) == ["x.zarr"]


def test_publish_a_file_over_a_directory(store, publish_mode):
    final, staged, final_path, staged_path = staged_for(store, "x.zarr")
    write_tree(final_path, {".zgroup": "old", "t/0.0": "old"})
    staged_path.write_text("a file now")
    store.publish(staged, final)
    assert final_path.is_file()
    assert final_path.read_text() == "a file now"
    assert sorted(os.listdir(store.root)) == ["x.zarr"]


@pytest.mark.parametrize(
    "publish_mode",
    [
        pytest.param(
            "renameat2",
        ),
        "two-renames",
    ],
    indirect=True,
)
def test_publish_a_directory_over_a_file(store, publish_mode):
    final, staged, final_path, staged_path = staged_for(store, "x.zarr")
    final_path.write_text("old file")
    write_tree(staged_path, {".zgroup": "{}", "t/0.0": "new"})
    store.publish(staged, final)
    assert read_tree(final_path) == {".zgroup": "{}", "t/0.0": "new"}
    assert staging_leftovers(store) == []
    assert sorted(os.listdir(store.root)) == ["x.zarr"]


def test_remove_a_file_and_a_directory_and_nothing(store):
    _, _, file_path, _ = staged_for(store, "a/x.csv")
    file_path.write_text("x")
    write_tree(Path(store.root) / "a" / "y.zarr", {"t/0.0": "x"})
    store.remove(store.location("a/x.csv"))
    store.remove(store.location("a/y.zarr"))
    store.remove(store.location("a/never-written.csv"))
    assert os.listdir(Path(store.root) / "a") == []


def test_size_of_a_file_and_of_a_directory(store):
    _, _, file_path, _ = staged_for(store, "x.csv")
    file_path.write_text("12345")
    write_tree(Path(store.root) / "x.zarr", {"a": "123", "sub/b": "1234567"})
    assert store.size(store.location("x.csv")) == 5
    assert store.size(store.location("x.zarr")) == 10


def test_store_locations_refuse_hostile_paths(store):
    with pytest.raises(StoreError, match="could escape the store root"):
        store.location("../outside.csv")
    with pytest.raises(StoreError, match="is absolute"):
        store.location(str(Path(store.root).parent / "outside.csv"))


def test_location_path_and_uri_are_under_the_root(store):
    location = store.location("a/b.csv")
    assert location.path == str(Path(store.root) / "a" / "b.csv")
    assert location.uri == location.path
    assert location.name == "b.csv"


# -- Location.staging -------------------------------------------------------------------------


def test_staging_is_a_hidden_unique_sibling_in_the_same_folder(store):
    final = store.location("grids/daily/x.zarr")
    first, second = final.staging(), final.staging()
    assert first.store is final.store
    for staged in (first, second):
        folder, name = staged.relative.rsplit("/", 1)
        assert folder == "grids/daily"
        assert name.startswith(STAGING_PREFIX)
        assert name.endswith("-x.zarr")
        assert Path(staged.path).parent == Path(final.path).parent
    assert first.relative != second.relative


def test_staging_of_a_top_level_object_stays_at_the_top(store):
    staged = store.location("x.csv").staging()
    assert "/" not in staged.relative
    assert staged.relative.startswith(STAGING_PREFIX)
    assert staged.relative.endswith("-x.csv")
    assert Path(staged.path).parent == Path(store.root)


def test_save_leaves_no_staging_behind(make_project):
    project = make_project("x:\n  format: json\n")
    catalog = datanectar.catalog(project)
    catalog.save("x", {"v": 1})
    catalog.save("x", {"v": 2})
    assert catalog.load("x") == {"v": 2}
    # the value, and datanectar's own folder (its manifest), nothing else
    assert sorted(os.listdir(project / "data")) == [".datanectar", "x.json"]
    assert os.listdir(project / "data" / ".datanectar") == ["manifests"]


def test_an_unreachable_database_names_the_store_and_what_to_check(make_project, monkeypatch):
    import pandas as pd

    import datanectar

    monkeypatch.setenv("WH_URL", "postgresql+psycopg2://reader:Pw0rd-x9@127.0.0.1:1/db")
    project = make_project(
        "t:\n  format: sql\n  store: wh\n",
        stores='[tool.datanectar.stores.local]\ntype = "local"\n'
        '[tool.datanectar.stores.wh]\ntype = "sql"\nurl_env = "WH_URL"\n',
    )
    with pytest.raises(datanectar.errors.DatanectarError) as info:
        datanectar.catalog(project).save("t", pd.DataFrame({"a": [1]}))
    message = str(info.value)
    assert "entry 't'" in message and "store 'wh' (sql, URL in WH_URL) cannot be reached" in message
    assert "Fix: check that the database is running" in message
    assert "Pw0rd-x9" not in message

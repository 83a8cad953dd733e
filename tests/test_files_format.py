"""The files format: a file or folder a tool produced, copied into the store through the
Python API and through Dagster, on local disk and on S3 (moto's server), read back with
pathlib, filecmp and boto3; a replaced folder on S3 never shows half; what cannot be copied
safely (a missing path, a symlink leading out of the folder) is refused, naming it."""

from __future__ import annotations

import filecmp
import json
import os
from pathlib import Path

import pytest

import datanectar
from datanectar.errors import DatanectarError, FormatTypeError
from datanectar.formats import files as files_format
from datanectar.stores import Location
from runs import failure_messages, materialize_project

CATALOG = """
model: {format: files}
report: {format: files, path: reports/summary.txt}
"""

FUNCTIONS = """
import os
from pathlib import Path

import datanectar

SOURCE = Path(os.environ["FILES_TEST_SOURCE"])


@datanectar.asset(entry="model")
def model() -> Path:
    folder = SOURCE / "trained"
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"layers": 3}')
    (folder / "weights" / "w.bin").write_bytes(bytes(range(256)) * 4)
    return folder


@datanectar.asset(entry="report")
def report(model: Path) -> Path:
    assert isinstance(model, Path), type(model)
    text = (model / "config.json").read_text() + str(sorted(p.name for p in model.iterdir()))
    out = SOURCE / "summary.txt"
    out.write_text(text)
    return out
"""


def model_folder(root: Path, version: int = 1) -> Path:
    folder = root / f"model-v{version}"
    (folder / "weights" / "deep").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"version": version}))
    (folder / "weights" / "w.bin").write_bytes(bytes([version]) * 5000)
    (folder / "weights" / "deep" / "notes.txt").write_text(f"notes {version}\n")
    return folder


def same_tree(left: Path, right: Path) -> bool:
    compared = filecmp.dircmp(left, right)
    pending = [compared]
    while pending:
        current = pending.pop()
        if current.left_only or current.right_only or current.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(
            current.left, current.right, current.common_files, shallow=False
        )
        if mismatch or errors:
            return False
        pending.extend(current.subdirs.values())
    return True


def tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


@pytest.fixture
def download_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "download-cache"
    monkeypatch.setenv(files_format.CACHE_VARIABLE, str(folder))
    return folder


# -- local store -------------------------------------------------------------------------


def test_a_file_and_a_folder_saved_on_local_disk(make_project, tmp_path) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    folder = model_folder(tmp_path)
    report = tmp_path / "summary.txt"
    report.write_text("all good\n")

    written = catalog.save("model", folder)
    assert written.bytes_written == tree_size(folder)
    assert catalog.save("report", str(report)).bytes_written == report.stat().st_size

    stored = project / "data" / "model"
    assert stored.is_dir() and same_tree(folder, stored)
    assert filecmp.cmp(report, project / "data" / "reports" / "summary.txt", shallow=False)
    # a load gives the stored path itself
    assert catalog.load("model") == stored
    assert catalog.load("report") == project / "data" / "reports" / "summary.txt"


def test_a_folder_replaced_by_a_folder_then_by_a_file(make_project, tmp_path) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    catalog.save("model", model_folder(tmp_path, 1))
    second = model_folder(tmp_path, 2)
    (second / "weights" / "deep" / "notes.txt").unlink()  # gone from the new value too
    catalog.save("model", second)
    stored = project / "data" / "model"
    assert same_tree(second, stored)
    single = tmp_path / "model.bin"
    single.write_bytes(b"one file now")
    catalog.save("model", single)
    assert stored.is_file() and stored.read_bytes() == b"one file now"
    # no staging left beside it (datanectar's own folder holds the manifests)
    assert sorted(p.name for p in (project / "data").iterdir()) == [".datanectar", "model"]


def test_symlinks_inside_the_folder_are_copied_as_their_content(make_project, tmp_path) -> None:
    project = make_project(CATALOG)
    folder = model_folder(tmp_path)
    (folder / "latest.json").symlink_to("config.json")
    (folder / "all-weights").symlink_to(folder / "weights")
    datanectar.catalog(project).save("model", folder)
    stored = project / "data" / "model"
    assert not (stored / "latest.json").is_symlink()
    assert (stored / "latest.json").read_text() == (folder / "config.json").read_text()
    assert not (stored / "all-weights").is_symlink()
    assert same_tree(folder / "weights", stored / "all-weights")


def test_a_symlink_leading_out_of_the_folder_is_refused_naming_it(make_project, tmp_path) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    secret = tmp_path / "secret.txt"
    secret.write_text("not to be copied")
    folder = model_folder(tmp_path)
    (folder / "weights" / "leak").symlink_to(secret)
    with pytest.raises(FormatTypeError) as info:
        catalog.save("model", folder)
    message = str(info.value)
    assert "entry 'model'" in message
    assert str(folder / "weights" / "leak") in message and "outside the folder" in message
    assert not (project / "data" / "model").exists()
    assert not any("secret" in p.name for p in (project / "data").rglob("*"))


def test_a_symlink_loop_and_a_broken_symlink_are_refused(make_project, tmp_path) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    folder = model_folder(tmp_path)
    (folder / "weights" / "up").symlink_to(folder)
    with pytest.raises(FormatTypeError, match="contains it"):
        catalog.save("model", folder)
    (folder / "weights" / "up").unlink()
    (folder / "dangling").symlink_to(folder / "missing.txt")
    with pytest.raises(FormatTypeError, match="points to nothing") as info:
        catalog.save("model", folder)
    assert str(folder / "dangling") in str(info.value)


def test_a_missing_source_path_names_the_entry_and_the_path(make_project, tmp_path) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    missing = tmp_path / "never-written"
    with pytest.raises(FormatTypeError) as info:
        catalog.save("model", missing)
    message = str(info.value)
    assert "entry 'model'" in message and f"'{missing}' does not exist" in message
    assert "Fix:" in message
    with pytest.raises(FormatTypeError, match=r"it writes pathlib\.Path"):
        catalog.save("model", 42)
    with pytest.raises(DatanectarError, match="no data at"):
        catalog.load("model")


def test_through_dagster_on_local_disk(
    make_project, instance, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "tool-output"
    monkeypatch.setenv("FILES_TEST_SOURCE", str(source))
    project = make_project(CATALOG, modules={"files_functions": FUNCTIONS})
    result = materialize_project(project, instance)
    assert result.success
    stored = project / "data" / "model"
    assert same_tree(source / "trained", stored)
    summary = project / "data" / "reports" / "summary.txt"
    assert filecmp.cmp(source / "summary.txt", summary, shallow=False)
    assert summary.read_text() == '{"layers": 3}' + str(["config.json", "weights"])
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey("model"))
    metadata = event.asset_materialization.metadata
    assert metadata["bytes_written"].value == tree_size(source / "trained")
    assert metadata["dagster/uri"].value == str(stored)


def test_a_missing_path_returned_by_an_asset_fails_naming_entry_and_path(
    make_project, instance, tmp_path
) -> None:
    missing = tmp_path / "nothing-here"
    functions = f"""
from pathlib import Path
import datanectar

@datanectar.asset(entry="model")
def model() -> Path:
    return Path({str(missing)!r})
"""
    project = make_project("model: {format: files}\n", modules={"files_missing": functions})
    result = materialize_project(project, instance, raise_on_error=False)
    assert not result.success
    messages = failure_messages(result)
    assert "entry 'model'" in messages and f"'{missing}' does not exist" in messages


def test_the_catalog_knows_the_format(make_project) -> None:
    from runs import catalog_error

    error = catalog_error(make_project, "model: {format: file}\n")
    assert "files" in str(error)
    assert datanectar.catalog(make_project("model: {format: files}\n")).location("model")


def test_one_folder_per_namespace(make_project, tmp_path) -> None:
    project = make_project(
        'model: {format: files, path: "models/{city}", '
        "namespaces: [{name: city, values: [paris, lyon]}]}\n"
    )
    catalog = datanectar.catalog(project)
    paris, lyon = model_folder(tmp_path / "paris"), model_folder(tmp_path / "lyon", 2)
    catalog.save("model", paris, namespace="paris")
    catalog.save("model", lyon, namespace="lyon")
    assert same_tree(paris, project / "data" / "models" / "paris")
    assert same_tree(lyon, project / "data" / "models" / "lyon")
    assert catalog.load("model", namespace="lyon") == project / "data" / "models" / "lyon"


def test_the_io_manager_of_a_plain_dagster_asset(tmp_path, instance) -> None:
    import dagster as dg

    folder = model_folder(tmp_path)

    @dg.asset(io_manager_key="files")
    def trained() -> Path:
        return folder

    @dg.asset(io_manager_key="files")
    def checked(trained: Path) -> Path:
        out = tmp_path / "checked.txt"
        out.write_text(str(sorted(p.name for p in trained.iterdir())))
        return out

    root = tmp_path / "store"
    resources = {"files": datanectar.FormatIOManager(format="files", root=str(root))}
    assert dg.materialize([trained, checked], resources=resources, instance=instance).success
    assert same_tree(folder, root / "trained")
    assert (root / "checked").read_text() == str(["config.json", "weights"])


# -- s3 ------------------------------------------------------------------------------------


def s3_project(make_project, s3, catalog: str = CATALOG, modules=None) -> Path:
    return make_project(
        catalog,
        settings='default_store = "lake"\n',
        stores=s3.store_toml(prefix="prod"),
        modules=modules,
    )


def published(s3, key: str, into: Path) -> Path:
    """What readers of `key` see, downloaded with boto3 alone: the prefix its pointer names
    (a folder), else the object itself (a file)."""
    client = s3.client
    try:
        body = client.get_object(Bucket=s3.bucket, Key=key + ".datanectar-pointer")["Body"]
    except client.exceptions.NoSuchKey:
        into.parent.mkdir(parents=True, exist_ok=True)
        into.write_bytes(client.get_object(Bucket=s3.bucket, Key=key)["Body"].read())
        return into
    prefix = key.rsplit("/", 1)[0] + "/" + json.loads(body.read())["prefix"] + "/"
    into.mkdir(parents=True)
    for name in s3.keys(prefix):
        target = into / name[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get_object(Bucket=s3.bucket, Key=name)["Body"].read())
    return into


def test_a_file_and_a_folder_saved_on_s3(make_project, s3, tmp_path, download_cache) -> None:
    project = s3_project(make_project, s3)
    catalog = datanectar.catalog(project)
    folder = model_folder(tmp_path)
    report = tmp_path / "summary.txt"
    report.write_text("all good\n")

    written = catalog.save("model", folder)
    assert written.bytes_written == tree_size(folder)
    assert written.uri.startswith(f"s3://{s3.bucket}/prod/model.v")  # its own version prefix
    catalog.save("report", report)
    assert same_tree(folder, published(s3, "prod/model", tmp_path / "got" / "model"))
    body = s3.client.get_object(Bucket=s3.bucket, Key="prod/reports/summary.txt")["Body"].read()
    assert body == report.read_bytes()
    # no staging left: the folder's version and its pointer, and the file
    keys = s3.keys("prod/")
    assert "prod/model.datanectar-pointer" in keys and "prod/reports/summary.txt" in keys
    assert {key.split("/")[1].split(".v")[0] for key in keys} == {
        ".datanectar",  # the folder value's manifest
        "model",
        "model.datanectar-pointer",
        "reports",
    }

    loaded = catalog.load("model")
    assert isinstance(loaded, Path) and download_cache in loaded.parents
    assert same_tree(folder, loaded)
    loaded_report = catalog.load("report")
    assert loaded_report.read_bytes() == report.read_bytes()


def count_fetches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URIs the files format downloads from here on, in order."""
    fetched: list[str] = []
    fetch = files_format._fetch
    monkeypatch.setattr(
        files_format,
        "_fetch",
        lambda location, to: (fetched.append(location.uri), fetch(location, to)),
    )
    return fetched


def test_loads_from_s3_download_once_per_published_version(
    make_project, s3, tmp_path, download_cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = s3_project(make_project, s3)
    catalog = datanectar.catalog(project)
    catalog.save("model", model_folder(tmp_path, 1))
    fetched = count_fetches(monkeypatch)
    first = catalog.load("model")
    assert datanectar.catalog(project).load("model") == first  # another process would too
    assert len(fetched) == 1
    second = model_folder(tmp_path, 2)
    catalog.save("model", second)
    again = catalog.load("model")
    assert again != first and len(fetched) == 2 and same_tree(second, again)
    # a single file: keyed by its ETag
    single = tmp_path / "summary.txt"
    single.write_text("v1")
    catalog.save("report", single)
    one = catalog.load("report")
    assert catalog.load("report") == one and len(fetched) == 3
    single.write_text("v2, longer")
    catalog.save("report", single)
    two = catalog.load("report")
    assert two != one and two.read_text() == "v2, longer" and len(fetched) == 4


def test_a_versioned_folder_on_s3_is_downloaded_once_per_version(
    make_project, s3, tmp_path, download_cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version's folder is immutable: every load of it reads one downloaded copy, and the
    download cache holds one copy per version, however often it is loaded."""
    project = s3_project(make_project, s3, "trained:\n  format: files\n  versioned: {keep: 10}\n")
    catalog = datanectar.catalog(project)
    first = catalog.save("trained", model_folder(tmp_path, 1)).version
    fetched = count_fetches(monkeypatch)
    loaded = catalog.load("trained")
    assert datanectar.catalog(project).load("trained") == loaded
    assert same_tree(model_folder(tmp_path / "again", 1), loaded) and len(fetched) == 1
    second = catalog.save("trained", model_folder(tmp_path / "two", 2)).version
    assert catalog.load("trained", version=second) != loaded
    assert catalog.load("trained", version=first) == loaded and len(fetched) == 2
    assert len(os.listdir(download_cache / "files")) == 2
    # a copy changed on this machine is caught, dropped, and fetched again by the next load
    (loaded / "weights" / "w.bin").write_bytes(b"\xff" * 5000)
    with pytest.raises(datanectar.VersionMismatchError) as info:
        catalog.load("trained", version=first)
    assert "weights/w.bin" in str(info.value) and f"version '{first}'" in str(info.value)
    again = catalog.load("trained", version=first)
    assert same_tree(model_folder(tmp_path / "third", 1), again) and len(fetched) == 3


def test_a_folder_replaced_on_s3_never_shows_half(
    make_project, s3, tmp_path, download_cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = s3_project(make_project, s3)
    catalog = datanectar.catalog(project)
    first = model_folder(tmp_path, 1)
    catalog.save("model", first)
    second = model_folder(tmp_path, 2)
    for index in range(5):
        (second / f"extra-{index}.txt").write_text(str(index))

    seen: list[bool] = []

    class Watched:
        """The store's filesystem, looking at what readers see before each upload."""

        def __init__(self, fs):
            self.fs = fs

        def __getattr__(self, name):
            return getattr(self.fs, name)

        def put_file(self, lpath, rpath, *args, **kwargs):
            seen.append(same_tree(first, published(s3, "prod/model", tmp_path / f"s{len(seen)}")))
            if len(seen) == 4:
                raise OSError("the network went away mid-write")
            return self.fs.put_file(lpath, rpath, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(Location, "fs", property(lambda self: Watched(self.store.filesystem)))
        with pytest.raises(DatanectarError, match="network went away"):
            catalog.save("model", second)
    assert seen == [True] * 4
    assert same_tree(first, published(s3, "prod/model", tmp_path / "after-failure"))
    assert not [key for key in s3.keys("prod/") if ".v" in key and "extra-" in key]

    catalog.save("model", second)
    assert same_tree(second, published(s3, "prod/model", tmp_path / "after-publish"))
    # replaced by one file, then by a folder again: readers see each value whole
    single = tmp_path / "model.bin"
    single.write_bytes(b"a single file")
    catalog.save("model", single)
    assert published(s3, "prod/model", tmp_path / "single").read_bytes() == b"a single file"
    assert catalog.load("model").read_bytes() == b"a single file"
    catalog.save("model", first)
    assert same_tree(first, published(s3, "prod/model", tmp_path / "folder-again"))
    assert same_tree(first, catalog.load("model"))


def test_an_empty_folder_on_s3_is_refused(make_project, s3, tmp_path) -> None:
    project = s3_project(make_project, s3)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FormatTypeError, match="holds no files") as info:
        datanectar.catalog(project).save("model", empty)
    assert "entry 'model'" in str(info.value)


def test_through_dagster_on_s3(
    make_project, instance, s3, tmp_path, download_cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "tool-output"
    monkeypatch.setenv("FILES_TEST_SOURCE", str(source))
    project = s3_project(make_project, s3, modules={"files_s3_functions": FUNCTIONS})
    result = materialize_project(project, instance)
    assert result.success
    assert same_tree(source / "trained", published(s3, "prod/model", tmp_path / "got" / "model"))
    body = s3.client.get_object(Bucket=s3.bucket, Key="prod/reports/summary.txt")["Body"].read()
    assert body == (source / "summary.txt").read_bytes()
    assert body.decode() == '{"layers": 3}' + str(["config.json", "weights"])
    assert os.listdir(download_cache)  # the downstream asset read a downloaded copy


# -- http (read-only: single files, a server lists no folders) -----------------------------


def test_a_file_served_over_http_loads_as_a_local_copy(
    make_project, tmp_path, download_cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    from http_server import serving, touch_later

    served_root = tmp_path / "served"
    (served_root / "reports").mkdir(parents=True)
    served_file = served_root / "reports" / "summary.pdf"
    served_file.write_bytes(b"%PDF-1.4 not really" * 100)
    fetched = count_fetches(monkeypatch)
    with serving(served_root) as served:
        project = make_project(
            "report: {format: files, store: portal, path: reports/summary.pdf}\n",
            stores='[tool.datanectar.stores.local]\ntype = "local"\n'
            f'[tool.datanectar.stores.portal]\ntype = "http"\nbase_url = "{served.base_url}"\n',
        )
        catalog = datanectar.catalog(project)
        loaded = catalog.load("report")
        assert download_cache in loaded.parents and filecmp.cmp(served_file, loaded, shallow=False)
        assert catalog.load("report") == loaded and len(fetched) == 1
        served_file.write_bytes(b"%PDF-1.4 a new one")
        touch_later(served_file)
        again = catalog.load("report")
        assert again != loaded and again.read_bytes() == b"%PDF-1.4 a new one"
        with pytest.raises(DatanectarError, match="read-only"):
            catalog.save("report", served_file)

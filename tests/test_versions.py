"""Versioned entries on the local store and on S3 (moto): every write a new immutable version
with a manifest whose sha256s the test recomputes from the stored bytes itself (hashlib over
files, boto3 over objects), identical content stored once, pinned and several-version loads,
a flipped byte caught, labels never reused, and retention that spares the latest and pinned."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import xarray as xr

import datanectar
from datanectar.errors import CatalogError, DatanectarError, StorageIOError
from runs import catalog_error

CATALOG = """\
coefficients:
  format: pickle
  path: models/coefficients
  versioned: true
  properties: {framework: sklearn, owner: forecasting}
grid:
  format: zarr
  versioned: {keep: 2}
fixed:
  format: json
  versioned: {label: "release-1"}
"""


class Backend:
    """Where the project keeps its data, and the stored bytes read back without datanectar."""

    def __init__(self, make_project, s3=None) -> None:
        self.s3 = s3
        stores = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n' + (
            s3.store_toml(prefix="prod") if s3 else ""
        )
        settings = 'default_store = "lake"\n' if s3 else ""
        self.project = make_project(CATALOG, stores=stores, settings=settings)
        self.catalog = datanectar.catalog(self.project)

    def read(self, relative: str) -> bytes:
        """The bytes at `relative` (a path under the store root)."""
        if self.s3 is None:
            return (self.project / "data" / relative).read_bytes()
        answer = self.s3.client.get_object(Bucket=self.s3.bucket, Key=f"prod/{relative}")
        return answer["Body"].read()

    def names(self, relative: str) -> list[str]:
        """Every stored file under `relative`, relative to it."""
        if self.s3 is None:
            root = self.project / "data" / relative
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        prefix = f"prod/{relative}/"
        return [key[len(prefix) :] for key in self.s3.keys(prefix)]

    def flip_a_byte(self, relative: str) -> None:
        data = bytearray(self.read(relative))
        data[len(data) // 2] ^= 0xFF
        if self.s3 is None:
            (self.project / "data" / relative).write_bytes(bytes(data))
        else:
            self.s3.client.put_object(Bucket=self.s3.bucket, Key=f"prod/{relative}", Body=data)


@pytest.fixture(params=["local", "s3"])
def backend(request, make_project) -> Backend:
    if request.param == "s3":
        return Backend(make_project, request.getfixturevalue("s3"))
    return Backend(make_project)


def producing_project(make_project) -> Path:
    """The catalog with `coefficients` produced by a Dagster asset giving {"a": 1}."""
    return make_project(
        CATALOG,
        modules={
            "versioned_functions": """
                import datanectar

                @datanectar.asset(entry="coefficients")
                def coefficients() -> dict:
                    return {"a": 1}
            """
        },
    )


def manifest_of(backend: Backend, entry_path: str, label: str) -> dict:
    return json.loads(backend.read(f"{entry_path}/_manifests/{label}.json"))


def test_each_write_is_a_version_whose_manifest_matches_its_bytes(backend) -> None:
    catalog = backend.catalog
    first = catalog.save("coefficients", {"a": [1.0, 2.0]})
    second = catalog.save("coefficients", {"a": [3.0]})
    assert first.version != second.version
    for report, value in ((first, {"a": [1.0, 2.0]}), (second, {"a": [3.0]})):
        manifest = manifest_of(backend, "models/coefficients", report.version)
        [file] = manifest["files"]
        stored = backend.read(f"models/coefficients/{report.version}/coefficients")
        assert pickle.loads(stored) == value
        assert file["sha256"] == hashlib.sha256(stored).hexdigest()
        assert file["size"] == len(stored)
        assert manifest["properties"] == {"framework": "sklearn", "owner": "forecasting"}
        assert manifest["format"] == "pickle" and manifest["label"] == report.version
        assert manifest["content_hash"] == report.content_hash
    latest = json.loads(backend.read("models/coefficients/_latest.json"))
    assert latest["label"] == second.version
    assert catalog.load("coefficients") == {"a": [3.0]}
    assert catalog.load("coefficients", version=first.version) == {"a": [1.0, 2.0]}
    both = catalog.load("coefficients", version=[first.version, second.version])
    assert both == {first.version: {"a": [1.0, 2.0]}, second.version: {"a": [3.0]}}
    assert [m.label for m in catalog.versions("coefficients")] == [first.version, second.version]


def test_identical_content_is_stored_once(backend) -> None:
    catalog = backend.catalog
    first = catalog.save("coefficients", {"same": 1})
    again = catalog.save("coefficients", {"same": 1})
    assert again.deduplicated and not first.deduplicated
    assert again.content_hash == first.content_hash
    stored = [name for name in backend.names("models/coefficients") if "/" in name]
    data = [name for name in stored if not name.startswith("_")]
    assert data == [f"{first.version}/coefficients"], stored
    manifest = manifest_of(backend, "models/coefficients", again.version)
    assert manifest["stored_with"] == first.version
    assert catalog.load("coefficients", version=again.version) == {"same": 1}


def test_a_flipped_byte_is_caught_naming_entry_version_and_file(backend) -> None:
    catalog = backend.catalog
    report = catalog.save("coefficients", {"a": list(range(100))})
    backend.flip_a_byte(f"models/coefficients/{report.version}/coefficients")
    with pytest.raises(StorageIOError) as info:
        catalog.load("coefficients")
    message = str(info.value)
    assert "entry 'coefficients'" in message and f"version '{report.version}'" in message
    assert "file 'coefficients'" in message and "sha256" in message


def test_a_deleted_zarr_chunk_is_caught(backend) -> None:
    catalog = backend.catalog
    grid = xr.Dataset({"air": (("t", "x"), np.arange(20.0).reshape(4, 5))}).chunk({"t": 2})
    report = catalog.save("grid", grid)
    # where the bytes are: on S3 a folder value stays under the prefix it was written to
    data = manifest_of(backend, "grid.zarr", report.version)["data"]
    assert data.startswith(f"grid.zarr/{report.version}/")
    chunks = [n for n in backend.names(data) if n.startswith("air/") and "/." not in n]
    assert chunks
    victim = f"{data}/{chunks[-1]}"
    if backend.s3 is None:
        (backend.project / "data" / victim).unlink()
    else:
        backend.s3.client.delete_object(Bucket=backend.s3.bucket, Key=f"prod/{victim}")
    with pytest.raises(StorageIOError) as info:
        catalog.load("grid")
    assert "is missing" in str(info.value) and chunks[-1] in str(info.value)


def test_a_label_that_exists_is_refused_and_the_version_kept(backend) -> None:
    catalog = backend.catalog
    catalog.save("fixed", {"v": 1})
    with pytest.raises(DatanectarError) as info:
        catalog.save("fixed", {"v": 2})
    assert "entry 'fixed'" in str(info.value) and "'release-1' exists already" in str(info.value)
    assert catalog.load("fixed") == {"v": 1}
    assert catalog.load("fixed", version="release-1") == {"v": 1}


def test_a_failed_write_leaves_the_latest_as_it_was(backend) -> None:
    catalog = backend.catalog
    report = catalog.save("coefficients", {"a": 1})
    with pytest.raises(DatanectarError):
        catalog.save("coefficients", {"cannot": lambda: None})  # pickling fails mid-write
    assert catalog.load("coefficients") == {"a": 1}
    assert [m.label for m in catalog.versions("coefficients")] == [report.version]
    # nothing of the failed write is left: no folder of a label that never was
    if backend.s3 is None:  # empty folders too
        folders = {p.name for p in (backend.project / "data/models/coefficients").iterdir()}
    else:
        folders = {name.split("/")[0] for name in backend.names("models/coefficients")}
    assert folders == {report.version, "_manifests", "_content", "_claims", "_latest.json"}, folders


def test_keep_prunes_old_versions_but_never_the_latest_or_a_pinned_one(backend) -> None:
    catalog = backend.catalog
    labels = []
    for step in range(4):
        grid = xr.Dataset({"air": ("x", np.full(3, float(step)))})
        labels.append(catalog.save("grid", grid).version)
    assert [m.label for m in catalog.versions("grid")] == labels[-2:]
    assert not [n for n in backend.names("grid.zarr") if n.startswith(labels[0])]
    # by hand: keep one, spare a pinned one
    catalog.save("coefficients", {"a": 1})
    pinned = catalog.save("coefficients", {"a": 2}).version
    catalog.save("coefficients", {"a": 3})
    last = catalog.save("coefficients", {"a": 4}).version
    going = catalog.prune("coefficients", keep=1, pinned=frozenset({pinned}), dry_run=True)
    assert len(going) == 2 and pinned not in going and last not in going
    assert len(catalog.versions("coefficients")) == 4  # a dry run removes nothing
    assert catalog.prune("coefficients", keep=1, pinned=frozenset({pinned})) == going
    assert [m.label for m in catalog.versions("coefficients")] == [pinned, last]
    assert catalog.load("coefficients", version=pinned) == {"a": 2}


def test_an_unknown_version_lists_the_versions(backend) -> None:
    catalog = backend.catalog
    report = catalog.save("coefficients", {"a": 1})
    with pytest.raises(DatanectarError) as info:
        catalog.load("coefficients", version="nope")
    assert "no version 'nope'" in str(info.value) and report.version in str(info.value)


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        ("  format: delta\n  versioned: true\n", "versioned", "keeps its own versions"),
        ("  format: pickle\n  versioned: {label: '{nope}'}\n", "versioned", "'nope'"),
        (
            "  format: pickle\n  versioned: true\n  properties: {'bad name': 1}\n",
            "properties",
            "bad name",
        ),
        ("  format: pickle\n  properties: {a: 1}\n", "properties", "not versioned"),
    ],
)
def test_versioning_mistakes_are_catalog_errors(make_project, body, field, said) -> None:
    error = catalog_error(make_project, f"thing:\n{body}")
    assert isinstance(error, CatalogError) and error.entry == "thing"
    assert field in str(error.field) and said in str(error), str(error)


def test_a_materialization_records_the_version(make_project, instance) -> None:
    from runs import materialize_project

    project = producing_project(make_project)
    with _no_warnings():  # none about what datanectar chose (Dagster's beta data_version)
        result = materialize_project(project, instance, ["coefficients"])
    [event] = result.asset_materializations_for_node("coefficients")
    metadata = {key: value.value for key, value in event.metadata.items()}
    label = metadata["datanectar/version"]
    root = Path(project) / "data" / "models" / "coefficients"
    manifest = json.loads((root / "_manifests" / f"{label}.json").read_text())
    assert metadata["datanectar/content_hash"] == manifest["content_hash"]
    assert metadata["datanectar/manifest"].endswith(f"_manifests/{label}.json")


def test_the_versions_command_lists_shows_and_prunes(backend, capsys) -> None:
    from datanectar.cli import main

    catalog = backend.catalog
    labels = [catalog.save("coefficients", {"a": step}).version for step in (1, 1, 2)]

    def run(*arguments: str) -> str:
        capsys.readouterr()
        assert (
            main(["--project", str(backend.project), "versions", "coefficients", *arguments]) == 0
        )
        return capsys.readouterr().out

    listed = json.loads(run("--json"))
    assert [item["label"] for item in listed] == labels
    for item in listed:
        [file] = item["files"]
        stored = backend.read(item["data"])
        assert file["sha256"] == hashlib.sha256(stored).hexdigest() and file["size"] == len(stored)
        assert item["properties"] == {"framework": "sklearn", "owner": "forecasting"}
        assert item["created"] and item["content_hash"]
    table = run()
    assert table.splitlines()[0].split() == [
        "LABEL",
        "AGE",
        "SIZE",
        "CONTENT",
        "BYTES",
        "PROPERTIES",
    ]
    assert f"= {labels[0]}" in table  # the second reuses the first's bytes
    assert json.loads(run("--show", labels[2]))["label"] == labels[2]
    said = run("--prune", "--keep", "1", "--dry-run")
    assert said.startswith("would remove 2 version(s) of coefficients")
    assert len(catalog.versions("coefficients")) == 3
    run("--prune", "--keep", "1", "--pin", labels[1])
    assert [m.label for m in catalog.versions("coefficients")] == labels[1:]
    assert catalog.load("coefficients", version=labels[1]) == {"a": 1}  # bytes of the pruned first


def test_the_content_hash_is_the_data_version_so_staleness_follows_content(
    make_project, instance
) -> None:
    """Rematerializing the same bytes leaves what reads them fresh; other bytes make it stale
    (Dagster's own data versions would count every run as a change)."""
    from dagster._core.definitions.data_version import StaleStatus

    from runs import materialize_project
    from test_cache_dagster import stale_resolver

    def project_with(value: int) -> Path:
        return make_project(
            CATALOG + "summary:\n  format: json\n",
            modules={
                "versioned_functions": f"""
                    import datanectar

                    @datanectar.asset(entry="coefficients", version="1")
                    def coefficients() -> dict:
                        return {{"a": {value}}}

                    @datanectar.asset(entry="summary", version="1")
                    def summary(coefficients: dict) -> dict:
                        return {{"n": len(coefficients)}}
                """
            },
        )

    project = project_with(1)
    result = materialize_project(project, instance, ["coefficients", "summary"])
    [first] = result.asset_materializations_for_node("coefficients")
    label = first.metadata["datanectar/version"].value
    manifest = json.loads(
        (project / "data/models/coefficients/_manifests" / f"{label}.json").read_text()
    )
    assert first.tags["dagster/data_version"] == manifest["content_hash"]
    materialize_project(project, instance, ["coefficients"])  # the same bytes again
    resolver = stale_resolver(instance, datanectar.definitions(project))
    assert resolver.get_status(dg.AssetKey("summary")) == StaleStatus.FRESH
    project = project_with(2)
    materialize_project(project, instance, ["coefficients"])
    resolver = stale_resolver(instance, datanectar.definitions(project))
    assert resolver.get_status(dg.AssetKey("summary")) == StaleStatus.STALE


def test_a_step_loads_a_pinned_version_from_its_code_or_from_run_config(
    make_project, instance
) -> None:
    from runs import materialize_project

    project = make_project(CATALOG + "summary:\n  format: json\n")
    catalog = datanectar.catalog(project)
    first = catalog.save("coefficients", {"a": 1}).version
    second = catalog.save("coefficients", {"a": 2}).version
    catalog.save("coefficients", {"a": 3})

    def summary_from(pins: dict[str, str] | None) -> list:
        @datanectar.asset(entry="summary", versions=pins)
        def summary(coefficients: dict) -> dict:
            return {"a": coefficients["a"]}

        return [summary]

    def stored_summary() -> dict:
        return json.loads((project / "data" / "summary.json").read_text())

    materialize_project(project, instance, ["summary"], functions=summary_from(None))
    assert stored_summary() == {"a": 3}  # the latest
    pinned = summary_from({"coefficients": first})
    materialize_project(project, instance, ["summary"], functions=pinned)
    assert stored_summary() == {"a": 1}
    # the launchpad's run config overrides the code's pin
    config = {"ops": {"summary": {"config": {"versions": {"coefficients": second}}}}}
    materialize_project(project, instance, ["summary"], functions=pinned, run_config=config)
    assert stored_summary() == {"a": 2}


def test_pinning_a_parameter_that_is_no_input_is_an_error() -> None:
    with pytest.raises(DatanectarError) as info:

        @datanectar.asset(versions={"model": "v1"})
        def summary(coefficients: dict) -> dict:
            return coefficients

    assert "versions names 'model'" in str(info.value)


def test_delta_entries_load_their_own_table_versions(make_project, capsys) -> None:
    """Each commit of a Delta table loads as deltalake reads it, by number; the versions
    command lists the table's history; an entry with no versions says so."""
    import deltalake
    import pandas as pd

    from datanectar.cli import main

    project = make_project("readings:\n  format: delta\nplain:\n  format: json\n")
    catalog = datanectar.catalog(project)
    for step in range(3):
        catalog.save("readings", pd.DataFrame({"value": [step, step + 10]}))
    path = str(project / "data" / "readings")
    table = deltalake.DeltaTable(path)
    assert table.version() == 2
    for version in range(3):
        expected = deltalake.DeltaTable(path, version=version).to_pandas()
        pd.testing.assert_frame_equal(catalog.load("readings", version=version), expected)
    capsys.readouterr()
    assert main(["--project", str(project), "versions", "readings", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h["version"] for h in history] == [2, 1, 0]
    with pytest.raises(DatanectarError) as info:
        catalog.load("readings", version=99)
    assert "no version 99" in str(info.value) and "0..2" in str(info.value)
    catalog.save("plain", {"a": 1})
    with pytest.raises(DatanectarError) as info:
        catalog.load("plain", version="x")
    assert "entry 'plain'" in str(info.value) and "not versioned" in str(info.value)


def test_a_run_names_the_label_of_the_version_it_writes(make_project, instance) -> None:
    from runs import materialize_project

    project = producing_project(make_project)

    def run_with(label: str) -> dg.ExecuteInProcessResult:
        config = {"ops": {"coefficients": {"config": {"version_label": label}}}}
        return materialize_project(
            project, instance, ["coefficients"], run_config=config, raise_on_error=False
        )

    assert run_with("release-1").success
    assert [m.label for m in datanectar.catalog(project).versions("coefficients")] == ["release-1"]
    again = run_with("release-1")
    assert not again.success
    failure = again.get_step_failure_events()[0].step_failure_data.error
    assert "'release-1' exists already" in str(failure.cause or failure.message)
    bad = run_with("no spaces allowed")
    assert not bad.success
    assert "is not a name" in str(bad.get_step_failure_events()[0].step_failure_data.error)


def test_a_label_another_writer_holds_is_refused_before_any_byte_is_written(backend) -> None:
    """Two writers of one label: the one that did not claim it first writes nothing where
    the other's bytes go (on S3 an upload would replace them)."""
    catalog = backend.catalog
    claim = "fixed.json/_claims/release-1"
    if backend.s3 is None:
        (backend.project / "data" / claim).parent.mkdir(parents=True)
        (backend.project / "data" / claim).write_bytes(b"")
    else:
        backend.s3.client.put_object(Bucket=backend.s3.bucket, Key=f"prod/{claim}", Body=b"")
    with pytest.raises(DatanectarError) as info:
        catalog.save("fixed", {"v": 2})
    assert "another writer is writing it" in str(info.value)
    assert not [n for n in backend.names("fixed.json") if n.startswith("release-1/")]


def test_templates_take_a_plain_writes_values_too(make_project) -> None:
    project = make_project(
        "runs:\n  format: json\n  versioned: {label: 'v-{date}-{run_id}'}\n"
        "cities:\n  format: json\n  namespaces: [paris, lyon]\n"
        "  versioned: {label: '{partition}-{run_id}'}\n"
    )
    catalog = datanectar.catalog(project)
    first, second = catalog.save("runs", {"a": 1}), catalog.save("runs", {"a": 1})
    assert first.version.startswith("v-") and first.version != second.version
    assert catalog.save("cities", {"a": 1}, namespace="paris").version.startswith("paris-")
    error = catalog_error(make_project, "x:\n  format: json\n  versioned: {label: '{partition}'}\n")
    assert error.field == "versioned.label" and "no namespaces" in str(error)


def test_keep_never_prunes_a_version_the_code_pins(make_project, instance) -> None:
    from runs import materialize_project

    project = make_project(CATALOG + "summary:\n  format: json\n")
    catalog = datanectar.catalog(project)
    pinned = catalog.save("grid", xr.Dataset({"v": ("x", np.zeros(2))})).version

    @datanectar.asset(entry="summary", versions={"grid": pinned})
    def summary(grid: xr.Dataset) -> dict:
        return {"total": float(grid["v"].sum())}

    catalog = datanectar.catalog(project, functions=[summary])
    for step in range(1, 4):  # keep: 2
        catalog.save("grid", xr.Dataset({"v": ("x", np.full(2, float(step)))}))
    assert pinned in [m.label for m in catalog.versions("grid")]
    materialize_project(project, instance, ["summary"], functions=[summary])
    assert json.loads((project / "data" / "summary.json").read_text()) == {"total": 0.0}


def _no_warnings():
    import warnings

    class Strict:
        def __enter__(self):
            self._context = warnings.catch_warnings()
            self._context.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *exc):
            return self._context.__exit__(*exc)

    return Strict()


def test_the_versions_command_refuses_what_it_cannot_do(backend, capsys) -> None:
    from datanectar.cli import main

    catalog = backend.catalog
    catalog.save("coefficients", {"a": 1})

    def run(*arguments: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--project", str(backend.project), "versions", *arguments])
        return code, capsys.readouterr().err

    for arguments, said in (
        (("coefficients", "--prune", "--keep", "0"), "--keep is at least 1"),
        (("coefficients", "--keep", "1"), "go with --prune"),
        (("coefficients", "--prune", "--keep", "1", "--pin", "nope"), "--pin nope"),
    ):
        code, err = run(*arguments)
        assert code == 2 and said in err, (arguments, err)
    assert len(catalog.versions("coefficients")) == 1


def test_a_pinned_input_with_a_label_that_does_not_exist_says_so(make_project, instance) -> None:
    from runs import materialize_project

    project = make_project(CATALOG + "summary:\n  format: json\n")
    datanectar.catalog(project).save("coefficients", {"a": 1})

    @datanectar.asset(entry="summary")
    def summary(coefficients: dict) -> dict:
        return coefficients

    for pins, said in (
        ({"coefficients": "nope"}, "no version 'nope'"),
        ({"coeficients": "nope"}, "did you mean 'coefficients'"),
    ):
        config = {"ops": {"summary": {"config": {"versions": pins}}}}
        result = materialize_project(
            project,
            instance,
            ["summary"],
            functions=[summary],
            run_config=config,
            raise_on_error=False,
        )
        assert not result.success
        error = str(result.get_step_failure_events()[0].step_failure_data.error)
        assert said in error.lower() or said in error, error
        assert "no longer there" not in error

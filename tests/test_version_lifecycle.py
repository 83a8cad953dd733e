"""Versions over their whole life: a label naming the content, a write killed by SIGKILL
(latest untouched, its leftovers swept), versions written by cached calls and by namespaces,
a prune during a run that pins an older version, and removal that keeps the history."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

import datanectar
import test_versions
from datanectar.errors import (
    CatalogError,
    StorageIOError,
    VersionExistsError,
    VersionMismatchError,
)
from runs import materialize_project
from test_versions import CATALOG

backend = test_versions.backend  # the fixture: the project on the local store, then on S3


def test_a_label_naming_the_content_written_again_is_that_version(make_project) -> None:
    project = make_project("model:\n  format: json\n  versioned: {label: 'c-{content_hash}'}\n")
    catalog = datanectar.catalog(project)
    first = catalog.save("model", {"a": 1})
    other = catalog.save("model", {"a": 2})
    again = catalog.save("model", {"a": 1})
    assert again.version == first.version != other.version
    assert again.deduplicated and again.bytes_written == 0
    assert again.content_hash == first.content_hash
    latest = json.loads((project / "data/model.json/_latest.json").read_text())
    assert latest == {"label": first.version}
    assert catalog.load("model") == {"a": 1}
    assert [m.label for m in catalog.versions("model")] == [first.version, other.version]


def test_version_errors_have_classes_of_their_own(backend) -> None:
    catalog = backend.catalog
    catalog.save("fixed", {"v": 1})
    with pytest.raises(VersionExistsError) as exists:
        catalog.save("fixed", {"v": 2})
    assert "entry 'fixed'" in str(exists.value)
    assert datanectar.VersionExistsError is VersionExistsError
    report = catalog.save("coefficients", {"a": list(range(50))})
    backend.flip_a_byte(f"models/coefficients/{report.version}/coefficients")
    with pytest.raises(VersionMismatchError) as mismatch:
        catalog.load("coefficients")
    assert isinstance(mismatch.value, StorageIOError)  # what a storage failure is, too


KILLED_WRITER = """
import pathlib, sys, time
import datanectar

class Slow:
    def __reduce__(self):  # pickled after the big value: the write is under way
        pathlib.Path(sys.argv[2]).write_text("writing")
        time.sleep(120)
        return (dict, ())

catalog = datanectar.catalog(sys.argv[1])
catalog.save("coefficients", {"big": b"x" * 20_000_000, "slow": Slow()})
"""


def test_a_write_killed_by_sigkill_leaves_the_latest_and_its_leftovers_go(
    backend, tmp_path
) -> None:
    catalog = backend.catalog
    before = catalog.save("coefficients", {"a": 1})
    script, marker = tmp_path / "writer.py", tmp_path / "writing"
    script.write_text(KILLED_WRITER)
    writer = subprocess.Popen([sys.executable, str(script), str(backend.project), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert writer.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.05)
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    fresh = datanectar.catalog(backend.project)
    assert fresh.load("coefficients") == {"a": 1}
    assert [m.label for m in fresh.versions("coefficients")] == [before.version]
    latest = json.loads(backend.read("models/coefficients/_latest.json"))
    assert latest == {"label": before.version}

    if backend.s3 is None:  # the killed write's label folder, which no manifest names
        root = backend.project / "data/models/coefficients"
        [leftover] = {p.name for p in root.iterdir()} - {
            before.version,
            "_manifests",
            "_content",
            "_claims",
            "_latest.json",
        }
        an_hour_and_more_ago = time.time() - 2 * 3600
        for path in [root / leftover, *(root / leftover).rglob("*")]:
            os.utime(path, (an_hour_and_more_ago, an_hour_and_more_ago), follow_symlinks=False)
    after = fresh.save("coefficients", {"a": 2})
    assert fresh.load("coefficients") == {"a": 2}
    expected = {before.version, after.version, "_manifests", "_content", "_claims"}
    if backend.s3 is None:
        assert {p.name for p in root.iterdir()} == expected | {"_latest.json"}
    else:  # S3 staged the one-object value on this machine's disk: nothing was uploaded
        stored = {name.split("/")[0] for name in backend.names("models/coefficients")}
        assert stored == expected | {"_latest.json"}


def test_a_leftover_younger_than_an_hour_is_left_to_its_writer(make_project) -> None:
    """A concurrent writer's fresh label folder is not a leftover (the sweep waits an hour)."""
    catalog = datanectar.catalog(make_project(CATALOG))
    catalog.save("coefficients", {"a": 1})
    writing = make_project.root / "data/models/coefficients/20990101T000000.000000Z"
    writing.mkdir()
    (writing / ".staging-coefficients-abc").write_bytes(b"half")
    datanectar.catalog(make_project.root).save("coefficients", {"a": 2})
    assert (writing / ".staging-coefficients-abc").read_bytes() == b"half"


def test_cached_calls_write_versions_with_their_run_and_code_version(make_cache_project) -> None:
    project = make_cache_project(
        "model:\n  format: json\n  versioned: {label: 'v{code_version}-{run_id}'}\n"
    )

    @datanectar.cache(version="3")
    def model() -> dict:
        return {"a": 1}

    catalog = datanectar.catalog(project, functions=[model])
    with catalog.activate():
        assert model() == {"a": 1}
        assert model(recompute=True, cache_mode="overwrite") == {"a": 1}
    first, second = catalog.versions("model")
    assert first.label.startswith("v3-") and second.label.startswith("v3-")
    assert first.run_id and first.run_id != second.run_id
    assert first.code_version == "3" and second.stored_with == first.label
    # the same content again: the result's data version (what Dagster's staleness follows,
    # and what the cached calls reading it recorded) is its content hash, unchanged
    records = list((project / "data/.datanectar/records").rglob("*.json"))
    assert [json.loads(r.read_text())["data_version"] for r in records] == [first.content_hash]
    stored = (project / "data/model.json" / first.label / "model.json").read_bytes()
    assert first.files[0].sha256 == hashlib.sha256(stored).hexdigest()


def test_each_namespace_has_versions_of_its_own(make_project, instance) -> None:
    project = make_project(
        "cities:\n  format: json\n  path: 'cities/{city}.json'\n  namespaces: [{name: city, values: [paris, lyon]}]\n"
        "  versioned: {label: '{partition}-{run_id}', keep: 1}\n",
        modules={
            "city_assets": """
                import datanectar

                @datanectar.asset(entry="cities")
                def cities(context) -> dict:
                    return {"city": context.partition_key}
            """
        },
    )
    for city in ("paris", "lyon", "paris"):
        materialize_project(project, instance, ["cities"], partition_key=city)
    catalog = datanectar.catalog(project)
    for city in ("paris", "lyon"):
        [version] = catalog.versions("cities", namespace=city)
        assert version.label.startswith(f"{city}-") and version.partition == city
        assert catalog.load("cities", namespace=city) == {"city": city}
        # paris's second version reuses the bytes of its first, pruned (keep: 1): they stay
        assert json.loads((project / "data" / version.data).read_text()) == {"city": city}
    assert catalog.versions("cities", namespace="paris")[0].stored_with is not None


def test_namespaces_kept_inside_one_object_cannot_be_versioned(make_project) -> None:
    with pytest.raises(CatalogError) as info:
        datanectar.catalog(
            make_project(
                "grid:\n  format: zarr\n  namespaces: {daily: {start: '2024-01-01'}}\n"
                "  versioned: true\n"
            )
        )
    assert info.value.field == "path" and "placeholder per dimension" in str(info.value)


def test_a_prune_during_a_run_keeps_the_version_the_run_pins(make_project, instance) -> None:
    project = make_project(
        CATALOG + "summary:\n  format: json\n",
        modules={
            "grid_assets": """
                import datanectar
                import numpy as np
                import xarray as xr

                @datanectar.asset(entry="grid")
                def grid() -> xr.Dataset:
                    return xr.Dataset({"v": ("x", np.full(2, 9.0))})

                @datanectar.asset(entry="summary")
                def summary(grid: xr.Dataset) -> dict:
                    return {"total": float(grid["v"].sum())}
            """
        },
    )
    catalog = datanectar.catalog(project)
    oldest = catalog.save("grid", xr.Dataset({"v": ("x", np.zeros(2))})).version
    catalog.save("grid", xr.Dataset({"v": ("x", np.ones(2))}))
    # keep: 2, and this run writes a third version before summary loads the oldest
    config = {"ops": {"summary": {"config": {"versions": {"grid": oldest}}}}}
    materialize_project(project, instance, ["grid", "summary"], run_config=config)
    assert json.loads((project / "data/summary.json").read_text()) == {"total": 0.0}
    labels = [m.label for m in catalog.versions("grid")]
    assert oldest in labels and len(labels) == 3
    assert xr.open_zarr(project / "data/grid.zarr" / oldest / "grid.zarr")["v"].sum() == 0


def test_removing_a_versioned_value_keeps_its_versions(make_project) -> None:
    """A cached function's null result removes what loads by default, not the history."""
    catalog = datanectar.catalog(make_project(CATALOG))
    report = catalog.save("coefficients", {"a": 1})
    catalog.storage.remove(datanectar.catalog(make_project.root)._target("coefficients", None))
    assert not catalog.exists("coefficients")
    with pytest.raises(datanectar.DataNotFoundError):
        catalog.load("coefficients")
    assert catalog.load("coefficients", version=report.version) == {"a": 1}
    assert [m.label for m in catalog.versions("coefficients")] == [report.version]

"""A writer killed mid-write (SIGKILL: nothing of it runs afterwards) leaves the previous value
readable, and what it left behind is removed by the next write of the same location once it
is older than the grace period; a concurrent writer's fresh staging is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Collection
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import datanectar
from datanectar.storage import LEFTOVER_GRACE_SECONDS

BIG_ROWS = 6_000_000
WRITER = """
import sys
import numpy as np
import pandas as pd
import datanectar

project, name, namespace = sys.argv[1], sys.argv[2], sys.argv[3] or None
rows = {rows}
frame = pd.DataFrame({{"a": np.arange(rows), "b": np.random.default_rng(0).random(rows)}})
print("writing", flush=True)
datanectar.catalog(project).save(name, frame, namespace=namespace)
"""


def kill_while_writing(
    project: Path, name: str, leftover: str, namespace: str = "", *, besides: Collection[Path] = ()
) -> list[Path]:
    """Start a writer of a big value, SIGKILL it as soon as `leftover` (a glob under the data
    folder, outside `besides`) appears, and return what it left."""
    script = project / "writer.py"
    script.write_text(textwrap.dedent(WRITER.format(rows=BIG_ROWS)))
    writer = subprocess.Popen(
        [sys.executable, str(script), str(project), name, namespace],
        stdout=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
    )
    data = project / "data"
    deadline = time.monotonic() + 120

    def found() -> list[Path]:
        return [path for path in data.glob(leftover) if not set(besides) & {path, *path.parents}]

    try:
        while not found():
            if writer.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the writer ended ({writer.returncode}) before {leftover} appeared")
            time.sleep(0.002)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    return sorted(found())


def age(path: Path, seconds: float) -> None:
    """Make `path` (and all below it) look untouched for `seconds`."""
    then = time.time() - seconds
    for folder, _, files in (
        os.walk(path) if path.is_dir() else [(str(path.parent), [], [path.name])]
    ):
        for item in [folder, *(os.path.join(folder, f) for f in files)]:
            os.utime(item, (then, then), follow_symlinks=False)
    os.utime(path, (then, then), follow_symlinks=False)


SMALL = pd.DataFrame({"a": [1, 2, 3], "b": [0.1, 0.2, 0.3]})


def test_a_killed_file_write_keeps_the_previous_value_and_its_staging_goes_later(make_project):
    project = make_project("obs:\n  format: parquet\n  path: obs.parquet\n")
    catalog = datanectar.catalog(project)
    catalog.save("obs", SMALL)

    [left] = kill_while_writing(project, "obs", ".datanectar-staging-*-obs.parquet")

    # The previous value is untouched and readable.
    pd.testing.assert_frame_equal(
        pq.read_table(project / "data" / "obs.parquet").to_pandas(), SMALL
    )
    # A concurrent writer's staging, fresh, and the killed writer's, not yet old enough:
    fresh = project / "data" / ".datanectar-staging-0123456789ab-obs.parquet"
    fresh.write_bytes(b"being written")
    datanectar.catalog(project).save("obs", SMALL)
    assert left.exists() and fresh.exists()  # within the grace period: kept

    age(left, LEFTOVER_GRACE_SECONDS + 60)
    datanectar.catalog(project).save("obs", SMALL.assign(a=[7, 8, 9]))

    assert not left.exists()
    assert fresh.exists()  # a concurrent writer's staging is never removed
    assert pq.read_table(project / "data" / "obs.parquet").to_pandas()["a"].tolist() == [7, 8, 9]


def test_a_killed_folder_write_leaves_a_staging_folder_that_goes_later(make_project):
    project = make_project("obs:\n  format: parquet\n  path: obs.parquet\n")
    # A folder staging (as zarr writes) that a long write still fills, deep inside.
    data = project / "data"
    data.mkdir()
    busy = data / ".datanectar-staging-aaaaaaaaaaaa-obs.parquet"
    (busy / "var" / "0").mkdir(parents=True)
    age(busy, LEFTOVER_GRACE_SECONDS + 60)
    (busy / "var" / "0" / "chunk").write_bytes(b"just written")  # touched now, deep inside
    dead = data / ".datanectar-staging-bbbbbbbbbbbb-obs.parquet"
    (dead / "var").mkdir(parents=True)
    (dead / "var" / "chunk").write_bytes(b"abandoned")
    age(dead, LEFTOVER_GRACE_SECONDS + 60)

    datanectar.catalog(project).save("obs", SMALL)

    assert busy.exists() and not dead.exists()


def test_a_killed_audited_delta_overwrite_leaves_nothing_forever(make_project):
    """An audited overwrite writes the new data as a staged table inside the table folder,
    then commits it; killed before the commit, that folder is garbage (the table never
    referenced it), while a committed one is the table's and stays."""
    project = make_project(
        "obs:\n  format: delta\n  path: obs\n  checks:\n    - row_count: {min: 1}\n"
    )
    catalog = datanectar.catalog(project)
    catalog.save("obs", SMALL)  # audited: its staged folder is committed, now the table's
    [committed] = (project / "data" / "obs").glob("datanectar-staged-*")

    lefts = kill_while_writing(
        project, "obs", "obs/datanectar-staged-*/*.parquet*", besides={committed}
    )
    [left] = {path.parent for path in lefts}
    age(left, LEFTOVER_GRACE_SECONDS + 60)
    age(committed, LEFTOVER_GRACE_SECONDS + 60)
    table = DeltaTable(str(project / "data" / "obs"))
    pd.testing.assert_frame_equal(table.to_pandas(), SMALL)  # the previous value

    datanectar.catalog(project).save("obs", SMALL.assign(a=[4, 5, 6]))

    assert not left.exists()
    assert committed.exists()  # referenced by version 0: time travel still reads it
    assert DeltaTable(str(project / "data" / "obs"), version=0).to_pandas()["a"].tolist() == [
        1,
        2,
        3,
    ]
    assert DeltaTable(str(project / "data" / "obs")).to_pandas()["a"].tolist() == [4, 5, 6]


def test_a_killed_partition_write_leaves_nothing_forever(make_project):
    """A partition is written apart (a staged table in the table's folder) and then committed
    with the removal of the partition's current files: killed before the commit, the staged
    data is garbage, and goes with a later write."""
    project = make_project("obs:\n  format: delta\n  path: obs\n  namespaces: [paris, lyon]\n")
    catalog = datanectar.catalog(project)
    catalog.save("obs", SMALL, namespace="paris")
    catalog.save("obs", SMALL, namespace="lyon")
    committed = set((project / "data" / "obs").glob("datanectar-staged-*"))

    lefts = kill_while_writing(
        project, "obs", "obs/datanectar-staged-*/namespace=paris/*", "paris", besides=committed
    )
    [left] = {path.parents[1] for path in lefts}
    age(left, LEFTOVER_GRACE_SECONDS + 60)
    table = DeltaTable(str(project / "data" / "obs")).to_pandas()
    assert table.groupby("namespace").size().to_dict() == {"paris": 3, "lyon": 3}

    datanectar.catalog(project).save("obs", SMALL, namespace="paris")

    assert not left.exists()
    assert all(folder.exists() for folder in committed)  # the table's data: kept
    table = DeltaTable(str(project / "data" / "obs")).to_pandas()
    assert table.groupby("namespace").size().to_dict() == {"paris": 3, "lyon": 3}


def test_a_killed_table_write_leaves_no_temporary_files_forever(make_project):
    """deltalake writes each data file under a temporary name (`part-*.parquet#1`) before
    renaming it into place; killed meanwhile, that file stays unless removed."""
    project = make_project("obs:\n  format: delta\n  path: obs\n  save_options: {mode: append}\n")
    datanectar.catalog(project).save("obs", SMALL)

    lefts = kill_while_writing(project, "obs", "obs/*.parquet#*")
    for left in lefts:
        age(left, LEFTOVER_GRACE_SECONDS + 60)
    pd.testing.assert_frame_equal(DeltaTable(str(project / "data" / "obs")).to_pandas(), SMALL)

    datanectar.catalog(project).save("obs", SMALL)

    assert [left for left in lefts if left.exists()] == []
    assert not list((project / "data" / "obs").rglob("*.parquet#*"))
    assert len(DeltaTable(str(project / "data" / "obs")).to_pandas()) == 6  # appended


def test_a_killed_table_overwrite_leaves_no_unreferenced_data_forever(make_project):
    """Killed after deltalake renamed a data file into place but before the commit, an
    overwrite leaves a whole data file that no commit references: it goes with a later write
    once old enough; the files older versions reference stay (time travel reads them)."""
    # Small files: the write renames one into place after another, and is killed after the
    # first, long before its commit.
    project = make_project(
        "obs:\n  format: delta\n  path: obs\n  save_options: {target_file_size: 1000000}\n"
    )
    catalog = datanectar.catalog(project)
    catalog.save("obs", SMALL)
    catalog.save("obs", SMALL.assign(a=[4, 5, 6]))  # version 1: version 0's file is history
    table = project / "data" / "obs"
    history = set(table.glob("part-*.parquet"))

    lefts = kill_while_writing(project, "obs", "obs/part-*.parquet", besides=history)
    assert lefts and DeltaTable(str(table)).version() == 1  # nothing committed
    for path in [*table.glob("part-*"), *history]:
        age(path, LEFTOVER_GRACE_SECONDS + 60)

    datanectar.catalog(project).save("obs", SMALL.assign(a=[7, 8, 9]))

    assert [left for left in lefts if left.exists()] == []
    assert all(path.exists() for path in history)
    assert DeltaTable(str(table), version=0).to_pandas()["a"].tolist() == [1, 2, 3]
    assert DeltaTable(str(table)).to_pandas()["a"].tolist() == [7, 8, 9]

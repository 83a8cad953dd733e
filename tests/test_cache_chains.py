"""Caching you can trust: staleness through the whole chain of cached results, records that
survive a killed writer, upstreams recorded from threads and from kept recomputes, cached
calls in a body known to Dagster, a memo no caller can poison, and `version="auto"`.

The probe chain: a csv entry `src` -> `c(src)` -> `b()`, whose body calls `c()` -> `a(b)`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import warnings

import dagster as dg
import numpy as np
import pandas as pd
import pytest

import datanectar
from datanectar.cache.memo import estimate_bytes
from runs import materialize_project

SRC = pd.DataFrame({"v": [1, 2, 3]})
CHAIN = """
import pandas as pd
import datanectar

calls = []

@datanectar.cache(version="{c}", format="parquet")
def c(src: pd.DataFrame) -> pd.DataFrame:
    calls.append("c")
    return src.assign(v=src["v"] * 2)

@datanectar.cache(version="1", format="parquet")
def b() -> pd.DataFrame:
    calls.append("b")
    return c().assign(v=lambda frame: frame["v"] + 1)

@datanectar.cache(version="{a}", format="parquet")
def a(b: pd.DataFrame) -> pd.DataFrame:
    calls.append("a")
    return b.assign(v=b["v"] * 10)

@datanectar.cache(version="1", format="parquet")
def e() -> pd.DataFrame:
    calls.append("e")
    with datanectar.ThreadPoolExecutor(max_workers=2) as pool:
        return pool.submit(c).result().assign(v=lambda frame: frame["v"] - 1)
"""


def chain(make_project, *, c: str = "1", a: str = "1", **settings: str):
    """The probe chain's project, its module (re)imported at the given versions."""
    project = make_project(
        "src:\n  format: csv\n  path: src.csv\n",
        modules={"chain": textwrap.dedent(CHAIN.format(c=c, a=a))},
        settings="".join(f"{key} = {value!r}\n" for key, value in settings.items()),
    )
    return project, *opened(project, "chain")


def opened(project, module_name: str):
    """The project's catalog, having imported its module afresh (never an old bytecode)."""
    shutil.rmtree(project / "__pycache__", ignore_errors=True)
    sys.modules.pop(module_name, None)
    catalog = datanectar.Catalog.open(project, modules=[module_name])
    return sys.modules[module_name], catalog


def value_of(frame: pd.DataFrame) -> list[int]:
    return frame["v"].tolist()


def test_a_changed_source_makes_the_whole_chain_stale(make_project, hermetic_cache):
    _, chain_module, catalog = chain(make_project)
    catalog.save("src", SRC)
    with catalog.activate():
        assert value_of(chain_module.a()) == [30, 50, 70]
        assert sorted(chain_module.calls) == ["a", "b", "c"]
        chain_module.calls.clear()
        assert value_of(chain_module.a()) == [30, 50, 70]  # fresh: recalled
        assert chain_module.calls == []

        catalog.save("src", SRC.assign(v=[10, 20, 30]))

        with pytest.warns(datanectar.StaleResultWarning) as warned:
            stale = chain_module.a(cache_mode="read_only")
        assert value_of(stale) == [30, 50, 70]
        message = str(warned[0].message)
        assert "upstream 'b' is stale: upstream 'c' is stale: upstream 'src' changed" in message
        assert chain_module.calls == []

        assert value_of(chain_module.a()) == [210, 410, 610]  # recomputed bottom-up
        assert sorted(chain_module.calls) == ["a", "b", "c"]  # each once, only what was stale
        chain_module.calls.clear()
        assert value_of(chain_module.a()) == [210, 410, 610]
        assert chain_module.calls == []


def test_a_version_bump_far_below_makes_the_top_stale(make_project, hermetic_cache):
    _, chain_module, catalog = chain(make_project)
    catalog.save("src", SRC)
    with catalog.activate():
        chain_module.a()
    _, chain_module, catalog = chain(make_project, c="2")  # c's code changed
    with catalog.activate():
        with pytest.warns(datanectar.StaleResultWarning, match="the code is at version '2'"):
            chain_module.a(cache_mode="read_only")
        assert chain_module.calls == []
        chain_module.a()
        assert sorted(chain_module.calls) == ["a", "b", "c"]


def test_dagster_knows_a_cached_call_in_a_body_and_agrees_on_staleness(
    make_project, hermetic_cache, instance
):
    project, chain_module, catalog = chain(make_project)
    catalog.save("src", SRC)
    defs = datanectar.definitions(project)
    b_asset = defs.resolve_assets_def("b")
    assert dg.AssetKey("c") in b_asset.asset_deps[dg.AssetKey("b")]  # lineage: c -> b
    versions = {name: defs.resolve_assets_def(name).code_versions_by_key for name in "abc"}

    result = materialize_project(project, instance, "*")
    assert result.success
    assert chain_module.calls.count("c") == 1  # c ran once: b's step recalled it
    data = project / "data" / ".datanectar" / "records"
    b_record = json.loads((data / "b" / "_.json").read_text())
    c_record = json.loads((data / "c" / "_.json").read_text())
    [c_read] = [read for read in b_record["upstream"] if read["entry"] == "c"]
    assert c_read["fingerprint"] == c_record["data_version"]

    # c's code changes: Dagster's code versions of what reads or calls it change with it,
    # so a and b are stale in Dagster as they are for plain calls.
    project, chain_module, catalog = chain(make_project, c="2")
    bumped = datanectar.definitions(project)
    for name in "abc":
        before = versions[name][dg.AssetKey(name)]
        after = bumped.resolve_assets_def(name).code_versions_by_key[dg.AssetKey(name)]
        assert before != after, name


def test_a_kept_recompute_stays_in_the_callers_record(make_project, hermetic_cache):
    project, chain_module, catalog = chain(make_project)
    catalog.save("src", SRC)
    with catalog.activate():
        chain_module.a()
    project, chain_module, catalog = chain(make_project, a="2")
    with catalog.activate(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "recomputed, but the stored result was kept"
        chain_module.a(recompute="b")
    record = json.loads((project / "data" / ".datanectar" / "records" / "a" / "_.json").read_text())
    assert [read["entry"] for read in record["upstream"]] == ["b"]
    # ... so a later change below still reaches a.
    catalog.save("src", SRC.assign(v=[0, 0, 0]))
    with catalog.activate():
        chain_module.calls.clear()
        assert value_of(chain_module.a()) == [10, 10, 10]
        assert "a" in chain_module.calls


def test_cached_calls_on_the_bodys_threads_are_recorded(make_project, hermetic_cache):
    project, chain_module, catalog = chain(make_project)
    catalog.save("src", SRC)
    with catalog.activate():
        assert value_of(chain_module.e()) == [1, 3, 5]
    record = json.loads((project / "data" / ".datanectar" / "records" / "e" / "_.json").read_text())
    assert [read["entry"] for read in record["upstream"]] == ["c"]
    catalog.save("src", SRC.assign(v=[5, 5, 5]))
    with catalog.activate():
        assert value_of(chain_module.e()) == [9, 9, 9]  # stale through c: recomputed


def test_a_stale_local_copy_never_hides_a_fresh_root(make_project, hermetic_cache, tmp_path):
    project, chain_module, catalog = chain(make_project, local_cache=str(tmp_path / "local"))
    catalog.save("src", SRC)
    with catalog.activate():
        chain_module.a()
        chain_module.a(cache_mode="local")  # copies the root's result to the local cache
    project, chain_module, catalog = chain(make_project, a="2", local_cache=str(tmp_path / "local"))
    with catalog.activate():
        chain_module.a()  # version 2 at the root
        chain_module.calls.clear()
        for _ in range(3):
            chain_module.a()
        assert chain_module.calls == []  # recalled from the root, never recomputed again
        with warnings.catch_warnings():
            warnings.simplefilter("error", datanectar.StaleResultWarning)
            chain_module.a(cache_mode="read_only")  # the root's fresh version 2, no warning
    record = json.loads((project / "data" / ".datanectar" / "records" / "a" / "_.json").read_text())
    assert record["version"] == "2"


# -- a killed writer ------------------------------------------------------------------------

KILLER = """
import os, signal, sys
import pandas as pd
import datanectar
from datanectar.cache.records import RecordBook
from datanectar.stores.local import LocalStore

point = sys.argv[1]
writes = {{"record": 0}}
real_write, real_publish = RecordBook.write, LocalStore.publish

def write(self, record, segment):
    real_write(self, record, segment)
    writes["record"] += 1
    if (point, writes["record"]) in (("pending", 1), ("final", 2)):
        os.kill(os.getpid(), signal.SIGKILL)

def publish(self, staged, final):
    real_publish(self, staged, final)
    if point == "published" and "records" not in final.relative:
        os.kill(os.getpid(), signal.SIGKILL)

RecordBook.write, LocalStore.publish = write, publish
import chain
with datanectar.catalog({project!r}).activate():
    chain.c(recompute=True, cache_mode="overwrite")
"""


@pytest.mark.parametrize(
    ("point", "recomputes"),
    [("pending", True), ("published", True), ("final", False)],
    ids=["after-the-pending-record", "after-publishing-the-object", "after-the-record"],
)
def test_a_writer_killed_at_any_point_never_leaves_a_result_that_passes_for_fresh(
    make_project, hermetic_cache, point, recomputes
):
    project, chain_module, catalog = chain(make_project)
    catalog.save("src", SRC)
    with catalog.activate():
        chain_module.c()
    catalog.save("src", SRC.assign(v=[7, 8, 9]))  # the killed writer computes from this
    script = project / "killer.py"
    script.write_text(KILLER.format(project=str(project)))
    run = subprocess.run(
        [sys.executable, str(script), point],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project), "HOME": str(project)},
        capture_output=True,
        timeout=300,
    )
    assert run.returncode == -9, run.stderr.decode()[-2000:]
    with catalog.activate():
        chain_module.calls.clear()
        assert value_of(chain_module.c()) == [14, 16, 18]  # what today's inputs give
        assert ("c" in chain_module.calls) == recomputes


# -- the memo -------------------------------------------------------------------------------

MEMO = """
import numpy as np
import pandas as pd
import datanectar

calls = []
DATA = {"x": "1"}

@datanectar.cache(version="1", format="parquet", memoize=True)
def frame() -> pd.DataFrame:
    calls.append(1)
    return pd.DataFrame({"x": [DATA["x"]]})

@datanectar.cache(version="1", format="pickle", memoize=True)
def listing() -> list:
    return [[1, 2], [3]]

@datanectar.cache(version="1", format="pickle", memoize=True)
def array() -> np.ndarray:
    return np.arange(3)
"""


def test_the_memo_cannot_be_poisoned(make_project, hermetic_cache):
    project = make_project("", modules={"memoized": MEMO})
    memoized, catalog = opened(project, "memoized")
    with catalog.activate():
        first = memoized.frame()
        first.loc[0, "x"] = "changed by a caller"
        assert memoized.frame()["x"].tolist() == ["1"]
        again = memoized.frame()
        again["x"] = "changed again"
        assert memoized.frame()["x"].tolist() == ["1"]
        nested = memoized.listing()
        nested[0].append(99)
        assert memoized.listing() == [[1, 2], [3]]
        computed = memoized.array()
        computed[0] = 7  # the caller's own array: the memo kept a copy
        recalled = memoized.array()
        with pytest.raises(ValueError, match="read-only"):
            recalled[0] = 5  # shared: handed out read-only
        assert memoized.array().tolist() == [0, 1, 2]

        # An overwrite in the same process (without the memo): the memo serves the new value.
        memoized.DATA["x"] = "2"
        memoized.frame(recompute=True, cache_mode="overwrite", memoize=False)
        assert memoized.frame()["x"].tolist() == ["2"]
        assert len(memoized.calls) == 2


def test_memo_sizes_are_deep():
    ten_megabytes = [str(i) * (1000 // len(str(i))) for i in range(10_000)]
    assert estimate_bytes(ten_megabytes) >= 10_000_000
    frame = pd.DataFrame({"s": ["y" * 100] * 10_000})
    assert estimate_bytes(frame) >= 1_000_000


def test_auto_version_follows_the_body(make_project, hermetic_cache):
    source = (
        "import datanectar\n\n@datanectar.cache(version='auto', format='json')\n"
        "def answer() -> int:\n    return {value}\n"
    )
    project = make_project("", modules={"auto": source.format(value=1)})
    first, catalog = opened(project, "auto")
    with catalog.activate():
        assert first.answer() == 1
    assert first.answer.version.startswith("auto-")
    project = make_project("", modules={"auto": source.format(value=2)})
    second, catalog = opened(project, "auto")
    assert second.answer.version != first.answer.version
    with catalog.activate():
        assert second.answer() == 2  # the changed body made the stored result stale


def test_uses_must_name_entries(make_project):
    project = make_project(
        "",
        modules={
            "wrong": "import datanectar\n\n@datanectar.cache(uses=['nowhere'])\n"
            "def f() -> int:\n    return 1\n"
        },
    )
    with pytest.raises(datanectar.CatalogError) as info:
        datanectar.catalog(project)
    assert info.value.field == "uses"
    assert "uses 'nowhere', which is no catalog entry" in str(info.value)


def test_a_kept_result_is_the_one_returned(make_project, hermetic_cache):
    project = make_project(
        "",
        modules={
            "kept": "import random\nimport datanectar\n\n"
            "@datanectar.cache(format='json')\ndef rnd() -> dict:\n"
            "    return {'r': random.random()}\n"
        },
    )
    kept, catalog = opened(project, "kept")
    with catalog.activate():
        first = kept.rnd()
        with pytest.warns(UserWarning, match="the stored result was kept"):
            again = kept.rnd(recompute=True)  # write mode keeps the fresh stored result ...
    assert again == first  # ... and returns it, so what the caller uses is what is stored
    assert json.loads((project / "data" / "rnd.json").read_text()) == first


def test_a_truncated_record_reads_as_an_interrupted_write(make_project, hermetic_cache):
    _, chain_module, catalog = chain(make_project)
    catalog.save("src", SRC)
    with catalog.activate():
        chain_module.b()
        record = catalog.config.root / "data" / ".datanectar" / "records" / "c" / "_.json"
        record.write_text(record.read_text()[:20])
        chain_module.calls.clear()
        with pytest.warns(datanectar.StaleResultWarning, match="upstream 'c'"):
            chain_module.b(cache_mode="read_only")  # what read c no longer vouches for it
        assert value_of(chain_module.c()) == [2, 4, 6]
        assert chain_module.calls == ["c"]  # recomputed, and its record written anew
    assert json.loads(record.read_text())["complete"] is True


OBJECTS = """
import numpy as np
import pandas as pd
import datanectar

@datanectar.cache(format="pickle", memoize=True)
def cells() -> pd.DataFrame:
    return pd.DataFrame({"l": [[1], [2]]})

@datanectar.cache(format="pickle", memoize=True)
def boxes() -> np.ndarray:
    array = np.empty(2, dtype=object)
    array[0], array[1] = [1], {"k": 1}
    return array

@datanectar.cache(format="pickle", memoize=True)
def numbers() -> np.ndarray:
    return np.arange(5)
"""


def test_the_memo_hands_out_nothing_a_caller_can_write_through(make_project, hermetic_cache):
    project = make_project("", modules={"objects": OBJECTS})
    objects, catalog = opened(project, "objects")
    with catalog.activate():
        objects.cells(), objects.boxes(), objects.numbers()  # computed, memoized
        frame = objects.cells()
        frame["l"].iloc[0].append(7)
        assert objects.cells()["l"].tolist() == [[1], [2]]
        boxes = objects.boxes()
        boxes[0].append(2)
        assert objects.boxes()[0] == [1]
        numbers = objects.numbers()
        with pytest.raises(ValueError):
            numbers.setflags(write=True)  # a view of read-only data stays read-only
        assert objects.numbers().tolist() == [0, 1, 2, 3, 4]


def test_object_arrays_are_sized_deeply():
    boxes = np.empty(1, dtype=object)
    boxes[0] = "x" * 5_000_000
    assert estimate_bytes(boxes) >= 5_000_000

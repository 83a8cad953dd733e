"""Cached functions called as plain Python, on throwaway projects on real disk.

Every function counts its body's executions in a list it appends to, so each test can say
exactly which calls computed and which recalled. Stored objects and records are read back
from disk with the storage libraries themselves (deltalake, pyarrow, xarray, json), never
with datanectar. Each project's local cache level lives under the test's tmp dir; no test
touches ~/.cache, a Dagster instance (DAGSTER_HOME is unset) or the DATANECTAR_* environment.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import json
import os
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import xarray as xr
from deltalake import DeltaTable

import datanectar
from datanectar.cache import cache_key

RECORDS = ".datanectar/records"
MIRRORED_STORES = (
    '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n\n'
    '[tool.datanectar.stores.mirror]\ntype = "local"\nroot = "mirror_data"\n'
)


pytestmark = pytest.mark.usefixtures("hermetic_cache")


# -- helpers --------------------------------------------------------------------------------


def read_record(root: Path, entry: str, segment: str = "_") -> dict[str, Any]:
    return json.loads((root / RECORDS / entry / f"{segment}.json").read_text())


def files_under(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below `folder`: relative path -> (size, mtime), to prove nothing changed."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def local_level(tmp_path: Path) -> Path:
    """The `local` store's folder in the project's local cache (`<local_cache>/<id>/local`)."""
    found = sorted((tmp_path / "local_cache").glob("*/local"))
    assert len(found) <= 1, found
    return found[0] if found else tmp_path / "local_cache" / "missing" / "local"


def counted(calls: list[str], name: str, value: Any, **options: Any) -> Any:
    """A cached function named `name` (no arguments) returning `value`, counting its runs."""

    def body():
        calls.append(name)
        return value

    body.__name__ = body.__qualname__ = name
    body.__annotations__ = {"return": type(value)}  # the default format follows it
    return datanectar.cache(**{"version": "1", **options})(body)


def versioned(version: str, calls: list[str]) -> Any:
    """The "same" function at another code version: same qualified name, same entry."""

    @datanectar.cache(version=version)
    def report():
        calls.append(version)
        return {"computed_by": version}

    return report


def chain(calls: list[str]) -> tuple[Any, Any, Any]:
    """a -> b -> c: each cached function calls the next in its body."""

    @datanectar.cache(version="1")
    def c():
        calls.append("c")
        return 1

    @datanectar.cache(version="1")
    def b():
        calls.append("b")
        return c() + 1

    @datanectar.cache(version="1")
    def a():
        calls.append("a")
        return b() + 1

    return a, b, c


def table(rows: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "value": rng.normal(size=rows),
            "label": [f"row-{seed}-{i}" for i in range(rows)],
        }
    )


def grid(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {"air": (("time", "lat"), rng.normal(280, 5, size=(6, 3)).astype("float32"))},
        coords={"time": pd.date_range("2024-01-01", periods=6, freq="D"), "lat": [40.0, 45, 50]},
    )


def assert_frames_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


# -- compute, then recall ---------------------------------------------------------------------

FORMATS = {
    # format: (value, stored path under data/, read back with the library itself)
    "delta": (table(), "frame", lambda path: DeltaTable(str(path)).to_pandas()),
    "parquet": (table(), "frame.parquet", lambda path: pq.read_table(path).to_pandas()),
    "zarr": (grid(), "frame.zarr", lambda path: xr.open_zarr(path).load()),
}


def assert_same_value(actual: Any, expected: Any) -> None:
    if isinstance(expected, xr.Dataset):
        xr.testing.assert_identical(actual.load(), expected)
    else:
        assert_frames_equal(actual, expected)


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_compute_then_recall(make_cache_project, tmp_path, format_name):
    value, path, read_back = FORMATS[format_name]
    project = make_cache_project()
    calls: list[str] = []
    # delta and zarr are the defaults for DataFrames and Datasets; parquet is asked for.
    frame = counted(calls, "frame", value, format="parquet" if format_name == "parquet" else None)

    with datanectar.catalog(project, functions=[frame]).activate():
        first = frame()
        second = frame()

    assert calls == ["frame"]
    assert_same_value(first, value)
    assert_same_value(second, value)
    assert_same_value(read_back(project / "data" / path), value)
    record = read_record(project / "data", "frame")
    assert record["version"] == "1"
    assert record["is_null"] is False
    assert record["path"] == path
    assert record["function"] == frame.qualified_name
    assert record["key"] == cache_key(frame.qualified_name, {})
    assert files_under(tmp_path / "local_cache") == {}  # write mode never fills the local cache


def test_cache_args_and_namespace_store_beside_the_entry_path(make_cache_project):
    project = make_cache_project("frame:\n  format: parquet\n  path: t/frame.parquet\n")
    calls: list[int] = []

    @datanectar.cache(cache_args=["rows"], version="1")
    def frame(rows: int = 3) -> pd.DataFrame:
        calls.append(rows)
        return table(rows)

    with datanectar.catalog(project, functions=[frame]).activate():
        frame(rows=4)
        frame(rows=4, namespace="alice")
        frame(rows=4, namespace="alice")
        frame(rows=4)

    assert calls == [4, 4]
    data = project / "data"
    key = cache_key(frame.qualified_name, {"rows": 4})
    namespaced = cache_key(frame.qualified_name, {"rows": 4}, "alice")
    assert key != namespaced
    assert_frames_equal(pq.read_table(data / f"t/frame/{key}.parquet").to_pandas(), table(4))
    assert_frames_equal(
        pq.read_table(data / f"t/frame/alice/{namespaced}.parquet").to_pandas(), table(4)
    )
    assert not (data / "t/frame.parquet").exists()  # keyed calls never use the entry path itself
    record = read_record(data, "frame", key)
    assert record["key"] == key
    assert record["arguments"] == {"rows": 4}
    assert record["namespace"] is None
    namespaced_record = read_record(data, "frame", f"alice/{namespaced}")
    assert namespaced_record["namespace"] == "alice"
    assert namespaced_record["path"] == f"t/frame/alice/{namespaced}.parquet"


def test_sql_results_are_tables_named_after_the_key(make_cache_project):
    project = make_cache_project()
    calls: list[int] = []

    @datanectar.cache(cache_args=["rows"], version="1", format="sql")
    def scores(rows: int = 3) -> pd.DataFrame:
        calls.append(rows)
        return table(rows)

    with datanectar.catalog(project, functions=[scores]).activate():
        scores(rows=5)
        assert_frames_equal(scores(rows=5), table(5))

    assert calls == [5]
    key = cache_key(scores.qualified_name, {"rows": 5})
    engine = sa.create_engine(f"sqlite:///{project / 'data' / 'datanectar.sqlite'}")
    try:
        assert f"scores__{key}" in sa.inspect(engine).get_table_names()
        with engine.connect() as connection:
            stored = pd.read_sql_table(f"scores__{key}", connection)
    finally:
        engine.dispose()
    assert_frames_equal(stored, table(5))


def test_namespace_with_a_path_separator_is_refused(make_cache_project):
    project = make_cache_project()
    calls: list[str] = []
    f = counted(calls, "f", 1)

    with datanectar.catalog(project, functions=[f]).activate():
        with pytest.raises(datanectar.DatanectarError, match=r"namespace '\.\./x'"):
            f(namespace="../x")
    assert calls == []


# -- keys -----------------------------------------------------------------------------------


def keyed(calls: list[tuple[Any, ...]]) -> Any:
    @datanectar.cache(cache_args=["x", "y", "opts"], version="1")
    def f(x: Any = 0, y: Any = (), opts: Any = None) -> str:
        calls.append((x, y, opts))
        return f"computed #{len(calls)}"

    return f


def test_equal_arguments_however_spelled_share_one_key(make_cache_project):
    project = make_cache_project()
    calls: list[tuple[Any, ...]] = []
    f = keyed(calls)

    with datanectar.catalog(project, functions=[f]).activate():
        results = {
            f(1, [1, 2], {"a": 1, "b": 2}),
            f(opts={"b": 2, "a": 1}, y=(1, 2), x=1),  # keyword order, dict order, tuple
            f(np.int64(1), [np.int32(1), np.float64(2.0)], {"a": 1.0, "b": np.int16(2)}),
            f(1.0, (1.0, 2), {"b": 2.0, "a": np.float32(1)}),  # 1.0 is 1
        }

    assert len(calls) == 1
    assert results == {"computed #1"}
    assert len(list((project / "data" / "f").iterdir())) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [("1", 1), (True, 1), (1.5, 1), ([1, 2], [2, 1]), ([1, 2], {1, 2}), (None, 0), ("a", b"a")],
    ids=["str-int", "bool-int", "float-int", "list-order", "list-set", "none-zero", "str-bytes"],
)
def test_different_values_get_different_keys(first, second):
    if isinstance(second, bytes):
        with pytest.raises(datanectar.CacheKeyError):
            cache_key("m.f", {"x": second})
        return
    assert cache_key("m.f", {"x": first}) != cache_key("m.f", {"x": second})


def test_string_and_int_are_two_results(make_cache_project):
    project = make_cache_project()
    calls: list[tuple[Any, ...]] = []
    f = keyed(calls)

    with datanectar.catalog(project, functions=[f]).activate():
        assert f(x="1") == "computed #1"
        assert f(x=1) == "computed #2"
        assert f(x="1") == "computed #1"

    assert [call[0] for call in calls] == ["1", 1]


SAME_NAME = """
import datanectar

CALLS = []


@datanectar.cache(cache_args=["n"], version="1")
def total(n: int = 1) -> str:
    CALLS.append(n)
    return f"{__name__}:{n}"
"""

SAME_NAME_WITHOUT_ARGS = """
import datanectar


@datanectar.cache(version="1")
def total() -> str:
    return __name__
"""


def test_same_name_in_two_modules_is_one_entry_too_many(make_cache_project):
    project = make_cache_project(
        modules={"cache_alpha": SAME_NAME, "cache_beta": SAME_NAME},
    )
    with pytest.raises(datanectar.CatalogError, match="two functions produce it") as info:
        datanectar.catalog(project)
    assert "cache_alpha.total" in str(info.value)
    assert "cache_beta.total" in str(info.value)


def test_same_name_in_two_modules_do_not_collide(make_cache_project):
    project = make_cache_project(
        modules={"cache_alpha": SAME_NAME, "cache_beta": SAME_NAME},
    )
    # Neither module is bound in this catalog: both functions use an implicit entry 'total'.
    catalog = datanectar.Catalog.open(project, modules=[])
    alpha = importlib.import_module("cache_alpha")
    beta = importlib.import_module("cache_beta")

    with catalog.activate():
        assert alpha.total(n=2) == "cache_alpha:2"
        assert beta.total(n=2) == "cache_beta:2"
        assert alpha.total(n=2) == "cache_alpha:2"
        assert beta.total(n=2) == "cache_beta:2"

    assert alpha.CALLS == [2]
    assert beta.CALLS == [2]
    keys = {
        cache_key("cache_alpha.total", {"n": 2}),
        cache_key("cache_beta.total", {"n": 2}),
    }
    assert len(keys) == 2
    assert {path.stem for path in (project / "data" / "total").iterdir()} == keys


def test_same_name_without_cache_args_in_two_modules_do_not_collide(make_cache_project):
    project = make_cache_project(
        modules={"cache_gamma": SAME_NAME_WITHOUT_ARGS, "cache_delta": SAME_NAME_WITHOUT_ARGS},
    )
    catalog = datanectar.Catalog.open(project, modules=[])
    gamma = importlib.import_module("cache_gamma")
    delta = importlib.import_module("cache_delta")

    with catalog.activate():
        assert gamma.total() == "cache_gamma"
        assert delta.total() == "cache_delta"


# Twenty scalar cache arguments, evaluated here and in other processes from the same source.
TWENTY_ARGUMENTS = """{
    "a01": 1, "a02": -7, "a03": 2.5, "a04": 1e-12, "a05": "text", "a06": "ünïcode ✓",
    "a07": True, "a08": False, "a09": None, "a10": dt.date(2024, 2, 29),
    "a11": dt.datetime(2024, 1, 1, 12, 30, tzinfo=dt.UTC), "a12": dt.timedelta(hours=6),
    "a13": decimal.Decimal("1.10"), "a14": np.int64(42), "a15": np.float32(0.5),
    "a16": np.bool_(True), "a17": 10**20, "a18": "", "a19": float("inf"), "a20": 3.0,
}"""
KEY_SCRIPT = f"""
import datetime as dt, decimal, json
import numpy as np
from datanectar.cache.keys import cache_key
print(json.dumps([cache_key("pipelines.f", {TWENTY_ARGUMENTS}, "ns"),
                  cache_key("pipelines.f", {{"tags": {{"b", "a", "c", "zz", "y"}}}})]))
"""


def test_cache_key_is_the_same_in_other_processes():
    here = [
        cache_key(
            "pipelines.f", eval(TWENTY_ARGUMENTS, {"dt": dt, "decimal": decimal, "np": np}), "ns"
        ),
        cache_key("pipelines.f", {"tags": {"b", "a", "c", "zz", "y"}}),
    ]
    repo = Path(__file__).resolve().parents[1]
    for seed in ("0", "12345"):  # str hashes, and so set order, differ between these
        env = {**os.environ, "PYTHONHASHSEED": seed}
        output = subprocess.run(
            [sys.executable, "-c", KEY_SCRIPT],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        assert json.loads(output) == here
    assert len(here[0]) == 16
    assert all(character in "0123456789abcdef" for character in here[0])


def test_unkeyable_argument_is_an_error_naming_function_and_argument(make_cache_project):
    project = make_cache_project()
    calls: list[tuple[Any, ...]] = []
    f = keyed(calls)

    with datanectar.catalog(project, functions=[f]).activate():
        with pytest.raises(datanectar.CacheKeyError) as info:
            f(x=1, y=[1, object()])

    message = str(info.value)
    assert f.qualified_name in message
    assert "cache argument 'y'" in message
    assert "builtins.object" in message
    assert isinstance(info.value, datanectar.DatanectarError)
    assert calls == []
    assert not (project / "data").exists()


# -- recompute ------------------------------------------------------------------------------


@pytest.fixture
def stored_chain(make_cache_project) -> Iterator[tuple[list[str], Any]]:
    """a -> b -> c, all computed and stored once; yields the call log (emptied) and `a`."""
    project = make_cache_project()
    calls: list[str] = []
    a, b, c = chain(calls)
    with datanectar.catalog(project, functions=[a, b, c]).activate():
        assert a() == 3
        assert calls == ["a", "b", "c"]
        calls.clear()
        yield calls, a


@pytest.mark.parametrize(
    ("recompute", "expected"),
    [
        (None, []),
        (False, []),
        (True, ["a"]),  # this call only
        ("a", ["a"]),
        (["a", "b"], ["a", "b"]),
        (["a", "b", "c"], ["a", "b", "c"]),  # a name reaches two levels down
        ("_all", ["a", "b", "c"]),
        # A name applies where its function is called: b is recalled, so c is never called.
        (["a", "c"], ["a"]),
    ],
)
def test_recompute_through_two_levels(stored_chain, recompute, expected):
    calls, a = stored_chain

    assert a(recompute=recompute, cache_mode="overwrite") == 3
    assert calls == expected

    calls.clear()
    assert a() == 3  # the settings stayed with that call
    assert calls == []


def test_recompute_under_write_keeps_a_fresh_stored_result(make_cache_project):
    project = make_cache_project()
    calls: list[str] = []

    @datanectar.cache(version="1")
    def f() -> int:
        calls.append("f")
        return len(calls)

    with datanectar.catalog(project, functions=[f]).activate():
        assert f() == 1
        before = files_under(project / "data")
        with pytest.warns(UserWarning, match="stored result was kept"):
            assert f(recompute=True) == 1  # computed, but the stored result is returned ...
        assert files_under(project / "data") == before  # ... and stays what is stored
        assert f() == 1
        assert f(recompute=True, cache_mode="overwrite") == 3  # overwrite replaces
        assert f() == 3

    assert calls == ["f", "f", "f"]


def test_recompute_settings_do_not_leak_between_threads(make_cache_project):
    project = make_cache_project()
    calls: list[tuple[str, str]] = []
    a_is_inside = threading.Event()
    b_is_done = threading.Event()

    @datanectar.cache(version="1")
    def inner() -> int:
        calls.append((threading.current_thread().name, "inner"))
        if threading.current_thread().name == "A" and not b_is_done.is_set():
            # Hold thread A inside a recomputing call while thread B makes its calls.
            a_is_inside.set()
            assert b_is_done.wait(30)
        return 1

    @datanectar.cache(version="1")
    def outer() -> int:
        calls.append((threading.current_thread().name, "outer"))
        return inner() + 1

    catalog = datanectar.catalog(project, functions=[inner, outer])
    with catalog.activate():
        outer()
    calls.clear()
    failures: list[BaseException] = []

    def thread_a() -> None:
        try:
            # The active catalog is a context variable too: each thread activates it.
            with catalog.activate():
                outer(recompute="_all", cache_mode="overwrite")
        except BaseException as exc:
            failures.append(exc)
            a_is_inside.set()

    def thread_b() -> None:
        try:
            assert a_is_inside.wait(30)
            with catalog.activate():
                outer()
                inner()
                outer(cache_mode="read_only")
        except BaseException as exc:
            failures.append(exc)
        finally:
            b_is_done.set()

    threads = [
        threading.Thread(target=thread_a, name="A"),
        threading.Thread(target=thread_b, name="B"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert sorted(calls) == [("A", "inner"), ("A", "outer")]  # thread B only recalled


# -- modes ----------------------------------------------------------------------------------


@pytest.fixture
def counter_project(make_cache_project) -> Iterator[tuple[Path, list[str], Any]]:
    """A project with one cached function `f` returning how many times it ran."""
    project = make_cache_project()
    calls: list[str] = []

    @datanectar.cache(version="1")
    def f() -> int:
        calls.append("f")
        return len(calls)

    with datanectar.catalog(project, functions=[f]).activate():
        yield project, calls, f


def test_write_mode_computes_once_and_stores_in_the_root_store(counter_project, tmp_path):
    project, calls, f = counter_project

    assert f(cache_mode="write") == 1
    assert f(cache_mode="write") == 1

    assert calls == ["f"]
    assert (project / "data" / "f.pkl").is_file()
    assert read_record(project / "data", "f")["version"] == "1"
    assert files_under(tmp_path / "local_cache") == {}


def test_overwrite_mode_recalls_a_fresh_result_and_replaces_computed_ones(counter_project):
    project, calls, f = counter_project
    f()

    assert f(cache_mode="overwrite") == 1
    assert calls == ["f"]
    assert f(cache_mode="overwrite", recompute=True) == 2
    assert f() == 2
    assert read_record(project / "data", "f")["version"] == "1"


def test_read_only_mode_computes_a_missing_result_without_storing_it(counter_project, tmp_path):
    project, _calls, f = counter_project

    assert f(cache_mode="read_only") == 1
    assert f(cache_mode="read_only") == 2

    assert files_under(project / "data") == {}
    assert files_under(tmp_path / "local_cache") == {}


def test_read_only_mode_recalls_a_stored_result(counter_project):
    project, calls, f = counter_project
    f()
    before = files_under(project / "data")

    assert f(cache_mode="read_only") == 1

    assert calls == ["f"]
    assert files_under(project / "data") == before


def test_local_mode_copies_hits_into_the_local_cache(counter_project, tmp_path):
    project, calls, f = counter_project
    f()
    root_before = files_under(project / "data")

    assert f(cache_mode="local") == 1  # recalled from the root store, copied to the local cache

    assert calls == ["f"]
    local = local_level(tmp_path)
    assert pd.read_pickle(local / "f.pkl") == 1
    assert read_record(local, "f")["version"] == "1"
    assert files_under(project / "data") == root_before
    # The local copy is now the first level read: gone from the root, still recalled.
    shutil.rmtree(project / "data")
    assert f(cache_mode="local") == 1
    assert f(cache_mode="offline") == 1
    assert calls == ["f"]


def test_local_mode_writes_computed_results_only_to_the_local_cache(counter_project, tmp_path):
    project, calls, f = counter_project

    assert f(cache_mode="local") == 1
    assert f(cache_mode="local") == 1

    assert calls == ["f"]
    assert files_under(project / "data") == {}
    assert pd.read_pickle(local_level(tmp_path) / "f.pkl") == 1


def test_offline_mode_reads_and_writes_only_the_local_cache(counter_project, tmp_path):
    project, calls, f = counter_project
    f()  # stored in the root store: offline does not look there
    root_before = files_under(project / "data")

    assert f(cache_mode="offline") == 2
    assert f(cache_mode="offline") == 2

    assert calls == ["f", "f"]
    assert files_under(project / "data") == root_before
    assert pd.read_pickle(local_level(tmp_path) / "f.pkl") == 2
    assert f() == 2  # write mode reads the local level first


def test_off_mode_just_calls_the_function(counter_project, tmp_path):
    project, _calls, f = counter_project
    f()
    before = files_under(project / "data")

    assert f(cache_mode="off") == 2
    assert f(cache_mode="off") == 3

    assert files_under(project / "data") == before
    assert files_under(tmp_path / "local_cache") == {}
    assert f() == 1


@pytest.mark.parametrize("mode", ["read_only", "off"])
def test_mode_is_passed_down_to_nested_cached_calls(make_cache_project, tmp_path, mode):
    project = make_cache_project()
    calls: list[str] = []
    a, b, c = chain(calls)

    with datanectar.catalog(project, functions=[a, b, c]).activate():
        assert a(cache_mode=mode) == 3
        assert a(cache_mode=mode) == 3

    assert calls == ["a", "b", "c"] * 2
    assert files_under(project / "data") == {}
    assert files_under(tmp_path / "local_cache") == {}


def test_local_mode_is_passed_down_to_nested_cached_calls(make_cache_project, tmp_path):
    project = make_cache_project()
    calls: list[str] = []
    a, b, c = chain(calls)

    with datanectar.catalog(project, functions=[a, b, c]).activate():
        a(cache_mode="local")

    assert calls == ["a", "b", "c"]
    assert files_under(project / "data") == {}
    assert {
        name for name in ("a.pkl", "b.pkl", "c.pkl") if (local_level(tmp_path) / name).is_file()
    } == {
        "a.pkl",
        "b.pkl",
        "c.pkl",
    }


@pytest.mark.parametrize("mode", ["local", "offline"])
def test_nested_results_in_the_local_cache_are_recalled(make_cache_project, mode):
    project = make_cache_project()
    calls: list[str] = []
    a, b, c = chain(calls)

    with datanectar.catalog(project, functions=[a, b, c]).activate():
        a(cache_mode=mode)
        calls.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert a(cache_mode=mode) == 3

    assert calls == []
    assert [w for w in caught if issubclass(w.category, datanectar.StaleResultWarning)] == []


def test_unknown_cache_mode_is_an_error(counter_project):
    _project, calls, f = counter_project

    with pytest.raises(datanectar.DatanectarError, match=r"unknown cache_mode 'sometimes'") as info:
        f(cache_mode="sometimes")

    assert f.qualified_name in str(info.value)
    assert "read_only" in str(info.value)
    assert calls == []


def test_cache_mode_setting_is_the_default(make_cache_project):
    project = make_cache_project(settings='cache_mode = "read_only"\n')
    calls: list[str] = []
    f = counted(calls, "f", 1)

    with datanectar.catalog(project, functions=[f]).activate():
        f()
        f()
        f(cache_mode="write")
        f()

    assert calls == ["f", "f", "f"]
    assert (project / "data" / "f.pkl").is_file()


def test_cache_mode_environment_override(make_cache_project, monkeypatch):
    project = make_cache_project(settings='cache_mode = "write"\n')
    calls: list[str] = []
    f = counted(calls, "f", 1)
    monkeypatch.setenv("DATANECTAR_CACHE_MODE", "off")

    with datanectar.catalog(project, functions=[f]).activate():
        f()
        f()

    assert calls == ["f", "f"]
    assert files_under(project / "data") == {}


def test_invalid_cache_mode_environment_override_is_a_config_error(make_cache_project, monkeypatch):
    project = make_cache_project()
    monkeypatch.setenv("DATANECTAR_CACHE_MODE", "sometimes")

    with pytest.raises(datanectar.ConfigError) as info:
        datanectar.catalog(project)

    assert info.value.field == "tool.datanectar.cache_mode"


# -- mirrors --------------------------------------------------------------------------------


def move_to_mirror(project: Path) -> None:
    """Move everything stored in the root store into the mirror store, same relative paths."""
    shutil.rmtree(project / "mirror_data", ignore_errors=True)
    shutil.move(project / "data", project / "mirror_data")


def test_result_only_in_a_mirror_is_recalled_and_never_written_there(make_cache_project, tmp_path):
    project = make_cache_project(settings='mirrors = ["mirror"]\n', stores=MIRRORED_STORES)
    calls: list[int] = []

    @datanectar.cache(cache_args=["n"], version="1")
    def f(n: int = 1) -> pd.DataFrame:
        calls.append(n)
        return table(n)

    with datanectar.catalog(project, functions=[f]).activate():
        f(n=3)
        move_to_mirror(project)
        mirror_before = files_under(project / "mirror_data")
        calls.clear()

        assert_frames_equal(f(n=3), table(3))  # write mode: recalled from the mirror
        assert calls == []
        assert files_under(project / "data") == {}  # not copied into the root store

        f(n=4)  # computed: stored in the root store, not the mirror
        assert calls == [4]
        assert_frames_equal(f(n=3, cache_mode="local"), table(3))  # copied to the local cache
        f(n=5, cache_mode="overwrite", recompute=True)

    assert files_under(project / "mirror_data") == mirror_before
    key4 = cache_key(f.qualified_name, {"n": 4})
    key3 = cache_key(f.qualified_name, {"n": 3})
    assert_frames_equal(DeltaTable(str(project / "data" / "f" / key4)).to_pandas(), table(4))
    assert_frames_equal(DeltaTable(str(local_level(tmp_path) / "f" / key3)).to_pandas(), table(3))
    assert calls == [4, 5]


def test_offline_mode_does_not_read_mirrors(make_cache_project):
    project = make_cache_project(settings='mirrors = ["mirror"]\n', stores=MIRRORED_STORES)
    calls: list[str] = []
    f = counted(calls, "f", 1)

    with datanectar.catalog(project, functions=[f]).activate():
        f()
        move_to_mirror(project)
        f(cache_mode="offline")

    assert calls == ["f", "f"]


def test_result_whose_upstream_came_from_a_mirror_is_recalled(make_cache_project):
    project = make_cache_project(settings='mirrors = ["mirror"]\n', stores=MIRRORED_STORES)
    calls: list[str] = []
    a, b, c = chain(calls)

    with datanectar.catalog(project, functions=[a, b, c]).activate():
        c()
        move_to_mirror(project)
        b()  # c recalled from the mirror
        calls.clear()
        b()

    assert calls == []


def test_unknown_mirror_is_a_config_error(make_cache_project):
    project = make_cache_project(settings='mirrors = ["elsewhere"]\n')

    with pytest.raises(datanectar.ConfigError) as info:
        datanectar.catalog(project)

    assert info.value.field == "tool.datanectar.mirrors[0]"
    assert "tool.datanectar.mirrors[0]" in str(info.value)
    assert "elsewhere" in str(info.value)


# -- memo -----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["decorator", "call"])
def test_memoized_result_survives_deletion_from_disk(make_cache_project, where):
    project = make_cache_project()
    calls: list[str] = []
    f = counted(calls, "f", {"big": list(range(10))}, memoize=where == "decorator")
    options = {"memoize": True} if where == "call" else {}

    with datanectar.catalog(project, functions=[f]).activate():
        f(**options)
        shutil.rmtree(project / "data")
        assert f(**options) == {"big": list(range(10))}
        assert calls == ["f"]
        f(memoize=False)  # the stored object is gone: computed again
        assert calls == ["f", "f"]


def test_memo_is_bounded_by_memo_bytes(make_cache_project):
    project = make_cache_project(settings="memo_bytes = 10000\n")
    calls: list[str] = []
    small = counted(calls, "small", np.zeros(10), memoize=True)
    big = counted(calls, "big", np.zeros(100_000), memoize=True)  # 800 kB > 10 kB

    with datanectar.catalog(project, functions=[small, big]).activate():
        small()
        big()
        shutil.rmtree(project / "data")
        np.testing.assert_array_equal(small(), np.zeros(10))
        np.testing.assert_array_equal(big(), np.zeros(100_000))

    assert calls == ["small", "big", "big"]


def test_memo_is_not_shared_between_projects(make_cache_project, make_project, tmp_path):
    first = make_project(settings=f'local_cache = "{tmp_path / "one" / "local_cache"}"\n')
    second = make_cache_project.at(tmp_path / "two")()
    calls: list[str] = []
    in_first = counted(calls, "f", "first project", memoize=True)
    in_second = counted(calls, "f", "second project", memoize=True)

    with datanectar.catalog(first, functions=[in_first]).activate():
        assert in_first() == "first project"
    with datanectar.catalog(second, functions=[in_second]).activate():
        assert in_second() == "second project"


# -- None results ---------------------------------------------------------------------------


def test_none_is_stored_as_a_null_marker(make_cache_project):
    project = make_cache_project()
    calls: list[int] = []

    @datanectar.cache(cache_args=["n"], version="1", format="parquet")
    def maybe(n: int = 0) -> pd.DataFrame | None:
        calls.append(n)
        return None

    with datanectar.catalog(project, functions=[maybe]).activate():
        assert maybe(n=1) is None
        assert maybe(n=1) is None
        assert maybe(n=1, cache_mode="read_only") is None

    assert calls == [1]
    key = cache_key(maybe.qualified_name, {"n": 1})
    record = read_record(project / "data", "maybe", key)
    assert record["is_null"] is True
    assert record["key"] == key
    assert record["version"] == "1"
    assert record["arguments"] == {"n": 1}
    assert record["upstream"] == []
    assert not (project / "data" / "maybe" / f"{key}.parquet").exists()


# -- staleness: code version ----------------------------------------------------------------


def test_new_version_is_recomputed_under_write(make_cache_project):
    project = make_cache_project()
    calls: list[str] = []
    old = versioned("1", calls)
    new = versioned("2", calls)

    with datanectar.catalog(project, functions=[old]).activate():
        assert old() == {"computed_by": "1"}
        assert new() == {"computed_by": "2"}
        assert new() == {"computed_by": "2"}

    assert calls == ["1", "2"]
    assert read_record(project / "data", "report")["version"] == "2"
    assert pd.read_pickle(project / "data" / "report.pkl") == {"computed_by": "2"}


def test_new_version_under_read_only_returns_the_stale_result_with_a_warning(make_cache_project):
    project = make_cache_project()
    calls: list[str] = []
    old = versioned("1", calls)
    new = versioned("2", calls)

    with datanectar.catalog(project, functions=[old]).activate():
        old()
        before = files_under(project / "data")
        with pytest.warns(datanectar.StaleResultWarning) as caught:
            assert new(cache_mode="read_only") == {"computed_by": "1"}

    assert calls == ["1"]
    [warning] = [w for w in caught if issubclass(w.category, datanectar.StaleResultWarning)]
    message = str(warning.message)
    assert "computed by version '1'" in message
    assert "version '2'" in message
    assert files_under(project / "data") == before


def test_recompute_under_write_replaces_a_stale_result(make_cache_project):
    project = make_cache_project()
    calls: list[str] = []
    old = versioned("1", calls)
    new = versioned("2", calls)

    with datanectar.catalog(project, functions=[old]).activate():
        old()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            new(recompute=True)

    assert read_record(project / "data", "report")["version"] == "2"


def test_removed_object_with_a_record_left_is_recomputed(counter_project):
    project, calls, f = counter_project
    f()
    (project / "data" / "f.pkl").unlink()  # the record stays

    assert f() == 2
    assert f() == 2
    assert calls == ["f", "f"]


# -- staleness: upstream data ---------------------------------------------------------------

RAW = "raw:\n  format: parquet\n  path: inputs/raw.parquet\n"


def test_changed_upstream_entry_makes_the_result_stale(make_cache_project):
    project = make_cache_project(RAW)
    calls: list[str] = []

    @datanectar.cache(version="1")
    def summary(raw: pd.DataFrame) -> dict:
        calls.append("summary")
        return {"rows": len(raw)}

    catalog = datanectar.catalog(project, functions=[summary])
    catalog.save("raw", table(5))
    with catalog.activate():
        assert summary() == {"rows": 5}
        assert summary() == {"rows": 5}
        [upstream] = read_record(project / "data", "summary")["upstream"]
        assert upstream["entry"] == "raw"
        assert upstream["path"] == "inputs/raw.parquet"

        catalog.save("raw", table(8))

        with pytest.warns(datanectar.StaleResultWarning, match="upstream 'raw' changed"):
            assert summary(cache_mode="read_only") == {"rows": 5}
        assert summary() == {"rows": 8}
        assert summary() == {"rows": 8}

    assert calls == ["summary", "summary"]


def test_changed_cached_function_called_in_the_body_makes_the_result_stale(make_cache_project):
    project = make_cache_project()
    calls: list[str] = []
    state = {"c": 1}

    @datanectar.cache(version="1")
    def c() -> int:
        calls.append("c")
        return state["c"]

    @datanectar.cache(version="1")
    def b() -> int:
        calls.append("b")
        return c() * 10

    with datanectar.catalog(project, functions=[b, c]).activate():
        assert b() == 10
        assert b() == 10
        state["c"] = 2
        assert c(recompute=True, cache_mode="overwrite") == 2
        assert b() == 20
        assert b() == 20

    assert calls == ["b", "c", "c", "b"]
    [upstream] = read_record(project / "data", "b")["upstream"]
    assert upstream["entry"] == "c"


# -- the example of the issue ---------------------------------------------------------------

PIPELINE = """
import pandas as pd
import xarray as xr

from datanectar import cache

CALLS = []


@cache(version="0.2.0")  # format from the return type: xarray -> zarr
def temperature_grid(stations: pd.DataFrame) -> xr.Dataset:
    CALLS.append("temperature_grid")
    days = pd.date_range("2024-01-01", periods=10, freq="D")
    values = [[float(lat) + day for lat in stations["lat"]] for day in range(len(days))]
    return xr.Dataset(
        {"air": (("time", "station"), values)},
        coords={"time": days, "station": list(stations["station_id"])},
    )


@cache(cache_args=["agg_days"], version="0.1.0", format="delta")
def rolling_means(temperature_grid: xr.Dataset, agg_days: int = 1) -> pd.DataFrame:
    CALLS.append(f"rolling_means({agg_days})")
    rolled = temperature_grid["air"].rolling(time=agg_days, min_periods=1).mean()
    frame = rolled.to_dataframe().reset_index()
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%d")
    return frame
"""


def test_rolling_means_example(make_cache_project):
    project = make_cache_project(
        "stations:\n  format: csv\n  path: inputs/stations.csv\n",
        modules={"cache_pipeline": PIPELINE},
    )
    catalog = datanectar.catalog(project)
    pipeline = importlib.import_module("cache_pipeline")
    stations = pd.DataFrame({"station_id": ["a", "b"], "lat": [40.0, 50.0]})
    catalog.save("stations", stations)

    with catalog.activate():
        weekly = pipeline.rolling_means(agg_days=7)  # computes temperature_grid first
        assert pipeline.CALLS == ["temperature_grid", "rolling_means(7)"]
        pipeline.rolling_means(agg_days=3)  # temperature_grid recalled, not recomputed
        assert_frames_equal(pipeline.rolling_means(agg_days=7), weekly)
        assert pipeline.CALLS == ["temperature_grid", "rolling_means(7)", "rolling_means(3)"]

        pipeline.CALLS.clear()
        pipeline.rolling_means(
            agg_days=7, recompute=["rolling_means", "temperature_grid"], cache_mode="overwrite"
        )
        assert pipeline.CALLS == ["temperature_grid", "rolling_means(7)"]

        pipeline.CALLS.clear()
        catalog.save("stations", stations.assign(lat=[41.0, 51.0]))
        pipeline.temperature_grid()  # stale: its upstream entry changed
        moved = pipeline.rolling_means(agg_days=7)  # stale: temperature_grid changed
        assert pipeline.CALLS == ["temperature_grid", "rolling_means(7)"]

    data = project / "data"
    key = cache_key("cache_pipeline.rolling_means", {"agg_days": 7})
    assert_frames_equal(DeltaTable(str(data / "rolling_means" / key)).to_pandas(), moved)
    grid_on_disk = xr.open_zarr(data / "temperature_grid.zarr").load()
    assert float(grid_on_disk["air"].sel(station="a").isel(time=0)) == 41.0
    assert (
        moved.loc[(moved["station"] == "a") & (moved["time"] == "2024-01-01"), "air"].item() == 41.0
    )
    assert read_record(data, "temperature_grid")["version"] == "0.2.0"
    assert read_record(data, "rolling_means", key)["version"] == "0.1.0"


# -- which catalog ------------------------------------------------------------------------------

FOUND = """
import datanectar

CALLS = []


@datanectar.cache(version="1")
def found() -> str:
    CALLS.append("found")
    return "stored"
"""


@pytest.mark.parametrize("how", ["environment", "working directory"])
def test_plain_call_without_activation_uses_the_project_found(make_cache_project, monkeypatch, how):
    project = make_cache_project(modules={"cache_found": FOUND})
    if how == "environment":
        monkeypatch.setenv("DATANECTAR_PROJECT", str(project))
    else:
        monkeypatch.chdir(project)
    datanectar.catalog(project)  # puts the project root on sys.path, as a script run there
    module = importlib.import_module("cache_found")

    assert module.found() == "stored"
    assert module.found() == "stored"

    assert module.CALLS == ["found"]
    assert pd.read_pickle(project / "data" / "found.pkl") == "stored"


def test_activated_catalog_wins_over_the_environment(make_cache_project, tmp_path, monkeypatch):
    project = make_cache_project()
    other = make_cache_project.at(tmp_path / "other")()
    monkeypatch.setenv("DATANECTAR_PROJECT", str(other))
    calls: list[str] = []
    f = counted(calls, "f", 1)

    with datanectar.catalog(project, functions=[f]).activate():
        f()

    assert (project / "data" / "f.pkl").is_file()
    assert not (other / "data").exists()

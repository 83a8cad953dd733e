"""Removing one namespace of an entry that keeps every namespace in one table removes that
namespace only: a cached call returning None for it, and `datanectar cache clear`, leave the
other namespaces' rows where they were (read back with deltalake and SQLAlchemy)."""

from __future__ import annotations

import importlib
import json
import sys

import pandas as pd
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

import datanectar
from datanectar.cli import main

MODULE = """
import pandas as pd
import datanectar

EMPTY = set()

@datanectar.cache(namespaces=["paris", "oslo"], format="{format}", version="1")
def readings(namespace: str) -> pd.DataFrame:
    if namespace in EMPTY:
        return None
    return pd.DataFrame({{"value": [1.0, 2.0] if namespace == "paris" else [3.0]}})
"""


def stored_rows(project, format_name: str) -> dict[str, list[float]]:
    if format_name == "delta":
        frame = DeltaTable(str(project / "data" / "readings")).to_pandas()
    else:
        engine = sa.create_engine(f"sqlite:///{project / 'data' / 'datanectar.sqlite'}")
        with engine.connect() as connection:
            frame = pd.read_sql_table("readings", connection)
        engine.dispose()
    return {key: sorted(group["value"].tolist()) for key, group in frame.groupby("namespace")}


@pytest.fixture(params=["delta", "sql"])
def project(request, make_project, hermetic_cache):
    root = make_project("", modules={"pipes": MODULE.format(format=request.param)})
    sys.path.insert(0, str(root))
    module = importlib.import_module("pipes")
    catalog = datanectar.catalog(root)
    with catalog.activate():
        module.readings(namespace="paris")
        module.readings(namespace="oslo")
    assert stored_rows(root, request.param) == {"oslo": [3.0], "paris": [1.0, 2.0]}
    yield root, module, catalog, request.param
    sys.path.remove(str(root))


def test_a_none_result_removes_its_namespace_only(project):
    root, module, catalog, format_name = project
    module.EMPTY.add("oslo")
    with catalog.activate():
        assert module.readings(namespace="oslo", recompute=True, cache_mode="overwrite") is None

    assert stored_rows(root, format_name) == {"paris": [1.0, 2.0]}
    with catalog.activate():
        assert module.readings(namespace="oslo") is None  # recalled as the null result
        assert module.readings(namespace="paris")["value"].tolist() == [1.0, 2.0]


def test_cache_clear_of_one_key_removes_its_namespace_only(project, capsys):
    root, module, catalog, format_name = project
    record = json.loads(
        (root / "data" / ".datanectar" / "records" / "readings" / "oslo.json").read_text()
    )

    assert main(["--project", str(root), "cache", "clear", "readings", "--key", record["key"]]) == 0

    assert "removed 1 stored result(s)" in capsys.readouterr().out
    assert stored_rows(root, format_name) == {"paris": [1.0, 2.0]}  # paris's rows stay
    with catalog.activate():
        assert module.readings(namespace="paris")["value"].tolist() == [1.0, 2.0]


def test_cache_clear_of_one_namespace_and_of_nothing_that_matches(project, capsys):
    root, _, _, format_name = project
    assert main(["--project", str(root), "cache", "clear", "readings", "--namespace", "oslo"]) == 0
    assert "removed 1 stored result(s)" in capsys.readouterr().out
    assert stored_rows(root, format_name) == {"paris": [1.0, 2.0]}

    assert main(["--project", str(root), "cache", "clear", "readings", "--key", "zzz"]) == 1
    assert (
        "no stored result of 'readings' at the root level has key 'zzz'" in capsys.readouterr().err
    )
    assert stored_rows(root, format_name) == {"paris": [1.0, 2.0]}  # nothing else went


def test_removing_the_last_namespace_of_a_delta_table_leaves_no_table(project):
    root, module, catalog, format_name = project
    module.EMPTY.update({"paris", "oslo"})
    with catalog.activate():
        module.readings(namespace="paris", recompute=True, cache_mode="overwrite")
        module.readings(namespace="oslo", recompute=True, cache_mode="overwrite")
    if format_name == "delta":
        assert not (root / "data" / "readings").exists()
    else:
        assert stored_rows(root, format_name) == {}


SHARED = """
import pandas as pd
import datanectar

@datanectar.cache(format="sql", version="1", entry="{entry}")
def sq() -> pd.DataFrame:
    return pd.DataFrame({{"value": [1.0]}})
"""


def test_cache_clear_leaves_another_projects_results_in_a_shared_database(
    make_project, tmp_path, monkeypatch, hermetic_cache
):
    """Two projects whose sql stores are one database, each with an entry 'sq' in a table of
    its own: clearing one project's results removes neither the other's table nor its record."""
    monkeypatch.setenv("SHARED_DB_URL", f"sqlite:///{tmp_path / 'shared.sqlite'}")
    stores = '[tool.datanectar.stores.db]\ntype = "sql"\nurl_env = "SHARED_DB_URL"\n'
    roots = {}
    for name, table in (("one", "one_sq"), ("two", "two_other")):
        root = make_project.at(tmp_path / name)(
            f"sq:\n  format: sql\n  store: db\n  path: {table}\n",
            settings='default_store = "db"\n',
            stores=stores,
            modules={f"shared_{name}": SHARED.format(entry="sq")},
        )
        sys.path.insert(0, str(root))
        module = importlib.import_module(f"shared_{name}")
        with datanectar.catalog(root).activate():
            module.sq()
        sys.path.remove(str(root))
        roots[name] = root
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shared.sqlite'}")

    assert main(["--project", str(roots["one"]), "cache", "clear", "sq"]) == 0

    tables = sa.inspect(engine).get_table_names()
    assert "two_other" in tables  # the other project's table stays ...
    with engine.connect() as connection:
        records = connection.execute(sa.text("select record from datanectar_records")).scalars()
        assert any('"path": "two_other"' in record for record in records)  # ... and its record
    engine.dispose()

"""The cache modes as one table, and the seam between the cache and Dagster reporting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import datanectar
from datanectar.cache import CACHE_MODES
from datanectar.cache.policy import CachePolicy, policy_for
from datanectar.cache.reporting import set_call_reporter
from datanectar.errors import DatanectarError


def test_every_configurable_mode_has_a_policy():
    assert [policy.value for policy in CachePolicy] == list(CACHE_MODES)


@pytest.mark.parametrize(
    ("mode", "reads", "writes_to"),
    [
        ("write", ("local", "root", "mirror"), "root"),
        ("overwrite", ("local", "root", "mirror"), "root"),
        ("read_only", ("local", "root", "mirror"), None),
        ("local", ("local", "root", "mirror"), "local"),
        ("offline", ("local",), "local"),
        ("off", (), None),
    ],
)
def test_what_each_mode_reads_and_writes(mode, reads, writes_to):
    policy = policy_for(mode, where="f")
    assert (policy.reads, policy.writes_to) == (reads, writes_to)
    assert policy.caches is (mode != "off")
    assert policy.serves_stale is (mode in ("read_only", "offline"))
    assert policy.replaces_fresh is (mode == "overwrite")
    assert policy.copies_to_local is (mode == "local")


def test_an_unknown_mode_names_the_modes():
    with pytest.raises(
        DatanectarError, match="unknown cache_mode 'sometimes'; expected one of write"
    ):
        policy_for("sometimes", where="f")


def test_the_cache_imports_nothing_of_the_dagster_side():
    cache = Path(datanectar.__file__).parent / "cache"
    for module in cache.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("assets"), module.name
                assert "dagster" not in (node.module or ""), module.name
            if isinstance(node, ast.Import):
                assert not any("dagster" in alias.name for alias in node.names), module.name


def test_datanectar_installs_the_dagster_reporter():
    installed = set_call_reporter(None)
    try:
        assert installed is not None and installed.__module__ == "datanectar"
    finally:
        set_call_reporter(installed)

"""The demo in Dagster's web UI, driven in Debian's chromium by Playwright, as a user would.

`dagster dev` serves a copy of the demo project (its own DAGSTER_HOME, nothing written into the
checkout but the screenshots under test-artifacts/). The test opens the global asset lineage,
clicks "Materialize all" and launches the backfill Dagster offers for the mixed partitioned and
unpartitioned graph, waits on the backfill's page for it to succeed (GraphQL as a cross-check),
then reads an asset's checks, a row count and partition statuses off the pages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deltalake
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from servers import DevServer, ready, running

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; `make browser` installs it, never a download
ARTIFACTS = REPO / "test-artifacts"
BACKFILL_TIMEOUT = 600  # seconds; 3 runs over 2-3 backfill daemon ticks (30 s apart)
UI_TIMEOUT = 60_000  # ms for an element to show; the first load compiles the UI bundle
MATERIALIZABLE = 12  # the demo's 14 entries less its 2 external sources
OBSERVATIONS = 12 * 14 * 24  # stations x hours
# temperature_grid's checks and the sentences that describe them (demo/catalog/weather.yaml)
CHECKS = {
    "dims": "dimensions time, lat of length 12 and lon of length 15.",
    "max_nan_fraction": "at most 0.01 of air is NaN.",
    "range": "air between 180 and 340.",
    "variables": "variables air (float32, units degK).",
}


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def demo_server(tmp_path) -> Iterator[tuple[DevServer, Path]]:
    """`dagster dev` on a fresh copy of the demo, its scenarios discovered as `make demo` does."""
    root, home = tmp_path / "project", tmp_path / "dagster_home"
    root.mkdir()
    home.mkdir()
    for name in ("pyproject.toml", "definitions.py"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(
        REPO / "demo", root / "demo", ignore=shutil.ignore_patterns("__pycache__", "locals.yaml")
    )
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = dict(os.environ)  # PYTHONPATH too: a worktree's src, not the venv's checkout
    env["DAGSTER_HOME"] = str(home)
    # Each run in one process (`in_process`, not a process per step): the UI sees the same
    # runs, events and checks, in a fraction of the time on a 2-core machine.
    env["DATANECTAR_EXECUTOR"] = "in_process"
    env.pop("DATANECTAR_PROJECT", None)
    discovered = subprocess.run(
        [str(BIN / "datanectar"), "namespaces", "discover", "scenarios", "--add"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert discovered.returncode == 0, discovered.stderr
    command = [str(BIN / "dagster"), "dev", "-f", "definitions.py"]
    with running(command, cwd=root, env=env, log=tmp_path / "dagster_dev.log") as server:
        ready(server)
        # Dagster's "Join the community" dialog, already dismissed: it would otherwise pop up
        # over whichever dialog is open when its query answers (the page handler stays as a
        # fallback).
        server.graphql("mutation { setNuxSeen }")
        yield server, root


def new_page(browser: Browser, **context: Any) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 900}, **context).new_page()
    page.set_default_timeout(UI_TIMEOUT)
    page.set_default_navigation_timeout(120_000)
    # Dagster asks a first visitor to join its community; a user clicks Skip.
    page.add_locator_handler(
        page.get_by_role("dialog").filter(has_text="Join the Dagster community"),
        lambda: page.get_by_role("button", name="Skip").click(),
    )
    return page


BACKFILL_QUERY = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 100) { runId status } }
  }
}
"""


def wait_for_backfill(page: Page, server: DevServer) -> str:
    """Poll the backfill's page until its status is final; the status the page shows."""
    deadline = time.monotonic() + BACKFILL_TIMEOUT
    while True:
        text = page.inner_text("body")
        found = re.search(r"Status\s+(Succeeded|Failed|Canceled|Completed[^\n]*)", text)
        if found:
            return found.group(1)
        if server.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the backfill did not finish\n{text[-3000:]}\n{server.output()}")
        page.wait_for_timeout(5_000)
        page.reload()


def graph_option(page: Page, name: str) -> None:
    """Pick a graph setting from its settings menu (each toggles: expand/collapse, orientation)."""
    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(name)).click()
    page.keyboard.press("Escape")


def graph_screenshot(browser: Browser, server: DevServer) -> None:
    """The whole lineage, groups expanded, vertical, fitted, at twice the pixels: the README's
    picture. A fresh context, so the graph settings start from Dagster's defaults."""
    page = new_page(browser, device_scale_factor=2)
    try:
        page.goto(f"{server.url}/asset-groups")
        materialize_all = page.get_by_role("button", name=re.compile("Materialize all"))
        expect(materialize_all).to_be_visible()
        graph_option(page, "Expand all groups")
        graph_option(page, "vertical orientation")
        page.get_by_role("button", name="Hide navigation").click()
        # The graph fits the viewport on load; the live query colours each node by its status.
        with page.expect_response(lambda response: live_graph(response.request)):
            page.reload()
        expect(materialize_all).to_be_visible()
        page.wait_for_timeout(1500)  # the nodes' layout and status colours settle
        # The graph pane, not the asset tree beside it: from the tree's right edge, just past
        # its collapse button, to the viewport's.
        tree = page.get_by_role("button", name="panel_show_right", exact=True).bounding_box()
        viewport = page.viewport_size
        assert tree and viewport
        left = tree["x"] + tree["width"] + 14
        clip = {"x": left, "y": 0, "width": viewport["width"] - left, "height": viewport["height"]}
        page.screenshot(path=ARTIFACTS / "graph.png", clip=clip)
    finally:
        page.context.close()


def live_graph(request: Any) -> bool:
    """The UI's query of the graph's asset statuses (POST /graphql?op=..., JSON body)."""
    if request.method != "POST" or "/graphql" not in request.url:
        return False
    return "AssetGraphLiveQuery" in (request.post_data or "")


def check_passed(page: Page, check: str) -> None:
    """Open a check on the asset's Checks tab: its latest evaluation passed, with no errors."""
    page.get_by_text(check, exact=True).first.click()
    page.wait_for_url(re.compile(f"checkDetail={check}"))
    expect(page.get_by_text(CHECKS[check]).first).to_be_visible()  # its description: this check
    expect(page.get_by_text("Evaluation result")).to_be_visible()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    expect(page.get_by_role("row", name="error_count 0")).to_be_visible()


def test_materialize_all_from_the_asset_graph(browser, demo_server):
    server, root = demo_server
    ARTIFACTS.mkdir(exist_ok=True)
    page = new_page(browser)
    try:
        # The global asset lineage, then "Materialize all": Dagster offers one backfill.
        page.goto(f"{server.url}/asset-groups")
        expect(page.get_by_text("Global asset lineage")).to_be_visible()
        page.get_by_role("button", name=f"Materialize all ({MATERIALIZABLE})").click()
        dialog = (
            page.get_by_role("dialog")
            .filter(has_text="Launch runs to materialize")
            .filter(has_not_text="Join the Dagster community")
        )
        expect(dialog).to_contain_text(f"Launch runs to materialize {MATERIALIZABLE} assets")
        dialog.get_by_role("button", name="Launch backfill").click()
        toast = page.get_by_text(re.compile(r"Created backfill \w+"))
        backfill_id = toast.inner_text().split()[-1]
        page.get_by_role("link", name="View", exact=True).click()
        page.wait_for_url(re.compile(f"/runs/b/{backfill_id}"))
        assert wait_for_backfill(page, server) == "Succeeded"
        table = page.inner_text("body")
        for asset in ("observations", "city_observations", "scenario_means", "report"):
            assert re.search(f"{asset}\\s+{asset}\\s+100% completed", table), asset
        backfill = server.graphql(BACKFILL_QUERY, {"id": backfill_id})["partitionBackfillOrError"]
        assert backfill["status"] == "COMPLETED_SUCCESS", backfill
        assert {run["status"] for run in backfill["runs"]} == {"SUCCESS"}, backfill

        # The backfill's runs, as the runs view lists them.
        page.get_by_role("tab", name="Runs").click()
        expect(page.get_by_text("Success")).to_have_count(len(backfill["runs"]))

        # An asset with checks: the list shows each check succeeded; each, opened, passed.
        page.goto(f"{server.url}/assets/temperature_grid")
        page.get_by_role("tab", name="Checks").click()
        expect(page.get_by_text(f"Checks ({len(CHECKS)})")).to_be_visible()
        for check in CHECKS:
            expect(page.locator("body")).to_contain_text(
                re.compile(f"{check}\\s*{check}\\s*Succeeded")
            )
        for check in reversed(
            list(CHECKS)
        ):  # the first is open already; end on it, for the picture
            check_passed(page, check)
        page.screenshot(path=ARTIFACTS / "asset_checks.png")

        # Its metadata, and a row count checked against the Delta table itself.
        page.get_by_role("tab", name="Overview").first.click()
        expect(page.get_by_role("row", name=re.compile(r"^format .*zarr$"))).to_be_visible()
        expect(page.get_by_text("bytes_written")).to_be_visible()
        page.goto(f"{server.url}/assets/observations")
        expect(page.get_by_text("Row count")).to_be_visible()
        rows = len(deltalake.DeltaTable(str(root / "data" / "silver" / "observations")).to_pandas())
        assert rows == OBSERVATIONS
        expect(page.get_by_text(f"{rows:,}", exact=True)).to_be_visible()

        # Partitioned assets: every namespace materialized, none missing or failed.
        for asset, partitions in (
            ("city_observations", ["paris", "lyon", "oslo"]),
            ("scenario_means", ["baseline", "warm_2050"]),
        ):
            page.goto(f"{server.url}/assets/{asset}")
            page.get_by_role("tab", name="Partitions").click()
            count = len(partitions)
            # The status filters' labels (their checkboxes themselves are styled away).
            expect(page.get_by_text(f"{count} Partitions Selected")).to_be_visible()
            expect(page.get_by_text(f"Materialized ({count})", exact=True)).to_be_visible()
            expect(page.get_by_text("Missing (0)", exact=True)).to_be_visible()
            expect(page.get_by_text("Failed (0)", exact=True)).to_be_visible()
            for partition in partitions:
                expect(page.get_by_text(partition, exact=True).first).to_be_visible()
            if asset == "city_observations":
                page.screenshot(path=ARTIFACTS / "partitions.png")

        graph_screenshot(browser, server)
    except BaseException:
        # What the page showed when it failed, for CI logs.
        page.screenshot(path=ARTIFACTS / "failure.png")
        (ARTIFACTS / "failure.txt").write_text(page.inner_text("body"))
        raise

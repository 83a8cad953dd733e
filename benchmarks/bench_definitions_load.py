"""Definitions load of a big catalog: datanectar against the same graph written by hand.

One throwaway folder holds two projects describing one asset graph of N entries (2,000 by
default; 4,000 too, to see how the load scales):

* **datanectar**: a catalog of N * 3/4 source entries (csv and parquet files that exist, each
  with a Table Schema `schema:`, nine in ten sharing one schema file and the others one of ten
  more, as real catalogs share them, and one rule in `checks:`; a third of them partitioned by
  static namespaces), in catalog files of 100 entries each, and N / 4 produced entries, each
  with a rule, produced by `@datanectar.asset` functions of a module of the project (each reads
  a source, every other one its predecessor too). `definitions.py` is the README's one call.
* **hand-written**: the same graph as a plain Dagster module written the naive way: an
  `AssetSpec` per source (its Table Schema's columns as `dagster/column_schema`, partitioned
  alike), an `@asset` per produced entry reading its upstreams, one `@asset_check` per check
  (two per source: its schema and its rule; one per produced entry), a job of the sources'
  checks per partitions definition, and an IO manager.

What "definitions load" means here: `dagster definitions validate -f definitions.py`, run in
a fresh process from the project's folder. It loads the code location the way `dagster dev`
and `dagster asset materialize` do before anything else happens: Dagster imports the module,
builds the repository (asset graph, implicit asset jobs, check selection) and its snapshot,
which is what the webserver and the CLI are handed. Each such run is the wait a user has at
every `dagster dev` start, code-location reload or CLI command. `--mode import` times instead
`python -c "import definitions; defs.get_repository_def()"` (the repository without the CLI,
its instance and the snapshot), for a view of the Python side alone.

The runs of both sides are interleaved (the side going first alternates), after one untimed
warm-up each (which also writes the modules' bytecode and checks that the load succeeds and
defines the expected number of assets and checks). It prints the median seconds per side and
size, the ratio datanectar / hand-written at each size (target <= 1.0) and datanectar's
larger size / smaller size (target <= 2.1). Nothing asserts on time.

    python benchmarks/bench_definitions_load.py                 # 2,000 and 4,000 entries, 5 runs
    python benchmarks/bench_definitions_load.py --quick         # 200 and 400 entries, 3 runs
    python benchmarks/bench_definitions_load.py --sizes 2000 --repeats 9 --mode import
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_RATIO = 1.0
TARGET_SCALING = 2.1
PER_FILE = 100
NAMESPACES = ["north", "south", "east"]
SHARED_SCHEMA = "schemas/readings.schema.json"
OTHER_SCHEMAS = 10
FIELDS = [
    {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "station", "type": "string", "constraints": {"pattern": "[A-Z]{3}"}},
    {"name": "value", "type": "number", "constraints": {"minimum": -100, "maximum": 100}},
    {"name": "observed", "type": "date"},
]
FRAME = pd.DataFrame(
    {"id": [1, 2], "station": ["ABC", "DEF"], "value": [1.5, 2.5], "observed": ["2024-01-01"] * 2}
)


# The graph, shared by both sides ------------------------------------------------------------


def sources(count: int) -> list[dict]:
    found = []
    for index in range(count * 3 // 4):
        partitioned = index % 3 == 0
        fmt = "parquet" if index % 5 == 0 else "csv"
        name = f"src_{index:05d}"
        path = f"sources/{name}/{{namespace}}.{fmt}" if partitioned else f"sources/{name}.{fmt}"
        schema = (
            f"schemas/kind_{index % OTHER_SCHEMAS}.schema.json"
            if index % 10 == 9
            else SHARED_SCHEMA
        )
        rule = ("not_null", ["id"]) if index % 2 else ("row_count", {"min": 1})
        found.append(
            {
                "name": name,
                "format": fmt,
                "path": path,
                "schema": schema,
                "rule": rule,
                "partitioned": partitioned,
                "group": f"raw_{index // PER_FILE:03d}",
            }
        )
    return found


def produced(count: int, upstream: list[dict]) -> list[dict]:
    plain = [source["name"] for source in upstream if not source["partitioned"]]
    found = []
    for index in range(count // 4):
        reads = [plain[index % len(plain)]]
        if index % 2 and index:
            reads.append(f"prod_{index - 1:05d}")
        found.append({"name": f"prod_{index:05d}", "reads": reads, "group": "derived"})
    return found


# datanectar ---------------------------------------------------------------------------------


def write_datanectar(root: Path, count: int) -> None:
    (root / "catalog").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "bench-catalog"
            version = "0"

            [tool.datanectar]
            catalog = "catalog"
            modules = ["pipelines"]
            local_cache = "{root / "local_cache"}"

            [tool.datanectar.stores.local]
            type = "local"
            root = "data"
            """
        )
    )
    write_schemas(root)
    upstream = sources(count)
    for start in range(0, len(upstream), PER_FILE):
        lines = []
        for source in upstream[start : start + PER_FILE]:
            rule, options = source["rule"]
            lines += [
                f"{source['name']}:",
                f"  format: {source['format']}",
                f'  path: "{source["path"]}"',
                f"  description: Readings of station set {source['name']}.",
                f"  group: {source['group']}",
                f"  schema: {source['schema']}",
                "  checks:",
                f"    - {rule}: {json.dumps(options)}",
            ]
            if source["partitioned"]:
                lines.append(f"  namespaces: {json.dumps(NAMESPACES)}")
            write_source_data(root / "data", source)
        (root / "catalog" / f"sources_{start // PER_FILE:03d}.yaml").write_text(
            "\n".join(lines) + "\n"
        )
    outputs = produced(count, upstream)
    module = ["import pandas as pd", "", "import datanectar", ""]
    for start in range(0, len(outputs), PER_FILE):
        lines = []
        for entry in outputs[start : start + PER_FILE]:
            lines += [
                f"{entry['name']}:",
                "  format: parquet",
                f"  group: {entry['group']}",
                "  checks:",
                "    - row_count: {min: 1}",
            ]
            parameters = ", ".join(f"{name}: pd.DataFrame" for name in entry["reads"])
            module += [
                "",
                '@datanectar.asset(version="1")',
                f"def {entry['name']}({parameters}) -> pd.DataFrame:",
                f"    return pd.concat([{', '.join(entry['reads'])}])",
                "",
            ]
        (root / "catalog" / f"produced_{start // PER_FILE:03d}.yaml").write_text(
            "\n".join(lines) + "\n"
        )
    (root / "pipelines.py").write_text("\n".join(module))
    (root / "definitions.py").write_text(
        "from pathlib import Path\n\nimport datanectar\n\n"
        "defs = datanectar.definitions(Path(__file__).parent)\n"
    )


def write_schemas(root: Path) -> None:
    (root / SHARED_SCHEMA).write_text(json.dumps({"fields": FIELDS, "primaryKey": ["id"]}))
    for kind in range(OTHER_SCHEMAS):
        fields = [*FIELDS, {"name": f"extra_{kind}", "type": "string"}]
        (root / f"schemas/kind_{kind}.schema.json").write_text(json.dumps({"fields": fields}))


def write_source_data(data: Path, source: dict) -> None:
    paths = (
        [source["path"].format(namespace=key) for key in NAMESPACES]
        if source["partitioned"]
        else [source["path"]]
    )
    for relative in paths:
        path = data / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if source["format"] == "csv":
            FRAME.to_csv(path, index=False)
        else:
            FRAME.to_parquet(path, index=False)


# hand-written -------------------------------------------------------------------------------


def write_handwritten(root: Path, count: int) -> None:
    root.mkdir(parents=True)
    upstream = sources(count)
    outputs = produced(count, upstream)
    columns = {
        SHARED_SCHEMA: "READINGS",
        **{f"schemas/kind_{k}.schema.json": f"KIND_{k}" for k in range(OTHER_SCHEMAS)},
    }
    code = [
        '"""The graph written by hand, the naive way: every asset and check spelled out."""',
        "",
        "import dagster as dg",
        "import pandas as pd",
        "",
        f"NAMESPACES = dg.StaticPartitionsDefinition({NAMESPACES!r})",
        "READINGS = dg.TableSchema(columns=[",
        *(f"    dg.TableColumn({f['name']!r}, {f['type']!r})," for f in FIELDS),
        "])",
    ]
    for kind in range(OTHER_SCHEMAS):
        code += [
            f"KIND_{kind} = dg.TableSchema(columns=[*READINGS.columns, "
            f"dg.TableColumn('extra_{kind}', 'string')])"
        ]
    code.append("")
    for source in upstream:
        name = source["name"]
        rule, _ = source["rule"]
        partitions = "NAMESPACES" if source["partitioned"] else "None"
        code += [
            f"{name} = dg.AssetSpec(",
            f"    {name!r},",
            f"    description='Readings of station set {name}.',",
            f"    group_name={source['group']!r},",
            f"    kinds={{{source['format']!r}}},",
            f"    metadata={{'path': {source['path']!r}, "
            f"'dagster/column_schema': {columns[source['schema']]}}},",
            f"    partitions_def={partitions},",
            ")",
            "",
        ]
        for check in ("table_schema", rule):
            code += [
                "",
                f"@dg.asset_check(asset={name!r}, name={check!r}, blocking=True, "
                f"partitions_def={partitions})",
                f"def {name}__{check}(context) -> dg.AssetCheckResult:",
                "    return dg.AssetCheckResult(passed=True)",
                "",
            ]
    for entry in outputs:
        name = entry["name"]
        parameters = ", ".join(f"{read}: pd.DataFrame" for read in entry["reads"])
        code += [
            "",
            f"@dg.asset(group_name={entry['group']!r}, kinds={{'parquet'}}, code_version='1')",
            f"def {name}({parameters}) -> pd.DataFrame:",
            f"    return pd.concat([{', '.join(entry['reads'])}])",
            "",
            "",
            f"@dg.asset_check(asset={name!r}, name='row_count', blocking=True)",
            f"def {name}__row_count(context) -> dg.AssetCheckResult:",
            "    return dg.AssetCheckResult(passed=True)",
            "",
        ]
    plain = [s["name"] for s in upstream if not s["partitioned"]]
    split = [s["name"] for s in upstream if s["partitioned"]]
    code += [
        "",
        "defs = dg.Definitions(",
        "    assets=[v for v in list(globals().values()) "
        "if isinstance(v, (dg.AssetSpec, dg.AssetsDefinition)) "
        "and not isinstance(v, dg.AssetChecksDefinition)],",
        "    asset_checks=[v for v in list(globals().values()) "
        "if isinstance(v, dg.AssetChecksDefinition)],",
        "    jobs=[",
        "        dg.define_asset_job('source_checks', "
        f"selection=dg.AssetSelection.checks_for_assets(*{plain!r})),",
        "        dg.define_asset_job('source_checks__namespace', "
        f"selection=dg.AssetSelection.checks_for_assets(*{split!r})),",
        "    ],",
        "    resources={'io_manager': dg.FilesystemIOManager(base_dir='data')},",
        ")",
    ]
    (root / "definitions.py").write_text("\n".join(code) + "\n")


# timing -------------------------------------------------------------------------------------

# Prints what was loaded, so that the warm-up checks both sides define the same graph.
_IMPORT = (
    "import definitions; r = definitions.defs.get_repository_def(); "
    "g = r.asset_graph; print(len(g.get_all_asset_keys()), len(g.asset_check_keys))"
)


def command(mode: str) -> list[str]:
    if mode == "validate":
        return [str(BIN / "dagster"), "definitions", "validate", "-f", "definitions.py"]
    return [sys.executable, "-c", _IMPORT]


def run_once(folder: Path, mode: str, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command(mode), cwd=folder, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{folder.name}: the load failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--mode", choices=["validate", "import"], default="validate")
    parser.add_argument("--quick", action="store_true", help="200 and 400 entries, 3 runs")
    args = parser.parse_args()
    sizes = args.sizes or ([200, 400] if args.quick else [2000, 4000])
    repeats = args.repeats or (3 if args.quick else 5)

    with tempfile.TemporaryDirectory(prefix="bench-defs-") as tmp:
        base = Path(tmp)
        (base / "dagster_home").mkdir()
        (base / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATANECTAR_", "DAGSTER_"))
        }
        env["DAGSTER_HOME"] = str(base / "dagster_home")
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        sides = {}
        for size in sizes:
            sides[("datanectar", size)] = base / f"datanectar_{size}"
            sides[("hand-written", size)] = base / f"handwritten_{size}"
            write_datanectar(sides[("datanectar", size)], size)
            write_handwritten(sides[("hand-written", size)], size)
        print(f"mode: {args.mode} ({' '.join(command(args.mode)[:4])} ...), {repeats} runs each")
        for (side, size), folder in sides.items():
            # The warm-up writes the bytecode, and checks both sides load one graph.
            _, shown = run_once(folder, "import", env)
            print(f"  warm-up {side:>12} {size:>5}: {shown} (asset keys, check keys)")
        times: dict[tuple[str, int], list[float]] = {key: [] for key in sides}
        order = list(sides)
        for round_ in range(repeats):
            for key in order if round_ % 2 == 0 else reversed(order):
                times[key].append(run_once(sides[key], args.mode, env)[0])
        report(times, sizes)


def report(times: dict[tuple[str, int], list[float]], sizes: list[int]) -> None:
    medians = {key: statistics.median(values) for key, values in times.items()}
    print(f"\n{'side':>12} {'entries':>8} {'median s':>9} {'min s':>7} {'max s':>7}")
    for (side, size), values in times.items():
        print(
            f"{side:>12} {size:>8} {medians[(side, size)]:>9.2f} {min(values):>7.2f} "
            f"{max(values):>7.2f}"
        )
    print()
    for size in sizes:
        ratio = medians[("datanectar", size)] / medians[("hand-written", size)]
        fastest = min(times[("datanectar", size)]) / min(times[("hand-written", size)])
        verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
        print(
            f"{size} entries: datanectar / hand-written = {ratio:.2f} (fastest runs "
            f"{fastest:.2f}; target <= {TARGET_RATIO}) {verdict}"
        )
    for small, large in itertools.pairwise(sizes):
        for side in ("datanectar", "hand-written"):
            scaling = medians[(side, large)] / medians[(side, small)]
            target = f" (target <= {TARGET_SCALING})" if side == "datanectar" else ""
            verdict = (" PASS" if scaling <= TARGET_SCALING else " MISS") if target else ""
            print(f"{side}: {large} / {small} entries = {scaling:.2f}{target}{verdict}")


if __name__ == "__main__":
    main()

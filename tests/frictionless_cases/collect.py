"""Collect frictionless-py's own validation cases into `cases.json` and `data/`.

Run once per frictionless release, by hand, against a checkout of frictionless-py:

    python tests/frictionless_cases/collect.py /path/to/frictionless-py

Three sources, every case a csv file of frictionless's `data/` folder with a Table Schema:

* its validation tests (`frictionless/resource/__spec__/test_validate*.py` and
  `frictionless/actions/__spec__/test_validate.py`), run under pytest with a plugin that
  records every `Resource.validate` of a local csv file: the path, the schema, dialect and
  encoding the test gave (the schema frictionless inferred when it gave none);
* the resource and package descriptors of `data/` naming a local csv file and a schema;
* every other small csv file of `data/` with the schema frictionless infers from it.

What the tests pass besides (checklists, detector options, error limits) is left out: each
case is replayed as a catalog entry, and frictionless itself is asked again, at test time,
on the same file, schema, dialect and encoding. Only files of at most 64 KB are copied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
MAX_BYTES = 64 * 1024
SPEC_FILES = [
    "frictionless/actions/__spec__/test_validate.py",
    "frictionless/resource/__spec__/test_validate.py",
    "frictionless/resource/__spec__/test_validate_dialect.py",
    "frictionless/resource/__spec__/test_validate_schema.py",
]
RECORDER = """
import json, os
from frictionless import Resource

_validate = Resource.validate


def _recording(self, *args, **kwargs):
    given = {
        "schema": self.schema.to_descriptor() if self.schema else None,
        "dialect": self.dialect.to_descriptor() if self.dialect else None,
        "encoding": self.encoding,
    }
    report = _validate(self, *args, **kwargs)
    path = self.path
    if isinstance(path, str) and path.endswith(".csv") and not self.innerpath:
        if given["schema"] is None and self.schema is not None:
            given["schema"] = self.schema.to_descriptor()
        with open(os.environ["RECORD"], "a") as record:
            record.write(json.dumps({
                "origin": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
                "path": os.path.normpath(os.path.join(self.basepath or "", path)),
                **given,
            }) + "\\n")
    return report


Resource.validate = _recording
"""


def main(checkout: Path) -> None:
    import frictionless as fl

    cases = _from_tests(checkout) + _from_descriptors(checkout) + _inferred(checkout)
    kept: dict[str, dict[str, Any]] = {}
    for case in cases:
        source = checkout / case["path"]
        if not source.is_file() or source.stat().st_size > MAX_BYTES:
            continue
        if not case.get("schema") or not case["schema"].get("fields"):
            continue
        if _foreign_to_other_resources(case["schema"]):
            continue  # a package's tables: the catalog names them itself
        key = json.dumps(
            [case["path"], case["schema"], case.get("dialect"), case.get("encoding")],
            sort_keys=True,
        )
        kept.setdefault(key, case)
    target = HERE / "data"
    shutil.rmtree(target, ignore_errors=True)
    numbered = []
    for number, case in enumerate(kept.values(), start=1):
        relative = Path(case["path"]).relative_to("data")
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkout / case["path"], target / relative)
        numbered.append(
            {
                "id": f"c{number:03d}",
                "origin": case["origin"],
                "path": relative.as_posix(),
                "schema": case["schema"],
                "dialect": case.get("dialect") or None,
                "encoding": case.get("encoding"),
            }
        )
    document = {"frictionless": fl.__version__, "cases": numbered}
    (HERE / "cases.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    shutil.copyfile(checkout / "LICENSE.md", HERE / "LICENSE.md")
    print(f"{len(numbered)} cases from frictionless {fl.__version__}")


def _from_tests(checkout: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "spec"
        spec.mkdir()
        (spec / "conftest.py").write_text(RECORDER)
        for name in SPEC_FILES:
            shutil.copyfile(checkout / name, spec / ("test_" + name.replace("/", "_")))
        record = Path(scratch) / "record.jsonl"
        record.touch()
        # From the checkout's root (the tests name "data/..."), importing the installed
        # frictionless, never the checkout's sources (PYTHONSAFEPATH keeps the working
        # directory off sys.path).
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(spec)],
            cwd=checkout,
            env={**os.environ, "RECORD": str(record), "PYTHONSAFEPATH": "1"},
            check=False,
            capture_output=True,
        )
        rows = [json.loads(line) for line in record.read_text().splitlines()]
    return rows


def _from_descriptors(checkout: Path) -> list[dict[str, Any]]:
    import frictionless as fl

    found = []
    for descriptor in sorted((checkout / "data").rglob("*")):
        if descriptor.suffix not in (".json", ".yaml", ".yml") or "cassettes" in descriptor.parts:
            continue
        try:
            with _cwd(checkout):
                loaded = fl.Package(str(descriptor.relative_to(checkout)))
                resources = loaded.resources
        except Exception:
            try:
                with _cwd(checkout):
                    resources = [fl.Resource(str(descriptor.relative_to(checkout)))]
            except Exception:
                continue
        for resource in resources:
            path = resource.path
            if not isinstance(path, str) or not path.endswith(".csv") or resource.schema is None:
                continue
            if "://" in path:
                continue
            found.append(
                {
                    "origin": descriptor.relative_to(checkout).as_posix(),
                    "path": os.path.normpath(os.path.join(resource.basepath or "", path)),
                    "schema": resource.schema.to_descriptor(),
                    "dialect": resource.dialect.to_descriptor() if resource.dialect else None,
                    "encoding": resource.encoding,
                }
            )
    return found


def _inferred(checkout: Path) -> list[dict[str, Any]]:
    import frictionless as fl

    found = []
    for path in sorted((checkout / "data").rglob("*.csv")):
        relative = path.relative_to(checkout).as_posix()
        try:
            with _cwd(checkout):
                resource = fl.Resource(relative)
                resource.infer()
        except Exception:
            continue
        if resource.schema is None:
            continue
        found.append(
            {
                "origin": "inferred",
                "path": relative,
                "schema": resource.schema.to_descriptor(),
                "dialect": None,
                "encoding": None,
            }
        )
    return found


def _foreign_to_other_resources(schema: dict[str, Any]) -> bool:
    return any(
        key.get("reference", {}).get("resource", "") != "" for key in schema.get("foreignKeys", [])
    )


class _cwd:
    def __init__(self, path: Path) -> None:
        self.path, self.before = path, Path.cwd()

    def __enter__(self) -> None:
        os.chdir(self.path)

    def __exit__(self, *_: Any) -> None:
        os.chdir(self.before)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())

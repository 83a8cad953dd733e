"""frictionless's own validation cases, each an external csv entry checked by the
`source_checks` job, against frictionless on the same file, schema, dialect and encoding.

The cases (`frictionless_cases/cases.json`, collected by `frictionless_cases/collect.py` from
frictionless-py's validation tests and `data/` folder) are csv files with a Table Schema; a
case agrees when the valid flag and the ordered (row, field, error type) list are equal.
Every case must agree but those in `DELIBERATE`, each with the reason the validator's module
docstring and the README give; they stay under 2% of the cases.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import frictionless as fl
import pytest

import datanectar

CASES_FOLDER = Path(__file__).parent / "frictionless_cases"
CASES = json.loads((CASES_FOLDER / "cases.json").read_text())["cases"]
Verdict = tuple[bool, list[tuple[int | None, str | None, str]]]

DELIBERATE: dict[str, str] = {}


def catalog_dialect(case: dict[str, Any]) -> dict[str, Any] | None:
    """The case's dialect in the catalog's flat Table Dialect names (frictionless nests a
    csv file's options under `csv`)."""
    if not case["dialect"]:
        return None
    dialect = {key: value for key, value in case["dialect"].items() if key != "csv"}
    return {**dialect, **case["dialect"].get("csv", {})}


def entry_text(case: dict[str, Any]) -> str:
    lines = [
        f"{case['id']}:",
        "  format: csv",
        f"  path: {json.dumps(case['path'])}",
        f"  schema: schemas/{case['id']}.json",
        "  report: full",
    ]
    dialect = catalog_dialect(case)
    if dialect:
        lines.append(f"  dialect: {json.dumps(dialect)}")
    if case["encoding"]:  # the resource's, not the dialect's, as in frictionless
        lines.append(f"  load_options: {json.dumps({'encoding': case['encoding']})}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dg.AssetCheckEvaluation]:
    """Every case's `table_schema` evaluation, from one run of the `source_checks` job."""
    root = tmp_path_factory.mktemp("frictionless_cases")
    shutil.copytree(CASES_FOLDER / "data", root / "data")
    for folder in ("schemas", "catalog", "configuration"):
        (root / folder).mkdir()
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'cases'\nversion = '0'\n\n[tool.datanectar]\n"
        'catalog = "catalog"\nconfiguration = "configuration"\nmodules = []\n\n'
        '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
    )
    for case in CASES:
        (root / "schemas" / f"{case['id']}.json").write_text(json.dumps(case["schema"]))
    (root / "catalog" / "cases.yaml").write_text("".join(entry_text(case) for case in CASES))
    defs = datanectar.definitions(root)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("source_checks").execute_in_process(
            instance=instance, raise_on_error=False
        )
    return {
        event.asset_check_evaluation_data.asset_key.path[-1]: event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def datanectar_verdict(evaluation: dg.AssetCheckEvaluation) -> Verdict:
    metadata = evaluation.metadata
    records = metadata["failures"].value.records if "failures" in metadata else []
    errors = [
        (record.data["row_number"], record.data["field_name"], record.data["error_type"])
        for record in records
    ]
    assert metadata["error_count"].value == len(errors)  # report: full keeps them all
    return evaluation.passed, errors


def frictionless_verdict(case: dict[str, Any]) -> Verdict:
    options: dict[str, Any] = {}
    if case["dialect"]:
        options["dialect"] = fl.Dialect.from_descriptor(case["dialect"])
    if case["encoding"]:
        options["encoding"] = case["encoding"]
    resource = fl.Resource(
        path=case["path"],
        basepath=str(CASES_FOLDER / "data"),
        schema=fl.Schema.from_descriptor(case["schema"]),
        **options,
    )
    report = resource.validate(limit_errors=10**6)
    errors = report.tasks[0].errors if report.tasks else report.errors
    # the field name as frictionless gives it: "" for an extra cell or label, None for none
    return report.valid, [
        (getattr(e, "row_number", None), getattr(e, "field_name", None), e.type) for e in errors
    ]


@pytest.fixture(scope="module")
def disagreements(evaluations) -> dict[str, tuple[Verdict | None, Verdict]]:
    found = {}
    for case in CASES:
        expected = frictionless_verdict(case)
        evaluation = evaluations.get(case["id"])
        got = datanectar_verdict(evaluation) if evaluation is not None else None
        if got != expected:
            found[case["id"]] = (got, expected)
    return found


def test_every_case_is_checked(evaluations) -> None:
    assert sorted(evaluations) == sorted(case["id"] for case in CASES)


def test_cases_agree_with_frictionless_but_the_deliberate_ones(disagreements) -> None:
    by_case = {case["id"]: case for case in CASES}
    unexplained = {
        case: f"{by_case[case]['path']} ({by_case[case]['origin']}): datanectar {got}, "
        f"frictionless {expected}"
        for case, (got, expected) in disagreements.items()
        if case not in DELIBERATE
    }
    assert not unexplained, "\n".join(unexplained.values())


def test_the_deliberate_differences_are_few_and_still_differ(disagreements) -> None:
    assert len(DELIBERATE) <= 0.02 * len(CASES)
    assert set(DELIBERATE) <= set(disagreements)  # a difference fixed leaves the list


def test_the_corpus_covers_frictionless_detection() -> None:
    """The cases hold what frictionless detects: delimiters, dialects, encodings."""
    sources = Counter(
        "test" if "::" in case["origin"] else case["origin"] == "inferred" for case in CASES
    )
    assert sources["test"] >= 30 and sources[True] >= 80
    assert {"delimiter.csv", "latin1.csv", "matrix.csv"} <= {case["path"] for case in CASES}

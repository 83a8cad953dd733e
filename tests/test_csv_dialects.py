"""csv Table Dialects: `dialect:` pinned on an entry, and what frictionless detects without
one (delimiter, initial spaces, header rows, encoding), against frictionless itself.

Each case is an external csv entry with a Table Schema: the `table_schema` check's verdict
(passed, errors by type, row and field) must be frictionless's on the same file, given the
same dialect, and the pandas read of the entry must have the columns the check judged.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml

import datanectar
from datanectar.targets import Target
from oracle import frictionless_csv, frictionless_detected_csv
from runs import catalog_error, materialize_project

ID_NAME = {"fields": [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"}]}
THREE = {
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "name", "type": "string"},
        {"name": "amount", "type": "number", "constraints": {"minimum": 0}},
    ]
}


def rows(delimiter: str, count: int = 12, bad: int = 5, space: str = "") -> str:
    """`count` records of id, name, amount; record `bad` has a non-integer id."""
    lines = [delimiter.join(["id", f"{space}name", f"{space}amount"])]
    for i in range(count):
        ident = "x" if i == bad else str(i)
        lines.append(delimiter.join([ident, f"{space}n{i}", f"{space}{i * 1.5 - (i == 7)}"]))
    return "\n".join(lines) + "\n"


# name -> (file bytes, schema, dialect or None)
CASES: dict[str, tuple[bytes, dict[str, Any], dict[str, Any] | None]] = {
    "semicolons": (rows(";").encode(), THREE, None),
    "pipes": (rows("|").encode(), THREE, None),
    "tabs": (rows("\t").encode(), THREE, None),
    "initial spaces": (rows(",", space=" ").encode(), THREE, None),
    "comment first line": (("# exported by a tool\n" + rows(",")).encode(), THREE, None),
    "latin-1": (
        (
            "id,name,amount\n"
            + "".join(f"{i},caf\xe9 cr\xe8me {i} d\xe9j\xe0,{i}\n" for i in range(30))
            + "x,na\xefve,-1\n"
        ).encode("latin-1"),
        THREE,
        None,
    ),
    "header rows 2": (("title,,\n" + rows(",")).encode(), THREE, {"headerRows": 2}),
    "header rows joined": (
        b"a,b,c\nid,name,amount\nx,y,z\n1,a,2\nq,b,-3\n5,c,6\n",
        {
            "fields": [
                {"name": "a-id-x", "type": "integer"},
                {"name": "b-name-y", "type": "string"},
                {"name": "c-amount-z", "type": "number", "constraints": {"minimum": 0}},
            ]
        },
        {"headerRows": [1, 2, 3], "headerJoin": "-"},
    ),
    "no header": (b"1,a\n2,b\nx,c\n4,d,extra\n5\n", ID_NAME, {"header": False}),
    "comment char and rows": (
        b"id,name\n1,a\n# a note,here\n2,b\nzz,c\nskip,me\n4,d\n",
        ID_NAME,
        {"commentChar": "#", "commentRows": [6]},
    ),
    "comma with ; and | in cells": (
        b"id,name,amount\n"
        + b"".join(b"%d,a;b|c;d,%d\n" % (i, i) for i in range(20))
        + b"7,x;y,-1\n",
        THREE,
        None,
    ),
}


def _project(make_project: Any, name: str) -> Path:
    content, schema, dialect = CASES[name]
    entry = {"format": "csv", "path": "t.csv", "schema": schema, "report": "full"}
    if dialect is not None:
        entry["dialect"] = dialect
    project = make_project(yaml.safe_dump({"table": entry}))
    (project / "data").mkdir()
    (project / "data" / "t.csv").write_bytes(content)
    return project


def _oracle(project: Path, name: str) -> tuple[bool, list[Any]]:
    _, schema, dialect = CASES[name]
    if dialect and isinstance(dialect.get("headerRows"), int):  # datanectar's shorthand
        dialect = {**dialect, "headerRows": [dialect["headerRows"]]}
    return frictionless_detected_csv(project / "data" / "t.csv", schema, dialect=dialect)


def _verdict(project: Path) -> Any:
    catalog = datanectar.catalog(project)
    entry = catalog.entry("table")
    text = catalog.storage.stored_text(Target.of(entry))
    from datanectar.checks.tableschema import validate_table

    result = validate_table(
        text.frame,
        entry.schema_,
        header=text.header,
        ragged=text.ragged,
        report="full",
    )
    return result, text, catalog


@pytest.mark.parametrize("name", list(CASES))
def test_the_check_gives_frictionless_verdict(make_project, name):
    project = _project(make_project, name)
    result, _, _ = _verdict(project)
    valid, expected = _oracle(project, name)
    got = [(f.type, f.row_number, f.field_name) for f in result.failures]
    assert (result.passed, Counter(got)) == (valid, Counter(e[:3] for e in expected))
    assert not valid  # every case holds an error: a reading that drops it would show


@pytest.mark.parametrize("name", [n for n in CASES if n != "no header"])
def test_the_pandas_read_has_the_columns_the_check_judged(make_project, name):
    project = _project(make_project, name)
    _, text, catalog = _verdict(project)
    frame = catalog.load("table")
    assert list(frame.columns) == text.header
    assert len(frame) == len(text.frame)


def test_detection_is_what_frictionless_detects(make_project):
    import frictionless as fl

    expected = {
        "semicolons": ";",
        "pipes": "|",
        "tabs": "\t",
        "initial spaces": ",",
        "comma with ; and | in cells": ",",
    }
    for name, delimiter in expected.items():
        project = _project(make_project.at(make_project.root / name.replace(" ", "_")), name)
        _, text, _ = _verdict(project)
        resource = fl.Resource(str(project / "data" / "t.csv"))
        with resource:
            control = resource.dialect.get_control("csv") if resource.dialect.controls else None
            assert text.header == resource.labels
        assert text.reading.delimiter == delimiter
        assert control is None or control.delimiter == delimiter
    project = _project(make_project.at(make_project.root / "latin"), "latin-1")
    _, text, _ = _verdict(project)
    resource = fl.Resource(str(project / "data" / "t.csv"))
    with resource:
        assert text.reading.encoding == resource.encoding
        assert "crème" in text.frame["name"][0]


def test_a_comma_file_with_semicolons_in_cells_is_still_comma_for_frictionless_too(tmp_path):
    """The cases where the oracle used to force ',' agree with frictionless detecting."""
    path = tmp_path / "t.csv"
    path.write_bytes(CASES["comma with ; and | in cells"][0])
    assert frictionless_csv(path, THREE) == frictionless_detected_csv(path, THREE)


@pytest.mark.parametrize("name", ["semicolons", "comment first line", "latin-1"])
def test_through_dagster_the_source_check_records_the_dialect(make_project, instance, name):
    project = _project(make_project, name)
    job = datanectar.definitions(project).resolve_job_def("source_checks")
    job.execute_in_process(instance=instance, raise_on_error=False)
    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("table"), "table_schema"), limit=1
    )
    evaluation = record.event.asset_check_evaluation
    valid, expected = _oracle(project, name)
    assert evaluation.passed == valid
    assert evaluation.metadata["error_count"].value == len(expected)
    failures = evaluation.metadata["failures"].value.records
    got = [(r.data["error_type"], r.data["row_number"], r.data["field_name"]) for r in failures]
    assert Counter(got) == Counter(e[:3] for e in expected)
    dialect = evaluation.metadata["dialect"].value
    with_frictionless = {"semicolons": ";", "comment first line": ",", "latin-1": ","}
    assert dialect["delimiter"] == with_frictionless[name]
    if name == "comment first line":
        assert dialect["headerRows"] == [2] and "headerRows" in dialect["detected"]
    if name == "latin-1":
        assert dialect["encoding"] != "utf-8" and "encoding" in dialect["detected"]


def test_a_produced_entry_is_written_in_its_dialect(make_project, instance):
    module = """
import pandas as pd
import datanectar

@datanectar.asset
def table() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2], "name": ["a,b", "c"]})
"""
    project = make_project(
        """
        table:
          format: csv
          path: t.csv
          dialect: {delimiter: ";"}
          schema: {fields: [{name: id, type: integer}, {name: name, type: string}]}
        """,
        modules={"functions": module},
    )
    result = materialize_project(project, instance, "*")
    assert result.success
    stored = (project / "data" / "t.csv").read_text()
    assert stored.splitlines()[0] == "id;name" and "1;a,b" in stored
    frame = datanectar.catalog(project).load("table")
    assert list(frame.columns) == ["id", "name"] and frame["name"].tolist() == ["a,b", "c"]
    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("table"), "table_schema"), limit=1
    )
    evaluation = record.event.asset_check_evaluation
    assert evaluation.passed
    assert evaluation.metadata["dialect"].value["delimiter"] == ";"
    assert pd.read_csv(project / "data" / "t.csv", sep=";").shape == (2, 2)


# Bad input ------------------------------------------------------------------------------------


def test_an_unknown_dialect_key_names_file_entry_field_and_the_close_name(make_project):
    error = catalog_error(make_project, "table:\n  format: csv\n  dialect: {delimter: ';'}\n")
    assert error.file == "catalog/main.yaml" and error.entry == "table"
    assert error.field == "dialect.delimter"
    assert "Did you mean 'delimiter'?" in str(error)


def test_encoding_in_a_dialect_points_to_load_options(make_project):
    error = catalog_error(make_project, "table:\n  format: csv\n  dialect: {encoding: latin-1}\n")
    assert error.field == "dialect.encoding" and "load_options.encoding" in str(error)


def test_a_dialect_and_a_load_option_saying_the_same_is_an_error(make_project):
    error = catalog_error(
        make_project,
        "table:\n  format: csv\n  dialect: {delimiter: ';'}\n  load_options: {sep: ','}\n",
    )
    assert error.entry == "table" and error.file == "catalog/main.yaml"
    assert error.field == "dialect.delimiter" and "load_options.sep" in str(error)


def test_a_dialect_on_a_parquet_entry_is_an_error(make_project):
    error = catalog_error(make_project, "table:\n  format: parquet\n  dialect: {delimiter: ';'}\n")
    assert error.field == "dialect" and "csv" in str(error) and error.entry == "table"


@pytest.mark.parametrize(
    "dialect, field",
    [("{delimiter: ';;'}", "dialect.delimiter"), ("{headerRows: [2, 1]}", "dialect.headerRows")],
)
def test_dialect_values_are_validated(make_project, dialect, field):
    error = catalog_error(make_project, f"table:\n  format: csv\n  dialect: {dialect}\n")
    assert error.field == field


# catalog.load reads the rows and columns frictionless reads --------------------------------


def _loaded_and_frictionless(
    make_project: Any, content: bytes, **entry: Any
) -> tuple[tuple[list[str], list[list[Any]]], tuple[list[str], list[list[Any]]]]:
    """(columns, rows) of `catalog.load` on an external csv entry, and of frictionless reading
    the file in the entry's dialect and schema (every cell as text on both sides)."""
    import frictionless as fl

    project = make_project(
        yaml.safe_dump(
            {"table": {"format": "csv", "path": "t.csv", "load_options": {"dtype": "str"}, **entry}}
        )
    )
    (project / "data").mkdir()
    path = project / "data" / "t.csv"
    path.write_bytes(content)
    frame = datanectar.catalog(project).load("table")
    loaded = [[None if pd.isna(cell) else cell for cell in row] for row in frame.values.tolist()]
    options: dict[str, Any] = {"detector": fl.Detector(field_type="string")}
    if "dialect" in entry:
        options["dialect"] = fl.Dialect.from_descriptor(entry["dialect"])
    if "schema" in entry:
        options["schema"] = fl.Schema.from_descriptor(entry["schema"])
    resource = fl.Resource(str(path), **options)
    read = [row.to_list() for row in resource.read_rows()]
    return (list(frame.columns), loaded), (resource.schema.field_names, read)


def test_load_keeps_the_header_columns_of_longer_and_shorter_records(make_project):
    content = b"id,name\n1,a\n2,b,extra\n3\n4,d,x,y\n5,e\n"
    loaded, read = _loaded_and_frictionless(make_project, content)
    assert loaded == read
    assert loaded[0] == ["id", "name"] and loaded[1][2] == ["3", None]


def test_load_skips_the_title_rows_frictionless_skips(make_project):
    content = b"Sales export\nid,name,amount\n1,a,2\n2,b,3,extra\n3,c\n4,d,5\n"
    loaded, read = _loaded_and_frictionless(make_project, content)
    assert loaded == read
    assert loaded[0] == ["id", "name", "amount"] and loaded[1][0] == ["1", "a", "2"]


def test_load_takes_a_comment_for_the_header_when_frictionless_does(make_project):
    # Two cells a row on average: the one-cell comment is within the drift, frictionless's
    # header; the record under it is data, longer than the header.
    content = b"# exported by a tool\nid,name\n1,a\n2,b\n"
    loaded, read = _loaded_and_frictionless(make_project, content)
    assert loaded == read and loaded[0] == ["# exported by a tool"]


def test_load_skips_a_pinned_comment_char_and_the_detected_header(make_project):
    content = b"# exported by a tool\n# on a day\nid,name\n1,a\n# note\n2,b\n"
    loaded, read = _loaded_and_frictionless(make_project, content, dialect={"commentChar": "#"})
    assert loaded == read and loaded[0] == ["id", "name"] and len(loaded[1]) == 2


def test_a_headerless_file_loads_with_the_schema_field_names(make_project):
    schema = {"fields": [{"name": "id", "type": "string"}, {"name": "name", "type": "string"}]}
    content = b"1,a\n2,b,extra\n3\n"
    loaded, read = _loaded_and_frictionless(
        make_project, content, dialect={"header": False}, schema=schema
    )
    assert loaded == read and loaded[0] == ["id", "name"]


def test_a_headerless_file_with_more_fields_than_cells_loads_them_null(make_project):
    names = ["id", "name", "amount", "note"]
    schema = {"fields": [{"name": name, "type": "string"} for name in names]}
    loaded, read = _loaded_and_frictionless(
        make_project, b"1,a\n2,b,3\n", dialect={"header": False}, schema=schema
    )
    assert loaded == read and loaded[0] == names


def test_a_headerless_file_without_a_schema_loads_as_field1_field2(make_project):
    loaded, read = _loaded_and_frictionless(
        make_project, b"1,a\n2,b,extra\n3\n", dialect={"header": False}
    )
    assert loaded == read and loaded[0] == ["field1", "field2"]


def test_a_dialect_that_is_not_a_mapping_says_what_a_dialect_is(make_project):
    error = catalog_error(make_project, "table:\n  format: csv\n  dialect: semicolon\n")
    assert (error.file, error.entry, error.field) == ("catalog/main.yaml", "table", "dialect")
    assert "'semicolon' was given" in error.problem
    assert "a mapping of Table Dialect properties" in error.problem
    assert "dialect: {delimiter: ';'}" in error.fix
    assert "CsvDialect" not in str(error) and "Input should" not in str(error)


@pytest.mark.parametrize(
    "dialect, field, given",
    [
        ("{headerRows: x}", "dialect.headerRows", "'x' was given"),
        ("{commentRows: [a]}", "dialect.commentRows", "['a']"),
        ("{header: maybe}", "dialect.header", "'maybe' was given"),
    ],
)
def test_a_wrong_dialect_value_says_what_was_given_and_expected(
    make_project, dialect, field, given
):
    error = catalog_error(make_project, f"table:\n  format: csv\n  dialect: {dialect}\n")
    assert (error.file, error.entry, error.field) == ("catalog/main.yaml", "table", field)
    assert given in error.problem
    name = field.removeprefix("dialect.")
    expected = "true or false" if name == "header" else "a list of positive row numbers"
    assert f"'{name}' takes {expected}" in error.problem
    assert error.fix.startswith(f"write it as dialect: {{{name}: ")
    assert "CsvDialect" not in str(error) and "Input should" not in str(error)


PRODUCING = {
    "table_functions": """
        import pandas as pd
        import datanectar

        @datanectar.asset(entry="table")
        def table() -> pd.DataFrame:
            return pd.DataFrame({"id": [1], "name": ["café"]})
    """
}


@pytest.mark.parametrize(
    "options, field, said",
    [
        ("load_options: {encoding: latin-1}", "load_options.encoding", "save_options.encoding"),
        ("save_options: {encoding: latin-1}", "save_options.encoding", "load_options.encoding"),
        ("load_options: {sep: ';'}", "load_options.sep", "dialect.delimiter"),
        (
            "load_options: {encoding: latin-1}\n  save_options: {encoding: utf-8}",
            "load_options.encoding",
            "'utf-8'",
        ),
    ],
)
def test_a_produced_csv_reads_back_as_written(make_project, options, field, said):
    error = catalog_error(make_project, f"table:\n  format: csv\n  {options}\n", modules=PRODUCING)
    assert error.field == field and error.entry == "table"
    assert said in str(error)


def test_matching_encodings_on_a_produced_csv_round_trip(make_project):
    project = make_project(
        "table:\n  format: csv\n  load_options: {encoding: latin-1}\n"
        "  save_options: {encoding: latin-1}\n",
        modules=PRODUCING,
    )
    catalog = datanectar.catalog(project)
    catalog.save("table", pd.DataFrame({"id": [1], "name": ["café"]}))
    assert (project / "data" / "table.csv").read_bytes().decode("latin-1").endswith("café\n")
    assert pd.read_csv(project / "data" / "table.csv", encoding="latin-1")["name"].tolist() == [
        "café"
    ]


@pytest.mark.parametrize(
    "dialect, name",
    [("{commentChar: '#'}", "commentChar"), ("{skipInitialSpace: true}", "skipInitialSpace")],
)
def test_a_produced_csv_refuses_dialect_properties_it_would_not_read_back(
    make_project, dialect, name
):
    error = catalog_error(
        make_project, f"table:\n  format: csv\n  dialect: {dialect}\n", modules=PRODUCING
    )
    assert error.field == f"dialect.{name}"
    assert "would not read back what it wrote" in str(error)


@pytest.mark.parametrize("option", ["nrows: 1", "skiprows: 1", "usecols: [id]"])
def test_a_schema_checked_csv_refuses_options_reading_other_rows(make_project, option):
    schema = "  schema: {fields: [{name: id, type: integer}]}\n"
    error = catalog_error(
        make_project, f"table:\n  format: csv\n{schema}  load_options: {{{option}}}\n"
    )
    assert error.field == f"load_options.{option.split(':')[0]}"
    assert "the table_schema check judges the file itself" in str(error)

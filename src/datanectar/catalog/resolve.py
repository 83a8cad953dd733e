"""Resolution: a catalog's declared entries and the functions that produce them, to resolved
entries (format, store, path, namespaces, rules and schema checked) and one signature per
producer; or one error listing every problem found.

Pure: it reads the declarations, the producers and the configured stores, and changes none.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config import ProjectConfig
from ..errors import CatalogError, CatalogErrors, DatanectarError, did_you_mean
from ..formats import default_format_for, format_class, format_names, get_format
from ..formats.base import unknown_option
from ..partitions import keeps_in_place, placeholders
from ..producers import Producer, ProducerSignature
from ..stores import Store, store_class
from .models import Entry
from .rules import RULES, SQL_FORMATS


@dataclass(frozen=True)
class Resolved:
    """A catalog resolved: its entries, the producer of each produced one, and their
    signatures."""

    entries: dict[str, Entry]
    producers: dict[str, Producer]
    signatures: dict[str, ProducerSignature]


def resolve_catalog(
    config: ProjectConfig,
    stores: Mapping[str, Store],
    declared: Mapping[str, Entry],
    producers: list[Producer],
    *,
    unparsed: Collection[str] = (),
) -> Resolved:
    """Complete each entry (format, path, store) and pair it with its producing function;
    raise every problem found at once (one `CatalogError`, or `CatalogErrors`). `unparsed`:
    entries declared in files that did not parse (their errors reported already), neither
    completed nor named in other errors."""
    errors: list[CatalogError] = []
    bound: dict[str, Producer] = {}
    for producer in producers:
        other = bound.get(producer.entry)
        if other is not None and other.function is not producer.function:
            errors.append(
                CatalogError(
                    file=declared[producer.entry].source if producer.entry in declared else None,
                    entry=producer.entry,
                    problem=f"two functions produce it: {other.qualified_name} and {producer.qualified_name}.",
                    fix="keep one, or bind the other to another entry with entry='...'.",
                )
            )
        bound[producer.entry] = producer

    entries: dict[str, Entry] = {}
    broken: set[str] = set(unparsed)
    for name in [*declared, *(p for p in bound if p not in declared and p not in unparsed)]:
        try:
            entry = declared.get(name) or implicit_entry(bound[name])
            entries[name] = complete_entry(config, stores, entry, bound.get(name))
        except CatalogError as exc:
            errors.append(exc)
            broken.add(name)
    signatures = {}
    for producer in bound.values():
        declared_in = declared[producer.entry].source if producer.entry in declared else None
        own = entries.get(producer.entry)
        signature = ProducerSignature.of(
            producer,
            # A parameter naming a broken entry is that entry's error, reported once above.
            entries=entries.keys() | broken,
            dimensions=[dimension.name for dimension in own.namespaces or []] if own else (),
        )
        signatures[producer.entry] = signature
        errors.extend(_parameter_errors(signature, entries, declared_in))
        errors.extend(_uses_errors(producer, entries, declared_in, known=broken))
    errors.extend(_foreign_key_errors(config, entries, known=broken))
    errors.extend(_sql_rule_errors(entries, known=broken))
    if errors:
        raise errors[0] if len(errors) == 1 else CatalogErrors(errors)
    return Resolved(entries, bound, signatures)


def implicit_entry(producer: Producer) -> Entry:
    """The entry of a function that no catalog file declares."""
    try:
        return Entry(name=producer.entry, description=producer.description, group=producer.group)
    except ValidationError as exc:
        raise CatalogError(
            file=None,
            entry=producer.entry,
            field=".".join(str(part) for part in exc.errors()[0]["loc"]),
            problem=f"{producer.qualified_name}: {exc.errors()[0]['msg']}.",
        ) from None


def _store_misfit(
    kind: type[Store], store: str, fmt: str, producer: Producer | None
) -> tuple[str, str, str] | None:
    """(field, problem, fix) when a store of that type cannot hold the entry, else None."""
    medium = get_format(fmt).medium
    if medium == "filesystem" and not kind.holds_files:
        return (
            "store",
            f"store '{store}' is a database and cannot hold '{fmt}' files.",
            "use format 'sql' for this entry, or a file store.",
        )
    held = kind.formats
    if held is not None and fmt not in held:
        return (
            "format",
            f"store '{store}' ({kind.type_name}) holds {', '.join(held)} objects, not '{fmt}'.",
            "use one of those formats, or put the data in another store.",
        )
    if medium == "database" and not kind.holds_tables:
        return (
            "store",
            f"store '{store}' ({kind.type_name}) holds files, not sql tables.",
            "give the entry a store with a database (a 'sql' store, or a 'local' one: sqlite).",
        )
    if producer is not None and kind.read_only:
        return (
            "store",
            f"store '{store}' is read-only ({kind.type_name}), but {producer.qualified_name} "
            "produces this entry: nothing can be written there.",
            "give the entry a writable store, or read the data there as a source entry that "
            "nothing produces.",
        )
    return None


def complete_entry(
    config: ProjectConfig, stores: Mapping[str, Store], entry: Entry, producer: Producer | None
) -> Entry:
    def error(field: str, problem: str, fix: str = "") -> CatalogError:
        return CatalogError(
            file=entry.source, entry=entry.name, field=field, problem=problem, fix=fix
        )

    if producer and producer.format and entry.format and producer.format != entry.format:
        raise error(
            "format",
            f"the catalog says '{entry.format}' but {producer.qualified_name} says '{producer.format}'.",
            "state the format in one place.",
        )
    fmt = entry.format or (producer and producer.format)
    if not fmt and producer:
        fmt = default_format_for(producer.return_annotation())
    if not fmt:
        raise error(
            "format",
            "no format given, and no function produces this entry to infer one from.",
            f"add 'format: NAME', one of {', '.join(format_names())}.",
        )
    _check_query(entry, fmt, producer)
    _check_versioning(entry, fmt)
    store = entry.store or config.settings.default_store
    if store not in stores:
        raise error(
            "store",
            f"store '{store}' is not configured.{did_you_mean(store, stores)} Stores: "
            f"{', '.join(sorted(stores))}.",
            f"add [tool.datanectar.stores.{store}] to {config.pyproject.name}, or use a configured store.",
        )
    format_ = get_format(fmt)
    misfit = _store_misfit(type(stores[store]), store, fmt, producer)
    if misfit is not None:
        raise error(*misfit)
    for name, settings in config.environment_settings.items():
        # Every environment's stores hold what they would be given: a mistake in `prod`
        # fails in development too.
        other = entry.store or settings.default_store
        where = f"with DATANECTAR_ENV={name}" if name else "without DATANECTAR_ENV"
        if other not in settings.stores:
            raise error(
                "store",
                f"{where}, store '{other}' is not configured.",
                f"declare store '{other}' there, or give the entry a store every environment has.",
            )
        misfit = _store_misfit(store_class(settings.stores[other].type), other, fmt, producer)
        if misfit is not None:
            field, problem, fix = misfit
            raise error(field, f"{where}, {problem}", fix)
    path = None if entry.query is not None else entry.path or f"{entry.name}{format_.suffix}"
    try:
        if path is not None:
            format_.check_path(path)
    except ValueError as exc:
        raise error("path", f"{exc}.") from None
    # Without options there is nothing to refuse, and the names a format takes come from
    # its library's signatures (a few hundred microseconds an entry, at every load).
    refused = (
        unknown_option(format_, load_options=entry.load_options, save_options=entry.save_options)
        if entry.load_options or entry.save_options
        else None
    )
    if refused is not None:
        field, name, allowed = refused
        raise error(
            f"{field}.{name}",
            f"format '{fmt}' has no option '{name}'.{did_you_mean(name, allowed)}",
            f"use one of: {', '.join(sorted(allowed)) or '(none)'}.",
        )
    _check_dialect(entry, fmt, producer)
    _check_csv_options(entry, fmt, producer)
    if producer is not None and (producer.checks or producer.schema is not None):
        if producer.schema is not None and entry.schema_ is not None:
            raise error(
                "schema",
                f"both the catalog and {producer.qualified_name} give a schema.",
                "state the schema in one place.",
            )
        entry = entry.model_copy(
            update={
                "checks": [*entry.checks, *producer.checks],
                "schema_": entry.schema_ if entry.schema_ is not None else producer.schema,
            }
        )
    if producer is not None and producer.namespaces:
        if entry.namespaces and list(entry.namespaces) != list(producer.namespaces):
            raise error(
                "namespaces",
                f"the catalog and {producer.qualified_name} declare different namespaces.",
                "declare them in one place.",
            )
        entry = entry.model_copy(update={"namespaces": list(producer.namespaces)})
    _check_rules(entry, fmt, config, from_function=_function_rules(producer, config))
    _check_namespaces(entry, format_, path or "")
    return entry.model_copy(
        update={
            "format": fmt,
            "store": store,
            "path": path,
            "external": producer is None,
            "field_names": _headerless_field_names(entry, config),
        }
    )


def _headerless_field_names(entry: Entry, config: ProjectConfig) -> tuple[str, ...] | None:
    """A headerless csv's columns are its schema's fields, in order (frictionless's names);
    None when the file has a header or the entry no schema."""
    if entry.schema_ is None or entry.dialect is None or entry.dialect.header is not False:
        return None
    from ..checks.tableschema import load_schema

    return tuple(load_schema(entry.schema_, basepath=config.root).field_names)


def _check_versioning(entry: Entry, fmt: str) -> None:
    """Versions are copies kept whole: of a table that keeps its own versions (Delta) or
    that lives in a database there are none to make."""
    if not entry.versioned and not entry.properties:
        return
    if entry.properties and not entry.versioned:
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field="properties",
            problem="properties are recorded in the manifests of versions, and this entry is "
            "not versioned.",
            fix="add 'versioned: true', or remove 'properties'.",
        )
    problem = {
        "delta": "a Delta table keeps its own versions: every delta entry loads any of them "
        "(catalog.load(name, version=3)) without copies.",
        "sql": "a sql table lives in its database, which keeps no versions of it.",
    }.get(fmt)
    template = entry.versioning.label if entry.versioning is not None else None
    if problem is None and template and "{partition}" in template and not entry.namespaces:
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field="versioned.label",
            problem="the label template names {partition}, and the entry has no namespaces.",
            fix="remove {partition} from the template, or give the entry namespaces.",
        )
    if problem is None and entry.query is not None:
        problem = "a query's result is read, never written: there is nothing to version."
    if problem is None and entry.namespaces and _namespaces_in_one_object(entry, fmt):
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field="path",
            problem="its namespaces are kept inside one object (the path names no "
            "{dimension}), and a version is a whole object of its own.",
            fix="give the path a placeholder per dimension ("
            + ", ".join("{" + d.name + "}" for d in entry.namespaces)
            + "), so that each namespace has versions of its own.",
        )
    if problem is not None:
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field="versioned",
            problem=problem,
            fix="remove 'versioned' (and 'properties').",
        )


def _namespaces_in_one_object(entry: Entry, fmt: str) -> bool:
    from ..formats import get_format
    from ..partitions import keeps_in_place
    from ..targets import Target

    return keeps_in_place(get_format(fmt), list(entry.namespaces or []), Target.of(entry).path)


def _check_query(entry: Entry, fmt: str, producer: Producer | None) -> None:
    """A `query:` is a sql source's alternative to a table: alone, every placeholder bound."""

    def error(field: str, problem: str, fix: str) -> CatalogError:
        return CatalogError(
            file=entry.source, entry=entry.name, field=field, problem=problem, fix=fix
        )

    if entry.query is None:
        if entry.params:
            raise error(
                "params",
                "params are bound to a query's placeholders, and this entry has no query.",
                "add 'query:', or remove 'params'.",
            )
        return
    if entry.path is not None:
        raise error(
            "query",
            "both 'query' and 'path' say where the data is: a query's result, or a table.",
            "keep 'query' (a SELECT) or 'path' (a table name), not both.",
        )
    if fmt != "sql":
        raise error(
            "query",
            f"a query runs in a SQL database, and this entry's format is '{fmt}'.",
            "use format 'sql' (and a sql store), or give a 'path' instead of 'query'.",
        )
    if producer is not None:
        raise error(
            "query",
            f"{producer.qualified_name} writes this entry, and a query's result cannot be written.",
            "give it a 'path' (a table) instead of 'query', or read the query in another "
            "entry nothing produces.",
        )
    if entry.namespaces:
        raise error(
            "namespaces",
            "a query source has no namespaces.",
            "remove 'namespaces', or bind what differs as params.",
        )
    from ..formats.sql import query_placeholders, with_placeholders_as_nulls
    from .rules import one_select

    try:
        one_select(with_placeholders_as_nulls(entry.query), whose="a source's query")
    except ValueError as exc:
        raise error(
            "query",
            f"{exc}.",
            "write one SELECT (a source reads data); change tables in the functions that "
            "produce them.",
        ) from None
    named = query_placeholders(entry.query)
    missing = [name for name in named if name not in entry.params]
    extra = [name for name in entry.params if name not in named]
    if missing:
        raise error(
            "params",
            f"the query's placeholder{'s' if len(missing) > 1 else ''} "
            f"{', '.join(':' + name for name in missing)} {'have' if len(missing) > 1 else 'has'} "
            "no value in params.",
            f"add {', '.join(missing)} to params (a value, or a Jinja variable in quotes).",
        )
    if extra:
        raise error(
            "params",
            f"params {', '.join(extra)} {'are' if len(extra) > 1 else 'is'} bound to no "
            f"placeholder of the query (its placeholders: "
            f"{', '.join(':' + name for name in named) or 'none'}).",
            f"write :{extra[0]} where the value goes in the query, or remove it from params.",
        )


# to_csv's option -> read_csv's options saying the same of a file's bytes.
_CSV_LAYOUT = {
    "sep": ("sep", "delimiter"),
    "encoding": ("encoding",),
    "quotechar": ("quotechar",),
    "escapechar": ("escapechar",),
    "decimal": ("decimal",),
    "compression": ("compression",),
}
# read_csv options that read other rows or columns than the file's: the Table Schema check
# judges the file itself.
_CSV_SELECTING = ("nrows", "skiprows", "skipfooter", "usecols", "header", "names", "comment")


def _check_csv_options(entry: Entry, fmt: str, producer: Producer | None) -> None:
    """A produced csv reads back as it was written: the load and save options that describe
    the file's bytes agree. An entry judged by a Table Schema reads the rows and columns the
    check judges."""
    if fmt != "csv":
        return

    def error(field: str, problem: str, fix: str) -> CatalogError:
        return CatalogError(
            file=entry.source, entry=entry.name, field=field, problem=problem, fix=fix
        )

    load, save = entry.load_options, entry.save_options
    if producer is not None:
        for written, read_names in _CSV_LAYOUT.items():
            for read in read_names:
                if read in load and load[read] != save.get(written):
                    given = (
                        f"save_options.{written} is {save[written]!r}"
                        if written in save
                        else f"save_options.{written} is not given (pandas' default)"
                    )
                    raise error(
                        f"load_options.{read}",
                        f"{load[read]!r} says how the file is read, but {given}: every "
                        "reader would get other cells than the function returned.",
                        f"give save_options.{written}: {load[read]!r} as well"
                        + (", or state it once as dialect.delimiter" if written == "sep" else "")
                        + ".",
                    )
        for written in ("encoding", "compression"):
            if written in save and written not in load:
                raise error(
                    f"save_options.{written}",
                    f"{save[written]!r} says how the file is written, but load_options."
                    f"{written} is not given: it would be read back as pandas' default.",
                    f"give load_options.{written}: {save[written]!r} as well.",
                )
    if entry.schema_ is not None:
        for name in _CSV_SELECTING:
            if name in load:
                raise error(
                    f"load_options.{name}",
                    "it makes readers see other rows or columns than the file holds, while "
                    "the table_schema check judges the file itself.",
                    f"remove load_options.{name}; a file's header and comment rows are "
                    "stated in its dialect (dialect.headerRows, dialect.commentRows, ...).",
                )


def _check_dialect(entry: Entry, fmt: str, producer: Producer | None) -> None:
    """A dialect describes a csv file, once: not another format's, not beside a read_csv or
    to_csv option saying the same, not what pandas cannot write for a produced entry."""
    dialect = entry.dialect
    if dialect is None:
        return

    def error(field: str, problem: str, fix: str) -> CatalogError:
        return CatalogError(
            file=entry.source, entry=entry.name, field=field, problem=problem, fix=fix
        )

    if fmt != "csv":
        raise error(
            "dialect",
            f"a Table Dialect describes csv files, and this entry's format is '{fmt}'.",
            "remove 'dialect', or use format 'csv'.",
        )
    clash = dialect.conflict(load_options=entry.load_options, save_options=entry.save_options)
    if clash is not None:
        name, option = clash
        raise error(
            f"dialect.{name}",
            f"both 'dialect.{name}' and '{option}' say how the file is {'written' if option.startswith('save') else 'read'}.",
            f"state it in one place: keep 'dialect.{name}' (read and written alike) and "
            f"remove '{option}'.",
        )
    unwritable = dialect.unwritable()
    if producer is not None and unwritable is not None:
        name, reason = unwritable
        raise error(
            f"dialect.{name}",
            f"{producer.qualified_name} produces this entry, and {reason}: '{name}' would "
            "not read back what it wrote.",
            f"remove 'dialect.{name}' (it is for reading files nothing produces).",
        )


# What kind of value each format holds, for the rules that apply to it.
def _function_rules(producer: Producer | None, config: ProjectConfig) -> tuple[int, str]:
    """(how many of the entry's rules its function declared, the function's file): those come
    last, and their errors name the function's module, not the catalog file."""
    if producer is None or not producer.checks:
        return 0, ""
    source = inspect.getsourcefile(producer.function) or producer.qualified_name
    try:
        source = str(Path(source).resolve().relative_to(config.root.resolve()))
    except ValueError:
        pass
    return len(producer.checks), f"{source} (@{producer.qualified_name})"


def _check_rules(
    entry: Entry, fmt: str, config: ProjectConfig, *, from_function: tuple[int, str] = (0, "")
) -> None:
    """Rules that cannot apply to the entry's data, and schemas that do not parse, are
    catalog errors: found when the catalog loads, not when a run fails."""
    kind = format_class(fmt).data_kind
    declared = _declared_rules(entry, from_function)
    for origin, index, rule in declared:
        if rule.custom is not None:
            _resolve_custom_rule(origin, index, rule.custom)
        if rule.sql is not None and fmt not in SQL_FORMATS:
            raise CatalogError(
                file=origin.source,
                entry=entry.name,
                field=f"checks[{index}].sql",
                problem=f"a sql rule queries tables in a database or in DuckDB, and a '{fmt}' "
                f"entry is none of those; it fits {', '.join(SQL_FORMATS)} entries.",
                fix="remove the rule, or use a custom check for this format.",
            )
        if kind not in rule.applies_to and "any" not in rule.applies_to:
            raise CatalogError(
                file=origin.source,
                entry=entry.name,
                field=f"checks[{index}].{rule.kind}",
                problem=f"rule '{rule.kind}' checks {' or '.join(rule.applies_to)} data, and a "
                f"'{fmt}' entry holds {kind} data.",
                fix="remove the rule, or use one that fits: "
                + ", ".join(
                    name for name, (_, kinds, _) in RULES.items() if kind in kinds or "any" in kinds
                )
                + ".",
            )
    names = [rule.check_name for rule in entry.checks] + (["table_schema"] if entry.schema_ else [])
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field="checks",
            problem=f"two checks are named '{duplicated[0]}'.",
            fix="give one of them a 'name:'.",
        )
    if entry.schema_ is not None:
        if kind != "table":
            raise CatalogError(
                file=entry.source,
                entry=entry.name,
                field="schema",
                problem=f"a Table Schema checks tables, and a '{fmt}' entry holds {kind} data.",
            )
        from ..checks.tableschema import load_schema

        try:
            schema = load_schema(entry.schema_, basepath=config.root)
        except DatanectarError as exc:
            raise CatalogError(
                file=entry.source, entry=entry.name, field="schema", problem=str(exc)
            ) from None
        _require_ranges_fit(declared, {field.name: field.type for field in schema.fields})


def _declared_rules(entry: Entry, from_function: tuple[int, str]) -> list[tuple[Entry, int, Any]]:
    """Each rule with where it is declared, as errors name it: (the entry, with the function's
    module as its source for rules declared on the decorator, the rule's index there, rule)."""
    declared_in_catalog = len(entry.checks) - from_function[0]
    found = []
    for index, rule in enumerate(entry.checks):
        if index >= declared_in_catalog:  # declared on the decorator
            origin = entry.model_copy(update={"source": from_function[1]})
            found.append((origin, index - declared_in_catalog, rule))
        else:
            found.append((entry, index, rule))
    return found


# The Table Schema field types a range's bounds can judge: numbers, or dates and instants.
_RANGE_FIELD_KINDS = {
    "integer": "number",
    "number": "number",
    "year": "number",
    "date": "time",
    "datetime": "time",
}


def _require_ranges_fit(
    declared: list[tuple[Entry, int, Any]], field_types: Mapping[str, str]
) -> None:
    """A `range` on a column the entry's schema types is a catalog error when its bounds
    cannot judge that type (numbers on a date, dates on a string)."""
    for entry, index, rule in declared:
        if rule.range is None:
            continue
        for column, bounds in rule.bounds().items():
            field_type = field_types.get(column)
            if field_type is None or _RANGE_FIELD_KINDS.get(field_type) == bounds.kind:
                continue
            fits = [t for t, kind in _RANGE_FIELD_KINDS.items() if kind == bounds.kind]
            raise CatalogError(
                file=entry.source,
                entry=entry.name,
                field=f"checks[{index}].range.{column}",
                problem=f"the schema types '{column}' as {field_type}, which {bounds.kind} "
                f"bounds {bounds.describe()} cannot judge (they judge {', '.join(fits)}).",
                fix="give bounds of the column's kind (numbers, or ISO dates/timestamps), or "
                "drop the rule.",
            )


def _foreign_key_errors(
    config: ProjectConfig, entries: Mapping[str, Entry], *, known: Collection[str]
) -> list[CatalogError]:
    """A Table Schema's foreign keys name catalog entries holding tables (or '', the table
    itself): found at load, not when the check first runs."""
    from ..checks.tableschema import load_schema

    errors = []
    for entry in entries.values():
        if entry.schema_ is None or (
            isinstance(entry.schema_, Mapping) and "foreignKeys" not in entry.schema_
        ):
            continue  # an inline schema without foreign keys is not parsed a second time
        for index, key in enumerate(load_schema(entry.schema_, basepath=config.root).foreign_keys):
            resource = key.get("reference", {}).get("resource", "")
            if not resource or resource in known:
                continue
            field = f"schema.foreignKeys[{index}].reference.resource"
            other = entries.get(resource)
            if other is None:
                problem = (
                    f"the foreign key names '{resource}', which is not an entry of the "
                    f"catalog.{did_you_mean(resource, entries)}"
                )
            elif format_class(str(other.format)).data_kind != "table":
                problem = (
                    f"the foreign key names '{resource}', a '{other.format}' entry, which "
                    "holds no table."
                )
            else:
                continue
            errors.append(
                CatalogError(
                    file=entry.source,
                    entry=entry.name,
                    field=field,
                    problem=problem,
                    fix="name a catalog entry holding the referenced table, or '' for a key "
                    "into this table itself.",
                )
            )
    return errors


def _sql_rule_errors(entries: Mapping[str, Entry], *, known: Collection[str]) -> list[CatalogError]:
    """A sql rule's placeholders name the entry's own table or other catalog entries the
    same engine can query: for a sql entry, sql tables in the same store's database; for
    parquet, delta and csv entries (queried by DuckDB over Arrow datasets), entries of those
    formats on any store."""
    errors = []
    for entry in entries.values():
        for index, rule in enumerate(entry.checks):
            if rule.sql is None:
                continue
            in_database = entry.format == "sql"
            for name in rule.sql.names:
                other = entries.get(name)
                if name == "table" or name in known or name == entry.name:
                    continue
                if other is None:
                    problem = (
                        f"the query names '{{{name}}}', which is neither '{{table}}' (this "
                        f"entry's table) nor an entry of the catalog.{did_you_mean(name, entries)}"
                    )
                elif in_database and (other.format != "sql" or other.store != entry.store):
                    problem = (
                        f"the query runs in store '{entry.store}''s database and names "
                        f"'{name}', a '{other.format}' entry in store '{other.store}'; only sql "
                        "tables of the same store can be joined there."
                    )
                elif not in_database and other.format not in ("parquet", "delta", "csv"):
                    problem = (
                        f"the query runs in DuckDB over Arrow datasets and names '{name}', a "
                        f"'{other.format}' entry; it can join parquet, delta and csv entries."
                    )
                elif other.namespaces and other.format in ("parquet", "csv"):
                    problem = (
                        f"the query names '{name}', which keeps each namespace in a file of "
                        "its own; a sql rule can join entries whose namespaces share one table "
                        "(delta, sql), or unpartitioned ones."
                    )
                else:
                    continue
                errors.append(
                    CatalogError(
                        file=entry.source,
                        entry=entry.name,
                        field=f"checks[{index}].sql.query",
                        problem=problem,
                        fix="name '{table}' or another entry the query can read, in braces.",
                    )
                )
    return errors


def _resolve_custom_rule(entry: Entry, index: int, target: str) -> None:
    from ..checks.rules import CustomCheckError, resolve_custom

    try:
        resolve_custom(target)
    except CustomCheckError as exc:
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field=f"checks[{index}].custom",
            problem=f"{str(exc).removeprefix(f'custom check {target!r}: ')}",
            fix="name an importable module (from the project root) and a function in it, "
            "as 'package.module:function'.",
        ) from None


def _check_namespaces(entry: Entry, format_: Any, path: str) -> None:
    """Path placeholders must name namespace dimensions, and name all of them for a format
    storing one object per partition (else two partitions would share one object)."""
    names = [dimension.name for dimension in entry.namespaces or []]
    used = placeholders(path)
    unknown = [name for name in used if name not in names]
    problem = None
    if unknown:
        problem = f"placeholder '{{{unknown[0]}}}' names no namespace dimension ({', '.join(names) or 'none'})."
    elif used and keeps_in_place(format_, entry.namespaces or [], path):
        problem = f"format '{format_.name}' keeps all namespaces in one table; its path takes no placeholders."
    elif used and sorted(set(used)) != sorted(names):
        missing = [name for name in names if name not in used]
        problem = f"the path must use every namespace dimension; '{{{missing[0]}}}' is missing."
    if problem:
        raise CatalogError(file=entry.source, entry=entry.name, field="path", problem=problem)


def _uses_errors(
    producer: Producer, entries: Mapping[str, Entry], source: str | None, *, known: Collection[str]
) -> list[CatalogError]:
    try:
        uses = producer.uses()
    except DatanectarError as exc:
        return [CatalogError(file=source, entry=producer.entry, field="uses", problem=str(exc))]
    return [
        CatalogError(
            file=source,
            entry=producer.entry,
            field="uses",
            problem=f"{producer.qualified_name} uses '{name}', which is no catalog entry."
            f"{did_you_mean(name, entries)}",
            fix="name a cached function the body calls, or the entry it produces.",
        )
        for name in uses
        if name not in entries and name not in known
    ]


def _parameter_errors(
    signature: ProducerSignature, entries: Mapping[str, Entry], source: str | None
) -> list[CatalogError]:
    producer = signature.producer
    return [
        CatalogError(
            file=source,
            entry=producer.entry,
            problem=(
                f"parameter '{name}' of {producer.qualified_name} names no catalog "
                f"entry and has no default.{did_you_mean(name, entries)}"
            ),
            fix="rename it after the entry it reads, declare that entry, or give it a default.",
        )
        for name in signature.unbound
    ]

"""A Delta table's own versions (time travel): which ones there are, and which one a version
number or a timestamp asks for.

Every commit of a Delta table is a version of it, numbered from 0, and stays readable until
its data files are vacuumed: a versioned Delta entry keeps no copies, it reads the table as it
was. A timestamp asks for the latest version committed at or before it (the commit's own
timestamp, as `history` lists it), which is Delta's time travel by timestamp.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import DataNotFoundError
from ..stores import Location

Version = int | str | datetime
"""A version number, or a timestamp (ISO 8601 / RFC 3339 text, or a datetime; without an
offset, UTC)."""


def commits(raw: Iterable[Mapping[str, Any]], adds: Any) -> list[dict[str, Any]]:
    """deltalake's `DeltaTable.history()` as plain records, newest first: `version`,
    `timestamp` (ISO, UTC), `operation`, and where the commit tells them `rows` and `bytes`
    (added) and `partition` (the predicate it replaced, or the one partition it wrote).
    `adds(version)` gives a commit's add actions, for commits whose info has no metrics (the
    partition commits datanectar makes itself)."""
    records = []
    for commit in raw:
        version = int(commit["version"])
        record: dict[str, Any] = {
            "version": version,
            "timestamp": iso(commit.get("timestamp")),
            "operation": commit.get("operation"),
        }
        metrics = commit.get("operationMetrics") or {}
        parameters = commit.get("operationParameters") or {}
        added = None
        if "num_added_rows" in metrics:
            record["rows"] = int(metrics["num_added_rows"])
        if "num_added_bytes" in metrics:
            record["bytes"] = int(metrics["num_added_bytes"])
        if "rows" not in record or "bytes" not in record or not parameters.get("predicate"):
            added = adds(version)
        if added is not None:
            record.setdefault("bytes", sum(int(add.get("size", 0)) for add in added))
            rows = _added_rows(added)
            if rows is not None:
                record.setdefault("rows", rows)
        predicate = parameters.get("predicate")
        if predicate:
            record["partition"] = predicate
        elif added:
            written = _one_partition(added)
            if written:
                record["partition"] = written
        records.append(record)
    records.sort(key=lambda record: record["version"], reverse=True)
    return records


def iso(milliseconds: Any) -> str | None:
    """A commit timestamp (milliseconds since the epoch) as ISO text in UTC."""
    if milliseconds is None:
        return None
    moment = datetime.fromtimestamp(int(milliseconds) / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def moment(version: str | datetime, uri: str) -> datetime:
    """A timestamp version as an aware datetime (UTC when it names no offset)."""
    if isinstance(version, str):
        try:
            version = datetime.fromisoformat(version.strip())
        except ValueError:
            raise DataNotFoundError(
                f"Delta table {uri}: version {version!r} is neither a version number nor an "
                "ISO timestamp. Fix: ask for a version number (0, 1, ...) or a timestamp such "
                "as 2026-01-31T12:00:00Z"
            ) from None
    return version if version.tzinfo is not None else version.replace(tzinfo=UTC)


def version_at(records: list[dict[str, Any]], when: datetime, uri: str) -> int:
    """The latest version committed at or before `when` (`records`: `commits`, newest
    first); none that early is an error naming the first commit's time."""
    for record in records:
        stamp = record["timestamp"]
        if stamp is not None and datetime.fromisoformat(stamp) <= when:
            return int(record["version"])
    raise not_found(
        uri,
        when.isoformat(),
        records,
        why="the table has no version committed at or before that time",
    )


def not_found(
    uri: str,
    asked: Any,
    records: list[dict[str, Any]],
    *,
    why: str = "",
    readable: int | None = None,
) -> DataNotFoundError:
    """The error for a version the table does not have, naming those it has (`readable`:
    the first version still readable, when the log's first commits were cleaned up)."""
    if records:
        newest, oldest = records[0], records[-1]
        first = oldest["version"] if readable is None else readable
        have = f"its versions are {first}..{newest['version']} (committed "
        have += f"{oldest['timestamp'] if readable is None else _stamp(records, readable)} to "
        have += f"{newest['timestamp']})"
        if readable is not None:
            have += (
                f": the log's commits before version {oldest['version']} were cleaned up, and "
                f"its first checkpoint left is at version {readable}"
            )
    else:
        have = "it lists no versions"
    return DataNotFoundError(
        f"Delta table {uri}: there is no version {asked}"
        + (f" ({why})" if why else "")
        + f"; {have}. Fix: ask for one of those versions, or a timestamp at or after the "
        "first of them (`history` lists them)"
    )


def _stamp(records: list[dict[str, Any]], version: int) -> str | None:
    return next((r["timestamp"] for r in records if r["version"] == version), None)


def readable_from(location: Location, records: list[dict[str, Any]]) -> int | None:
    """The first version a table whose first commits were cleaned up can still be read at:
    its first checkpoint left (one listing of its log, on this error path only)."""
    oldest = records[-1]["version"]
    log = f"{location.path.rstrip('/')}/_delta_log"
    try:
        names = [str(name).rsplit("/", 1)[-1] for name in location.fs.ls(log, detail=False)]
    except OSError:
        return None
    checkpoints = sorted(
        int(name.split(".", 1)[0])
        for name in names
        if ".checkpoint." in name and name.split(".", 1)[0].isdigit()
    )
    return next((number for number in checkpoints if number >= oldest), None)


def version_number(version: Version) -> int | None:
    """A version number asked as such (an int, or text of digits only); None for a
    timestamp."""
    if isinstance(version, bool):
        raise TypeError(f"a table version is a number or a timestamp, not {version!r}")
    if isinstance(version, int):
        return version
    if isinstance(version, str) and version.strip().isdigit():
        return int(version.strip())
    return None


def commit_adds(location: Location, version: int) -> list[dict[str, Any]] | None:
    """The add actions of one commit of the table's log (None when that commit file is gone
    or unreadable: an old log cleaned up after a checkpoint)."""
    path = f"{location.path.rstrip('/')}/_delta_log/{version:020d}.json"
    try:
        with location.fs.open(path, "rb") as handle:
            lines = handle.read().splitlines()
    except (OSError, ValueError):
        return None
    actions = [json.loads(line) for line in lines if line.strip()]
    return [action["add"] for action in actions if "add" in action]


def _added_rows(adds: list[dict[str, Any]]) -> int | None:
    total = 0
    for add in adds:
        try:
            total += int(json.loads(add.get("stats") or "{}")["numRecords"])
        except (KeyError, ValueError, TypeError):
            return None  # a file without statistics: the count is unknown
    return total


def _one_partition(adds: list[dict[str, Any]]) -> str | None:
    """`city = 'paris'` when every file a commit added is of that one partition."""
    values = {json.dumps(add.get("partitionValues") or {}, sort_keys=True) for add in adds}
    if len(values) != 1:
        return None
    partition = json.loads(values.pop())
    if not partition:
        return None
    return " AND ".join(
        f"{name} = '{_quoted(key)}'" if key is not None else f"{name} IS NULL"
        for name, key in partition.items()
    )


def _quoted(key: str) -> str:
    return key.replace("'", "''")

"""Amazon S3 (and any S3 API: MinIO, moto): objects under a bucket and key prefix.

Credentials come from the AWS chain only (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
AWS_PROFILE, instance and task roles): nothing secret stands in the config. The endpoint is
`endpoint_url`, else AWS_ENDPOINT_URL, else AWS's own.

S3 has no rename, so publishing is done another way:

- a value of one object (a csv, parquet, json, pickle or netcdf file) is written to a staging
  key, then copied over the final key by one server-side copy (readers see the previous object
  or the new one, whole), and the staging key deleted;
- a value of many objects (a zarr store, a folder) stays where it was written, under a fresh
  prefix of its own, and is published by replacing one small pointer object beside it,
  `<key>.datanectar-pointer` (JSON naming the prefix), with a conditional write (`If-Match` the
  pointer read, `If-None-Match: *` for the first): readers resolve the pointer before they
  open anything, so they see the previous prefix or the new one, never a half-written or
  half-replaced value. The replaced prefix is then retired. `dagster/uri` names the concrete
  prefix, so other tools (xarray, DuckDB, Spark) open exactly what was published.

Delta tables need neither: deltalake commits through its log with S3's conditional writes.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
import time
import uuid
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import fsspec
from pydantic import Field, field_validator

from ..errors import MissingDependencyError, StoreAccessError, StoreError
from .base import Location, Store, StoreConfig, normalize_prefix, staging_pattern

POINTER_SUFFIX = ".datanectar-pointer"
RETIRED_GRACE_SECONDS = 3600.0
"""How long a replaced folder value stays readable for those who opened it before."""
_POINTER_RETRIES = 5
_ATTEMPTS = 3
"""Tries of each request (botocore's, object_store's retries): the first and two more."""


class S3StoreConfig(StoreConfig):
    """`type = "s3"`: a bucket and key prefix on S3 or an S3 API."""

    type: Literal["s3"] = Field(default="s3", description="A bucket on S3 or an S3 API.")
    bucket: str = Field(description="The bucket holding the store's objects.")
    prefix: str = Field(default="", description="Key prefix of every object (optional).")
    region: str | None = Field(default=None, description="The bucket's region (optional).")
    endpoint_url: str | None = Field(
        default=None,
        description="An S3 API's URL (MinIO, moto); else AWS_ENDPOINT_URL, else AWS.",
    )

    timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How long to wait to connect, and for each answer, before retrying (3 attempts "
            "in all): an endpoint that never answers fails in about 3x this."
        ),
    )

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not value or "/" in value or value != value.strip():
            raise ValueError(f"bucket {value!r} is not a bucket name (no '/', no spaces)")
        return value

    @field_validator("prefix")
    @classmethod
    def _clean_prefix(cls, value: str) -> str:
        try:
            return normalize_prefix(value) if value.strip("/") else ""
        except StoreError as exc:  # pydantic names the file and field of a ValueError
            raise ValueError(f"{exc}; give a key prefix inside the bucket, without '..'") from None

    @field_validator("endpoint_url")
    @classmethod
    def _plain_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"endpoint_url {value!r} is not an http:// or https:// URL")
        if "@" in parts.netloc:
            raise ValueError(
                "endpoint_url holds credentials; they never stand in a file. Fix: drop them "
                "from the URL; credentials come from the AWS chain (AWS_ACCESS_KEY_ID, ...)"
            )
        return value.rstrip("/")


class S3Store(Store):
    type_name = "s3"
    config_model = S3StoreConfig
    uri_schemes = ("s3",)

    @classmethod
    def config_for_uri(cls, uri: str) -> S3StoreConfig:
        parts = urlsplit(uri)
        if not parts.netloc:
            raise StoreError(f"'{uri}' names no bucket. Fix: s3://bucket/prefix")
        return S3StoreConfig(bucket=parts.netloc, prefix=parts.path.strip("/"))

    def __init__(self, name: str, config: S3StoreConfig, *, project_root: Path) -> None:
        super().__init__(name)
        self.config = config
        self.bucket = config.bucket
        self.prefix = config.prefix.strip("/")
        self._bucket_seen = False

    # -- connection --------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str | None:
        return self.config.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    @property
    def region(self) -> str | None:
        return self.config.region or os.environ.get("AWS_REGION") or None

    @cached_property
    def filesystem(self) -> fsspec.AbstractFileSystem:
        try:
            import s3fs
        except ImportError as exc:  # pragma: no cover - part of the s3 extra
            raise MissingDependencyError(
                f"store '{self.name}' (s3) needs s3fs: pip install 'datanectar[s3]'"
            ) from exc
        filesystem = s3fs.S3FileSystem(**self.storage_options())
        # botocore retries (`_ATTEMPTS`); s3fs's own retries of a timeout would multiply them
        filesystem.retries = 1
        return filesystem

    @cached_property
    def client(self) -> Any:
        """A boto3 client of the same endpoint and region (conditional writes of pointers)."""
        import boto3
        from botocore.config import Config

        # A session of its own: boto3's default one keeps the credentials it first found,
        # for the life of the process, whatever the environment says since.
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=Config(**self._botocore_settings()),
        )

    def _botocore_settings(self) -> dict[str, Any]:
        timeout = self.config.timeout_seconds
        return {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "retries": {"max_attempts": _ATTEMPTS, "mode": "standard"},
        }

    def dagster_resources(self) -> dict[str, Any]:
        """dagster-aws's `S3Resource` of this bucket's endpoint and region, as `s3_<store>`:
        users' own assets and sensors reach the store through the same connection."""
        from dagster_aws.s3 import S3Resource

        options = {"endpoint_url": self.endpoint_url, "region_name": self.region}
        return {
            f"s3_{self.name}": S3Resource(
                max_attempts=_ATTEMPTS, **{k: v for k, v in options.items() if v}
            )
        }

    def storage_options(self) -> dict[str, Any]:
        """fsspec's (s3fs) options: what xarray, pandas and zarr take beside an s3:// URI."""
        client_kwargs: dict[str, Any] = {}
        if self.endpoint_url:
            client_kwargs["endpoint_url"] = self.endpoint_url
        if self.region:
            client_kwargs["region_name"] = self.region
        # No listings cache: a publish by another process must be seen at once.
        return {
            "use_listings_cache": False,
            "config_kwargs": self._botocore_settings(),
            **({"client_kwargs": client_kwargs} if client_kwargs else {}),
        }

    def object_store_options(self) -> dict[str, str]:
        """deltalake's (object_store) options; credentials it reads from the AWS chain."""
        timeout = f"{max(1, round(self.config.timeout_seconds))}s"
        options: dict[str, str] = {
            "timeout": timeout,
            "connect_timeout": timeout,
            "max_retries": str(_ATTEMPTS - 1),
            "retry_timeout": f"{max(1, round(self.config.timeout_seconds * _ATTEMPTS))}s",
        }
        if self.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["AWS_ALLOW_HTTP"] = "true"
        if self.region:
            options["AWS_REGION"] = self.region
        return options

    def arrow_filesystem(self) -> Any:
        from pyarrow.fs import S3FileSystem

        options: dict[str, Any] = {
            "connect_timeout": self.config.timeout_seconds,
            "request_timeout": self.config.timeout_seconds,
        }
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            options.update(endpoint_override=parts.netloc, scheme=parts.scheme)
        if self.region:
            options["region"] = self.region
        return S3FileSystem(**options)

    def location(self, relative_path: str, *, direct: bool = False) -> Location:
        location = super().location(relative_path, direct=direct)
        if not direct:
            # Resolved now (the pointer read): a bucket that is not there, or denied, is an
            # error EntryStorage.location names the entry in. A direct location costs no
            # request: such errors come with its first read or write, named alike.
            _ = location.path
        return location

    # -- paths -------------------------------------------------------------------------

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def full_path(self, relative: str) -> str:
        """`bucket/key` of what is published at `relative`: the prefix its pointer names,
        for a value of many objects."""
        pointed, _ = self._pointer(relative)
        return f"{self.bucket}/{self.key(pointed or relative)}"

    def direct_path(self, relative: str) -> str:
        return f"{self.bucket}/{self.key(relative)}"

    def uri(self, relative: str) -> str:
        return f"s3://{self.full_path(relative)}"

    def uri_for(self, location: Location) -> str:
        return f"s3://{location.path}"  # the path resolved once, its pointer read once

    def explain(self, exc: BaseException) -> str:
        """What an S3 failure means for this store, and what to check."""
        code = _error_code(exc)
        where = f"store '{self.name}' (s3://{self.bucket}"
        where += f"/{self.prefix})" if self.prefix else ")"
        endpoint = self.endpoint_url or "AWS"
        name = type(exc).__name__
        if name in _TIMED_OUT or code == "timeout":
            seconds = f"{self.config.timeout_seconds:g}"
            return f"{where}: {endpoint} did not answer within {seconds} s, {_ATTEMPTS} tries ({name}). Fix: check `endpoint_url` / AWS_ENDPOINT_URL and the network, or raise the store's `timeout_seconds`."
        if name in _UNREACHABLE or code == "unreachable":
            return f"{where}: cannot reach {endpoint} ({name}). Fix: check `endpoint_url` / AWS_ENDPOINT_URL and the network."
        if (
            name in ("NoCredentialsError", "PartialCredentialsError")
            or not self._credentials_found()
        ):
            # deltalake and pyarrow send unsigned requests when the chain has none: what S3
            # answers to those (403, or anything) is no clue to what is wrong
            return f"{where}: no AWS credentials found. Fix: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE."
        if code == "NoSuchBucket":
            return f"{where}: bucket '{self.bucket}' does not exist at {endpoint}. Fix: create it, or correct `bucket` (and `endpoint_url`)."
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"{where}: access denied ({code}). Fix: check the AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket's policy."
        return f"{where}: {name}: {exc}"

    def _credentials_found(self) -> bool:
        """Whether the AWS chain (environment, profile, roles) gives any credentials."""
        import boto3

        try:
            return boto3.Session().get_credentials() is not None
        except Exception:  # a profile that does not parse: there are some, of a kind
            return True

    def secrets(self) -> tuple[str, ...]:
        """The AWS chain's secrets, should a library ever repeat them in an error."""
        found = {os.environ.get(n) for n in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
        return tuple(sorted((s for s in found if s and len(s) >= 8), key=len, reverse=True))

    # -- publishing --------------------------------------------------------------------

    def write_small(self, relative: str, data: bytes, *, exclusive: bool = False) -> bool:
        """One PUT (S3 shows the object whole or not at all); `exclusive` by S3's own
        `If-None-Match: *`, so two writers of one name cannot both succeed."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(relative),
                Body=data,
                **({"IfNoneMatch": "*"} if exclusive else {}),
            )
        except ClientError as exc:
            if exclusive and _error_code(exc) in ("PreconditionFailed", "412"):
                return False
            raise
        return True

    def read_small(self, relative: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(relative))
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return answer["Body"].read()

    def staging_for(self, final: Location, *, one_object: bool) -> Location:
        """One object is written on this machine's disk and uploaded by `publish` in one
        request (a multipart upload is aborted if it fails: S3 shows the object whole or not
        at all); a folder is written under a version prefix of its own on S3."""
        if not one_object:
            return final.staging()
        return self._uploads.location(f"{uuid.uuid4().hex[:12]}-{final.name}")

    @cached_property
    def _uploads(self) -> Store:
        """A folder of this process's uploads on local disk (one file per write, removed
        when it is published or its write fails)."""
        from .registry import folder_store

        return folder_store(
            f"{self.name}-uploads", Path(tempfile.mkdtemp(prefix="datanectar-s3-uploads-"))
        )

    def publish(self, staged: Location, final: Location) -> None:
        fs = self.filesystem
        target = f"{self.bucket}/{self.key(final.relative)}"
        if staged.store is not self:  # written on this machine: one upload
            try:
                fs.put_file(staged.path, target)
            finally:
                staged.store.remove(staged)
            self._retire_folder_value(final)
            return
        source = f"{self.bucket}/{self.key(staged.relative)}"
        if fs.isfile(source):
            fs.copy(source, target)  # one server-side copy: the old object or the new one
            fs.rm_file(source)
            self._retire_folder_value(final)
            return
        if fs.isfile(target):  # a one-object value before: readers follow the pointer now
            self._swap_pointer(final.relative, staged.relative)
            fs.rm_file(target)
            return
        had_pointer, expired = self._swap_pointer(final.relative, staged.relative)
        for prefix in expired:
            self._remove_prefix(prefix)
        if not had_pointer and fs.isdir(target):
            # Written in place before pointers (or by another tool): retired like a version.
            self._remove_prefix(final.relative)

    def published_location(self, staged: Location, final: Location) -> Location:
        """A folder value is where it was written, its own version prefix (another writer
        may have published over it since: this write's report names what it wrote)."""
        return staged if staged.store is self else final

    def _retire_folder_value(self, final: Location) -> None:
        """A folder value published at `final` before a one-object one: retired now."""
        document, _ = self._pointer_document(final.relative)
        if document is not None:
            self._delete_pointer(final.relative)
            for prefix in _versions_of(document):
                self._remove_prefix(prefix)

    def _pointer(self, relative: str) -> tuple[str | None, str | None]:
        """(the prefix `relative`'s pointer names, the pointer's ETag), or (None, None)."""
        document, etag = self._pointer_document(relative)
        return (str(document["prefix"]), etag) if document is not None else (None, None)

    def _pointer_document(self, relative: str) -> tuple[dict[str, Any] | None, str | None]:
        """`relative`'s pointer (the prefix published, the ones retired) and its ETag."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self.key(relative) + POINTER_SUFFIX
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise StoreAccessError(self.explain(exc)) from None
        except BotoCoreError as exc:  # no endpoint, no credentials
            raise StoreAccessError(self.explain(exc)) from None
        return json.loads(answer["Body"].read()), answer["ETag"]

    def _swap_pointer(self, relative: str, published: str) -> tuple[bool, list[str]]:
        """Point `relative` at `published` with a conditional write. The prefix it named is
        retired, not removed: a reader that opened it (xarray reads a zarr store lazily) goes
        on reading it whole for `RETIRED_GRACE_SECONDS`. Whether there was a pointer, and the
        retired prefixes older than that, which the caller removes, are returned."""
        from botocore.exceptions import ClientError

        for _ in range(_POINTER_RETRIES):
            document, etag = self._pointer_document(relative)
            now = time.time()
            retired = list(document.get("retired", [])) if document is not None else []
            if document is not None and document["prefix"] != published:
                retired.append({"prefix": document["prefix"], "retired": now})
            expired = [r["prefix"] for r in retired if now - r["retired"] > RETIRED_GRACE_SECONDS]
            kept = [r for r in retired if r["prefix"] not in expired]
            body = json.dumps({"prefix": published, "published": now, "retired": kept}).encode()
            condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.key(relative) + POINTER_SUFFIX,
                    Body=body,
                    ContentType="application/json",
                    **condition,
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                    continue  # another writer published meanwhile: this one goes over it
                raise
            return document is not None, expired
        raise StoreError(
            f"store '{self.name}': the pointer of '{relative}' kept changing under "
            f"{_POINTER_RETRIES} publishes; other writers are publishing it at once"
        )

    def _delete_pointer(self, relative: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(relative) + POINTER_SUFFIX)

    def _remove_prefix(self, relative: str) -> None:
        path = f"{self.bucket}/{self.key(relative)}"
        if self.filesystem.exists(path):
            self.filesystem.rm(path, recursive=True)

    def staging_name(self, name: str) -> str:
        """A version of `name`: a value of many objects stays where it was written, so its
        prefix says what it is (`grid.zarr.v20261202T153000-0123456789ab`), not a staging."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        return f"{name}.v{stamp}-{uuid.uuid4().hex[:12]}"

    # -- the rest of the contract ------------------------------------------------------

    def exists(self, location: Location) -> bool:
        if self._head(location.path) is not None:
            return True
        return self.filesystem.exists(location.path)  # a folder (zarr), or nothing

    def _head(self, path: str) -> dict[str, Any] | None:
        """The object at `bucket/key` `path` (its HEAD), or None when there is none; a
        bucket that is not there, or denied, is a `StoreAccessError` (S3 answers a HEAD
        with a bare 404 for a missing key and a missing bucket alike)."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, _, key = path.partition("/")
        try:
            return self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404", "NotFound"):
                raise StoreAccessError(self.explain(exc)) from None
        except BotoCoreError as exc:
            raise StoreAccessError(self.explain(exc)) from None
        self._check_bucket()
        return None

    def _check_bucket(self) -> None:
        """The bucket is there and reachable (asked once per store: buckets outlive runs)."""
        if self._bucket_seen:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket", "NotFound"):
                exc.response["Error"]["Code"] = "NoSuchBucket"
            raise StoreAccessError(self.explain(exc)) from None
        except BotoCoreError as exc:
            raise StoreAccessError(self.explain(exc)) from None
        self._bucket_seen = True

    def remove(self, location: Location) -> None:
        document, _ = self._pointer_document(location.relative)
        if document is not None:
            self._delete_pointer(location.relative)  # readers find nothing from now on
            for prefix in _versions_of(document):
                self._remove_prefix(prefix)
        self._remove_prefix(location.relative)
        self.filesystem.invalidate_cache()

    def fingerprint(self, location: Location) -> str | None:
        if location.container is None and not location.direct:
            pointed, etag = self._pointer(location.relative)
            if pointed is not None:
                return f"pointer-{etag}"
        # One HEAD: a folder written in place has no one object changing with it, so it has
        # no fingerprint either, as nothing there has (s3fs would list the key as a folder).
        answer = self._head(location.path)
        if answer is None:
            return None
        return f"{answer['ETag']}-{answer['ContentLength']}"

    def size(self, location: Location) -> int:
        fs = self.filesystem
        path = location.path
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return 0
        if info.get("type") == "file":
            return int(info["size"])
        return int(sum(found["size"] for found in fs.find(path, detail=True).values()))

    def remove_leftovers(self, location: Location, *, older_than: float) -> list[str]:
        """Staging keys and prefixes crashed writes left beside `location`, untouched for
        `older_than` seconds, never the prefix its pointer names."""
        fs = self.filesystem
        parent = posixpath.dirname(location.relative)
        folder = f"{self.bucket}/{self.key(parent)}" if parent else f"{self.bucket}/{self.prefix}"
        versions = re.compile(rf"{re.escape(location.name)}\.v\d{{8}}T\d{{6}}-[0-9a-f]{{12}}")
        staged = staging_pattern(location.name)
        document, _ = self._pointer_document(location.relative)
        kept = set(_versions_of(document)) if document is not None else set()
        cutoff = time.time() - older_than
        removed = []
        try:
            siblings = fs.ls(folder.rstrip("/"), detail=True, refresh=True)
        except FileNotFoundError:
            return []
        for info in siblings:
            name = posixpath.basename(str(info["name"]).rstrip("/"))
            relative = posixpath.join(parent, name) if parent else name
            if not (versions.fullmatch(name) or staged.fullmatch(name)) or relative in kept:
                continue
            if self._last_change(str(info["name"])) < cutoff:
                fs.rm(str(info["name"]), recursive=True)
                removed.append(f"s3://{info['name']}")
        return removed

    def _last_change(self, path: str) -> float:
        fs = self.filesystem
        found = fs.find(path, detail=True) if fs.isdir(path) else {path: fs.info(path)}
        times = [
            info["LastModified"].timestamp()
            for info in found.values()
            if info.get("LastModified") is not None
        ]
        return max(times, default=time.time())


def _versions_of(document: dict[str, Any]) -> list[str]:
    """The prefixes a pointer keeps: the published one and those retired still readable."""
    return [str(document["prefix"]), *(str(r["prefix"]) for r in document.get("retired", []))]


_UNREACHABLE = ("EndpointConnectionError",)
_TIMED_OUT = ("ConnectTimeoutError", "ReadTimeoutError")
_CODE_IN_TEXT = re.compile(r"<Code>(\w+)</Code>")
_ARROW_ERROR = re.compile(r"AWS Error (\w+)")
_ARROW_CODES = {
    "ACCESS_DENIED": "AccessDenied",
    "NO_SUCH_BUCKET": "NoSuchBucket",
    "NETWORK_CONNECTION": "unreachable",
    "REQUEST_TIMEOUT": "timeout",
}
_UNREACHABLE_TEXT = ("Connection refused", "error sending request", "dns error")


def _error_code(exc: BaseException) -> str:
    """S3's error code for a failure: boto's response, or the XML body that deltalake's
    object store quotes in its message (it raises plain `OSError`s)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    text = str(exc)
    found = _CODE_IN_TEXT.search(text)
    if found:
        return found.group(1)
    if "403 Forbidden" in text:
        return "403"
    if "operation timed out" in text or "Timeout was reached" in text:
        return "timeout"
    arrow = _ARROW_ERROR.search(text)  # pyarrow's S3 filesystem: "AWS Error ACCESS_DENIED ..."
    if arrow:
        return _ARROW_CODES.get(arrow.group(1), arrow.group(1))
    if any(sign in text for sign in _UNREACHABLE_TEXT):
        return "unreachable"
    return ""

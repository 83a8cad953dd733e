"""Where a versioned entry's versions live, under the entry's path in its store:

    <path>/<label>/<name>          the value of version <label>, as its format writes it
    <path>/_manifests/<label>.json its manifest (written once: a label is never reused)
    <path>/_content/<hash>.json    which stored bytes hold that content (deduplication)
    <path>/_claims/<label>         taken (exclusive create) before a label's bytes are published
    <path>/_latest.json            the label loads read by default, replaced atomically

Labels never start with '_' (`labels.LABEL_PATTERN`), so they cannot meet the layout's own
names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    path: str
    """The entry's (or one namespace's) path in its store."""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def data(self, label: str) -> str:
        return f"{self.path}/{label}/{self.name}"

    def folder(self, label: str) -> str:
        return f"{self.path}/{label}"

    @property
    def manifests(self) -> str:
        return f"{self.path}/_manifests"

    def manifest(self, label: str) -> str:
        return f"{self.manifests}/{label}.json"

    def content(self, content_hash: str) -> str:
        return f"{self.path}/_content/{content_hash}.json"

    @property
    def claims(self) -> str:
        return f"{self.path}/_claims"

    def claim(self, label: str) -> str:
        """Taken by the one writer of a label before any of its bytes are published."""
        return f"{self.claims}/{label}"

    @property
    def latest(self) -> str:
        return f"{self.path}/_latest.json"

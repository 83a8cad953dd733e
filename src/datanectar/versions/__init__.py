"""Versioned artifacts: immutable versions of an entry, each with a manifest of its files
(size and sha256), a content hash that deduplicates identical bytes, labels, and retention.

`settings` is what the catalog declares (`versioned:`, `properties:`), `labels` makes and
checks version labels, `manifest` hashes files and reads and writes manifests, `layout`
says where a version's data and manifest live in a store, and `versioned` writes, finds,
loads and prunes versions through a store.
"""

from .labels import LABEL_PATTERN, check_name, make_label
from .manifest import FileRecord, Manifest
from .settings import Versioning

__all__ = ["LABEL_PATTERN", "FileRecord", "Manifest", "Versioning", "check_name", "make_label"]

"""The names `datanectar.cache.function` held before it was split, kept importable."""

from .call import MISS, Call, StaleResultWarning
from .decorator import CachedFunction, CachedOutput, cache
from .objects import default_object, namespace_label, object_of
from .policy import CACHE_MODES
from .upstream import load_upstream, read_of

__all__ = [
    "CACHE_MODES",
    "MISS",
    "CachedFunction",
    "CachedOutput",
    "Call",
    "StaleResultWarning",
    "cache",
    "default_object",
    "load_upstream",
    "namespace_label",
    "object_of",
    "read_of",
]

"""Cached functions: computed once, recalled by key from memo, local cache, store or mirror."""

from .function import CACHE_MODES, CachedFunction, StaleResultWarning, cache
from .keys import CacheKeyError, cache_key

__all__ = [
    "CACHE_MODES",
    "CacheKeyError",
    "CachedFunction",
    "StaleResultWarning",
    "cache",
    "cache_key",
]

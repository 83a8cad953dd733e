"""Cached functions: computed once, recalled by key from memo, local cache, store or mirror."""

from .call import StaleResultWarning
from .decorator import CachedFunction, cache
from .keys import CacheKeyError, cache_key
from .policy import CACHE_MODES

__all__ = [
    "CACHE_MODES",
    "CacheKeyError",
    "CachedFunction",
    "StaleResultWarning",
    "cache",
    "cache_key",
]

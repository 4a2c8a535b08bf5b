"""The response cache: serves repeated requests without calling the provider.

See :class:`ResponseCache` and the README's "Response cache" section.
"""

from ._controls import cache_control
from ._guard import CacheBackend, CacheEntry, ResponseCache
from ._memory import MemoryBackend
from ._redis import RedisBackend
from ._settings import CacheSettings

__all__ = sorted(
    ["CacheBackend", "CacheEntry", "CacheSettings", "MemoryBackend", "RedisBackend", "ResponseCache", "cache_control"]
)

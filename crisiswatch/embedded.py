"""The embedded Redis moved to ``store.embedded``; this name stays for old imports."""

from store.embedded import EmbeddedRedis, free_port

__all__ = ["EmbeddedRedis", "free_port"]

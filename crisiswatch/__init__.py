"""crisiswatch: the composition root (CLI, settings, the store, the embedded Redis)."""

__version__ = "0.1.0"

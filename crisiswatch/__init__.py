"""crisiswatch: the composition root (the CLI, the settings, and the wiring of flow, API
and worker; see ARCHITECTURE.md). Nothing but tests and benchmarks imports it."""

__version__ = "0.1.0"

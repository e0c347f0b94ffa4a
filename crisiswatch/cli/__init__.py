"""The ``crisiswatch`` command: one module per group of subcommands (``app`` assembles
them), each reading the settings, building its parts through ``config.runtime`` and
running them."""

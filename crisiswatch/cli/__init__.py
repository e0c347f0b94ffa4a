"""The ``crisiswatch`` command: one module per group of subcommands (``app`` assembles
them), each turning settings into a part's config and running it."""

"""``python -m crisiswatch.cli``: the ``crisiswatch`` command without its script."""

from crisiswatch.cli.app import app

app()

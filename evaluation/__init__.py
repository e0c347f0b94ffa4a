"""Offline evaluations behind ``crisiswatch eval``: each module prints a table and returns
its figures, so that tests can assert on them."""

"""The store moved to the top-level ``store`` package; this name stays for old imports."""

from store import *  # noqa: F403
from store import __all__  # noqa: F401

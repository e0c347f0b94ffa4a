"""Polling for what another thread or process does, with one deadline rule."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str | None = None,
             proc: subprocess.Popen[bytes] | None = None, log: Path | None = None,
             every: float = 0.02) -> Any:
    """Poll until ``check`` returns something truthy and return it. Fail after
    ``timeout`` seconds, saying ``what`` was awaited and the last value, or at once when
    ``proc`` (a flow under test) has ended, with its ``log``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the flow ended ({proc.returncode}) before {what}:\n"
                                 f"{log.read_text() if log else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{what or 'the condition'}; last value: {value!r}")
        time.sleep(every)

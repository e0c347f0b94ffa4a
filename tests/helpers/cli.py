"""The crisiswatch command as a user runs it: a child process of this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "crisiswatch.cli"]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    # These tests are about the command, tests/test_flow_topics.py about topics: clustering
    # would only slow them.
    full_env["CRISISWATCH_TOPICS__ENABLED"] = "false"
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run([*CLI, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)

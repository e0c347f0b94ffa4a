"""A stop asked for by a signal (SIGTERM, Ctrl-C), seen by the flow's sources.

Bytewax checks for Python signals while it runs and turns an exception raised by a signal
handler (Python's own ``KeyboardInterrupt`` included) into a Rust panic, printed with
dozens of lines of backtrace. So the command's handler only calls ``request_stop``: every
source ends its partitions at its next batch, the brand windows keep what is still open
(``BrandWindows.on_eof``: the run did not reach the end of its input, so closing them
would publish partial windows), and Bytewax ends the run as at the end of its input,
committing a last snapshot to the recovery store, from which a restart resumes.
"""

from __future__ import annotations

import signal
import threading

_STOP = threading.Event()


def request_stop() -> None:
    _STOP.set()


def stop_requested() -> bool:
    return _STOP.is_set()


def stop_on_signals() -> None:
    """SIGTERM and Ctrl-C call ``request_stop``; a second one stops at once (and Bytewax
    then panics: the user asked twice). Call it from the main thread of a flow process."""

    def stop(_signum: int, _frame: object) -> None:
        if stop_requested():
            raise KeyboardInterrupt
        request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)

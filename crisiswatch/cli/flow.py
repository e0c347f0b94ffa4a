"""``crisiswatch flow``: the detection flow as a production job, in one process or as a
local Bytewax cluster, with crash recovery.

One process runs the flow in this process. ``--processes N`` starts N processes of
Bytewax's cluster mode (``python -m bytewax.run crisiswatch.cli.cluster:flow -i K -a …``) on
this machine and waits for them; the input is partitioned across them (the Redis input
streams, or the files split by brand) and mentions meet their brand's state through
Bytewax's keyed exchange. ``--recovery-dir`` snapshots the flow's state every
``--snapshot-interval`` seconds, so that a restarted flow (``kill -9`` included) resumes
where the last snapshot left it; see ``flows/redis_source.py`` for what that guarantees.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import run_main
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from crisiswatch.cli.cluster import FlowSpec
from crisiswatch.config.runtime import build_flow
from crisiswatch.config.settings import Settings
from crisiswatch.config.topics import topics_embedder
from crisiswatch.flows.gc_tuning import tune_gc
from crisiswatch.flows.stopping import stop_on_signals, stop_requested
from crisiswatch.store import Store, StoreError
from crisiswatch.store.embedded import free_port
from crisiswatch.store.retry import until_done


class FlowFailed(Exception):
    """A process of the flow ended with an error (its own output says which)."""


def prepare_recovery(directory: Path, partitions: int, console: Console) -> RecoveryConfig:
    """The recovery store in ``directory``, created with ``partitions`` partitions (one
    per process) the first time; an existing one is resumed from."""
    if not any(directory.glob("part-*.sqlite3")):
        directory.mkdir(parents=True, exist_ok=True)
        init_db_dir(directory, partitions)
        console.print(f"recovery: new state store in {directory} ({partitions} partition(s))")
    else:
        console.print(f"recovery: resuming from the state store in {directory}")
    return RecoveryConfig(directory)


def run_flow(settings: Settings, store: Store, url: str, spec: FlowSpec, processes: int,
             recovery_dir: Path | None, snapshot_s: int | None, console: Console) -> float:
    """Run until the input ends (files, a drained stream) or a stop (SIGTERM, Ctrl-C:
    ``stop_requested()`` then says so) into ``store`` (at ``url``); returns seconds.
    ``snapshot_s``: None for the settings' ``ingest.snapshot_interval_s``."""
    stop_on_signals()
    snapshot_s = snapshot_s or settings.ingest.snapshot_interval_s
    if spec.source == "stream":
        partitions = store.inputs.pin(settings.ingest.partitions)
        console.print(f"reading {partitions} input stream(s) {store.inputs.key(0)}… "
                      f"({'until drained' if spec.drain else 'until stopped: Ctrl-C'}) "
                      f"with {processes} process(es)")
    recovery = prepare_recovery(recovery_dir, processes, console) if recovery_dir else None
    # the processes of a cluster load their own (crisiswatch.cluster.flow)
    embedder = topics_embedder(settings.topics, console) if processes == 1 else None
    # pid and host let GET /health say ``dead`` once this process is gone (kill -9
    # included); a clean end says why itself (finished, stopped, failed)
    store.set_status(state="running", started=datetime.now(UTC).isoformat(timespec="seconds"),
                     source=",".join(spec.files) or "input streams", processes=processes,
                     pid=os.getpid(), host=socket.gethostname(), error="")
    started = time.perf_counter()
    try:
        if processes == 1:
            with _progress(console, spec, store) as advance:
                source = spec.build_source(settings, url, progress=lambda _p, n: advance(n))
                tune_gc()
                run_main(build_flow(settings, source, url, embedder=embedder,
                                    snapshots=recovery is not None),
                         epoch_interval=timedelta(seconds=snapshot_s),
                         recovery_config=recovery)
        else:
            _run_cluster(url, spec, processes, recovery_dir, snapshot_s, console, store)
    except BaseException as e:
        with contextlib.suppress(StoreError):  # the store may be why it failed
            store.set_status(state="stopped" if isinstance(e, KeyboardInterrupt) else "failed",
                             error=f"{type(e).__name__}: {e}"[:500])
        raise
    elapsed = time.perf_counter() - started
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    state = "stopped" if stop_requested() else "finished"
    until_done("flow status", lambda: store.set_status(state=state, finished=finished))
    return elapsed


def cluster_command(process_id: int, addresses: list[str], recovery_dir: Path | None,
                    snapshot_s: int) -> list[str]:
    """One process of the cluster, as ``python -m bytewax.run`` wants it."""
    cmd = [sys.executable, "-m", "bytewax.run", "crisiswatch.cli.cluster:flow",
           "-i", str(process_id), "-a", ";".join(addresses), "-s", str(snapshot_s)]
    if recovery_dir is not None:
        cmd += ["-r", str(recovery_dir), "-b", "0"]
    return cmd


def _run_cluster(url: str, spec: FlowSpec, processes: int, recovery_dir: Path | None,
                 snapshot_s: int, console: Console, store: Store) -> None:
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(processes)]
    env = {**os.environ, **spec.env(), "REDIS_URL": url}
    children = [subprocess.Popen(cluster_command(i, addresses, recovery_dir, snapshot_s),
                                 env=env, preexec_fn=_die_with_parent)
                for i in range(processes)]
    try:
        forwarded = False
        with _progress(console, spec, store) as advance:
            while any(c.poll() is None for c in children):
                if stop_requested() and not forwarded:  # once: a second one is "now"
                    _signal(children, signal.SIGTERM)  # each stops itself, with a snapshot
                    forwarded = True
                _check(children)
                advance(None)
                time.sleep(0.2)
        _check(children)
    finally:
        _stop(children)


def _check(children: list[subprocess.Popen[bytes]]) -> None:
    """One failed process stops the cluster: the others would wait for it forever."""
    for i, c in enumerate(children):
        if c.returncode not in (None, 0):
            raise FlowFailed(f"flow process {i} exited with status {c.returncode}")


def _signal(children: list[subprocess.Popen[bytes]], sig: int) -> None:
    for c in children:
        if c.poll() is None:
            c.send_signal(sig)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM for the processes still running (they stop at it), then SIGKILL."""
    _signal(children, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for c in children:
        try:
            c.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            c.kill()
            c.wait()


def _die_with_parent() -> None:
    """Linux: a cluster process gets SIGKILL when this command dies, even by SIGKILL, so
    no orphan keeps reading the input (the recovery store resumes it on the next start)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _progress(console: Console, spec: FlowSpec, store: Store
              ) -> Iterator[Callable[[int | None], None]]:
    """A bar over the files: their bytes, advanced by the source, in one process; the
    records the flow has counted (``advance(None)`` polls them) when a cluster runs. A
    spinner for the input streams, which have no end."""
    disable = not console.is_terminal
    if spec.source == "stream":
        progress = Progress(SpinnerColumn(), TextColumn("reading the input streams"),
                            TimeElapsedColumn(), console=console, disable=disable)
        task = progress.add_task("stream", total=None)
    elif spec.shards == 1:
        progress = Progress(TextColumn("replay"), BarColumn(),
                            TextColumn("{task.percentage:>3.0f}%"), TransferSpeedColumn(),
                            TimeElapsedColumn(), console=console, disable=disable)
        task = progress.add_task("replay", total=sum(Path(f).stat().st_size
                                                     for f in spec.files))
    else:
        progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, disable=disable)
        task = progress.add_task("replay", total=_count_lines(spec.files))

    def advance(n: int | None) -> None:
        if n is not None:
            progress.advance(task, n)
        elif not disable and spec.source == "files":
            with contextlib.suppress(StoreError):  # the flow rides out outages itself
                progress.update(task, completed=store.stats()["read"])

    with progress:
        yield advance


def _count_lines(files: tuple[str, ...]) -> int:
    n = 0
    for f in files:
        with open(f, "rb") as fh:
            n += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return n

"""One benchmark runner at a time: benchmarks.run and benchmarks.scale_logs.run share the cluster.

Why a lock file: each runner used to wait while the other's process existed, so two started
together waited for each other forever. A runner takes an flock once and holds it until it
exits (the kernel releases it then, even after a crash); the other queues behind it.
"""

from __future__ import annotations

import fcntl
import sys
from typing import IO

from benchmarks.common.paths import CACHE

LOCK = CACHE / "cluster.lock"
_held: list[IO[str]] = []


def take_turn() -> None:
    if _held:
        return
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    f = LOCK.open("w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("waiting: another benchmark runner is using the cluster ...", file=sys.stderr)
        fcntl.flock(f, fcntl.LOCK_EX)
    _held.append(f)

"""Timestamps as stories carry them: ISO 8601, UTC, millisecond precision, trailing Z."""

from __future__ import annotations

import datetime as dt
import functools
import time


def now() -> float:
    return time.time()


def iso_ms(epoch: float) -> str:
    # Called for every story event: time.gmtime + %-formatting is several times faster than
    # datetime.strftime, and the whole-second part is cached (events come in bursts).
    whole = int(epoch)
    micro = round((epoch - whole) * 1_000_000)  # as datetime does, then truncate to ms
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    return f"{_second(whole)}.{micro // 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def parse(value: str | None) -> float | None:
    """Parse Kubernetes timestamps (RFC 3339, optional fraction up to nanoseconds)."""
    if not value:
        return None
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    if "." in v:
        head, rest = v.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits) :]
        v = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    try:
        return dt.datetime.fromisoformat(v).timestamp()
    except ValueError:
        return None

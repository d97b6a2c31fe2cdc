"""Timestamps as stories carry them: ISO 8601, UTC, millisecond precision, trailing Z."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
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
    """Parse Kubernetes timestamps (RFC 3339, optional fraction up to nanoseconds).

    Every container log line carries one, so the form Kubernetes writes (UTC, `Z`) takes a
    fast path with the whole second cached; it gives exactly what the general path gives
    (datetime.timestamp(): whole seconds and microseconds, in one division)."""
    if not value:
        return None
    if len(value) >= 20 and value[-1] == "Z" and value[10] == "T":
        frac = value[20:-1]
        if (value[19] == "." and frac.isdigit() and frac.isascii()) or len(value) == 20:
            whole = _epoch_second(value[:19])
            if whole is not None:
                micro = int(frac[:6].ljust(6, "0")) if frac else 0
                return (whole * 1_000_000 + micro) / 1_000_000
    return _parse_general(value)


@functools.lru_cache(maxsize=4096)
def _epoch_second(value: str) -> int | None:
    """`YYYY-MM-DDTHH:MM:SS` (UTC) to whole epoch seconds; None if it is not that."""
    try:
        d = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(d.timestamp())


def _parse_general(value: str) -> float | None:
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    if "." in v:
        head, rest = v.split(".", 1)
        digits = "".join(itertools.takewhile(str.isdigit, rest))  # the fraction, not the offset
        tz = rest[len(digits) :]
        v = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    try:
        return dt.datetime.fromisoformat(v).timestamp()
    except ValueError:
        return None

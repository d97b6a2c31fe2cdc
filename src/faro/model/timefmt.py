"""Timestamps as stories carry them: ISO 8601, UTC, millisecond precision, trailing Z."""

from __future__ import annotations

import datetime as dt
import time


def now() -> float:
    return time.time()


def iso_ms(epoch: float) -> str:
    t = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


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

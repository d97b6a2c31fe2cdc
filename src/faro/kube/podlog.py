"""Container logs through the apiserver's pods/log: follow streams and one-shot reads.

Lines are read raw (split on b"\\n" only, no length cap) with `timestamps=true`, so every
line arrives as `<RFC3339Nano> <content>`; the timestamp is the kubelet's, which is what a
story orders by. `sinceTime` has second precision, so resuming re-delivers the lines of the
last second: LineDedup drops exactly those already seen (no gap, no duplicate).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from faro.kube.client import KubeClient

# A trickling follow stream is read every 0.25 s at first, then at most every second while it
# keeps trickling (client.py, `_coalesced`): lines are ordered by their kubelet timestamps, so a
# story does not change. What the pause saves over 500 streams is in docs/benchmarks-scale-logs.md.
FOLLOW_PAUSE = 1.0


class LogLine(NamedTuple):  # one per line read: a tuple is built faster than a frozen dataclass
    timestamp: str  # RFC3339Nano from the kubelet
    content: bytes


def split_line(raw: bytes) -> LogLine | None:
    """`<RFC3339Nano> <content>`; None for anything else (a kubelet error text written into
    the stream, e.g. "failed to create fsnotify watcher"): it must not pass for a line, nor
    its first word for the time to resume from."""
    ts, sep, content = raw.partition(b" ")
    if not sep or len(ts) < 20 or ts[4:5] != b"-" or ts[10:11] != b"T" or not ts.endswith(b"Z"):
        return None
    return LogLine(ts.decode("ascii", "replace"), content)


@dataclass
class LineDedup:
    """Accepts each line once across a follow stream, its resumptions and a final read.

    Streams deliver lines in order. We remember the lines of the last second seen (a
    Counter, since identical lines can share a timestamp); a re-read that starts at that
    second (sinceTime, or a whole `previous` log) skips everything before it and, within it,
    as many copies of each line as were already delivered."""

    second: str = ""
    seen: Counter[tuple[str, bytes]] = field(default_factory=Counter)
    _replay: Counter[tuple[str, bytes]] | None = None

    def begin_replay(self) -> None:
        self._replay = Counter(self.seen)

    def accept(self, line: LogLine) -> bool:
        sec = line.timestamp[:19]
        key = (line.timestamp, line.content)
        if self._replay is not None:
            if sec < self.second:
                return False
            if sec == self.second and self._replay[key] > 0:
                self._replay[key] -= 1
                return False
            self._replay = None  # past what was seen: the rest is new
        if sec != self.second:
            self.second, self.seen, self._replay = sec, Counter(), None
        self.seen[key] += 1
        return True

    @property
    def since_time(self) -> str | None:
        """The sinceTime to resume from (the last second seen), or None to read it all."""
        return f"{self.second}Z" if self.second else None


def log_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{pod}/log"


def log_query(container: str, follow: bool, since: str | None, previous: bool = False) -> dict[str, Any]:
    return {
        "container": container,
        "follow": follow or None,
        "timestamps": True,
        "sinceTime": since,
        "previous": previous or None,
    }


async def follow(
    client: KubeClient,
    namespace: str,
    pod: str,
    container: str,
    since: str | None,
    read_timeout: float | None = None,
) -> AsyncGenerator[LogLine, None]:
    """Yield lines of a follow stream until it ends (the container stopped) or fails."""
    q = log_query(container, True, since)
    async for raw in client.stream_lines(
        log_path(namespace, pod), q, read_timeout=read_timeout, coalesce=FOLLOW_PAUSE
    ):
        line = split_line(raw)
        if line is not None:
            yield line


async def read(
    client: KubeClient,
    namespace: str,
    pod: str,
    container: str,
    since: str | None = None,
    previous: bool = False,
) -> list[LogLine]:
    """The whole current (or previous instance's) log, or from `since`; one request."""
    q = log_query(container, False, since, previous)
    lines = [
        split_line(raw) async for raw in client.stream_lines(log_path(namespace, pod), q, read_timeout=60)
    ]
    return [ln for ln in lines if ln is not None]

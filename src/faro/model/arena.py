"""The first half of a story's events, packed into flat arrays: no Python object per event.

Why: a chatty story keeps up to `cap / 2` events in its head, and Faro keeps every open
story's. As one tuple per event (src/faro/model/stored.py) each kept log line still cost
~340 bytes — the tuple, its float, its int, its bytes — and every full collection of
CPython's cyclic GC walked the lists holding them: with 500 log streams at 20,000 lines/s,
8 full collections took 0.8-0.9 s of Faro's ~12 s of CPU (4 taking 0.5-0.6 s since; the
rest of its GC time is young collections, docs/benchmarks-scale-logs.md).
Here a story's head is four arrays (time, seq, shared-JSON index, offset) and one
bytearray of the events' own JSON: ~26 bytes per event besides its JSON, and nothing for
the GC to walk. Events come back out as the same Stored tuples, built on demand (when a
story is written or journalled, which reads each event once).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from faro.model.stored import Shared, Stored

_WHOLE = -1  # an event stored whole (its JSON is all in the bytearray)


class Arena:
    """An append-only sequence of Stored events."""

    __slots__ = ("_data", "_index", "_seq", "_shared", "_shareds", "_start", "_ts")

    def __init__(self) -> None:
        self._ts = array("d")
        self._seq = array("q")
        self._shared = array("i")
        self._start = array("Q")
        self._data = bytearray()
        self._shareds: list[Shared] = []
        self._index: dict[Shared, int] = {}

    def append(self, s: Stored) -> None:
        self._ts.append(s[0])
        self._seq.append(s[1])
        self._start.append(len(self._data))
        if len(s) == 3:
            self._shared.append(_WHOLE)
            self._data += s[2]
            return
        shared = s[2]
        i = self._index.get(shared)
        if i is None:
            i = self._index[shared] = len(self._shareds)
            self._shareds.append(shared)
        self._shared.append(i)
        self._data += s[3]

    def __len__(self) -> int:
        return len(self._ts)

    def seq(self, i: int) -> int:
        return self._seq[i]

    def slice(self, first: int, stop: int) -> list[Stored]:
        """Events first..stop-1, built in one pass over one view of the bytes."""
        if first >= stop:
            return []
        ts, seq, shared, start, shareds = self._ts, self._seq, self._shared, self._start, self._shareds
        ends = [*start[first + 1 : stop], start[stop] if stop < len(start) else len(self._data)]
        out: list[Stored] = []
        with memoryview(self._data) as data:  # released before anything can append again
            for i, end in zip(range(first, stop), ends, strict=True):
                body = bytes(data[start[i] : end])
                k = shared[i]
                out.append((ts[i], seq[i], body) if k == _WHOLE else (ts[i], seq[i], shareds[k], body))
        return out

    def __iter__(self) -> Iterator[Stored]:
        return iter(self.slice(0, len(self)))

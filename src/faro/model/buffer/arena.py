"""The first half of a story's events, packed into flat arrays: no Python object per event.

Why: a chatty story keeps up to `cap / 2` events in its head, and Faro keeps every open
story's. As one tuple per event (src/faro/model/buffer/stored.py) each kept log line costs
the tuple, its float, its int and its bytes, and every full collection of CPython's cyclic
GC walks the lists holding them (measured in docs/benchmarks-scale-logs.md).
Here a story's head is four arrays (time, seq, shared-JSON index, offset) and one
bytearray of the events' own JSON: a few bytes per event besides its JSON, and nothing for
the GC to walk. Events come back out as the same Stored tuples, built on demand (when a
story is written or journalled, which reads each event once).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator

from faro.model.buffer.stored import Shared, Stored

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

    def first_after(self, seq: int) -> int:
        """The index of the first event numbered after seq (events are kept in seq order)."""
        return bisect.bisect_right(self._seq, seq)

    def slice(self, first: int, stop: int) -> list[Stored]:
        """Events first..stop-1."""
        return list(self.take(first, stop))

    def take(self, first: int, stop: int) -> Taken:
        """Events first..stop-1, copied in bulk now and built when iterated (see Taken)."""
        return Taken(self, first, max(first, stop))

    def __iter__(self) -> Iterator[Stored]:
        return iter(self.slice(0, len(self)))


class Taken:
    """Some events of an Arena, taken with a few bulk copies however many they are, so that
    another thread (the journal's writer) can build them while the arena goes on growing:
    the caller's event loop pays for the copies, not for one tuple per event."""

    __slots__ = ("_base", "_data", "_end", "_seq", "_shared", "_shareds", "_start", "_ts")

    def __init__(self, arena: Arena, first: int, stop: int) -> None:
        self._ts, self._seq = arena._ts[first:stop], arena._seq[first:stop]
        self._shared, self._start = arena._shared[first:stop], arena._start[first:stop]
        self._end = arena._start[stop] if stop < len(arena) else len(arena._data)
        self._base = self._start[0] if stop > first else self._end
        self._data = bytes(arena._data[self._base : self._end])
        self._shareds = list(arena._shareds)

    def __len__(self) -> int:
        return len(self._ts)

    def __iter__(self) -> Iterator[Stored]:
        ts, seq, shared, start, shareds, base = (
            self._ts, self._seq, self._shared, self._start, self._shareds, self._base
        )  # fmt: skip
        ends = [*start[1:], self._end] if start else []
        with memoryview(self._data) as data:
            for i, end in enumerate(ends):
                body = bytes(data[start[i] - base : end - base])
                k = shared[i]
                yield (ts[i], seq[i], body) if k == _WHOLE else (ts[i], seq[i], shareds[k], body)

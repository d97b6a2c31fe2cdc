"""`--jsonl FILE|-`: every story event as one JSON line, the moment it is recorded."""

from __future__ import annotations

import sys
from typing import IO

from faro.model.events import StoryEvent


class JsonlSink:
    def __init__(self, target: str) -> None:
        self._own = target != "-"
        self._out: IO[bytes] = open(target, "ab") if self._own else sys.stdout.buffer  # noqa: SIM115

    def write(self, ev: StoryEvent) -> None:
        self._out.write(ev.encode() + b"\n")

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self.flush()
        if self._own:
            self._out.close()

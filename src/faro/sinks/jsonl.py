"""`--jsonl FILE|-`: every story event as one JSON line, the moment it is recorded."""

from __future__ import annotations

import os
import sys
from typing import IO

from faro.config import ConfigError
from faro.model.events import StoryEvent
from faro.sinks.files import OutputError


class JsonlSink:
    def __init__(self, target: str) -> None:
        self._own = target != "-"
        self._target = target
        self._created = self._own and not os.path.exists(target)  # removed if nothing is written
        self._written = False
        try:
            self._out: IO[bytes] = open(target, "ab") if self._own else sys.stdout.buffer  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"cannot write JSONL to {target}: {exc.strerror or exc}") from None

    def write(self, ev: StoryEvent) -> None:
        self._written = True
        try:
            self._out.write(ev.encode() + b"\n")
        except OSError as exc:
            raise OutputError.of(exc) from exc

    def flush(self) -> None:
        try:
            self._out.flush()
        except OSError as exc:
            raise OutputError.of(exc) from exc

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._own:
                self._out.close()
                if self._created and not self._written:  # a capture that never started
                    os.unlink(self._target)

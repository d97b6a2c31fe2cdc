"""`--jsonl FILE|-`: every story event as one JSON line, the moment it is recorded."""

from __future__ import annotations

import errno
import os
import sys
from typing import IO

from faro.errors import ConfigError, OutputError
from faro.model.events import StoryEvent
from faro.model.story import Story
from faro.sinks.base import Sink


class JsonlSink(Sink):
    """Every story event as one JSON line, flushed when a story closes."""

    def __init__(self, target: str) -> None:
        self._own = target != "-"
        self._target = target
        self._created = self._own and not os.path.exists(target)  # removed again if left empty
        self._written = False
        try:
            # Private, like story files (sinks/files.py): the same events, log lines included.
            # Non-blocking open: a FIFO nobody reads would block here for good, signals and all.
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
            fd = os.open(target, flags, 0o600) if self._own else None
            if fd is not None:
                os.set_blocking(fd, True)
            self._out: IO[bytes] = os.fdopen(fd, "ab") if fd is not None else sys.stdout.buffer
        except OSError as exc:
            reason = "nothing is reading that FIFO" if exc.errno == errno.ENXIO else exc.strerror or exc
            raise ConfigError(f"cannot write JSONL to {target}: {reason}") from None

    def write(self, ev: StoryEvent) -> None:
        self._written = True
        try:
            self._out.write(ev.encode() + b"\n")
        except OSError as exc:
            raise self._error(exc) from exc

    def on_event(self, story: Story, ev: StoryEvent) -> None:
        self.write(ev)

    def on_close(self, story: Story) -> None:
        self.flush()

    def flush(self) -> None:
        try:
            self._out.flush()
        except OSError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: OSError) -> OutputError:
        where = self._target if self._own else "standard output"
        return OutputError(f"cannot write JSONL to {where}: {exc.strerror or exc}")

    def close(self) -> None:
        failure: OSError | None = None
        try:
            self._out.flush()
        except OSError as exc:
            failure = exc
        if self._own:
            try:
                self._out.close()
            except OSError as exc:
                failure = failure or exc
            if self._created and not self._written:  # a capture that failed to start or saw nothing
                os.unlink(self._target)
        elif isinstance(failure, BrokenPipeError):
            # The reader left (`| head`): what is still buffered can never be written, and
            # Python would say so again, with a traceback, when it flushes stdout at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        if failure is not None:
            raise self._error(failure) from failure

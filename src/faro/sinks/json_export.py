"""`json_export: true`: every matched change as one JSON line, the specification's JSONEvent.

Stories are Faro's main output (one file per episode of an object, with its children,
Events and logs). The export is the specification's (002) flat change log beside them: one
line per ADDED/UPDATED/DELETED change of an object a rule matched, with the JSONEvent
fields `timestamp, eventType, gvr, namespace, name, uid, labels` (namespace, uid and labels
left out when empty, as Go's `omitempty`). One file per run, `events-YYYYMMDD-HHMMSS.jsonl`
(the run's start, UTC) in output_dir, private (0600) like the stories. Lines are buffered
and flushed every tick (half a second) and at the end, so the capture pays a buffered
write per change, not a system call.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO, Any

import orjson

from faro.errors import ConfigError, OutputError
from faro.model.story import Story
from faro.model.timefmt import iso_ms
from faro.sinks.base import Sink
from faro.sinks.matched import MatchedEvent


def record(ev: MatchedEvent) -> dict[str, Any]:
    """The JSONEvent of a change, its keys in the specification's order."""
    meta = ev.object.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    out: dict[str, Any] = {"timestamp": iso_ms(ev.timestamp), "eventType": ev.event_type, "gvr": ev.gvr}
    namespace = meta.get("namespace") or ev.namespace
    if namespace:
        out["namespace"] = namespace
    out["name"] = meta.get("name") or ev.name
    if uid := meta.get("uid"):
        out["uid"] = uid
    if labels := meta.get("labels"):
        out["labels"] = labels
    return out


def export_path(root: Path, started: float) -> Path:
    return root / time.strftime("events-%Y%m%d-%H%M%S.jsonl", time.gmtime(started))


class JsonExport(Sink):
    """The specification's JSON export: every matched change, one line, flushed each tick."""

    def __init__(self, root: Path, started: float | None = None) -> None:
        self.root = root
        self.path = export_path(root, time.time() if started is None else started)
        self._out: IO[bytes] | None = None
        self._made: list[Path] = []
        self._written = False

    def open(self) -> None:
        """Before the capture: ConfigError (one line) unless the file can be made. A run that
        starts within the same second as an earlier one's file gets a `-2`, `-3`... name."""
        self._made = [d for d in (*reversed(self.root.parents), self.root) if not d.exists()]
        stem, n = self.path.stem, 1
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            while True:
                try:
                    fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
                    break
                except FileExistsError:
                    n += 1
                    self.path = self.path.with_name(f"{stem}-{n}.jsonl")
        except OSError as exc:
            raise ConfigError(f"cannot write the JSON export to {self.root}: {exc.strerror or exc}") from None
        self._out = os.fdopen(fd, "ab")

    def write(self, ev: MatchedEvent) -> None:
        assert self._out is not None, "open() first"
        self._written = True
        try:
            self._out.write(orjson.dumps(record(ev)) + b"\n")
        except OSError as exc:
            raise self._error(exc) from exc

    def on_matched(self, event: MatchedEvent) -> None:
        self.write(event)

    def on_tick(self, open_stories: list[Story]) -> None:
        self.flush()  # a reader following the file sees each change within a tick

    def flush(self) -> None:
        if self._out is None or not self._written:
            return
        try:
            self._out.flush()
        except OSError as exc:
            raise self._error(exc) from exc

    def close(self) -> None:
        """Flush and close; a file nothing was written to is removed (with the directories
        open() made), so a capture that saw nothing leaves nothing behind."""
        out, self._out = self._out, None
        if out is None:
            return
        failure: OSError | None = None
        try:
            out.close()
        except OSError as exc:
            failure = exc
        if not self._written:
            self.path.unlink(missing_ok=True)
            for d in reversed(self._made):
                try:
                    d.rmdir()
                except OSError:
                    break
        if failure is not None:
            raise self._error(failure) from failure

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write the JSON export to {self.path}: {exc.strerror or exc}")

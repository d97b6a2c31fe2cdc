"""The journal of open stories: a restarted Faro resumes them instead of losing them.

Open stories are journalled every few seconds so a restarted Faro resumes them. A journal is
two files per story: what resuming needs of its metadata (small, rewritten atomically when it
changes: a new gap) and its events, one JSON per line, to which each pass only appends what
is new. Rewriting whole stories instead cost
every pass the size of every open story: hundreds of MB every 5 s with 500 chatty pods.
Appending alone would let the file outgrow the story: a story keeps at most `cap` events, but
a crash-looping pod's journal would keep every line it ever printed. So once the file holds
twice what the story keeps, it is rewritten with what the story keeps. Each pass ends with a
line counting the story's events, so a resumed story still says how many it dropped.
A line torn by a crash is skipped when the journal is read back. A capture journals in the
background (`journal_open`): a pass fsyncs once per story, and on a disk where a fsync takes
a few milliseconds, 500 open stories would stall the event loop for seconds every pass.

What has been journalled of each story is the journal's own bookkeeping, kept here and not
on the Story: a story object journalled for the first time (a new episode, a resumed story)
starts its events file over; a story whose events and resumable metadata have not changed
since the last pass is not written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from faro.errors import OutputError
from faro.model.buffer.stored import blob
from faro.model.story import Story
from faro.sinks.atomic import write_atomic

log = logging.getLogger("faro.journal")
_COUNT = "faro_event_count"  # the line each journal pass ends with (never a story event's key)


@dataclass
class _Journalled:
    """What the journal holds of one story object."""

    seq: int = 0  # events up to this one are in its events file
    lines: int = 0  # events in that file (some since dropped from the story's buffer)
    header: bytes = b""


class Journal:
    """Journals open stories under `directory`, in the background, and reads them back."""

    def __init__(self, directory: Path, faro_version: str) -> None:
        self.directory = directory
        self.version = faro_version
        self._worker: ThreadPoolExecutor | None = None  # started by the first background pass
        self._pass: Future[object] | None = None
        self._failure: BaseException | None = None
        self._held: dict[int, _Journalled] = {}  # id(story) -> what is journalled of it

    def path(self, story: Story) -> Path:
        return self.directory / f"{story.correlation_id}.json"

    def _events_path(self, header: Path) -> Path:
        return header.with_suffix(".events")

    def pending(self, story: Story, head: bytes | None = None) -> bool:
        """Whether story has changed since its last journal pass (events or metadata);
        head is its header, when the caller has it already."""
        held = self._held.get(id(story))
        if held is None or held.seq != story.seq:
            return True
        return held.header != (head if head is not None else story.header(self.version))

    def pass_size(self, stories: Iterable[Story]) -> int:
        """Bytes the next pass would write of stories (the benchmarks report it)."""
        total = 0
        for story in stories:
            held = self._held.get(id(story), _Journalled())
            head = story.header(self.version)
            total += (len(head) if head != held.header else 0) + sum(
                len(blob(f)) + 1 for f in story.buffer.since(held.seq)
            )
        return total

    def write_open(self, stories: Iterable[Story]) -> bool:
        """Journal the dirty stories in the background. What to write is taken here; the
        writes and fsyncs run on one worker thread, in order, so a slow disk (a fsync per
        story per pass) never stalls the caller's event loop. While the last pass is still
        being written this does nothing and returns False: the stories stay pending for
        the next call. An error of an earlier background write is raised here (OutputError for
        a failed write)."""
        self._raise_failure()
        if self._pass is not None and not self._pass.done():
            return False
        jobs = []
        for story in stories:
            head = story.header(self.version)  # once a pass: pending() and _plan() both need it
            if self.pending(story, head):
                jobs.append(self._plan(story, head))
        if jobs:
            self._pass = self._submit(lambda: [job() for job in jobs])
        return True

    def _plan(self, story: Story, head: bytes) -> Callable[[], None]:
        """Take what this pass writes of story (and mark it taken); returns the writing.

        The events are appended since the last pass, and the metadata rewritten if what
        resuming needs of it changed. A story object journalled for the first time (a new
        episode, a resumed story) starts its events file over, as does one whose file would
        hold more than twice what the story keeps."""
        header = self.path(story)
        events = self._events_path(header)
        held = self._held.setdefault(id(story), _Journalled())
        new = story.buffer.since(held.seq)
        count = b'{"%s":%d}\n' % (_COUNT.encode(), story.event_count)
        rewrite = held.seq == 0 or held.lines + len(new) > 2 * len(story.buffer)
        kept = story.buffer.since(0) if rewrite else new
        held.lines = len(kept) if rewrite else held.lines + len(new)
        held.seq = story.seq
        new_head = head if head != held.header or not header.exists() else None
        held.header = head

        def write() -> None:
            if rewrite:
                write_atomic(events, b"".join(blob(f) + b"\n" for f in kept) + count)
            elif kept:
                fd = os.open(events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "ab") as out:
                    out.write(b"".join(blob(f) + b"\n" for f in kept) + count)
                    out.flush()
                    os.fsync(out.fileno())
            if new_head is not None:
                write_atomic(header, new_head)

        return write

    def forget(self, story: Story) -> None:
        """Remove story's journal: after the background writes queued before this call."""
        self._held.pop(id(story), None)
        header = self.path(story)
        paths = (self._events_path(header), header)

        def unlink() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        if self._worker is None:
            unlink()
        else:
            self._submit(unlink)

    def close(self) -> None:
        """Wait for the background writes; raise the error of one that failed."""
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker, self._pass = None, None
        self._raise_failure()

    def _submit(self, fn: Callable[[], object]) -> Future[object]:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="faro-journal")
        future = self._worker.submit(fn)
        future.add_done_callback(self._note_failure)
        return future

    def _note_failure(self, future: Future[object]) -> None:
        exc = future.exception() if not future.cancelled() else None
        if exc is not None and self._failure is None:
            self._failure = exc

    def _raise_failure(self) -> None:
        exc, self._failure = self._failure, None
        if isinstance(exc, OSError):
            raise OutputError.of(exc) from exc
        if exc is not None:
            raise exc

    def journaled(self) -> list[dict[str, Any]]:
        """Journalled stories in the story file's shape (Story.from_dict reads them)."""
        return [doc for _, doc in self._journal()]

    def resumable(self) -> list[Story]:
        """The journalled stories a capture takes over. One that cannot be read back (a
        damaged file, another program's) is skipped with a warning: it must not stop Faro."""
        out = []
        for path, doc in self._journal():
            try:
                out.append(Story.from_dict(doc))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.warning("not resuming %s: not a story journal (%s: %s)", path, type(exc).__name__, exc)
        return out

    def _journal(self) -> list[tuple[Path, dict[str, Any]]]:
        if not self.directory.is_dir():
            return []
        out = []
        for p in sorted(self.directory.glob("*.json")):
            try:
                doc = orjson.loads(p.read_bytes())
                events = self._events_path(p)
                raw = events.read_bytes().split(b"\n") if events.exists() else []
            except (OSError, orjson.JSONDecodeError) as exc:
                log.warning("not resuming %s: %s", p, exc)
                continue
            if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
                log.warning("not resuming %s: not a story journal (no metadata)", p)
                continue
            kept, count = _lines(raw)
            doc["events"] = [*(doc.get("events") or ()), *kept]
            if count is not None:
                doc["metadata"]["event_count"] = count
            out.append((p, doc))
        return out


def _lines(raw: list[bytes]) -> tuple[list[dict[str, Any]], int | None]:
    """The events of an events file, and the story's event count at the last pass."""
    out, count = [], None
    for line in raw:
        try:
            ev = orjson.loads(line) if line else None
        except orjson.JSONDecodeError:
            continue  # torn by a crash mid-append
        if isinstance(ev, dict):
            if _COUNT in ev:
                count = ev[_COUNT] if isinstance(ev[_COUNT], int) else count
            else:
                out.append(ev)
    return out, count

"""Story files: output/<namespace>/<kind>-<name>-<uid8>[-<episode>].json, written atomically.

A reader (a person, a CI job, an AI pipeline) must never see half a story, and stories may
hold things the cluster's users consider private, so files are written to a temp file in
the same directory with mode 0600, fsync'd, and renamed into place.

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
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from faro.errors import ConfigError, OutputError
from faro.model.buffer.stored import blob
from faro.model.story import Story

log = logging.getLogger("faro.files")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
CLUSTER_SCOPED_DIR = "_cluster"
# Bytes in a story file's name. Its temp file (".<name>.<8 random>.tmp", write_atomic)
# must fit in NAME_MAX (255 on Linux and macOS filesystems).
MAX_FILE_NAME = 200
_COUNT = "faro_event_count"  # the line each journal pass ends with (never a story event's key)


def story_path(root: Path, story: Story) -> Path:
    """<root>/<namespace>/<kind>-<name>-<uid8>[-<episode>].json, in safe characters. A name
    that would not fit in a file name (Kubernetes allows 253 characters) is cut short; the
    uid's first 8 characters still tell stories apart."""
    ns = story.namespace or CLUSTER_SCOPED_DIR
    kind = story.resource_type.rsplit("/", 1)[-1].lower()
    tail = f"-{story.correlation_id[:8]}" + (f"-{story.episode}" if story.episode > 1 else "") + ".json"
    head = _UNSAFE.sub("_", f"{kind}-{story.resource_name}")[: max(1, MAX_FILE_NAME - len(tail))]
    return root / _UNSAFE.sub("_", ns) / (head + _UNSAFE.sub("_", tail))


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StoryFiles:
    """Writes closed stories, and journals open ones so a restarted Faro can resume them."""

    def __init__(self, root: Path, faro_version: str) -> None:
        self.root = root
        self.journal_dir = root / ".journal"
        self.version = faro_version
        self._worker: ThreadPoolExecutor | None = None  # started by the first background pass
        self._pass: Future[object] | None = None
        self._failure: BaseException | None = None
        self._made: list[Path] = []  # directories prepare() created

    def prepare(self) -> None:
        """Before a capture starts: ConfigError (one line) unless stories and the journal can
        be written under root, so a bad output directory fails at once, not at the first story."""
        self._made = [d for d in (*reversed(self.journal_dir.parents), self.journal_dir) if not d.exists()]
        try:
            self.journal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for d in (self.root, self.journal_dir):
                fd, probe = tempfile.mkstemp(prefix=".faro-probe.", dir=d)
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise ConfigError(f"cannot write stories to {self.root}: {exc.strerror or exc}") from None

    def unprepare(self) -> None:
        """After a capture (or one that failed to start): remove the directories prepare()
        made that are still empty, so a capture that wrote nothing leaves nothing behind."""
        for d in reversed(self._made):
            try:
                d.rmdir()
            except OSError:
                return
        self._made = []

    def write(self, story: Story) -> Path:
        """Write a closed story; OutputError if it cannot be."""
        try:
            path = story_path(self.root, story)
            while path.exists():
                # A story of this object from an earlier run: never overwrite it, take the next
                # episode number (a restarted Faro does not know how many there were).
                story.episode += 1
                path = story_path(self.root, story)
            write_atomic(path, story.to_json(self.version))
        except OSError as exc:
            raise OutputError.of(exc) from exc
        self.forget(story)
        return path

    def journal_path(self, story: Story) -> Path:
        return self.journal_dir / f"{story.correlation_id}.json"

    def _events_path(self, header: Path) -> Path:
        return header.with_suffix(".events")

    def journal_open(self, stories: Iterable[Story]) -> bool:
        """Journal the dirty stories in the background. What to write is taken here; the
        writes and fsyncs run on one worker thread, in order, so a slow disk (a fsync per
        story per pass) never stalls the caller's event loop. While the last pass is still
        being written this does nothing and returns False: the stories stay dirty for the
        next call. An error of an earlier background write is raised here (OutputError for
        a failed write)."""
        self._raise_failure()
        if self._pass is not None and not self._pass.done():
            return False
        jobs = [self._plan(s) for s in stories if s.dirty]
        if jobs:
            self._pass = self._submit(lambda: [job() for job in jobs])
        return True

    def _plan(self, story: Story) -> Callable[[], None]:
        """Take what this pass writes of story (and mark it taken); returns the writing.

        The events are appended since the last pass, and the metadata rewritten if what
        resuming needs of it changed. A story object journalled for the first time (a new
        episode, a resumed story) starts its events file over, as does one whose file would
        hold more than twice what the story keeps."""
        header = self.journal_path(story)
        events = self._events_path(header)
        new = story.buffer.since(story.journaled_seq)
        count = b'{"%s":%d}\n' % (_COUNT.encode(), story.event_count)
        rewrite = story.journaled_seq == 0 or story.journaled_lines + len(new) > 2 * len(story.buffer)
        kept = story.buffer.since(0) if rewrite else new
        story.journaled_lines = len(kept) if rewrite else story.journaled_lines + len(new)
        story.journaled_seq = story.seq
        head = story.header(self.version)
        new_head = head if head != story.journaled_header or not header.exists() else None
        story.journaled_header = head
        story.dirty = False

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
        header = self.journal_path(story)
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
        if not self.journal_dir.is_dir():
            return []
        out = []
        for p in sorted(self.journal_dir.glob("*.json")):
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

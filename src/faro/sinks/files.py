"""Story files: output/<namespace>/<kind>-<name>-<uid8>[-<episode>].json, written atomically.

A reader (a person, a CI job, an AI pipeline) must never see half a story, and stories may
hold things the cluster's users consider private, so files are written to a temp file in
the same directory with mode 0600, fsync'd, and renamed into place.

Open stories are journalled beside them (sinks/journal.py, `<root>/.journal/`); a closed
story's journal is removed once its file is written.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from pathlib import Path

from faro.errors import ConfigError, OutputError
from faro.model.story import Story
from faro.sinks.atomic import write_atomic
from faro.sinks.base import Sink
from faro.sinks.journal import Journal

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
CLUSTER_SCOPED_DIR = "_cluster"
# Bytes in a story file's name. Its temp file (".<name>.<8 random>.tmp", write_atomic)
# must fit in NAME_MAX (255 on Linux and macOS filesystems).
MAX_FILE_NAME = 200


def story_path(root: Path, story: Story, episode: int | None = None) -> Path:
    """<root>/<namespace>/<kind>-<name>-<uid8>[-<episode>].json, in safe characters. A name
    that would not fit in a file name (Kubernetes allows 253 characters) is cut short; the
    uid's first 8 characters still tell stories apart."""
    ns = story.namespace or CLUSTER_SCOPED_DIR
    kind = story.resource_type.rsplit("/", 1)[-1].lower()
    n = story.episode if episode is None else episode
    tail = f"-{story.correlation_id[:8]}" + (f"-{n}" if n > 1 else "") + ".json"
    head = _UNSAFE.sub("_", f"{kind}-{story.resource_name}")[: max(1, MAX_FILE_NAME - len(tail))]
    return root / _UNSAFE.sub("_", ns) / (head + _UNSAFE.sub("_", tail))


class StoryFiles(Sink):
    """Writes closed stories; its journal (sinks/journal.py) keeps the open ones."""

    def __init__(self, root: Path, faro_version: str, journal_every: float = 5.0) -> None:
        self.root = root
        self.journal_every = journal_every  # seconds between journal passes
        self._journalled_at = -math.inf
        self.journal_dir = root / ".journal"
        self.version = faro_version
        self.journal = Journal(self.journal_dir, faro_version)
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
            episode = story.episode
            while (path := story_path(self.root, story, episode)).exists():
                # A story of this object from an earlier run: never overwrite it; the file
                # (name and metadata) takes the next episode number (a restarted Faro does not
                # know how many there were). The Story itself is not changed.
                episode += 1
            write_atomic(path, story.to_json(self.version, episode=episode))
        except OSError as exc:
            raise OutputError.of(exc) from exc
        self.journal.forget(story)
        return path

    def on_close(self, story: Story) -> Path:
        return self.write(story)

    def on_tick(self, open_stories: list[Story]) -> None:
        """Journal the open stories every journal_every seconds, so a restarted Faro loses little."""
        if time.monotonic() - self._journalled_at >= self.journal_every and self.journal.write_open(
            open_stories
        ):
            self._journalled_at = time.monotonic()

    def close(self) -> None:
        """Wait for the journal's background writes; raise the error of one that failed."""
        self.journal.close()

"""Story files: output/<namespace>/<kind>-<name>-<uid8>[-<episode>].json, written atomically.

A reader (a person, a CI job, an AI pipeline) must never see half a story, and stories may
hold things the cluster's users consider private, so files are written to a temp file in
the same directory with mode 0600, fsync'd, and renamed into place.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import orjson

from faro.model.story import Story

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
CLUSTER_SCOPED_DIR = "_cluster"


def story_path(root: Path, story: Story) -> Path:
    ns = story.namespace or CLUSTER_SCOPED_DIR
    kind = story.resource_type.rsplit("/", 1)[-1].lower()
    name = f"{kind}-{story.resource_name}-{story.correlation_id[:8]}"
    if story.episode > 1:
        name += f"-{story.episode}"
    return root / _UNSAFE.sub("_", ns) / f"{_UNSAFE.sub('_', name)}.json"


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

    def write(self, story: Story) -> Path:
        path = story_path(self.root, story)
        while path.exists():
            # A story of this object from an earlier run: never overwrite it, take the next
            # episode number (a restarted Faro does not know how many there were).
            story.episode += 1
            path = story_path(self.root, story)
        write_atomic(path, story.to_json(self.version))
        self.journal_path(story).unlink(missing_ok=True)
        return path

    def journal_path(self, story: Story) -> Path:
        return self.journal_dir / f"{story.correlation_id}.json"

    def journal(self, story: Story) -> None:
        write_atomic(self.journal_path(story), story.to_json(self.version, indent=False))
        story.dirty = False

    def journaled(self) -> list[dict[str, Any]]:
        if not self.journal_dir.is_dir():
            return []
        out = []
        for p in sorted(self.journal_dir.glob("*.json")):
            try:
                out.append(orjson.loads(p.read_bytes()))
            except (OSError, orjson.JSONDecodeError):
                continue
        return out

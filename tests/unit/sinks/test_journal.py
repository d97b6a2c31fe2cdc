"""faro.sinks.files journal: appends what is new, reads back what was kept, survives a torn line."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
from pathlib import Path

import orjson
import pytest

from faro.errors import OutputError
from faro.model.events import EventType, Gap, StoryEvent
from faro.model.story import Story
from faro.sinks.files import StoryFiles, story_path

UID = "a1b2c3d4-0000-4000-8000-123456789abc"


def _story(cap: int = 20_000) -> Story:
    return Story(UID, 1, "apps/v1/Deployment", "web", "default", "kind-faro", 1767323045.0, cap=cap)


def _ev(i: int) -> StoryEvent:
    return StoryEvent(
        UID, 1767323045.0 + i, EventType.RESOURCE_UPDATE, "web", "default", "Deployment", "update", {"i": i}
    )


def _journal(files: StoryFiles, story: Story) -> None:
    """One pass over story, as a capture makes it, written before this returns."""
    assert files.journal.write_open([story])
    files.close()


def _events_file(tmp_path: Path) -> Path:
    return tmp_path / ".journal" / f"{UID}.events"


def test_each_pass_appends_only_what_is_new(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story()
    for i in range(3):
        story.add(_ev(i))
    _journal(files, story)
    first = _events_file(tmp_path).read_bytes()
    for i in range(3, 5):
        story.add(_ev(i))
    _journal(files, story)
    second = _events_file(tmp_path).read_bytes()
    assert second.startswith(first) and second.count(b"\n") == 5 + 2  # + a count line per pass
    assert second.endswith(b'{"faro_event_count":5}\n')
    _journal(files, story)  # nothing new: nothing appended
    assert _events_file(tmp_path).read_bytes() == second
    header = orjson.loads(files.journal.path(story).read_bytes())
    assert header["events"] == [] and header["metadata"]["correlation_id"] == UID
    (doc,) = files.journal.journaled()
    assert [e["data"]["i"] for e in doc["events"]] == [0, 1, 2, 3, 4]
    assert doc["events"] == orjson.loads(story.to_json("1.0.0"))["events"]


def test_the_metadata_is_rewritten_only_when_what_resuming_needs_changes(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story()
    story.add(_ev(0))
    _journal(files, story)
    inode = files.journal.path(story).stat().st_ino
    story.add(_ev(1))
    _journal(files, story)  # only a new event: the metadata file is left as it is
    assert files.journal.path(story).stat().st_ino == inode
    story.gaps.append(Gap("v1/pods", "relist", 1767323050.0, "410 Gone"))
    _journal(files, story)
    assert files.journal.path(story).stat().st_ino != inode
    (doc,) = files.journal.journaled()
    resumed = Story.from_dict(doc)
    assert [g.reason for g in resumed.gaps] == ["relist"] and resumed.event_count == 2


def test_a_resumed_story_rewrites_its_journal_instead_of_appending_twice(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story()
    for i in range(4):
        story.add(_ev(i))
    _journal(files, story)
    (doc,) = files.journal.journaled()
    resumed = Story.from_dict(doc)  # a restarted Faro
    resumed.add(_ev(4))
    _journal(files, resumed)
    (doc,) = files.journal.journaled()
    assert [e["data"]["i"] for e in doc["events"]] == [0, 1, 2, 3, 4]


def test_a_line_torn_by_a_crash_is_skipped(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story()
    for i in range(2):
        story.add(_ev(i))
    _journal(files, story)
    with _events_file(tmp_path).open("ab") as f:
        f.write(_ev(2).encode()[:40])  # the crash came mid-append
    (doc,) = files.journal.journaled()
    assert [e["data"]["i"] for e in doc["events"]] == [0, 1]
    assert Story.from_dict(doc).event_count == 2


def test_events_the_cap_dropped_between_passes_are_not_journalled(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story(cap=4)
    story.add(_ev(0))
    _journal(files, story)
    for i in range(1, 10):  # head keeps 0-1, the tail the last two
        story.add(_ev(i))
    _journal(files, story)
    (doc,) = files.journal.journaled()
    assert [e["data"]["i"] for e in doc["events"]] == [0, 1, 8, 9]


def test_a_journal_written_whole_by_an_earlier_version_is_still_read(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story()
    story.add(_ev(0))
    files.journal_dir.mkdir(parents=True)
    files.journal.path(story).write_bytes(story.to_json("0.9.0", indent=False))
    (doc,) = files.journal.journaled()
    assert [e["data"]["i"] for e in doc["events"]] == [0]


def test_journal_files_are_private_even_when_recreated(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story()
    story.add(_ev(0))
    _journal(files, story)
    _events_file(tmp_path).unlink()  # removed behind Faro's back
    story.add(_ev(1))
    _journal(files, story)
    for p in (_events_file(tmp_path), files.journal.path(story)):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_writing_the_story_removes_its_journal(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story()
    story.add(_ev(0))
    _journal(files, story)
    assert _events_file(tmp_path).exists()
    files.write(story)
    assert not list((tmp_path / ".journal").iterdir())
    assert files.journal.journaled() == []


def test_the_journal_of_a_chatty_story_stays_within_twice_what_the_story_keeps(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story(cap=20)
    for p in range(50):  # 500 events; the story keeps 20 of them
        for i in range(10):
            story.add(_ev(p * 10 + i))
        _journal(files, story)
        events = [line for line in _events_file(tmp_path).read_bytes().splitlines() if b'"data"' in line]
        assert len(events) <= 2 * 20
    (doc,) = files.journal.journaled()
    resumed = Story.from_dict(doc)
    kept = [e.data["i"] for e in resumed.buffer.all()]
    assert kept == [e.data["i"] for e in story.buffer.all()] == [*range(10), *range(490, 500)]
    assert resumed.event_count == story.event_count == 500
    assert orjson.loads(resumed.to_json("1.0.0"))["metadata"]["truncated"]["events"]["dropped"] == 480


def test_a_resumed_story_counts_what_was_dropped_before_the_crash(tmp_path: Path) -> None:
    files, story = StoryFiles(tmp_path, "1.0.0"), _story(cap=4)
    for i in range(30):  # more between two passes than the tail holds: never journalled
        story.add(_ev(i))
    _journal(files, story)
    (doc,) = files.journal.journaled()
    resumed = Story.from_dict(doc)
    assert resumed.event_count == 30 and resumed.buffer.dropped == 26
    assert [e.data["i"] for e in resumed.buffer.all()] == [0, 1, 28, 29]


def _stories(n: int) -> list[Story]:
    out = []
    for s in range(n):
        uid = f"{s:08d}-0000-4000-8000-123456789abc"
        story = Story(uid, 1, "v1/Pod", f"p{s}", "default", "kind-faro", 1767323045.0)
        for i in range(3):
            ev = _ev(i)
            ev.correlation_id = uid
            story.add(ev)
        out.append(story)
    return out


async def test_a_slow_disk_does_not_stall_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:  # a network disk: each fsync takes 20 ms
        time.sleep(0.02)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    files, stories = StoryFiles(tmp_path, "1.0.0"), _stories(25)  # 50 fsyncs: >= 1 s of writing
    stalls: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.005)
            stalls.append(time.monotonic() - last)
            last = time.monotonic()

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.02)
    started = time.monotonic()
    assert files.journal.write_open(stories)
    assert not any(files.journal.pending(s) for s in stories)  # taken on this thread, written on the worker
    while files.journal._pass is not None and not files.journal._pass.done():
        await asyncio.sleep(0.01)
    took = time.monotonic() - started
    await asyncio.sleep(0.02)  # the heartbeat notes a stall when it next runs
    beat.cancel()
    files.close()
    assert took >= 1.0
    assert max(stalls) < 0.2, f"the loop stalled {max(stalls):.3f} s while the journal was written"
    docs = files.journal.journaled()
    assert len(docs) == 25 and all(len(d["events"]) == 3 for d in docs)


def test_a_pass_still_being_written_holds_back_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real_fsync = os.fsync

    def held_fsync(fd: int) -> None:
        gate.wait(10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", held_fsync)
    files, (first, second) = StoryFiles(tmp_path, "1.0.0"), _stories(2)
    assert files.journal.write_open([first])
    assert not files.journal.write_open([first, second])  # the first pass is still being written
    assert files.journal.pending(second)  # left for the next pass
    gate.set()
    files.close()
    assert files.journal.write_open([first, second])
    files.close()
    assert sorted(d["metadata"]["correlation_id"] for d in files.journal.journaled()) == sorted(
        [first.correlation_id, second.correlation_id]
    )


def test_a_story_closed_while_its_journal_is_written_leaves_no_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real_fsync = os.fsync

    def worker_waits(fd: int) -> None:  # the background pass waits; closing the story does not
        if threading.current_thread().name.startswith("faro-journal"):
            gate.wait(10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", worker_waits)
    files, (story,) = StoryFiles(tmp_path, "1.0.0"), _stories(1)
    assert files.journal.write_open([story])
    path = files.write(story)  # closed before its journal was written
    gate.set()
    files.close()
    assert files.journal.journaled() == [] and not list(files.journal_dir.iterdir())
    assert path == story_path(tmp_path, story) and path.exists()


def test_a_failed_background_write_is_raised(tmp_path: Path) -> None:
    files, (story,) = StoryFiles(tmp_path, "1.0.0"), _stories(1)
    tmp_path.joinpath(".journal").write_text("not a directory")
    assert files.journal.write_open([story])
    with pytest.raises(OutputError, match=r"^cannot write \S*/\.journal: File exists$") as info:
        files.close()
    assert isinstance(info.value.__cause__, FileExistsError)
    files.close()  # raised once


def test_a_damaged_or_foreign_journal_entry_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files, (story,) = StoryFiles(tmp_path, "1.0.0"), _stories(1)
    assert files.journal.write_open([story])
    files.close()
    bad = {
        "foreign.json": b'{"metadata": {"schema": "faro.story/v1"}}',
        "garbage.json": b"garbage{",
        "list.json": b"[1, 2]",
    }
    for name, body in bad.items():
        (files.journal_dir / name).write_bytes(body)
    resumed = files.journal.resumable()
    assert [s.correlation_id for s in resumed] == [story.correlation_id]
    assert [e.data for e in resumed[0].buffer.all()] == [e.data for e in story.buffer.all()]
    warned = sorted(r.getMessage().split(":")[0] for r in caplog.records if r.levelname == "WARNING")
    assert warned == [f"not resuming {files.journal_dir / name}" for name in sorted(bad)]

"""faro.sinks.jsonl: one JSON line per story event, in a private file; clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson
import pytest

from faro.errors import ConfigError
from faro.model.events import EventType, StoryEvent
from faro.sinks.jsonl import JsonlSink


def _ev(i: int) -> StoryEvent:
    return StoryEvent("cid", 1767323045.0 + i, EventType.K8S_EVENT, "kubelet", "ns", "Pod", "add", {"i": i})


def test_events_are_lines_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = JsonlSink(str(path))
    for i in range(3):
        sink.write(_ev(i))
    sink.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # as story files: log lines may be private
    assert [orjson.loads(line)["data"] for line in path.read_bytes().splitlines()] == [
        {"i": i} for i in range(3)
    ]
    again = JsonlSink(str(path))  # appends
    again.write(_ev(3))
    again.close()
    assert len(path.read_bytes().splitlines()) == 4


def test_a_file_it_made_and_never_wrote_is_removed_and_one_it_found_is_kept(tmp_path: Path) -> None:
    made = tmp_path / "new.jsonl"
    JsonlSink(str(made)).close()
    assert not made.exists()
    found = tmp_path / "old.jsonl"
    found.write_bytes(b"")
    JsonlSink(str(found)).close()
    assert found.exists()


def test_a_target_it_cannot_open_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^cannot write JSONL to .*/no-dir/e\.jsonl: No such file or directory$"
    ):
        JsonlSink(str(tmp_path / "no-dir" / "e.jsonl"))

"""A resumed story's journalled log lines tell the new run where each stream left off."""

from __future__ import annotations

from typing import Any

from faro.capture.container_logs.manager import LogManager
from faro.capture.container_logs.stream import Instance, log_event
from faro.kube.podlog import LogLine


def _line(inst: Instance, ts: str, text: str) -> Any:
    return log_event(inst, 0.0, "log", time=ts, line=text)


async def test_a_stream_of_a_resumed_instance_skips_what_the_journal_has() -> None:
    inst = Instance("ns", "chatty", "uid-1", "app", 0)
    other = Instance("ns", "chatty", "uid-1", "app", 1)  # the next instance: read from its start
    events = [
        _line(inst, "2026-12-04T10:00:00.100000000Z", "line 0"),
        _line(inst, "2026-12-04T10:00:01.100000000Z", "line 1"),
        _line(inst, "2026-12-04T10:00:01.500000000Z", "line 2"),
        log_event(inst, 0.0, "truncated", dropped_lines=3),  # not a line: ignored
    ]
    manager = LogManager(client=None, emit=lambda cid, ev: None)  # type: ignore[arg-type]
    manager.resume(events)
    st = manager._stream(["cid"], inst)
    assert st.dedup.since_time == "2026-12-04T10:00:01Z"  # the follow starts at the last second
    st.dedup.begin_replay()
    replayed = [
        LogLine("2026-12-04T10:00:01.100000000Z", b"line 1"),
        LogLine("2026-12-04T10:00:01.500000000Z", b"line 2"),
        LogLine("2026-12-04T10:00:01.900000000Z", b"line 3"),
        LogLine("2026-12-04T10:00:02.000000000Z", b"line 4"),
    ]
    assert [ln.content for ln in replayed if st.dedup.accept(ln)] == [b"line 3", b"line 4"]
    # taken once: a later stream of the same instance (a restart of Faro's own) starts afresh
    assert manager._stream(["cid"], inst).dedup.since_time is None
    assert manager._stream(["cid"], other).dedup.since_time is None

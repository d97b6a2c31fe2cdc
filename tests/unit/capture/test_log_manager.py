"""LogManager decisions that a real cluster produces only by chance (tests/cluster has the rest)."""

from __future__ import annotations

from typing import Any

from faro.capture.container_logs.manager import LogManager
from faro.capture.container_logs.stream import Instance, Stream
from faro.model.events import StoryEvent


class _NoClient:
    """Any request is a failure of the test: the decision must be made without one."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected request: {name}")


def _manager() -> tuple[LogManager, list[StoryEvent]]:
    got: list[StoryEvent] = []
    return LogManager(_NoClient(), lambda cid, ev: got.append(ev)), got  # type: ignore[arg-type]


async def test_previous_log_is_not_read_once_the_container_restarted_again() -> None:
    m, got = _manager()
    first = Instance("ns", "pod", "uid", "app", 0)
    # the current instance is #2: `previous` now holds #1's output, not #0's
    m.streams[("uid", "app")] = Stream({"cid"}, Instance("ns", "pod", "uid", "app", 2))
    await m._final(Stream({"cid"}, first, previous=True, ending=True))
    assert got == []


def test_restarted_again_only_past_the_next_instance() -> None:
    m, _ = _manager()
    inst = Instance("ns", "pod", "uid", "app", 0)
    assert not m._restarted_again(inst)  # no current stream known
    m.streams[("uid", "app")] = Stream({"cid"}, Instance("ns", "pod", "uid", "app", 1))
    assert not m._restarted_again(inst)  # previous is still instance 0
    m.streams[("uid", "app")] = Stream({"cid"}, Instance("ns", "pod", "uid", "app", 2))
    assert m._restarted_again(inst)

"""The sinks' fan-out: every sink gets its moments; one that fails does not stop the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from faro.errors import OutputError
from faro.model.events import EventType, StoryEvent
from faro.model.story import Story
from faro.sinks.base import FanOut, Sink


class Recorder(Sink):
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.seen = name, fail, list[str]()

    def on_event(self, story: Story, ev: StoryEvent) -> None:
        self.seen.append("event")
        if self.fail:
            raise OutputError(f"{self.name}: disk full")

    def on_close(self, story: Story) -> Path | None:
        self.seen.append("close")
        return Path(f"/{self.name}.json")

    def close(self) -> None:
        self.seen.append("closed")
        if self.fail:
            raise OutputError(f"{self.name}: cannot flush")


class Quiet(Sink):
    """Takes no moment: never called for events."""


def _story() -> Story:
    return Story("uid", 1, "apps/v1/Deployment", "web", "ns", "c", 0.0)


def test_a_failing_sink_is_reported_and_the_others_still_get_every_moment() -> None:
    failures: list[str] = []
    first, broken, last = Recorder("first"), Recorder("broken", fail=True), Recorder("last")
    fan = FanOut([first, broken, last, Quiet()], lambda exc: failures.append(str(exc)))
    story = _story()
    fan.on_event(
        story, StoryEvent("uid", 0.0, EventType.RESOURCE_UPDATE, "web", "ns", "Deployment", "add", {})
    )
    assert fan.on_close(story) == Path("/last.json")
    assert failures == ["broken: disk full"]
    assert first.seen == broken.seen == last.seen == ["event", "close"]
    assert [type(s).__name__ for s in fan._on_event] == ["Recorder"] * 3  # Quiet is never called
    with pytest.raises(OutputError, match="broken: cannot flush"):
        fan.close()
    assert first.seen[-1] == last.seen[-1] == "closed"  # closed, the last first, despite the failure
    assert not fan.wants_matched

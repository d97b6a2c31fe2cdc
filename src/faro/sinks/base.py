"""Sinks: everywhere a capture's output goes, behind one small interface.

Why: story files, the journal, `--jsonl`, the JSON export and the library's event handlers
each want some of the same moments — a story event recorded, a story closed, a tick, a
matched change of a primary — and the graph and OTLP outputs to come want them too. Each
sink takes the moments it needs (the others are no-ops here) and none of them changes the
Story it is shown: what a sink remembers of a story (a journal's positions) is its own.
The fan-out calls them in order; a sink's OutputError (a full disk) is handed to the
capture once, which then stops and flushes what it still can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from faro.errors import OutputError
from faro.model.events import StoryEvent
from faro.model.story import Story
from faro.sinks.matched import MatchedEvent


class Sink:
    """One output. Override what it needs; every method may raise OutputError."""

    def on_event(self, story: Story, ev: StoryEvent) -> None:
        """A story event was recorded (story is still open)."""

    def on_close(self, story: Story) -> Path | None:
        """A story closed; the path of the file it was written to, if this sink writes one."""
        return None

    def on_tick(self, open_stories: list[Story]) -> None:
        """About twice a second, with the stories open now."""

    def on_matched(self, event: MatchedEvent) -> None:
        """A matched change of a primary object (every one, once)."""

    def close(self) -> None:
        """The capture is over: flush and release (called on a worker thread)."""


class FanOut(Sink):
    """Sinks in order; the first OutputError of each call goes to `failed`, and the other
    sinks still get the moment."""

    def __init__(self, sinks: Sequence[Sink], failed: Callable[[OutputError], None]) -> None:
        self.sinks = list(sinks)
        self._failed = failed
        # Only the sinks that take a moment are called for it: on_event and on_matched run
        # for every recorded event and every matched change.
        self._on_event = [s for s in self.sinks if type(s).on_event is not Sink.on_event]
        self._on_matched = [s for s in self.sinks if type(s).on_matched is not Sink.on_matched]

    @property
    def wants_matched(self) -> bool:
        return bool(self._on_matched)

    def on_event(self, story: Story, ev: StoryEvent) -> None:
        for s in self._on_event:
            try:
                s.on_event(story, ev)
            except OutputError as exc:
                self._failed(exc)

    def on_close(self, story: Story) -> Path | None:
        path = None
        for s in self.sinks:
            try:
                path = s.on_close(story) or path
            except OutputError as exc:
                self._failed(exc)
        return path

    def on_tick(self, open_stories: list[Story]) -> None:
        for s in self.sinks:
            try:
                s.on_tick(open_stories)
            except OutputError as exc:
                self._failed(exc)

    def on_matched(self, event: MatchedEvent) -> None:
        for s in self._on_matched:
            try:
                s.on_matched(event)
            except OutputError as exc:
                self._failed(exc)

    def close(self) -> None:
        """Close every sink, the last first; raise the first OutputError after all are closed."""
        failure: OutputError | None = None
        for s in reversed(self.sinks):
            try:
                s.close()
            except OutputError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

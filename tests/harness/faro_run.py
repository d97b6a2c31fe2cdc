"""Run Faro in-process against the test cluster and wait for the stories it writes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faro import Faro, FaroConfig, ResourceRule, Story, StoryEvent
from tests.harness.cluster import LocalCluster


class FaroRun:
    """`async with FaroRun(cluster, tmp_path, rules) as run:` — Faro is ready inside."""

    def __init__(self, cluster: LocalCluster, out: Path, rules: list[ResourceRule], **config: Any) -> None:
        config_journal_every = config.pop("journal_every", 5.0)
        also: Callable[[Story, StoryEvent], None] = config.pop("on_event", lambda s, e: None)
        self.config = FaroConfig(
            resources=rules,
            output_dir=out,
            kubeconfig=str(cluster.kubeconfig),
            correlation_timeout=config.pop("correlation_timeout", 120),
            metrics_port=config.pop("metrics_port", 0),
            **config,
        )
        self.closed: list[Story] = []
        self.events: list[StoryEvent] = []
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()
        self.faro = Faro(
            self.config,
            on_event=self._on_event,
            on_story_closed=self._on_closed,
            on_ready=self._ready.set,
            settle=1.0,
            journal_every=config_journal_every,
        )
        self._also = also
        self._task: asyncio.Task[None] | None = None

    def _on_event(self, story: Story, ev: StoryEvent) -> None:
        self.events.append(ev)
        self._also(story, ev)

    def _on_closed(self, story: Story, path: Path | None) -> None:
        self.closed.append(story)
        self._changed.set()

    async def __aenter__(self) -> FaroRun:
        self._task = asyncio.create_task(self.faro.run())
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._task.result()  # raises what failed
        if ready not in done:
            raise AssertionError("Faro did not become ready in 60s")
        return self

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def crash(self) -> None:
        """End the run as a crash would: no flush, open stories stay in the journal."""
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self.faro.stop()
            await asyncio.wait_for(self._task, 30)

    async def story(self, predicate: Callable[[Story], bool], what: str, timeout: float = 30) -> Story:
        """Wait for a closed story matching predicate."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for s in self.closed:
                        if predicate(s):
                            return s
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no story {what} within {timeout:.0f} s; {self.describe()}") from None

    async def recorded(self, predicate: Callable[[Story], bool], what: str, timeout: float = 30) -> Story:
        """Wait for a story matching predicate, closed or still open (what it holds so far)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    engine = self.faro.engine
                    open_ = list(engine.book.open.values()) if engine is not None else []
                    for s in [*self.closed, *open_]:
                        if predicate(s):
                            return s
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError(f"no story {what} within {timeout:.0f} s; {self.describe()}") from None

    async def story_of(self, kind: str, name: str, timeout: float = 30, episode: int = 1) -> Story:
        def match(s: Story) -> bool:
            return s.resource_type.endswith(f"/{kind}") and s.resource_name == name and s.episode == episode

        return await self.story(match, f"{kind}/{name} episode {episode}", timeout)

    def describe(self) -> str:
        """What Faro holds now: a failed wait says why the story it waited for is not there."""

        def line(s: Story) -> str:
            own = [e for e in s.buffer.all() if e.event_type.value == "RESOURCE_UPDATE"]
            last = own[-1].data if own else {}
            return (
                f"{s.resource_type} {s.resource_name}#{s.episode} completion={s.completion} "
                f"gaps={[g.reason for g in s.gaps]} terminal_since={s.terminal_since} "
                f"deleted_at={s.deleted_at} last_activity={s.last_activity:.1f} "
                f"last spec={last.get('spec', {}).get('replicas')} status={last.get('status')}"
            )

        engine = self.faro.engine
        open_ = list(engine.book.open.values()) if engine is not None else []
        closed = "\n  ".join(line(s) for s in self.closed) or "none"
        opened = "\n  ".join(line(s) for s in open_) or "none"
        return f"closed:\n  {closed}\nopen:\n  {opened}"


def load_story(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def kinds(doc: dict[str, Any], event_type: str) -> set[str]:
    return {e["resource"] for e in doc["events"] if e["event_type"] == event_type}


def reasons(doc: dict[str, Any]) -> set[str]:
    return {e["data"].get("reason", "") for e in doc["events"] if e["event_type"] == "K8S_EVENT"}

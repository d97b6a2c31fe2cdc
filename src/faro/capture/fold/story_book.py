"""Open and close stories, number episodes, and turn watch events into story events.

A story is keyed by its primary's UID. It closes on a terminal state (after `settle` quiet
seconds), on the primary's deletion (after its cascade settles), on the correlation timeout
without activity, or at shutdown. Activity for a primary whose story has closed — the
primary changes again, or one of its children does — opens the next episode, which starts
with a snapshot of the primary so it can be read on its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from faro.capture.fold.completion import terminal
from faro.capture.fold.diff import changes
from faro.model.events import EventType, Gap, StoryEvent, WatchEvent, WatchType
from faro.model.story import Story
from faro.model.timefmt import iso_ms, parse

ORPHAN_LINES = 1000
_ACTIONS = {WatchType.ADDED: "add", WatchType.MODIFIED: "update", WatchType.DELETED: "delete"}

OnEvent = Callable[[Story, StoryEvent], None]
OnClose = Callable[[Story], None]


def event_keys(obj: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
    """What makes two sightings of a Kubernetes Event the same: its resourceVersion, or its
    count/series count at the same lastTimestamp."""
    meta = obj.get("metadata") or {}
    series = obj.get("series") or {}
    uid = meta.get("uid")
    return (
        (uid, "rv", meta.get("resourceVersion")),
        (uid, "count", obj.get("count"), series.get("count"), obj.get("lastTimestamp")),
    )


def _when(ev: WatchEvent) -> float:
    """When a change happened: observation time, except for objects that already existed
    when first seen (initial list, relist), whose creation time is the better answer."""
    if ev.type is WatchType.ADDED:
        created = parse(ev.meta.get("creationTimestamp"))
        if created is not None and ev.observed_at - created > 1.0:
            return created
    return ev.observed_at


@dataclass
class StoryBook:
    cluster: str
    on_event: OnEvent
    on_close: OnClose
    settle: float = 3.0
    correlation_timeout: float = 300.0
    cap: int = 20_000
    max_open: int = 10_000  # open stories at once; past it the one opened longest ago is closed
    open: dict[str, Story] = field(default_factory=dict)
    episodes: dict[str, int] = field(default_factory=dict)
    # Last states are kept encoded: bytes are invisible to the cyclic GC and several times
    # smaller than the dicts they came from (docs/benchmarks.md, "Where Faro's time goes").
    primaries: dict[str, bytes] = field(default_factory=dict)  # primary uid -> last stripped object
    _last: dict[str, bytes] = field(default_factory=dict)  # member uid -> last stripped object
    _orphans: dict[str, deque[StoryEvent]] = field(default_factory=dict)  # log lines between episodes
    # What a deleted primary's story waits for: its members not yet deleted, across episodes.
    _alive: dict[str, set[str]] = field(default_factory=dict)  # cid -> member uids
    # The last changes recorded per member, to drop the copies overlapping watches deliver.
    _seen: dict[str, tuple[tuple[WatchType, str], ...]] = field(default_factory=dict)
    _current: tuple[WatchEvent | None, bytes, list[dict[str, Any]] | None] = (None, b"", None)
    # (story, member) -> the resourceVersion a resumed story's journal ended with: listed
    # again unchanged by the restarted Faro, it is no change to record.
    _resumed: dict[tuple[str, str], str] = field(default_factory=dict)
    evicted: int = 0  # stories closed early because max_open were open

    def story_for(self, cid: str, now: float) -> Story | None:
        """The open story of cid, opening the next episode if the last one closed."""
        story = self.open.get(cid)
        if story is not None:
            return story
        blob = self.primaries.get(cid)
        if blob is None:
            return None
        primary = orjson.loads(blob)
        story = self._new(cid, primary, now)
        snapshot = self._event(story, primary, EventType.RESOURCE_UPDATE, "snapshot", now)
        self._record(story, snapshot)
        done = terminal(primary)
        if done is not None:
            story.terminal_since = now  # e.g. a finished Job whose pod is deleted later
            story.completion_detail = done.detail()
        return story

    def _new(self, cid: str, primary: dict[str, Any], now: float) -> Story:
        meta = primary.get("metadata") or {}
        episode = self.episodes.get(cid, 0) + 1
        self.episodes[cid] = episode
        story = Story(
            correlation_id=cid,
            episode=episode,
            resource_type=f"{primary.get('apiVersion', '')}/{primary.get('kind', '')}",
            resource_name=meta.get("name", ""),
            namespace=meta.get("namespace", ""),
            cluster=self.cluster,
            start_time=now,
            cap=self.cap,
            last_activity=now,
        )
        self.open[cid] = story
        if len(self.open) > self.max_open:
            self._evict(now)
        for ev in self._orphans.pop(cid, ()):
            ev.correlation_id = cid
            self._record(story, ev)
        return story

    def _evict(self, now: float) -> None:
        """Past max_open, the story opened longest ago is closed as "evicted" and written
        whole: memory stays bounded and nothing recorded is lost. Its primary's next change
        opens the next episode, as after any close."""
        oldest = next(iter(self.open.values()))
        self.evicted += 1
        self.close(oldest, "evicted", now)

    def resume(self, story: Story, now: float) -> None:
        """Adopt a story journalled by a previous run; what happened meanwhile is a gap."""
        cid = story.correlation_id
        self.open[cid] = story
        self.episodes[cid] = story.episode
        for ev in story.buffer.all():
            uid = (ev.data.get("metadata") or {}).get("uid")
            if ev.event_type is EventType.RESOURCE_UPDATE and ev.action != "delete":
                self.primaries[cid] = orjson.dumps(ev.data)
            if uid and ev.event_type in (EventType.RESOURCE_UPDATE, EventType.CORRELATED_EVENT):
                self._last[uid] = orjson.dumps(ev.data)
                rv = (ev.data.get("metadata") or {}).get("resourceVersion")
                if ev.action != "delete" and rv:
                    self._resumed[(cid, uid)] = rv
            if ev.event_type is EventType.K8S_EVENT:
                d, series = ev.data, ev.data.get("series") or {}
                m = d.get("metadata") or {}
                story.seen_keys.add((m.get("uid"), "rv", m.get("resourceVersion")))
                story.seen_keys.add(
                    (m.get("uid"), "count", d.get("count"), series.get("count"), d.get("lastTimestamp"))
                )
        story.gaps.append(
            Gap("faro", "restart", now, f"Faro was not watching since {iso_ms(story.last_activity)}")
        )
        story.last_activity = now

    def primary(self, ev: WatchEvent, obj: dict[str, Any]) -> Story:
        """Record a change of a primary (obj is already stripped/redacted)."""
        cid = ev.uid
        blob = orjson.dumps(obj)
        self.primaries[cid] = blob
        story = self.open.get(cid)
        if story is None:
            story = self._new(cid, obj, ev.observed_at)
        self._member(story, ev, obj, EventType.RESOURCE_UPDATE, blob)
        if ev.type is WatchType.DELETED:
            story.deleted_at = ev.observed_at
            self.primaries.pop(cid, None)
        else:
            done = terminal(obj)
            story.completion_detail = done.detail() if done is not None else None
            if done is None:
                story.terminal_since = None
            elif story.terminal_since is None:
                story.terminal_since = ev.observed_at
        return story

    def child(self, cid: str, ev: WatchEvent, obj: dict[str, Any]) -> Story | None:
        story = self.story_for(cid, ev.observed_at)
        if story is not None:
            self._member(story, ev, obj, EventType.CORRELATED_EVENT)
        return story

    def first_sight(self, cid: str, keys: tuple[tuple[Any, ...], ...]) -> bool:
        """True (and remembered) unless one of keys was already recorded in cid's open story."""
        story = self.open.get(cid)
        if story is None:
            return True
        if any(k in story.seen_keys for k in keys):
            return False
        story.seen_keys.update(keys)
        return True

    def add(self, cid: str, ev: StoryEvent) -> Story | None:
        """Record an already-built story event (Kubernetes Events, logs, lifecycle).

        Log lines alone never open an episode (a chatty pod would open one after another):
        while no episode is open they wait in a small buffer and start the next one."""
        if ev.event_type is EventType.CONTAINER_LOG and cid not in self.open:
            if cid in self.primaries:
                self._orphans.setdefault(cid, deque(maxlen=ORPHAN_LINES)).append(ev)
            return None
        story = self.story_for(cid, ev.timestamp)
        if story is not None:
            ev.correlation_id = cid
            self._record(story, ev)
        return story

    def repeated(self, ev: WatchEvent) -> bool:
        """The same change of a story member again: two rules whose watches overlap (a
        namespace by name and by pattern, with and without a label selector) both deliver
        it. The watches may interleave (A: 5, 6, B: 5, 6), so the last few are kept."""
        rv = ev.meta.get("resourceVersion")
        return bool(rv) and (ev.type, rv) in self._seen.get(ev.uid, ())

    def _member(
        self, story: Story, ev: WatchEvent, obj: dict[str, Any], etype: EventType, blob: bytes | None = None
    ) -> None:
        uid = ev.uid
        # A resumed story's member, listed again by a restarted Faro (as ADDED): unchanged since
        # the journal it is no event; changed, it is an update of the journal's last state.
        journalled = self._resumed.pop((story.correlation_id, uid), None) if self._resumed else None
        update = ev.type is WatchType.MODIFIED or (journalled is not None and ev.type is WatchType.ADDED)
        if ev is self._current[0]:  # the same change, into another story it concerns
            blob, diff = self._current[1], self._current[2]
        else:
            blob = blob if blob is not None else orjson.dumps(obj)
            old = self._last.get(uid)
            diff = changes(orjson.loads(old), obj) if update and old is not None else None
            if ev.type is WatchType.DELETED:
                self._last.pop(uid, None)
            else:
                self._last[uid] = blob
            rv = ev.meta.get("resourceVersion")
            if rv:
                self._seen[uid] = (*self._seen.get(uid, ())[-3:], (ev.type, rv))
            self._current = (ev, blob, diff)
        alive = self._alive.setdefault(story.correlation_id, set())
        if ev.type is WatchType.DELETED:
            alive.discard(uid)
        else:
            alive.add(uid)
        if ev.gap is not None and ev.gap not in story.gaps:
            story.gaps.append(ev.gap)
        story.members.add(uid)
        if journalled is not None and journalled == ev.meta.get("resourceVersion"):
            return  # the journal's last state, listed again after a restart: nothing changed
        action = "update" if update and ev.type is WatchType.ADDED else _ACTIONS[ev.type]
        se = self._event(story, obj, etype, action, ev.observed_at if update else _when(ev))
        if diff is not None:
            se.changes = diff
        se.data_json = blob
        if ev.synthetic:
            se.data_json = None
            se.data = {
                **obj,
                "faro": {
                    "synthetic": True,
                    "note": "deleted while the watch was down; final state unknown",
                },
            }
        self._record(story, se)

    def _event(
        self, story: Story, obj: dict[str, Any], etype: EventType, action: str, at: float
    ) -> StoryEvent:
        meta = obj.get("metadata") or {}
        return StoryEvent(
            correlation_id=story.correlation_id,
            timestamp=at,
            event_type=etype,
            source_component=meta.get("name", ""),
            namespace=meta.get("namespace", ""),
            resource=obj.get("kind", ""),
            action=action,
            data=obj,
        )

    def _record(self, story: Story, ev: StoryEvent) -> None:
        story.add(ev)
        if ev.event_type is not EventType.CONTAINER_LOG:
            # Log lines do not keep a story open: a finished rollout of chatty pods still settles.
            story.last_activity = max(story.last_activity, ev.timestamp)
        self.on_event(story, ev)

    def gap(self, gap: Gap, cids: list[str] | None = None) -> None:
        """A gap in what Faro saw applies to every open story it could concern."""
        for cid, story in self.open.items():
            if cids is None or cid in cids:
                story.gaps.append(gap)  # the journal sees the changed metadata at its next pass

    def tick(self, now: float) -> list[Story]:
        """Close what is due; returns the stories closed."""
        done: list[Story] = []
        for story in list(self.open.values()):
            quiet = now - story.last_activity
            if story.deleted_at is not None:  # deleted ends it, once its cascade is over
                if quiet >= self.settle and self._cascade_done(story, now):
                    done.append(self.close(story, "deleted", now))
            elif story.terminal_since is not None and quiet >= self.settle:
                done.append(self.close(story, "terminal", now))
            elif quiet >= self.correlation_timeout:
                done.append(self.close(story, "timeout", now))
        return done

    def _cascade_done(self, story: Story, now: float) -> bool:
        """A deleted primary's members go after it (the garbage collector deletes them, pods
        take their grace period): its story waits for them, for at most the correlation
        timeout (members left orphaned by `--cascade=orphan` stay)."""
        assert story.deleted_at is not None
        alive = self._alive.get(story.correlation_id)
        return not alive or now - story.deleted_at >= self.correlation_timeout

    def close(self, story: Story, reason: str, now: float) -> Story:
        story.completion = reason
        if reason != "terminal":  # ended otherwise: the state it was in is not why it closed
            story.completion_detail = None
        story.end_time = now
        self.open.pop(story.correlation_id, None)
        for uid in story.members:
            if uid not in self._last:  # deleted: no later change can repeat one of its own
                self._seen.pop(uid, None)
        if reason == "deleted":
            for uid in story.members:
                self._last.pop(uid, None)
                self._seen.pop(uid, None)
            self._orphans.pop(story.correlation_id, None)
            self._alive.pop(story.correlation_id, None)
            self.episodes.pop(story.correlation_id, None)  # a deleted uid never comes back
        self.on_close(story)
        return story

    def close_all(self, reason: str, now: float) -> list[Story]:
        # Log lines still waiting for an episode get one, so nothing captured is lost.
        for cid in [c for c in self._orphans if c in self.primaries and c not in self.open]:
            self.story_for(cid, now)
        return [self.close(s, reason, now) for s in list(self.open.values())]

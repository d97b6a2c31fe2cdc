"""Which story does an object or Event belong to? The owner graph, bound late.

Every object of a watched kind is entered in an owner graph (uid -> owner uids). An object
belongs to a story when its owner chain reaches a primary; binding is transitive and late:
when an owner is bound, its already-known descendants are bound too. Objects and Events
whose owner (or involvedObject) has not been seen at all yet are held for a short window,
then re-processed when it appears or dropped (counted) when the window ends. Objects whose
owners are known but unrelated are dropped at once: what stays for them is one small graph
node (uids only), never their content.

Primaries may own primaries (rules for Deployments and for Pods, for CronJobs and for
Jobs): an object is bound to the nearest story above it, and `stories` climbs from there,
so a Pod that has its own story is in its Deployment's story too.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from faro.model.events import WatchEvent, WatchType

MAX_HELD = 20_000
MAX_GONE = 20_000  # deletions remembered for the Events that arrive after them


@dataclass
class Correlator:
    hold_for: float = 10.0
    bound: dict[str, str] = field(default_factory=dict)  # uid -> correlation id
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # uid -> owner uids
    children: dict[str, set[str]] = field(default_factory=dict)  # owner uid -> uids
    held: dict[str, list[WatchEvent]] = field(default_factory=dict)  # awaited uid -> events
    _held_order: deque[tuple[float, str]] = field(default_factory=deque)
    expired: int = 0
    watched_kinds: set[str] = field(default_factory=set)  # owners of other kinds never arrive
    waiting: set[str] = field(default_factory=set)  # uids whose own events are held (undecided)
    gone: dict[str, str | None] = field(default_factory=dict)  # deleted uid -> its story, oldest first

    def bind_primary(self, uid: str) -> list[WatchEvent]:
        """Make uid the root of a story; returns held events that can now be placed."""
        return self._bind(uid, uid)

    def _bind(self, uid: str, cid: str) -> list[WatchEvent]:
        released: list[WatchEvent] = []
        stack = [uid]
        while stack:
            u = stack.pop()
            if self.bound.get(u) == cid and u != uid:
                continue
            self.bound[u] = cid
            released += self.held.pop(u, ())
            stack += [c for c in self.children.get(u, ()) if c not in self.bound]
        return released

    def stories(self, cid: str | None) -> list[str]:
        """cid, then the stories above it: a primary owned by another story's members."""
        out: list[str] = []
        while cid is not None and cid not in out:
            out.append(cid)
            cid = self._owner_cid(self.parents.get(cid, ()))
        return out

    def place(self, ev: WatchEvent) -> tuple[list[str], list[WatchEvent]]:
        """observe(), with every story the object is in (nearest first)."""
        if ev.type is WatchType.DELETED:  # climb before the graph forgets the object
            refs = [r for r in ev.meta.get("ownerReferences") or () if isinstance(r, dict)]
            cid = self.bound.get(ev.uid) or self._owner_cid(tuple(r.get("uid", "") for r in refs))
            chain = self.stories(cid)
            self.observe(ev)
            return chain, []
        cid, released = self.observe(ev)
        return self.stories(cid), released

    def observe(self, ev: WatchEvent) -> tuple[str | None, list[WatchEvent]]:
        """Enter an object in the graph; returns (its correlation id or None, released events)."""
        meta = ev.meta
        uid = ev.uid
        self.waiting.discard(uid)  # deciding about it now
        refs = [r for r in meta.get("ownerReferences") or () if isinstance(r, dict)]
        owners = tuple(r.get("uid", "") for r in refs)
        if ev.type is WatchType.DELETED:
            cid = self.bound.get(uid) or self._owner_cid(owners)
            self.forget(uid)
            self._gone(uid, cid)
            return cid, []
        if self.parents.get(uid) != owners:
            for o in self.parents.get(uid, ()):
                self.children.get(o, set()).discard(uid)
            self.parents[uid] = owners
            for o in owners:
                self.children.setdefault(o, set()).add(uid)
        cid = self.bound.get(uid)
        if cid is not None:
            return cid, []
        cid = self._owner_cid(owners)
        if cid is not None:
            return cid, self._bind(uid, cid)
        # Wait for an owner never seen yet, or one that is itself waiting for its owner (a
        # chain arriving bottom-up: Pod, then ReplicaSet, then Deployment).
        undecided = [
            r.get("uid", "")
            for r in refs
            if (r.get("uid") not in self.parents or r.get("uid") in self.waiting)
            and r.get("uid") not in self.gone
            and (not self.watched_kinds or r.get("kind") in self.watched_kinds)
        ]
        if undecided:
            self.hold(undecided[0], ev)
        return None, self.held.pop(uid, [])  # events about this object can now be judged

    def _owner_cid(self, owners: tuple[str, ...]) -> str | None:
        for o in owners:
            cid = self.bound.get(o) or self.gone.get(o)  # an owner deleted meanwhile still counts
            if cid is not None:
                return cid
        return None

    def _gone(self, uid: str, cid: str | None) -> None:
        """Events and objects come on separate watches, in no order between them: an Event
        about an object, or a new child of it, can be handled after the object's deletion.
        It still belongs to the deleted object's story (or to none, without waiting for the
        object to appear)."""
        self.gone.pop(uid, None)
        self.gone[uid] = cid
        if len(self.gone) > MAX_GONE:
            del self.gone[next(iter(self.gone))]

    def event_target(self, target_uid: str, ev: WatchEvent) -> str | None:
        """The story of an Event's involved object, holding the Event if the object is unknown
        yet (unless it is of a kind no watch brings: a Node, a Service, ...) or is itself still
        waiting for its owner: it is released with the object once that is decided."""
        cid = self.bound.get(target_uid)
        undecided = target_uid not in self.parents or target_uid in self.waiting
        if cid is None and target_uid and undecided:
            if target_uid in self.gone:
                return self.gone[target_uid]
            kind = ev.about_kind
            if not self.watched_kinds or not kind or kind in self.watched_kinds:
                self.hold(target_uid, ev)
        return cid

    def hold(self, uid: str, ev: WatchEvent) -> None:
        self.held.setdefault(uid, []).append(ev)
        if ev.resource.kind != "Event":
            self.waiting.add(ev.uid)
        self._held_order.append((ev.observed_at, uid))
        while len(self._held_order) > MAX_HELD:
            self._drop_oldest()

    def expire(self, now: float) -> None:
        while self._held_order and now - self._held_order[0][0] > self.hold_for:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        at, uid = self._held_order.popleft()
        evs = self.held.get(uid)
        if evs and evs[0].observed_at == at:
            self.waiting.discard(evs.pop(0).uid)
            self.expired += 1
            if not evs:
                del self.held[uid]

    def forget(self, uid: str) -> None:
        for o in self.parents.pop(uid, ()):
            kids = self.children.get(o)
            if kids is not None:
                kids.discard(uid)
                if not kids:
                    del self.children[o]
        self.bound.pop(uid, None)

    def unbind_story(self, cid: str) -> None:
        for uid in [u for u, c in self.bound.items() if c == cid]:
            del self.bound[uid]

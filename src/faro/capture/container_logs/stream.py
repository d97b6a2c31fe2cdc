"""What a container log stream is: the instance it reads, the filters it applies, the state it
keeps between reconnects, and the story event each line becomes.

Kept apart from LogManager (capture/container_logs/manager.py), which decides when streams
start, wait, end and read once more: these are the plain values it moves around.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from faro.kube.podlog import LineDedup
from faro.model.events import EventType, StoryEvent


@dataclass(frozen=True)
class Instance:
    namespace: str
    pod: str
    pod_uid: str
    container: str
    restart: int


@dataclass
class Stream:
    cids: set[str]
    inst: Instance
    dedup: LineDedup = field(default_factory=LineDedup)
    task: asyncio.Task[None] | None = None
    ending: bool = False  # the instance ended: collect the rest and stop
    previous: bool = False  # the rest is in the `previous` log (the container restarted)
    lines: int = 0
    tail: deque[StoryEvent] | None = None
    dropped: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    following: bool = False  # has had a slot (reads before that are one-shot)
    early: bool = False  # read once already because its pod began terminating while it waited
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one reader of `dedup` at a time


def log_event(inst: Instance, at: float, action: str, **data: Any) -> StoryEvent:
    return StoryEvent(
        correlation_id="",
        timestamp=at,
        event_type=EventType.CONTAINER_LOG,
        source_component=inst.container,
        namespace=inst.namespace,
        resource="Pod",
        action=action,
        data={"pod": inst.pod, "container": inst.container, "restart": inst.restart, **data},
    )


def container_states(pod: dict[str, Any]) -> dict[str, tuple[str, int, str]]:
    """container -> (state: waiting|running|terminated, restartCount, containerID)."""
    out: dict[str, tuple[str, int, str]] = {}
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for st in status.get(key) or []:
            state = next(iter(st.get("state") or {"waiting": {}}), "waiting")
            out[st.get("name", "")] = (state, int(st.get("restartCount") or 0), st.get("containerID") or "")
    return out

"""What flows through Faro: watch events in, story events out.

WatchEvent is what a reflector saw (one object, one change). StoryEvent is one line of a
resource story. Both are plain slotted dataclasses: the hot path creates many of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from faro.model.refs import ResourceType
from faro.model.timefmt import iso_ms


class WatchType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


class EventType(StrEnum):
    RESOURCE_UPDATE = "RESOURCE_UPDATE"
    CORRELATED_EVENT = "CORRELATED_EVENT"
    K8S_EVENT = "K8S_EVENT"
    CONTAINER_LOG = "CONTAINER_LOG"
    POD_LIFECYCLE = "POD_LIFECYCLE"
    POD_STARTING = "POD_STARTING"
    POD_TERMINATING = "POD_TERMINATING"


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of history Faro could not see (relist after 410, dropped events, …)."""

    resource: str
    reason: str
    at: float
    detail: str = ""


@dataclass(slots=True)
class WatchEvent:
    """One change of one object, as seen by a reflector.

    `synthetic` marks DELETED events made up by a relist for objects that vanished while the
    watch was down: their `obj` is the last state Faro knew, not the final one.
    """

    type: WatchType
    resource: ResourceType
    obj: dict[str, Any]
    observed_at: float
    synthetic: bool = False
    gap: Gap | None = None  # set on events of a relist: the stories they reach get the gap

    @property
    def meta(self) -> dict[str, Any]:
        m = self.obj.get("metadata")
        return m if isinstance(m, dict) else {}

    @property
    def uid(self) -> str:
        return str(self.meta.get("uid", ""))


@dataclass(slots=True)
class StoryEvent:
    correlation_id: str
    timestamp: float
    event_type: EventType
    source_component: str
    namespace: str
    resource: str
    action: str
    data: dict[str, Any]
    changes: list[dict[str, Any]] | None = None
    seq: int = field(default=0, compare=False)
    # `data`, already encoded (the same bytes a story keeps for diffs): encoding splices it in.
    data_json: bytes | None = field(default=None, compare=False, repr=False)

    def encode(self) -> bytes:
        """This event as JSON, reusing data_json when present."""
        d = self.to_dict()
        if self.data_json is not None:
            d["data"] = orjson.Fragment(self.data_json)
        return orjson.dumps(d)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "correlation_id": self.correlation_id,
            "timestamp": iso_ms(self.timestamp),
            "event_type": self.event_type.value,
            "source_component": self.source_component,
            "namespace": self.namespace,
            "resource": self.resource,
            "action": self.action,
            "data": self.data,
        }
        if self.changes is not None:
            d["changes"] = self.changes
        return d

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


class WatchEvent:
    """One change of one object, as seen by a reflector.

    The object may arrive decoded (`obj`) or as raw JSON bytes plus its metadata head (see
    kube/decode.py): then `meta` is answered from the head and the bytes are decoded only if
    someone reads `obj` — most objects belong to no story and never are. `wrapped` raw bytes
    are a whole watch line ({"type", "object"}), not the object alone.

    `synthetic` marks DELETED events made up by a relist for objects that vanished while the
    watch was down: their `obj` is the last state Faro knew, not the final one.
    """

    __slots__ = (
        "_about",
        "_about_kind",
        "_meta",
        "_obj",
        "_raw",
        "_wrapped",
        "gap",
        "observed_at",
        "resource",
        "synthetic",
        "type",
        "uid",
    )

    def __init__(
        self,
        type: WatchType,
        resource: ResourceType,
        obj: dict[str, Any] | None,
        observed_at: float,
        synthetic: bool = False,
        gap: Gap | None = None,  # set on events of a relist: the stories they reach get the gap
        *,
        raw: bytes | memoryview | None = None,
        meta: dict[str, Any] | None = None,
        wrapped: bool = False,
        about: str | None = None,
        about_kind: str | None = None,
    ) -> None:
        self.type = type
        self.resource = resource
        self.observed_at = observed_at
        self.synthetic = synthetic
        self.gap = gap
        self._obj = obj
        self._raw = raw
        self._meta = meta
        self._wrapped = wrapped
        self._about = about
        self._about_kind = about_kind
        if obj is None and (raw is None or meta is None):
            raise ValueError("a WatchEvent needs its object, or its raw bytes and metadata")
        m = self.meta
        # read several times per event on the hot path (queue shard, owner graph, stories)
        self.uid: str = str(m.get("uid", ""))

    @property
    def obj(self) -> dict[str, Any]:
        o = self._obj
        if o is None:
            assert self._raw is not None
            d = orjson.loads(self._raw)
            o = d.get("object") if self._wrapped else d
            if not isinstance(o, dict):
                raise ValueError("watch event without an object")
            o.setdefault("kind", self.resource.kind)  # list items come without them
            o.setdefault("apiVersion", self.resource.gvr.api_version)
            self._obj, self._raw, self._meta = o, None, None
        return o

    @property
    def decoded(self) -> bool:
        return self._obj is not None

    @property
    def meta(self) -> dict[str, Any]:
        if self._obj is None:
            assert self._meta is not None
            return self._meta
        m = self._obj.get("metadata")
        return m if isinstance(m, dict) else {}

    @property
    def about(self) -> str:
        """For Events: the uid of the object they are about (core/v1 or events.k8s.io)."""
        return self._about if self._about is not None else self._about_ref("uid")

    @property
    def about_kind(self) -> str:
        """For Events: the kind of the object they are about."""
        return self._about_kind if self._about_kind is not None else self._about_ref("kind")

    def _about_ref(self, key: str) -> str:
        ref = self.obj.get("involvedObject") or self.obj.get("regarding") or {}
        return str(ref.get(key, "")) if isinstance(ref, dict) else ""

    def __repr__(self) -> str:
        return f"WatchEvent({self.type.value} {self.resource.kind} {self.meta.get('name', '')!r})"


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

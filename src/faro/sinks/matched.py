"""MatchedEvent: one change of one primary object, as event handlers and the JSON export get it.

Stories are Faro's main output; this is the flat one of the specification (002): every
ADDED/UPDATED/DELETED change of an object a rule matched, once each. It lives with the
sinks, which consume it, because it carries the config rule that matched (the capture
layer below hands the router's parts up; api/ builds the event).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from faro.config import ResourceRule

MatchedType = Literal["ADDED", "UPDATED", "DELETED"]


@dataclass(frozen=True, slots=True)
class MatchedEvent:
    """A matched change.

    - `event_type`: "ADDED", "UPDATED" or "DELETED" (a deletion Faro inferred from a relist,
      the watch having been down, is DELETED too; its object is the last state Faro saw).
    - `object`: the full object, stripped and redacted exactly as stories hold it (no
      managedFields; Secret values and credential-like env replaced by their size unless
      redact_secrets is off). It is shared, not copied: treat it as read-only.
    - `gvr`: "group/version/resource", e.g. "apps/v1/deployments", "v1/pods".
    - `key`: "namespace/name", or "name" for a cluster-scoped object.
    - `rule`: the first ResourceRule of the config that matches the object.
    - `timestamp`: when Faro observed the change, float seconds since the epoch (UTC); the
      same clock and value as the story event Faro records for it.
    """

    event_type: MatchedType
    object: dict[str, Any]
    gvr: str
    key: str
    rule: ResourceRule
    timestamp: float

    @property
    def namespace(self) -> str:
        return self.key.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]

"""Start-up: selectors checked once, then watches started in waves, each waiting (bounded)
for the previous to settle.

Primaries first, then the owners of pods (ReplicaSets, Jobs, ...), then Pods, then Events
and CRDs: children then find their owners already known, so little needs to be held. A
wave waits for its watches to *settle* (listed, or failed), so a forbidden resource delays
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faro.capture.filters import PrimaryRule
from faro.capture.fold.roles import CRDS, EVENTS, PRIMARY
from faro.capture.watches.plan import WatchSpec
from faro.errors import ApiError, ConfigError
from faro.kube.client import KubeClient
from faro.kube.reflector import Reflector

log = logging.getLogger("faro.engine")


def waves(specs: list[WatchSpec]) -> list[list[WatchSpec]]:
    def rank(s: WatchSpec) -> int:
        if PRIMARY in s.roles:
            return 0
        if EVENTS in s.roles or CRDS in s.roles:
            return 3
        return 2 if s.key.resource.kind == "Pod" else 1

    waves: dict[int, list[WatchSpec]] = {}
    for s in specs:
        waves.setdefault(rank(s), []).append(s)
    return [waves[k] for k in sorted(waves)]


async def wait_settled(reflectors: list[Reflector], stop: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.create_task(r.settled.wait()) for r in reflectors]
    if not waits:
        return
    stopping = asyncio.create_task(stop.wait())
    pending: set[asyncio.Task[Any]] = set(waits)
    try:
        async with asyncio.timeout(timeout):
            while pending and not stop.is_set():
                _, pending = await asyncio.wait(pending | {stopping}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stopping)
    except TimeoutError:
        pass
    for t in [*waits, stopping]:
        t.cancel()
    if stop.is_set():
        return  # stopped while starting: nothing is slow
    for r in reflectors:
        if not r.synced.is_set():
            log.warning("watch %s not synced after %ss: %s", r.name, timeout, r.stats.last_error or "slow")


async def check_selectors(client: KubeClient, rules: list[PrimaryRule]) -> None:
    """ConfigError if the API server rejects a rule's label or field selector.

    A selector it cannot parse (`a=b=c`, a field it does not index) fails every list and
    watch with 400, and a reflector retries forever; so, like kubectl, ask once before
    starting (a LIST of one object) and stop with the server's answer. Other errors (403...)
    are left to the watches, which report and retry them."""
    for r in rules:
        rule = r.rule
        if not (rule.label_selector or rule.field_selector):
            continue
        ns = rule.namespace_names[0] if r.namespaces.exact_only and r.resource.namespaced else None
        query = {"limit": 1, "labelSelector": rule.label_selector, "fieldSelector": rule.field_selector}
        try:
            await client.get_bytes(r.resource.path(ns), {k: v for k, v in query.items() if v})
        except ApiError as exc:
            if exc.status == 400:
                raise ConfigError(
                    f"the API server rejects the selector of {r.resource.type_name}: {exc.message or exc}"
                ) from None


def all_forbidden(primaries: list[Reflector]) -> str | None:
    """If the API server forbade listing every primary (403), the one line to stop with.

    A forbidden resource otherwise fails alone and is retried (RBAC may be granted later,
    as client-go does); but a capture that may watch none of its primaries can record
    nothing, so it stops at once, as kubectl would."""
    if not primaries or any(r.synced.is_set() or not r.stats.errors.get(403) for r in primaries):
        return None
    return (
        f"not allowed to watch what the capture is for: {primaries[0].stats.last_error} "
        "(`faro rbac` prints the role a capture needs)"
    )

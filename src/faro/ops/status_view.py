"""The live status view on a terminal: watches, open stories, rates, log streams, recent stories.

Only shown when stderr is a terminal; otherwise Faro stays quiet and logs JSON lines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from faro.model.status import Status


def render(s: Status, events_per_second: float) -> Group:
    head = Text.assemble(
        ("faro ", "bold"),
        f"up {s.uptime:.0f}s  ",
        ("ready" if s.ready else "syncing", "green" if s.ready else "yellow"),
        f"  open stories {s.open_stories}  closed {sum(s.stories_closed.values())}",
        f"  events/s {events_per_second:.0f}  queue {s.queue_depth}  workers {s.workers}",
        f"  log streams {s.log_streams_active} (+{s.log_streams_waiting} waiting)",
    )
    watches = Table("watch", "namespace", "synced", "events", "relists", "errors", box=None, pad_edge=False)
    for w in s.watches:
        errors = ", ".join(f"{c}x{n}" for c, n in sorted(w.errors.items())) or "-"
        watches.add_row(
            w.resource, w.namespace or "*", "yes" if w.synced else "no", str(w.events), str(w.relists), errors
        )
    recent = Table("last stories", "episode", "completion", "events", box=None, pad_edge=False)
    for d in s.recent[-5:]:
        recent.add_row(
            f"{d.resource_type} {d.namespace}/{d.name}", str(d.episode), d.completion, str(d.events)
        )
    return Group(head, watches, recent)


class StatusView:
    def __init__(
        self, snapshot: Callable[[], Status], console: Console | None = None, every: float = 1.0
    ) -> None:
        self._snapshot = snapshot
        self._console = console or Console(stderr=True)
        self._every = every

    async def run(self) -> None:
        last_total, last_t = 0, 0.0
        with Live(console=self._console, refresh_per_second=4, transient=True) as live:
            while True:
                s = self._snapshot()
                total = sum(s.events_processed.values())
                rate = (total - last_total) / (s.now - last_t) if last_t else 0.0
                last_total, last_t = total, s.now
                live.update(render(s, rate))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.sleep(self._every)

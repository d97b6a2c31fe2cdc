"""/metrics, /health and /ready over HTTP (aiohttp, already Faro's HTTP stack).

/health answers while the process runs (liveness); /ready is 200 only once every configured
watch has listed at least once (readiness), and says which have not.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from faro.model.status import Status, human_duration
from faro.model.timefmt import iso_ms
from faro.ops.metrics import exposition


def health(s: Status) -> dict[str, object]:
    return {
        "status": "healthy",
        "timestamp": iso_ms(s.now),
        "uptime": human_duration(s.uptime),
        "uptime_seconds": round(s.uptime, 3),
        "active_correlations": s.open_stories,
        "active_workers": s.workers,
        "memory_bytes": s.memory_bytes,
        "events_processed": s.events_total,
        "events_per_minute": round(s.events_per_minute, 1),
    }


def ready(s: Status) -> tuple[int, dict[str, object]]:
    pending = [f"{w.resource}@{w.namespace or '*'}" for w in s.watches if not w.synced]
    ok = s.ready and not pending
    return (200 if ok else 503), {"ready": ok, "watches": len(s.watches), "not_synced": pending}


class OpsServer:
    def __init__(self, snapshot: Callable[[], Status], host: str, port: int) -> None:
        self._snapshot = snapshot
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # an ephemeral port (tests): report the real one
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metrics(self, _: web.Request) -> web.Response:
        body = exposition(self._snapshot)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, _: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(health(self._snapshot())), content_type="application/json")

    async def _ready(self, _: web.Request) -> web.Response:
        code, doc = ready(self._snapshot())
        return web.Response(status=code, body=orjson.dumps(doc), content_type="application/json")

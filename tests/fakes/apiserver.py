"""A scripted fake API server on loopback (aiohttp), and a kubeconfig that points at it.

Why: the kube layer's corner cases — a watch answered with 410 over HTTP or in the stream, a
stream that stalls, 429s, a log that trickles over TLS — are what a real apiserver will not
produce on demand. The real-cluster behaviour is proven in tests/cluster; these pin the rest.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import trustme
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeApiServer:
    url: str
    kubeconfig: Path


@contextlib.asynccontextmanager
async def fake_apiserver(
    routes: dict[str, Handler], kubeconfig: Path, tls: bool = False
) -> AsyncIterator[FakeApiServer]:
    """Serve GET routes (path -> handler) on 127.0.0.1, over TLS with a fresh CA if tls, and
    write a kubeconfig (token user) for it at the given path."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    server_ctx: ssl.SSLContext | None = None
    cluster = ""
    if tls:
        ca = trustme.CA()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
        cluster = f", certificate-authority-data: '{base64.b64encode(ca.cert_pem.bytes()).decode()}'"
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
        f"clusters: [{{name: t, cluster: {{server: '{url}'{cluster}}}}}]\n"
        "contexts: [{name: t, context: {cluster: t, user: t}}]\nusers: [{name: t, user: {token: x}}]\n"
    )
    try:
        yield FakeApiServer(url, kubeconfig)
    finally:
        await runner.cleanup()

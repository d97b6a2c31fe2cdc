"""The one door to the API server.

kubernetes_asyncio does what must not be hand-written: kubeconfig parsing, contexts,
client certificates, exec plugins, OIDC, in-cluster service account tokens and TLS. We keep
its session but bypass its generated models: every request here returns the raw aiohttp
response (``_preload_content=False``) so that watch and log streams are read as bytes and
decoded with orjson on the hot path (docs/design.md, "Hot path").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import aiohttp
import orjson

from faro.errors import ApiError, KubeError
from faro.kube import kubeconfig as kubeconfig_module
from faro.kube.loader_import import import_kubernetes_asyncio
from faro.kube.tls import limit_tls_read_buffer, socket_transport

k8s_client = import_kubernetes_asyncio()[0]
COALESCE_BELOW = 16 * 1024  # chunks smaller than this are followed by a pause (`_coalesced`)

DEFAULT_POOL_SIZE = 200
CONNECT_TIMEOUT = 10.0  # connect and TLS handshake, as client-go's TLSHandshakeTimeout


class KubeClient:
    """An authenticated connection pool to one cluster, speaking raw HTTP."""

    def __init__(self, api: Any, context: str | None, refresh: asyncio.Task[None] | None) -> None:
        self._api = api
        self.context = context
        self._refresh = refresh

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    @classmethod
    async def connect(
        cls,
        kubeconfig: str | None = None,
        context: str | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> KubeClient:
        """Credentials the way kubectl finds them (kube/kubeconfig.py), and a connection pool
        of pool_size. Raises ConfigError with a one-line reason."""
        limit_tls_read_buffer()
        creds = await kubeconfig_module.load(kubeconfig, context)
        creds.configuration.connection_pool_maxsize = pool_size
        return cls(k8s_client.ApiClient(configuration=creds.configuration), creds.context, creds.refresh)

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
        await self._api.close()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | float | None = None,
    ) -> aiohttp.ClientResponse:
        """Send a request and return the unread response, whatever its status."""
        params = [(k, _query_value(v)) for k, v in (query or {}).items() if v is not None]
        hdrs = {"Accept": "application/json", **(headers or {})}
        if isinstance(timeout, int | float):
            timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, CONNECT_TIMEOUT))
        try:
            resp: aiohttp.ClientResponse = await self._api.call_api(
                path,
                method,
                query_params=params,
                header_params=hdrs,
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "os_error", None), TimeoutError):
                # A server that takes the connection and never answers (client-go: TLS handshake
                # timeout 10 s); aiohttp's own message for it is "[None]".
                raise KubeError(f"cannot reach the API server at {self.host}: no answer (timed out)") from exc
            raise KubeError(f"cannot reach the API server at {self.host}: {exc}") from exc
        return resp

    async def request_json(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = 60,
    ) -> Any:
        """A whole request: raises ApiError on a non-2xx status, returns decoded JSON."""
        data = await self.request_bytes(method, path, query, body, headers, timeout)
        return orjson.loads(data) if data else None

    async def request_bytes(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = 60,
    ) -> bytes:
        """A whole request: raises ApiError on a non-2xx status, returns the body undecoded."""
        resp = await self.open(method, path, query, body, headers, timeout)
        async with resp:
            data = await resp.read()
            if resp.status >= 300:
                raise ApiError.from_body(resp.status, data)
        return data

    async def get_json(self, path: str, query: dict[str, Any] | None = None) -> Any:
        return await self.request_json("GET", path, query)

    async def get_bytes(self, path: str, query: dict[str, Any] | None = None) -> bytes:
        return await self.request_bytes("GET", path, query)

    async def stream_lines(
        self,
        path: str,
        query: dict[str, Any] | None = None,
        read_timeout: float | None = None,
        coalesce: float = 0.0,
    ) -> AsyncGenerator[bytes, None]:
        """Yield raw lines (without b"\\n") of a streaming response.

        Splits on b"\\n" only (never str.splitlines, which also breaks on \\r and U+0085) and
        has no line-length cap. A final line without a newline is yielded at the end.
        `coalesce` > 0: after each small chunk, reading pauses, up to that many seconds (see
        `_coalesced`).
        """
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=read_timeout)
        resp = await self.open("GET", path, query, timeout=timeout)
        async with resp:
            if resp.status >= 300:
                raise ApiError.from_body(resp.status, await resp.read())
            chunks: AsyncIterator[bytes] = resp.content.iter_any()
            if coalesce > 0:
                chunks = _coalesced(chunks, resp, coalesce)
            async for line in iter_lines(chunks):
                yield line


async def _coalesced(
    chunks: AsyncIterator[bytes], resp: aiohttp.ClientResponse, longest: float
) -> AsyncGenerator[bytes, None]:
    """Stop reading the connection for a while after each small chunk, so that what arrives
    meanwhile waits in the kernel and is read, decrypted and parsed at once.

    Why: a busy log stream sends each line as its own small chunk, and each chunk costs a loop
    wake-up, a socket read, a TLS record, an HTTP parse and a task switch: with 500 busy streams
    that was a large part of Faro's CPU (docs/benchmarks-scale-logs.md). Pausing
    the TCP transport under TLS (kube/tls.py) batches the socket reads too; the kernel's
    window holds what arrives, so nothing is lost, only read later.
    The pause starts at a quarter of `longest` and doubles while the stream keeps trickling, up
    to `longest`: a burst after a quiet spell (a crash's stack trace) comes through quickly,
    and a steady trickle is read in larger batches. A stream that was quiet for longer than
    `longest` starts over. A large chunk means the stream has more than a trickle to send: it
    is read on without a pause, which would cap its rate (a TLS read takes at most 64 KiB)."""
    shortest = pause = longest / 4
    loop = asyncio.get_running_loop()
    resumed = loop.time()
    async for chunk in chunks:
        yield chunk
        conn = resp.connection  # None once the response is complete: the connection is not ours
        if len(chunk) >= COALESCE_BELOW or conn is None or conn.transport is None:
            pause = shortest
            continue
        transport = socket_transport(conn.transport)
        if not isinstance(transport, asyncio.ReadTransport):
            continue  # a transport without flow control is read as it comes
        if loop.time() - resumed > longest:
            pause = shortest  # it had gone quiet
        transport.pause_reading()
        try:
            await asyncio.sleep(pause)
        finally:
            transport.resume_reading()  # a no-op on a closed transport
        resumed = loop.time()
        pause = min(pause * 2, longest)


async def iter_lines(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """Re-split a chunk stream on b"\n". A line spanning many chunks is joined once, so a
    1 MB line costs one copy, not one per chunk."""
    pending: list[bytes] = []
    async for chunk in chunks:
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            pending.append(chunk)
            continue
        if pending:
            pending.append(parts[0])
            parts[0] = b"".join(pending)
            pending = []
        tail = parts.pop()
        if tail:
            pending.append(tail)
        for part in parts:
            yield part
    if pending:
        yield b"".join(pending)


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)

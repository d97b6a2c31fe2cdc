"""Follow streams pause reading after each chunk (kube/client.py `_coalesced`): over TLS, what
arrives meanwhile is read as one chunk; nothing is lost, and the connection is never left
paused for its next user."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from faro.kube import client as client_module
from faro.kube.client import KubeClient
from faro.kube.podlog import follow
from faro.kube.tls import socket_transport
from tests.fakes.apiserver import fake_apiserver

LINES = 30
PATH = "/api/v1/namespaces/ns/pods/p/log"


@pytest.fixture
async def kubeconfig(tmp_path: Path) -> AsyncIterator[Path]:
    """A TLS server that writes LINES log lines 10 ms apart, each flushed on its own."""

    async def log(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for i in range(LINES):
            await resp.write(b"2026-11-27T03:00:00.%06dZ line %d\n" % (i, i))
            await asyncio.sleep(0.01)
        await resp.write(b"2026-11-27T03:00:01.000000Z the last, without a newline")
        return resp

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for i in range(4):  # 4 MB in 1 MB lines, as fast as the connection takes them
            await resp.write(b"2026-11-27T03:00:02.%06dZ " % i + b"x" * (1024 * 1024) + b"\n")
        return resp

    async def version(request: web.Request) -> web.StreamResponse:
        return web.json_response({"gitVersion": "v1.36.3"})

    routes = {PATH: log, "/version": version, PATH + "/big": big}
    async with fake_apiserver(routes, tmp_path / "kc.yaml", tls=True) as fake:
        yield fake.kubeconfig


async def _read(kc: Path, pause: float, monkeypatch: pytest.MonkeyPatch) -> tuple[list[bytes], int]:
    """Every line of one stream, and how many chunks they came in."""
    chunks = 0
    real = client_module.iter_lines

    async def counting(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async def counted() -> AsyncIterator[bytes]:
            nonlocal chunks
            async for chunk in source:
                chunks += 1
                yield chunk

        async for line in real(counted()):
            yield line

    monkeypatch.setattr(client_module, "iter_lines", counting)
    async with await KubeClient.connect(str(kc)) as client:
        async with asyncio.timeout(10):
            lines = [line async for line in client.stream_lines(PATH, coalesce=pause)]
        async with asyncio.timeout(2):  # the same pooled connection, not left paused
            assert (await client.get_json("/version"))["gitVersion"] == "v1.36.3"
    return lines, chunks


async def test_a_paused_stream_reads_what_arrived_meanwhile_at_once(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, plain_chunks = await _read(kubeconfig, 0.0, monkeypatch)
    paused, paused_chunks = await _read(kubeconfig, 0.1, monkeypatch)
    want = [b"2026-11-27T03:00:00.%06dZ line %d" % (i, i) for i in range(LINES)]
    want.append(b"2026-11-27T03:00:01.000000Z the last, without a newline")
    assert plain == paused == want
    assert plain_chunks >= 2 * paused_chunks  # unpaused, most writes are chunks of their own
    assert paused_chunks <= 8, f"{paused_chunks} chunks for {LINES} lines 10 ms apart, 0.1 s pauses"


async def test_follow_streams_are_coalesced_and_lose_nothing(kubeconfig: Path) -> None:
    async with await KubeClient.connect(str(kubeconfig)) as client:
        lines = [ln async for ln in follow(client, "ns", "p", "c", None)]
    assert [ln.content for ln in lines][:3] == [b"line 0", b"line 1", b"line 2"]
    assert len(lines) == LINES + 1


async def test_a_stream_cancelled_while_paused_leaves_the_client_usable(kubeconfig: Path) -> None:
    async with await KubeClient.connect(str(kubeconfig)) as client:
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in client.stream_lines(PATH, coalesce=5.0):
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 2)
        await asyncio.sleep(0.05)  # now in its 5 s pause
        started = time.monotonic()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with asyncio.timeout(2):
            assert (await client.get_json("/version"))["gitVersion"] == "v1.36.3"
        assert time.monotonic() - started < 2


async def test_under_tls_the_tcp_transport_is_the_one_paused(kubeconfig: Path) -> None:
    async with await KubeClient.connect(str(kubeconfig)) as client:
        resp = await client.open("GET", PATH)  # a stream: the connection is the response's
        async with resp:
            assert resp.connection is not None and resp.connection.transport is not None
            tls = resp.connection.transport
            tcp = socket_transport(tls)
            assert isinstance(tcp, asyncio.ReadTransport)
            assert tcp is not tls and tls.get_extra_info("sslcontext") is not None
            assert tcp.get_extra_info("socket") is tls.get_extra_info("socket")
            tcp.pause_reading()
            assert not tcp.is_reading()
            tcp.resume_reading()
            await resp.read()


async def test_a_busy_stream_is_read_at_full_speed(kubeconfig: Path) -> None:
    """A pause after every chunk would cap a stream at one TLS read (64 KiB) per pause: 4 MB
    would take 16 s with 0.25 s pauses."""
    async with await KubeClient.connect(str(kubeconfig)) as client:
        started = time.monotonic()
        async with asyncio.timeout(10):
            lines = [line async for line in client.stream_lines(PATH + "/big", coalesce=0.25)]
        took = time.monotonic() - started
    assert [len(line) for line in lines] == [28 + 1024 * 1024] * 4
    assert took < 3, f"4 MB took {took:.1f} s"


class _Transport(asyncio.ReadTransport):
    """Records how long each pause lasted."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses: list[float] = []
        self._since = 0.0

    def pause_reading(self) -> None:
        self._since = time.monotonic()

    def resume_reading(self) -> None:
        self.pauses.append(time.monotonic() - self._since)


class _Connection:
    def __init__(self) -> None:
        self.transport = _Transport()


class _Response:
    def __init__(self) -> None:
        self.connection = _Connection()


async def test_the_pause_grows_while_a_stream_trickles_and_starts_over_after_quiet() -> None:
    """Steady small chunks: 0.1, 0.2, 0.4, 0.4 s. A large chunk is not followed by a pause
    and the next small one starts over; so does one after a quiet spell longer than 0.4 s."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"line\n"
        yield b"x" * client_module.COALESCE_BELOW
        yield b"line\n"
        yield b"line\n"
        await asyncio.sleep(0.6)
        yield b"line\n"

    resp = _Response()
    got = [c async for c in client_module._coalesced(chunks(), resp, 0.4)]  # type: ignore[arg-type]
    assert len(got) == 8
    want = [0.1, 0.2, 0.4, 0.4, 0.1, 0.2, 0.1]
    pauses = resp.connection.transport.pauses
    assert len(pauses) == len(want), pauses
    for took, expected in zip(pauses, want, strict=True):
        assert expected - 0.005 <= took < expected + 0.08, (pauses, want)

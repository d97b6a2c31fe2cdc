"""faro.kube.tls: asyncio's per-connection TLS read buffer is lowered, never raised, and made
resident only where a read writes into it."""

from __future__ import annotations

import asyncio.sslproto
import mmap
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faro.kube.tls import TLS_READ_BUFFER, limit_tls_read_buffer


@pytest.fixture
def restore() -> Iterator[None]:
    before = asyncio.sslproto.SSLProtocol.max_size
    yield
    asyncio.sslproto.SSLProtocol.max_size = before


def test_the_buffer_is_lowered(restore: None) -> None:
    asyncio.sslproto.SSLProtocol.max_size = 256 * 1024
    limit_tls_read_buffer()
    assert asyncio.sslproto.SSLProtocol.max_size == TLS_READ_BUFFER


def test_a_smaller_buffer_is_left_alone(restore: None) -> None:
    asyncio.sslproto.SSLProtocol.max_size = 16 * 1024
    limit_tls_read_buffer()
    assert asyncio.sslproto.SSLProtocol.max_size == 16 * 1024


@pytest.fixture
def protocols() -> Iterator[Callable[[int], list[asyncio.sslproto.SSLProtocol]]]:
    """SSLProtocols as a connection creates them (never connected; closed afterwards)."""
    loop, made = asyncio.new_event_loop(), []
    ctx = ssl.create_default_context()

    def make(n: int) -> list[asyncio.sslproto.SSLProtocol]:
        made.extend(asyncio.sslproto.SSLProtocol(loop, asyncio.Protocol(), ctx, None) for _ in range(n))
        return made[-n:]

    yield make
    for p in made:
        p._app_transport._closed = True  # never connected: nothing to shut down
    loop.close()


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * mmap.PAGESIZE


def test_a_connection_gets_a_read_buffer_that_is_resident_only_once_used(
    restore: None, protocols: Callable[[int], list[asyncio.sslproto.SSLProtocol]]
) -> None:
    limit_tls_read_buffer()
    limit_tls_read_buffer()  # idempotent: __init__ is wrapped once
    protos = protocols(1)
    view = protos[0].get_buffer(-1)
    assert isinstance(protos[0]._ssl_buffer, mmap.mmap)
    assert len(view) == TLS_READ_BUFFER and not view.readonly
    view[:5] = b"hello"  # what the socket's recv_into does
    protos[0].buffer_updated(5)
    assert protos[0]._incoming.read() == b"hello"
    before = _rss()
    many = protocols(200)  # zero-filled 64 KiB buffers would be 12.5 MB resident
    assert _rss() - before < 4 * 2**20
    assert all(len(p._ssl_buffer) == TLS_READ_BUFFER for p in many)

"""faro.kube.tls: asyncio's per-connection TLS read buffer is lowered, never raised."""

from __future__ import annotations

import asyncio.sslproto
from collections.abc import Iterator

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

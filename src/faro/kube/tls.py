"""A smaller TLS read buffer per connection, resident only where data was read into it.

Why: asyncio's TLS layer gives every connection a 256 KiB read buffer, zero-filled (so
resident) as the connection opens (asyncio/sslproto.py, `SSLProtocol.max_size`). Faro keeps a
connection per watch and per followed container log: with 500 log streams those buffers
were a large part of its peak RSS (docs/benchmarks-scale-logs.md). A TLS record is at most
16 KiB, so reading 64 KiB at a time loses nothing; the class attribute is process-wide and
only ever lowered, never raised. Even at 64 KiB the zero-filled buffers were still the largest
item of Faro's heap with 500 streams (the page's tracemalloc table), though a log stream
rarely receives more than a few hundred bytes at once: so each buffer is an anonymous mapping
instead, whose pages the kernel provides when a read first writes into them.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import functools
import mmap
from typing import Any

TLS_READ_BUFFER = 64 * 1024


def limit_tls_read_buffer(size: int = TLS_READ_BUFFER) -> None:
    proto = getattr(asyncio.sslproto, "SSLProtocol", None)
    current = getattr(proto, "max_size", None)
    if proto is not None and isinstance(current, int) and current > size:
        proto.max_size = size
    if proto is not None and not getattr(proto.__init__, "_faro_lazy_buffer", False):
        proto.__init__ = _lazy_buffer(proto.__init__)


def _lazy_buffer(init: Any) -> Any:
    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        # Only the layout this was written for (3.11-3.13): anything else keeps asyncio's own.
        buf = getattr(self, "_ssl_buffer", None)
        if type(buf) is bytearray and len(buf) > mmap.PAGESIZE and hasattr(self, "_ssl_buffer_view"):
            lazy = mmap.mmap(-1, len(buf))
            self._ssl_buffer, self._ssl_buffer_view = lazy, memoryview(lazy)

    __init__._faro_lazy_buffer = True  # type: ignore[attr-defined]
    return __init__


def socket_transport(transport: asyncio.BaseTransport) -> asyncio.BaseTransport:
    """The TCP transport under asyncio's TLS transport, or transport itself.

    Pausing the TLS transport only stops handing decrypted data up: the socket is still read
    (a wake-up per TCP segment). Pausing the TCP transport leaves the bytes in the kernel.
    Another layout (an event loop other than asyncio's, a later CPython) gets transport."""
    inner = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    return inner if isinstance(inner, asyncio.BaseTransport) else transport

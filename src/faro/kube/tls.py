"""A smaller TLS read buffer per connection, for captures that hold hundreds of streams.

Why: asyncio's TLS layer gives every connection a 256 KiB read buffer, zero-filled (so
resident) as the connection opens (asyncio/sslproto.py, `SSLProtocol.max_size`). Faro keeps a
connection per watch and per followed container log: with 500 log streams those buffers
were ~135 MB of its ~440 MB peak (docs/benchmarks-scale-logs.md). A TLS record is at most
16 KiB, so reading 64 KiB at a time loses nothing. The class attribute is process-wide; it
is only ever lowered, never raised.
"""

from __future__ import annotations

import asyncio.sslproto

TLS_READ_BUFFER = 64 * 1024


def limit_tls_read_buffer(size: int = TLS_READ_BUFFER) -> None:
    proto = getattr(asyncio.sslproto, "SSLProtocol", None)
    current = getattr(proto, "max_size", None)
    if proto is not None and isinstance(current, int) and current > size:
        proto.max_size = size
